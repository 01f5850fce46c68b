package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var purgeTests = []test{
	{"KeepsWhatItMust", testPurgeKeepsWhatItMust},
	{"Empty", testPurgeEmpty},
	{"Conversations", testPurgeConversations},
	{"OutgoingPayload", testPurgeOutgoingPayload},
}

// testPurgeConversations checks that Purge deletes the conversations last saved before
// its time, but not one with an open ticket, a pending event or an undelivered row.
func testPurgeConversations(t *testing.T, s Store, clk *clock) {
	ctx := t.Context()
	old := clk.Now()
	save := func(user string, ticket bool, at time.Time) bot.Key {
		t.Helper()
		c := sample(bot.Key{Channel: "line", User: user})
		c.UpdatedAt = at
		if !ticket {
			c.Ticket = nil
		}
		if err := s.SaveConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c.Key
	}
	idle := save("idle", false, old)
	withTicket := save("ticket", true, old)
	pending := save("pending", false, old)
	addEvents(t, s, event(pending, "p1", old))
	undelivered := save("undelivered", false, old)
	u1 := event(undelivered, "u1", old)
	addEvents(t, s, u1)
	tn := &bot.Turn{Conversation: current(t, s, undelivered), EventID: u1.ID, Out: []*bot.Outgoing{outgoing(u1, "u1")}}
	if err := s.CommitTurn(ctx, tn); err != nil {
		t.Fatal(err)
	}
	recent := save("recent", false, old.Add(time.Hour))

	clk.Advance(time.Hour)
	purge(t, s, old.Add(time.Minute), 2) // idle's conversation, and the processed event u1
	for _, k := range []bot.Key{withTicket, pending, undelivered, recent} {
		if _, err := s.Conversation(ctx, k); err != nil {
			t.Errorf("conversation %s after Purge: %v, want it kept", k.User, err)
		}
	}
	if _, err := s.Conversation(ctx, idle); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("idle conversation after Purge: err = %v, want bot.ErrNotFound", err)
	}
}

// testPurgeOutgoingPayload checks that a delivered row keeps no payload (an agent's words
// as written, a reply token), while a row still to deliver keeps it.
func testPurgeOutgoingPayload(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	delivered := turn(t, s, a, "a1", t0, "GIFT-7K3Q-PX9M-2ZLW is your new code")
	waiting := turn(t, s, b, "b1", t0, "still waiting")
	claimOut(t, s, "d1", 10, delivered, waiting)
	finishOut(t, s, delivered.ID, "d1", "push")
	for _, tt := range []struct {
		name string
		id   int64
		want string // in the payload; "" for none
	}{
		{name: "delivered", id: delivered.ID},
		{name: "waiting", id: waiting.ID, want: "still waiting"},
	} {
		p, err := s.OutgoingPayload(t.Context(), tt.id)
		if err != nil {
			t.Fatalf("%s: OutgoingPayload: %v", tt.name, err)
		}
		if tt.want == "" && (strings.Contains(string(p), "7K3Q") || strings.Contains(string(p), "new code")) {
			t.Errorf("%s row keeps its messages: %s", tt.name, p)
		}
		if tt.want != "" && !strings.Contains(string(p), tt.want) {
			t.Errorf("%s row lost its messages: %s", tt.name, p)
		}
	}
}

func purge(t *testing.T, s Store, before time.Time, want int) {
	t.Helper()
	n, err := s.Purge(t.Context(), before)
	if err != nil {
		t.Fatalf("Purge(%s): %v", before.Format(time.RFC3339Nano), err)
	}
	if n != want {
		t.Errorf("Purge(%s) = %d rows, want %d", before.Format(time.RFC3339Nano), n, want)
	}
}

// testPurgeKeepsWhatItMust fills a store with old and new rows of every kind, purges the
// old ones, and checks what is left: pending events and undelivered rows stay however old.
func testPurgeKeepsWhatItMust(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	c := bot.Key{Channel: "line", User: "C"}
	old := clk.Now()
	before := old.Add(time.Hour)

	// Old: a turn of A with transcript lines, delivered; a turn of B, not delivered; an
	// event of C, not processed; a dead letter; a closed ticket and its thread.
	a1 := event(a, "a1", old)
	addEvents(t, s, a1, event(c, "c1", old))
	oldTicket := &bot.Ticket{ID: "T-old", State: bot.TicketClosed, CreatedAt: old.Add(-time.Hour), ClosedAt: old}
	out := outgoing(a1, "a1")
	commitTurn(t, s, a1, &bot.Turn{Out: []*bot.Outgoing{out}, Closed: oldTicket, Transcript: []bot.Line{
		{At: old, Role: bot.RoleCustomer, Text: "old 1"},
		{At: before.Add(-time.Millisecond), Role: bot.RoleBot, Text: "old 2"},
	}})
	link(t, s, oldTicket.ID, a, "C0/old")
	link(t, s, "T-open", a, "C0/open") // a ticket not closed: its thread stays
	claimOut(t, s, "d1", 10, out)
	finishOut(t, s, out.ID, "d1", "reply")
	undelivered := turn(t, s, b, "b1", old, "b1")
	if err := s.AddDeadLetter(t.Context(), bot.DeadLetter{Channel: "line", Reason: "old", Body: []byte("{}"), At: old}); err != nil {
		t.Fatal(err)
	}

	// New: a turn of A, delivered, with a line exactly at before; a dead letter; a closed
	// ticket.
	clk.Advance(2 * time.Hour)
	a2 := event(a, "a2", clk.Now())
	addEvents(t, s, a2)
	newTicket := &bot.Ticket{ID: "T-new", State: bot.TicketClosed, CreatedAt: old, ClosedAt: before}
	out2 := outgoing(a2, "a2")
	commitTurn(t, s, a2, &bot.Turn{Out: []*bot.Outgoing{out2}, Closed: newTicket, Transcript: []bot.Line{
		{At: before, Role: bot.RoleCustomer, Text: "new 1"},
		{At: clk.Now(), Role: bot.RoleBot, Text: "new 2"},
	}})
	claimOut(t, s, "d1", 10, undelivered, out2)
	retryOut(t, s, undelivered.ID, "d1", clk.Now()) // it fails
	finishOut(t, s, out2.ID, "d1", "reply")
	if err := s.AddDeadLetter(t.Context(), bot.DeadLetter{Channel: "line", Reason: "new", Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}

	// 2 transcript lines, 2 processed events (a1, b1), 1 delivered row, 1 dead letter, 1
	// archived ticket and its thread, and A's conversation (saved with an UpdatedAt a day
	// before old; B's stays, its row undelivered).
	purge(t, s, before, 9)
	purge(t, s, before, 0)

	checkTranscript(t, s, a, 10, bot.Line{At: before, Role: bot.RoleCustomer, Text: "new 1"},
		bot.Line{At: clk.Now(), Role: bot.RoleBot, Text: "new 2"})
	checkNotArchived(t, s, oldTicket.ID)
	checkArchived(t, s, newTicket.ID, a, newTicket)
	if _, err := s.TicketThread(t.Context(), oldTicket.ID); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("thread of a purged ticket: err = %v, want bot.ErrNotFound", err)
	}
	checkThread(t, s, "T-open", a, "C0/open")
	// The undelivered row and the pending event stay, however old.
	claimOut(t, s, "d2", 10, undelivered)
	claimWant(t, s, "w1", c, "c1")
	if p := payload(t, s, "c1"); len(p) == 0 {
		t.Errorf("pending event c1 lost its payload")
	}
	// The new event's id still drops its redelivery; the purged ones no longer do.
	if fresh := addEvents(t, s, a2, a1); fresh[0] || !fresh[1] {
		t.Errorf("AddEvents of a kept and a purged event: fresh = %v, want [false true]", fresh)
	}

	// Everything, except what is pending or undelivered.
	purge(t, s, clk.Now().Add(time.Hour), 6) // 2 lines, 1 event, 1 row, 1 dead letter, 1 ticket
	claimOut(t, s, "d3", 10)                 // still d2's
	finishOut(t, s, undelivered.ID, "d2", "push")
	purge(t, s, clk.Now().Add(time.Hour), 2) // the row, and B's conversation with it
	claimWant(t, s, "w2", a, "a1")           // redelivered after its id was purged, so pending again
}

func testPurgeEmpty(t *testing.T, s Store, _ *clock) {
	purge(t, s, t0.Add(100*365*24*time.Hour), 0)
}
