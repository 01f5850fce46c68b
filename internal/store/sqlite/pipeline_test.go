package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/storetest"
)

// TestQueryPlans checks that the queries workers and deliverers poll with read pending
// rows only, through the partial indexes, however many processed rows there are.
func TestQueryPlans(t *testing.T) {
	partial := []string{"inbox_pending", "inbox_pending_conversation", "outbox_unfinished", "conversations_waiting"}
	tests := []struct {
		name  string
		query string
		args  int
		want  string // an index the plan must use
	}{
		{name: "pending window", query: pendingWindow, args: 3, want: "inbox_pending"},
		{name: "pending events", query: pendingEvents, args: 2, want: "inbox_pending_conversation"},
		{name: "count pending", query: countPending, args: 0, want: "inbox_pending"},
		{name: "due outgoing", query: dueOutgoing, args: 3, want: "outbox_unfinished"},
		{name: "claim outgoing", query: claimOutgoing, args: 5, want: "outbox_unfinished"},
		{name: "waiting tickets", query: waitingTickets, args: 2, want: "conversations_waiting"},
		{name: "transcript", query: lastLines, args: 3, want: "transcripts_conversation"},
		{name: "purge transcripts", query: purges[0].stmt, args: 2, want: "transcripts_at"},
		{name: "purge events", query: purges[1].stmt, args: 2, want: "inbox_processed"},
		{name: "purge outgoing", query: purges[2].stmt, args: 2, want: "outbox_finished"},
		{name: "purge dead letters", query: purges[3].stmt, args: 2, want: "dead_letters_at"},
		{name: "purge tickets", query: oldTickets, args: 2, want: "tickets_closed_at"},
	}
	s := open(t, filepath.Join(t.TempDir(), "giftdesk.db"))
	for _, ix := range partial {
		var isPartial bool
		err := s.read.QueryRow(`SELECT l.partial FROM sqlite_schema AS t, pragma_index_list(t.name) AS l
			WHERE t.type = 'table' AND l.name = ?`, ix).Scan(&isPartial)
		if err != nil {
			t.Fatalf("index %s: %v", ix, err)
		}
		if !isPartial {
			t.Errorf("index %s is not partial", ix)
		}
	}
	check := func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { checkPlan(t, s, tt.query, tt.args, tt.want, partial) })
		}
	}
	// Without statistics, as in production; then with the statistics of a database that
	// holds nothing but processed rows, which could make a full scan look cheap.
	t.Run("empty", check)
	fillBacklog(t, s, 10_000)
	if _, err := s.write.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	t.Run("analyzed", check)
}

// checkPlan checks that query's plan uses index want, and scans no table except through
// one of the partial indexes.
func checkPlan(t *testing.T, s *Store, query string, args int, want string, partial []string) {
	t.Helper()
	rows, err := s.write.Query("EXPLAIN QUERY PLAN "+query, make([]any, args)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	uses := func(step, ix string) bool {
		return strings.HasSuffix(step, "INDEX "+ix) || strings.Contains(step, "INDEX "+ix+" ")
	}
	if !slices.ContainsFunc(plan, func(step string) bool { return uses(step, want) }) {
		t.Errorf("plan does not use index %s:\n%s", want, text)
	}
	for _, step := range plan {
		if !strings.HasPrefix(step, "SCAN ") || step == "SCAN CONSTANT ROW" {
			continue
		}
		if !slices.ContainsFunc(partial, func(ix string) bool { return uses(step, ix) }) {
			t.Errorf("plan scans more than pending rows: %q\n%s", step, text)
		}
	}
}

// TestDeadLetters checks what AddDeadLetter stores, which the conformance suite cannot see.
func TestDeadLetters(t *testing.T) {
	now := time.Date(2025, time.April, 2, 10, 0, 0, 0, time.UTC)
	s := openConfig(t, Config{Path: Memory, Now: func() time.Time { return now }})
	letters := []bot.DeadLetter{
		{Channel: "line", Reason: "event 0: no source", Body: []byte{'{', 0, 0xff, '}'}, At: now.Add(-time.Minute)},
		{Channel: "slack", Reason: "empty"}, // nil body, zero time
	}
	for _, d := range letters {
		if err := s.AddDeadLetter(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.read.Query(`SELECT channel, reason, body, typeof(body), at FROM dead_letters ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var (
			got  bot.DeadLetter
			kind string
			at   int64
		)
		if err := rows.Scan(&got.Channel, &got.Reason, &got.Body, &kind, &at); err != nil {
			t.Fatal(err)
		}
		want := letters[i]
		wantAt := want.At
		if wantAt.IsZero() {
			wantAt = now
		}
		if got.Channel != want.Channel || got.Reason != want.Reason || !bytes.Equal(got.Body, want.Body) || at != wantAt.UnixMilli() {
			t.Errorf("dead letter %d = %q %q %q at %d, want %q %q %q at %d",
				i, got.Channel, got.Reason, got.Body, at, want.Channel, want.Reason, want.Body, wantAt.UnixMilli())
		}
		if kind != "blob" {
			t.Errorf("dead letter %d: body stored as %s, want blob", i, kind)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(letters) {
		t.Errorf("%d dead letters stored, want %d", i, len(letters))
	}
}

// TestAddEventsWithoutID checks that an event without an ID fails the whole call.
func TestAddEventsWithoutID(t *testing.T) {
	s := open(t, Memory)
	k := bot.Key{Channel: "line", User: "U1"}
	evs := []bot.Event{{ID: "line:e1", Key: k, In: bot.Inbound{Kind: bot.InFollow}}, {Key: k}}
	if _, err := s.AddEvents(t.Context(), evs); err == nil || !strings.Contains(err.Error(), "no ID") {
		t.Errorf("AddEvents with an event without ID: err = %v, want one saying so", err)
	}
	if _, _, err := s.ClaimConversation(t.Context(), "w1", time.Minute); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("after a failed AddEvents: ClaimConversation err = %v, want bot.ErrNotFound", err)
	}
}

// TestPipelineTimes checks the times the store records from its clock.
func TestPipelineTimes(t *testing.T) {
	now := time.Date(2025, time.April, 2, 10, 0, 0, 0, time.UTC)
	s := openConfig(t, Config{Path: Memory, Now: func() time.Time { return now }})
	ctx := t.Context()
	k := bot.Key{Channel: "line", User: "U1"}
	ev := bot.Event{ID: "line:e1", Key: k, In: bot.Inbound{Kind: bot.InText, Text: "hi"}, At: now.Add(-time.Second)}
	if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	c := conversation(k)
	out := &bot.Outgoing{Key: k, EventID: ev.ID, EventAt: ev.At, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hello"}}}
	if err := s.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out}}); err != nil {
		t.Fatal(err)
	}
	if !out.CreatedAt.Equal(now) {
		t.Errorf("out.CreatedAt = %s, want now, %s", out.CreatedAt, now)
	}
	if _, err := s.ClaimOutgoing(ctx, "d1", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if err := s.FinishOutgoing(ctx, out.ID, "d1", "reply"); err != nil {
		t.Fatal(err)
	}

	var at, received, processed, created, finished int64
	var outcome string
	err := s.read.QueryRow(`SELECT i.at, i.received_at, i.processed_at, o.created_at, o.finished_at, o.outcome
		FROM inbox AS i JOIN outbox AS o ON o.event_id = i.id`).Scan(&at, &received, &processed, &created, &finished, &outcome)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(at, received, processed, created, finished, outcome)
	start := now.Add(-2 * time.Second).UnixMilli()
	want := fmt.Sprint(start-1000, start, start+1000, start+1000, start+2000, "reply")
	if got != want {
		t.Errorf("at, received_at, processed_at, created_at, finished_at, outcome = %s, want %s", got, want)
	}
}

// fillBacklog adds n processed inbox events, n delivered outbox rows, n transcript lines,
// n waiting tickets whose customers were told, and n archived tickets, over 1000
// conversations, all at times 1 to n.
func fillBacklog(tb testing.TB, s *Store, n int) {
	tb.Helper()
	if n == 0 {
		return
	}
	const fill = `WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO %s SELECT %s FROM seq`
	inbox := fmt.Sprintf(fill, "inbox (id, channel, user_id, event, at, received_at, processed_at)",
		"'old:' || i, 'line', 'U' || (i % 1000), NULL, i, i, i + 1")
	outbox := fmt.Sprintf(fill, "outbox (channel, user_id, via, event_id, seq, payload, created_at, next_attempt_at, finished_at, outcome)",
		"'line', 'U' || (i % 1000), 'line', 'old:' || i, 0, '{}', i, i, i + 1, 'reply'")
	transcripts := fmt.Sprintf(fill, "transcripts (channel, user_id, at, role, text)",
		"'line', 'U' || (i % 1000), i, 'bot', 'hello'")
	conversations := fmt.Sprintf(fill, "conversations (channel, user_id, lang, status, node, ticket, ticket_state, ticket_since, ticket_waited, flow_version, revision, created_at, updated_at)",
		"'old', 'U' || i, 'ja', 'handoff', 'handoff', '{}', 'waiting', i, 1, '1', 1, i, i")
	tickets := fmt.Sprintf(fill, "tickets (id, channel, user_id, state, created_at, closed_at, ticket)",
		"'T' || i, 'line', 'U' || (i % 1000), 'closed', i, i, '{}'")
	for _, q := range []string{inbox, outbox, transcripts, conversations, tickets} {
		if _, err := s.write.Exec(q, n); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestPurgeBatches checks that Purge deletes tables larger than a batch whole, and only
// the old rows.
func TestPurgeBatches(t *testing.T) {
	s := open(t, Memory)
	const n = 2*purgeBatch + 1
	fillBacklog(t, s, n) // rows at times 1 to n, processed and finished at 2 to n+1
	if _, err := s.write.Exec(`INSERT INTO threads (ticket_id, address, channel, user_id)
		SELECT id, 'C0/' || id, channel, user_id FROM tickets`); err != nil {
		t.Fatal(err)
	}
	count := func() (total int) {
		t.Helper()
		for _, table := range []string{"inbox", "outbox", "transcripts", "tickets", "threads", "conversations"} {
			var c int
			if err := s.read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&c); err != nil {
				t.Fatal(err)
			}
			total += c
		}
		return total
	}
	before := count()

	// Rows at times below n+1: all transcript lines, tickets and threads, all inbox and
	// outbox rows but the last (processed and finished at n+1).
	got, err := s.Purge(t.Context(), time.UnixMilli(n+1))
	if err != nil {
		t.Fatal(err)
	}
	if want := 5*n - 2; got != want {
		t.Errorf("Purge = %d, want %d", got, want)
	}
	if after := count(); after != before-got {
		t.Errorf("%d rows left of %d after purging %d", after, before, got)
	}
	if got, err := s.Purge(t.Context(), time.UnixMilli(n+2)); err != nil || got != 2 {
		t.Errorf("second Purge = %d, %v; want 2", got, err)
	}
	if left := count(); left != n { // the conversations
		t.Errorf("%d rows left, want the %d conversations", left, n)
	}
}

// TestTicketColumns checks the columns the store derives from tickets, for indexes and
// reports, which the conformance suite cannot see.
func TestTicketColumns(t *testing.T) {
	now := time.Date(2025, time.April, 2, 10, 0, 0, 0, time.UTC)
	s := openConfig(t, Config{Path: Memory, Now: func() time.Time { return now }})
	ctx := t.Context()
	k := bot.Key{Channel: "line", User: "U1"}
	at := now.Add(-time.Hour)

	c := conversation(k)
	c.Ticket = &bot.Ticket{ID: "T1", State: bot.TicketWaiting, CreatedAt: at, Waited: true}
	if err := s.SaveConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	var state, since, waited any
	row := `SELECT ticket_state, ticket_since, ticket_waited FROM conversations`
	if err := s.read.QueryRow(row).Scan(&state, &since, &waited); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(state, since, waited), fmt.Sprint("waiting", at.UnixMilli(), 1); got != want {
		t.Errorf("ticket_state, ticket_since, ticket_waited = %s, want %s", got, want)
	}
	c.Ticket = nil
	if err := s.SaveConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRow(row).Scan(&state, &since, &waited); err != nil {
		t.Fatal(err)
	}
	if state != nil || since != nil || waited != nil {
		t.Errorf("without a ticket: ticket_state, ticket_since, ticket_waited = %v, %v, %v; want NULLs", state, since, waited)
	}

	tests := []struct {
		name   string
		ticket bot.Ticket
		want   []any // the columns
	}{
		{
			name: "full",
			ticket: bot.Ticket{ID: "T-full", State: bot.TicketClosed, Reason: "asked", Staff: true, Agent: "U0A", AgentName: "Sato",
				CreatedAt: at, ClaimedAt: at.Add(time.Minute), ResolvedAt: at.Add(2 * time.Minute), ClosedAt: at.Add(3 * time.Minute),
				Outcome: "resolved", Waited: true, Rating: 5},
			want: []any{"line", "U1", "closed", "resolved", "asked", "U0A", "Sato", at.UnixMilli(), at.Add(time.Minute).UnixMilli(),
				at.Add(2 * time.Minute).UnixMilli(), at.Add(3 * time.Minute).UnixMilli(), 5, 1, 1},
		},
		{
			name:   "minimal, closed at commit",
			ticket: bot.Ticket{ID: "T-minimal", State: bot.TicketClosed, CreatedAt: at},
			want:   []any{"line", "U1", "closed", "", "", "", "", at.UnixMilli(), nil, nil, now.UnixMilli(), nil, 0, 0},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := bot.Event{ID: fmt.Sprintf("e%d", i), Key: k, In: bot.Inbound{Kind: bot.InText}, At: at}
			if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
				t.Fatal(err)
			}
			c, err := s.Conversation(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Closed: &tt.ticket}); err != nil {
				t.Fatal(err)
			}
			cols := make([]any, 15)
			ptrs := make([]any, len(cols))
			for i := range cols {
				ptrs[i] = &cols[i]
			}
			err = s.read.QueryRow(`SELECT channel, user_id, state, outcome, reason, agent, agent_name, created_at,
				claimed_at, resolved_at, closed_at, rating, staff, waited, typeof(ticket) FROM tickets WHERE id = ?`, tt.ticket.ID).Scan(ptrs...)
			if err != nil {
				t.Fatal(err)
			}
			if cols[14] != "text" {
				t.Errorf("ticket stored as %v, want text", cols[14])
			}
			if got, want := fmt.Sprintf("%#v", cols[:14]), fmt.Sprintf("%#v", tt.want); got != want {
				t.Errorf("columns = %s\nwant      %s", got, want)
			}
		})
	}
}

// TestTwoProcessesOneConversation checks what replaces leases across processes that share
// a file: each Store has its own leases, so both may claim one conversation, but only one
// turn per event commits, and never one whose conversation has an older pending event.
func TestTwoProcessesOneConversation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	p1, p2 := open(t, path), open(t, path)
	ctx := t.Context()
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	e1, e2 := storetest.BenchEvent(1, at), storetest.BenchEvent(1001, at) // the same conversation, e1 first
	if _, err := p1.AddEvents(ctx, []bot.Event{e1, e2}); err != nil {
		t.Fatal(err)
	}
	claim := func(s *Store, owner string) []bot.Event {
		t.Helper()
		k, evs, err := s.ClaimConversation(ctx, owner, time.Minute)
		if err != nil || k != e1.Key {
			t.Fatalf("ClaimConversation by %s = %v, %v; want %v", owner, k, err, e1.Key)
		}
		return evs
	}
	if got1, got2 := claim(p1, "w1"), claim(p2, "w2"); len(got1) != 2 || len(got2) != 2 {
		t.Fatalf("claimed %d and %d events, want 2 each", len(got1), len(got2))
	}
	commitNew := func(s *Store, ev bot.Event, node string) error {
		c := &bot.Conversation{Key: ev.Key, Lang: bot.Japanese, Status: bot.StatusActive, Node: node,
			FlowVersion: "v1", CreatedAt: at, UpdatedAt: at}
		return s.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID})
	}
	// e2 cannot go before e1, in either process.
	if err := commitNew(p2, e2, "p2"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("commit of e2 before e1: err = %v, want bot.ErrNotFound", err)
	}
	if err := commitNew(p1, e1, "p1"); err != nil {
		t.Fatalf("commit of e1 by p1: %v", err)
	}
	// p2 stepped e1 from the same state: the revision has moved on.
	if err := commitNew(p2, e1, "p2"); !errors.Is(err, bot.ErrConflict) && !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("second commit of e1: err = %v, want a conflict", err)
	}
	c, err := p2.Conversation(ctx, e1.Key)
	if err != nil || c.Node != "p1" || c.Revision != 1 {
		t.Fatalf("conversation = %+v, %v; want p1's turn only", c, err)
	}
	c.Node = "p2"
	if err := p2.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: e1.ID}); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("commit of e1 again at the current revision: err = %v, want bot.ErrNotFound", err)
	}
	if err := p2.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: e2.ID}); err != nil {
		t.Errorf("commit of e2 after e1: %v", err)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.BenchStore {
		return open(b, filepath.Join(b.TempDir(), "giftdesk.db"))
	}, func(b *testing.B, s storetest.BenchStore, n int) { fillBacklog(b, s.(*Store), n) })
}
