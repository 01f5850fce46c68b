package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/giftdesk/giftdesk/bot"

	"github.com/giftdesk/giftdesk/internal/store/storetest"
)

// BenchmarkStore runs the benchmarks every store runs (storetest.Bench), so that the two
// stores can be compared on one machine:
//
//	GIFTDESK_TEST_POSTGRES=… go test ./internal/store/postgres/ ./internal/store/sqlite/ -run '^$' -bench Store
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.BenchStore { return open(b, nil) },
		func(b *testing.B, s storetest.BenchStore, n int) { fillBacklog(b, s.(*Store), n) })
}

// BenchmarkConcurrentTurns measures what group commit is for: many webhooks and workers
// at once. Each of 16 goroutines per CPU stores an event of a conversation of its own
// (AddEvents), claims it (ClaimKey) and commits its turn, releasing the lease
// (CommitTurn); an op is one such event, so ns/op is the inverse of the throughput.
func BenchmarkConcurrentTurns(b *testing.B) {
	s := open(b, nil)
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	var users, events atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		k := bot.Key{Channel: "line", User: fmt.Sprintf("U%d", users.Add(1))}
		c := &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}
		for pb.Next() {
			ev := storetest.BenchEvent(int(events.Add(1)), at)
			ev.Key = k
			if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
				b.Error(err)
				return
			}
			evs, err := s.ClaimKey(ctx, k, k.User, 30*time.Second)
			if err != nil {
				b.Error(err)
				return
			}
			out := &bot.Outgoing{Key: k, EventID: evs[0].ID, Messages: []bot.Message{{Kind: bot.MsgText, Text: "ok"}}}
			lines := []bot.Line{{At: at, Role: bot.RoleCustomer, Text: "hi"}, {At: at, Role: bot.RoleBot, Text: "ok"}}
			t := &bot.Turn{Conversation: c, EventID: evs[0].ID, Out: []*bot.Outgoing{out}, Transcript: lines, Release: k.User}
			if err := s.CommitTurn(ctx, t); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// fillLeased adds n unfinished outbox rows, each the only one of its conversation, leased
// to another owner ("busy") from now for an hour: rows being delivered. It analyzes the
// table, as autovacuum soon would (schema/0004_lean_writes.sql).
func fillLeased(tb testing.TB, s *Store, n int, now time.Time) {
	tb.Helper()
	const fill = `INSERT INTO outbox (channel, user_id, via, event_id, seq, payload, created_at, next_attempt_at,
			attempts, lease_owner, lease_expires_at)
		SELECT 'line', 'L' || i, 'line', 'l:' || i, 0, '{}', $1, $1, 1, 'busy', $2 FROM generate_series(1, $3) AS i`
	if _, err := s.pool.Exec(tb.Context(), fill, ms(now), ms(now.Add(time.Hour)), n); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.pool.Exec(tb.Context(), `ANALYZE outbox`); err != nil {
		tb.Fatal(err)
	}
}

// TestClaimOutgoingPlan holds the plan that makes BenchmarkStore/ClaimOutgoing fast: with
// 100k finished rows and 5,000 unfinished ones under a live lease, claimOutgoing must
// find its candidates through outbox_claimable and look each up by key, as a custom plan
// (the first executions of a prepared statement) and as a generic one (later ones),
// rather than walk the primary key through the finished rows or hash every unfinished row.
func TestClaimOutgoingPlan(t *testing.T) {
	serverURL(t)
	t.Parallel()
	s := open(t, nil)
	fillBacklog(t, s, 100_000)
	ctx := t.Context()
	now := ms(time.Now())
	fillLeased(t, s, 5000, now)
	// 20 rows due, each the only one of its conversation.
	const due = `INSERT INTO outbox (channel, user_id, via, event_id, seq, payload, created_at, next_attempt_at)
		SELECT 'line', 'D' || i, 'line', 'd:' || i, 0, '{}', $1, $1 FROM generate_series(1, 20) AS i`
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, due, now); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE outbox`); err != nil {
		t.Fatal(err)
	}
	prepare := `PREPARE claim (text, timestamptz, timestamptz, int) AS ` + claimOutgoing
	if _, err := conn.Exec(ctx, prepare); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		t.Run(mode, func(t *testing.T) {
			if _, err := conn.Exec(ctx, `SET plan_cache_mode = `+mode); err != nil {
				t.Fatal(err)
			}
			// EXPLAIN EXECUTE takes no parameters of its own: the times go as literals.
			explain := fmt.Sprintf(`EXPLAIN EXECUTE claim ('d', '%s', '%s', 16)`,
				now.Add(30*time.Second).Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
			rows, err := conn.Query(ctx, explain)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if !strings.Contains(plan, "outbox_claimable") || !strings.Contains(plan, "Index Cond: (id = ANY") {
				t.Errorf("plan does not find candidates through outbox_claimable and look them up by id:\n%s", plan)
			}
			for i, l := range lines {
				switch {
				case strings.Contains(l, "Seq Scan"), strings.Contains(l, "Anti Join"), strings.Contains(l, "Merge Join"),
					strings.Contains(l, "Hash Join"):
					t.Errorf("plan step %q reads more than the candidates:\n%s", strings.TrimSpace(l), plan)
				case strings.Contains(l, "Scan using outbox_pkey") && (i+1 == len(lines) || !strings.Contains(lines[i+1], "Index Cond")):
					t.Errorf("plan walks the primary key:\n%s", plan)
				}
			}
		})
	}
}

// BenchmarkConcurrentDeliveries is BenchmarkConcurrentTurns with the deliveries' ends:
// each turn's row is claimed as the turn commits (a Claim), then marked replying
// (MarkReplying) and finished (FinishOutgoing), as the deliverer does with a reply, while
// a deliverer polls (ClaimOutgoing, every millisecond) for rows not claimed at commit,
// finding none. An op is one event, from storing it to finishing its row. "leased" runs
// with that many rows of other conversations being delivered meanwhile (fillLeased), as
// under load: the poll must not slow the rest down with them.
func BenchmarkConcurrentDeliveries(b *testing.B) {
	for _, leased := range []int{0, 5000} {
		b.Run(fmt.Sprintf("leased=%d", leased), func(b *testing.B) { benchConcurrentDeliveries(b, leased) })
	}
}

// benchConcurrentDeliveries is BenchmarkConcurrentDeliveries with leased rows.
func benchConcurrentDeliveries(b *testing.B, leased int) {
	s := open(b, nil)
	fillLeased(b, s, leased, time.Now())
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	var users, events atomic.Int64
	stop, polled := make(chan struct{}), make(chan struct{})
	var polls int
	var polling time.Duration
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			start := time.Now()
			if outs, err := s.ClaimOutgoing(context.Background(), "poll", 16, 30*time.Second); err != nil || len(outs) > 0 {
				b.Error(outs, err)
				return
			}
			polls, polling = polls+1, polling+time.Since(start)
		}
	}()
	defer func() {
		close(stop)
		<-polled
		if polls > 0 {
			b.ReportMetric(float64(polling.Microseconds())/float64(polls), "µs/poll")
		}
	}()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		k := bot.Key{Channel: "line", User: fmt.Sprintf("U%d", users.Add(1))}
		c := &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}
		claim := &bot.Claim{Owner: "w", Lease: 30 * time.Second}
		for pb.Next() {
			ev := storetest.BenchEvent(int(events.Add(1)), at)
			ev.Key = k
			if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
				b.Error(err)
				return
			}
			evs, err := s.ClaimKey(ctx, k, claim.Owner, claim.Lease)
			if err != nil {
				b.Error(err)
				return
			}
			out := &bot.Outgoing{Key: k, EventID: evs[0].ID, Messages: []bot.Message{{Kind: bot.MsgText, Text: "ok"}}}
			t := &bot.Turn{Conversation: c, EventID: evs[0].ID, Out: []*bot.Outgoing{out}, Claim: claim, Release: claim.Owner}
			if err := s.CommitTurn(ctx, t); err != nil {
				b.Error(err)
				return
			}
			if !out.Claimed {
				b.Error("row not claimed at commit")
				return
			}
			if err := s.MarkReplying(ctx, out.ID, claim.Owner); err != nil {
				b.Error(err)
				return
			}
			if err := s.FinishOutgoing(ctx, out.ID, claim.Owner, "reply"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
