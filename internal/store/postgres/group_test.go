package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

// TestGroupCommit runs batches of turns as a lane does (runTx), with a failing turn at
// each place, and checks that the others are committed, together in one transaction when
// none fails, and the failing one not at all.
func TestGroupCommit(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	tests := []struct {
		name string
		bad  int    // which turn of the batch fails
		why  string // "stale": an old revision; "gone": an event that is not pending
		want error
	}{
		{name: "first stale", bad: 0, why: "stale", want: bot.ErrConflict},
		{name: "middle gone", bad: 1, why: "gone", want: bot.ErrNotFound},
		{name: "last stale", bad: 2, why: "stale", want: bot.ErrConflict},
		{name: "none", bad: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			var batch []*groupOp[txWork]
			var turns []*bot.Turn
			var done []func()
			for i := range 3 {
				k := bot.Key{Channel: "line", User: fmt.Sprintf("%s-%d", tt.name, i)}
				ev := bot.Event{ID: k.User + "-e1", Key: k, In: bot.Inbound{Kind: bot.InText, Text: "hi"}}
				if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
					t.Fatal(err)
				}
				c := &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}
				turn := &bot.Turn{Conversation: c, EventID: ev.ID,
					Out:        []*bot.Outgoing{{Key: k, EventID: ev.ID, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hello"}}}},
					Transcript: []bot.Line{{Role: bot.RoleBot, Text: "hello"}}}
				if i == tt.bad {
					switch tt.why {
					case "stale":
						// Another worker saved the conversation first.
						if err := s.SaveConversation(ctx, &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}); err != nil {
							t.Fatal(err)
						}
					case "gone":
						turn.EventID = "no-such-event"
						turn.Out[0].EventID = ""
					}
				}
				w, d, err := s.turnWork(turn)
				if err != nil {
					t.Fatal(err)
				}
				batch = append(batch, &groupOp[txWork]{ctx: ctx, work: w})
				turns, done = append(turns, turn), append(done, d)
			}
			runTx(context.Background(), s.pool, batch)

			xids := map[string]bool{}
			for i, op := range batch {
				k := turns[i].Conversation.Key
				var outs int
				if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE channel = $1 AND user_id = $2`, k.Channel, k.User).Scan(&outs); err != nil {
					t.Fatal(err)
				}
				if i == tt.bad {
					if !errors.Is(op.err, tt.want) {
						t.Errorf("turn %d: err = %v, want %v", i, op.err, tt.want)
					}
					if outs != 0 {
						t.Errorf("turn %d failed, yet %d outbox rows of it are stored", i, outs)
					}
					continue
				}
				if op.err != nil {
					t.Errorf("turn %d: %v", i, op.err)
					continue
				}
				done[i]()
				if outs != 1 || turns[i].Out[0].ID == 0 {
					t.Errorf("turn %d: %d outbox rows, ID %d; want 1, set", i, outs, turns[i].Out[0].ID)
				}
				var xid string
				if err := s.pool.QueryRow(ctx, `SELECT xmin::text FROM conversations WHERE channel = $1 AND user_id = $2`, k.Channel, k.User).Scan(&xid); err != nil {
					t.Fatal(err)
				}
				xids[xid] = true
				if got, err := s.Conversation(ctx, k); err != nil || got.Revision != turns[i].Conversation.Revision {
					t.Errorf("turn %d: stored conversation %+v, %v; want revision %d", i, got, err, turns[i].Conversation.Revision)
				}
			}
			// Rows written in a savepoint carry the savepoint's transaction id, so one id
			// is asked of a batch where all succeeded only.
			if tt.bad < 0 && len(xids) != 1 {
				t.Errorf("the turns that succeeded were committed by %d transactions, want 1", len(xids))
			}
		})
	}
}

// TestGroupCommitConcurrent commits many turns at once through CommitTurn, with stale
// ones among them, and checks that each gets its own outcome.
func TestGroupCommitConcurrent(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	ctx := t.Context()
	const n = 64
	turns := make([]*bot.Turn, n)
	for i := range n {
		k := bot.Key{Channel: "line", User: fmt.Sprintf("U%d", i)}
		ev := bot.Event{ID: fmt.Sprintf("e%d", i), Key: k, In: bot.Inbound{Kind: bot.InText, Text: "hi"}}
		if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
			t.Fatal(err)
		}
		c := &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}
		if i%5 == 0 { // stale
			if err := s.SaveConversation(ctx, &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}); err != nil {
				t.Fatal(err)
			}
		}
		turns[i] = &bot.Turn{Conversation: c, EventID: ev.ID,
			Out: []*bot.Outgoing{{Key: k, EventID: ev.ID, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hello"}}}}}
	}
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.CommitTurn(ctx, turns[i]) }()
	}
	for range n {
		<-errs
	}
	for i, turn := range turns {
		var pending bool
		if err := s.pool.QueryRow(ctx, `SELECT processed_at IS NULL FROM inbox WHERE id = $1`, turn.EventID).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if stale := i%5 == 0; pending != stale || (turn.Out[0].ID == 0) != stale {
			t.Errorf("turn %d (stale %t): event pending %t, outgoing ID %d", i, stale, pending, turn.Out[0].ID)
		}
	}
}

// TestInboxLane stores the events of several AddEvents in one statement, as the inbox lane
// does (insertEvents), and checks that an id held by several is new for the first only
// and that they were stored by one transaction.
func TestInboxLane(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	ctx := t.Context()
	if _, err := s.AddEvents(ctx, []bot.Event{{ID: "old", Key: bot.Key{Channel: "line", User: "U0"}}}); err != nil {
		t.Fatal(err)
	}
	calls := [][]string{{"a", "b"}, {"b", "c", "old"}, {"c", "d"}}
	want := [][]bool{{true, true}, {false, true, false}, {false, true}}
	var batch []*groupOp[*newEvents]
	for _, ids := range calls {
		w := &newEvents{}
		for _, id := range ids {
			ev := bot.Event{ID: id, Key: bot.Key{Channel: "line", User: "U-" + id}, In: bot.Inbound{Kind: bot.InText, Text: id}}
			w.ids, w.channels, w.users = append(w.ids, id), append(w.channels, "line"), append(w.users, ev.Key.User)
			w.bodies, w.ats = append(w.bodies, `{}`), append(w.ats, ms(ev.At))
		}
		batch = append(batch, &groupOp[*newEvents]{ctx: ctx, work: w})
	}
	s.insertEvents(context.Background(), batch)
	for i, op := range batch {
		if op.err != nil {
			t.Fatalf("call %d: %v", i, op.err)
		}
		if fmt.Sprint(op.work.fresh) != fmt.Sprint(want[i]) {
			t.Errorf("call %d (%v): fresh = %v, want %v", i, calls[i], op.work.fresh, want[i])
		}
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM inbox WHERE id <> 'old'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the events were stored by %d transactions, want 1", n)
	}
}

// TestLazyLane runs statements together as the lazy lane does (runLazy), with one that
// fails among them, and checks that the others take effect and report their rows.
func TestLazyLane(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	ctx := t.Context()
	for _, u := range []string{"a", "b"} {
		if _, err := s.AddEvents(ctx, []bot.Event{{ID: u, Key: bot.Key{Channel: "line", User: u}}}); err != nil {
			t.Fatal(err)
		}
	}
	const set = `UPDATE leases SET owner = $1 WHERE user_id = $2`
	works := []*stmtWork{
		{sql: set, args: []any{"w1", "a"}},
		{sql: set, args: []any{"w1", "nobody"}},
		{sql: `SELECT 1/0`},
		{sql: set, args: []any{"w1", "b"}},
	}
	var batch []*groupOp[*stmtWork]
	for _, w := range works {
		batch = append(batch, &groupOp[*stmtWork]{ctx: ctx, work: w})
	}
	s.runLazy(context.Background(), batch)
	for i, want := range []int64{1, 0, -1, 1} {
		op := batch[i]
		if want < 0 {
			if op.err == nil {
				t.Errorf("statement %d: no error, want division by zero", i)
			}
			continue
		}
		if op.err != nil || op.work.tag.RowsAffected() != want {
			t.Errorf("statement %d: %d rows, %v; want %d", i, op.work.tag.RowsAffected(), op.err, want)
		}
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM leases WHERE owner = 'w1'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("leases owned by w1: %d, %v; want 2", n, err)
	}
}
