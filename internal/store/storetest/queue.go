package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var queueTests = []test{
	{"ClaimEmpty", testQueueClaimEmpty},
	{"EventOrder", testQueueEventOrder},
	{"OldestConversationFirst", testQueueOldestConversationFirst},
	{"Exclusive", testQueueExclusive},
	{"LeaseExpiry", testQueueLeaseExpiry},
	{"ConcurrentClaims", testQueueConcurrentClaims},
	{"EventWhileLeased", testQueueEventWhileLeased},
	{"CommitTurn", testQueueCommitTurn},
	{"CommitTurnConflict", testQueueCommitTurnConflict},
	{"CommitTurnNotPending", testQueueCommitTurnNotPending},
	{"CommitTurnMany", testQueueCommitTurnMany},
	{"CommitTurnBadOutgoing", testQueueCommitTurnBadOutgoing},
	{"CommitTurnBlanksEvent", testQueueCommitTurnBlanksEvent},
	{"CancelledContext", testQueueCancelledContext},
	{"CommitTurnRelease", testQueueCommitTurnRelease},
	{"ClaimKey", testQueueClaimKey},
}

// claimKeyWant checks that owner's ClaimKey of k returns the events ids.
func claimKeyWant(t *testing.T, s Store, owner string, k bot.Key, ids ...string) {
	t.Helper()
	evs, err := s.ClaimKey(t.Context(), k, owner, lease)
	if err != nil {
		t.Fatalf("ClaimKey %q/%q by %s: %v", k.Channel, k.User, owner, err)
	}
	if g, w := eventIDs(evs), strings.Join(ids, ","); g != w {
		t.Fatalf("ClaimKey %q/%q by %s: events %s, want %s", k.Channel, k.User, owner, g, w)
	}
}

// claimKeyNone checks that owner's ClaimKey of k finds nothing to claim.
func claimKeyNone(t *testing.T, s Store, owner string, k bot.Key) {
	t.Helper()
	evs, err := s.ClaimKey(t.Context(), k, owner, lease)
	if !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("ClaimKey %q/%q by %s = events %s, err %v; want bot.ErrNotFound", k.Channel, k.User, owner, eventIDs(evs), err)
	}
}

// testQueueClaimKey checks that ClaimKey claims the conversation it is given, whatever
// the order of conversations, under the same leases as ClaimConversation, and that
// finding nothing pending leaves no lease behind.
func testQueueClaimKey(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	a1, a2, b1 := event(a, "a1", t0), event(a, "a2", t0.Add(time.Second)), event(b, "b1", t0.Add(2*time.Second))
	addEvents(t, s, a2, b1, a1)

	claimKeyWant(t, s, "w1", b, "b1") // not the oldest conversation: the one asked for
	claimKeyNone(t, s, "w2", b)       // leased
	claimKeyNone(t, s, "w1", b)       // not re-entrant
	claimWant(t, s, "w2", a, "a1", "a2")
	claimNone(t, s, "w3")
	claimKeyNone(t, s, "w3", bot.Key{Channel: "line", User: "nobody"})

	// A released conversation is claimed again, its event still pending.
	release(t, s, b, "w1")
	claimKeyWant(t, s, "w3", b, "b1")
	commitTurn(t, s, b1, &bot.Turn{Out: []*bot.Outgoing{outgoing(b1, "hello")}, Release: "w3"})

	// Nothing pending: not found, and no lease left behind.
	claimKeyNone(t, s, "w4", b)
	b2 := event(b, "b2", t0.Add(3*time.Second))
	addEvents(t, s, b2)
	claimWant(t, s, "w5", b, "b2")
	release(t, s, b, "w5")
	claimKeyWant(t, s, "w6", b, "b2")

	// An expired lease is taken over, as by ClaimConversation.
	claimKeyNone(t, s, "w7", a)
	clk.Advance(lease)
	claimKeyWant(t, s, "w7", a, "a1", "a2")

	if _, err := s.ClaimKey(t.Context(), a, "", lease); err == nil || errors.Is(err, bot.ErrNotFound) {
		t.Errorf("ClaimKey without an owner: err %v, want an error that is not bot.ErrNotFound", err)
	}
}

// testQueueCommitTurnRelease checks that a turn committed with Release ends that owner's
// lease on the conversation, as ReleaseConversation does, and only that owner's.
func testQueueCommitTurnRelease(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	e1, e2, e3 := event(a, "a1", t0), event(a, "a2", t0.Add(time.Second)), event(a, "a3", t0.Add(2*time.Second))
	addEvents(t, s, e1)
	claimWant(t, s, "w1", a, "a1")
	addEvents(t, s, e2)
	commitTurn(t, s, e1, &bot.Turn{Out: []*bot.Outgoing{outgoing(e1, "hello")}, Release: "w1"})
	claimWant(t, s, "w2", a, "a2") // at once: no need to wait for the lease to expire

	// Another owner's name releases nothing.
	addEvents(t, s, e3)
	commitTurn(t, s, e2, &bot.Turn{Release: "w1"})
	claimNone(t, s, "w3")
	clk.Advance(lease)
	claimWant(t, s, "w3", a, "a3")
}

func testQueueClaimEmpty(t *testing.T, s Store, _ *clock) {
	claimNone(t, s, "w1")

	// Nor once every event is processed.
	k := bot.Key{Channel: "line", User: "U1"}
	turn(t, s, k, "line:e1", t0, "hello")
	turn(t, s, k, "line:e2", t0.Add(time.Second))
	claimNone(t, s, "w1")
}

// testQueueEventOrder checks that a conversation's events come in the order they happened,
// and in the order they arrived when they happened in the same millisecond, whatever the
// order of arrival otherwise.
func testQueueEventOrder(t *testing.T, s Store, _ *clock) {
	k := bot.Key{Channel: "line", User: "U1"}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	addEvents(t, s, event(k, "e3", at(5000)), event(k, "e2a", at(2000)))
	addEvents(t, s, event(k, "e1", at(1000)), event(k, "e2b", at(2000)), event(k, "e2c", at(2000)))
	addEvents(t, s, event(k, "e0", at(0)), event(k, "e4", at(5001)))
	claimWant(t, s, "w1", k, "e0", "e1", "e2a", "e2b", "e2c", "e3", "e4")
}

// testQueueOldestConversationFirst checks that the conversation claimed is the one whose
// oldest pending event is the oldest, by event time, then arrival.
func testQueueOldestConversationFirst(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	c := bot.Key{Channel: "slack", User: "C"}
	d := bot.Key{Channel: "line", User: "D"}
	addEvents(t, s, event(a, "a2", t0.Add(2*time.Second)), event(c, "c3", t0.Add(3*time.Second)))
	addEvents(t, s, event(a, "a10", t0.Add(10*time.Second)), event(d, "d2", t0.Add(2*time.Second)))
	addEvents(t, s, event(b, "b1", t0.Add(1*time.Second)))

	claimWant(t, s, "w1", b, "b1")
	claimWant(t, s, "w2", a, "a2", "a10")
	claimWant(t, s, "w3", d, "d2") // as old as a2, but arrived later
	claimWant(t, s, "w4", c, "c3")
	claimNone(t, s, "w5")
}

// testQueueExclusive checks that a leased conversation cannot be claimed until its owner
// releases it, and that only the owner can.
func testQueueExclusive(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	addEvents(t, s, event(a, "a1", t0), event(b, "b1", t0.Add(time.Second)))

	claimWant(t, s, "w1", a, "a1")
	claimWant(t, s, "w2", b, "b1") // not a: w1 has it
	claimNone(t, s, "w3")
	claimNone(t, s, "w1") // not even for its owner: a lease is not re-entrant

	release(t, s, a, "w2") // w2 does not hold a: no effect
	claimNone(t, s, "w3")

	release(t, s, a, "w1")
	claimWant(t, s, "w3", a, "a1") // still pending: it was not committed
	release(t, s, a, "w1")         // w1's lease is over; w3's stays
	claimNone(t, s, "w4")
}

// testQueueLeaseExpiry checks that a lease ends at its expiry, when another owner may take
// the conversation over, as when a worker crashes while it holds one.
func testQueueLeaseExpiry(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	addEvents(t, s, event(a, "a1", t0))
	claimWant(t, s, "w1", a, "a1")

	clk.Advance(lease - time.Millisecond)
	claimNone(t, s, "w2")

	clk.Advance(time.Millisecond)
	claimWant(t, s, "w2", a, "a1")
	release(t, s, a, "w1") // the crashed owner comes back: w2's lease stays
	claimNone(t, s, "w3")

	// The lease is w2's now, and so is the commit.
	commit(t, s, event(a, "a1", t0), "hello")
	release(t, s, a, "w2")
	claimNone(t, s, "w3")
}

// testQueueConcurrentClaims has owners claim concurrently until nothing is left: each
// conversation must go to exactly one of them.
func testQueueConcurrentClaims(t *testing.T, s Store, _ *clock) {
	const (
		owners        = 8
		conversations = 40
	)
	ks := keys(conversations)
	var evs []bot.Event
	for i, k := range ks {
		evs = append(evs,
			event(k, k.User+"-1", t0.Add(time.Duration(i)*time.Millisecond)),
			event(k, k.User+"-2", t0.Add(time.Hour+time.Duration(i)*time.Millisecond)))
	}
	addEvents(t, s, evs...)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = make(map[bot.Key][]string) // owners
		start   = make(chan struct{})
	)
	for o := range owners {
		owner := fmt.Sprintf("w%d", o)
		wg.Go(func() {
			<-start
			for range conversations + 1 {
				k, got, err := s.ClaimConversation(t.Context(), owner, lease)
				if errors.Is(err, bot.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("ClaimConversation by %s: %v", owner, err)
					return
				}
				if want := k.User + "-1," + k.User + "-2"; eventIDs(got) != want {
					t.Errorf("ClaimConversation by %s of %s: events %s, want %s", owner, k.User, eventIDs(got), want)
				}
				mu.Lock()
				claimed[k] = append(claimed[k], owner)
				mu.Unlock()
			}
			t.Errorf("%s claimed more than the %d conversations there are", owner, conversations)
		})
	}
	close(start)
	wg.Wait()
	for _, k := range ks {
		if len(claimed[k]) != 1 {
			t.Errorf("conversation %s claimed by %v, want exactly one owner", k.User, claimed[k])
		}
	}
	if len(claimed) != len(ks) {
		t.Errorf("%d conversations claimed, want %d", len(claimed), len(ks))
	}
}

// testQueueEventWhileLeased checks that an event arriving for a leased conversation waits
// for the lease, and then comes alone.
func testQueueEventWhileLeased(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	e1, e2 := event(a, "a1", t0), event(a, "a2", t0.Add(time.Second))
	addEvents(t, s, e1)
	claimWant(t, s, "w1", a, "a1")

	addEvents(t, s, e2)
	claimNone(t, s, "w2")
	commit(t, s, e1, "hello")
	claimNone(t, s, "w2")
	release(t, s, a, "w1")
	claimWant(t, s, "w2", a, "a2")
}

// testQueueCommitTurn follows two turns of a conversation: the state saved, the events no
// longer pending, an outbox row only for the turn with messages.
func testQueueCommitTurn(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	e1, e2 := event(a, "a1", t0), event(a, "a2", t0.Add(time.Second))
	addEvents(t, s, e1, e2)
	claimWant(t, s, "w1", a, "a1", "a2")

	c := sample(a)
	c.Node = "card_type"
	out := outgoing(e1, "hello", "which card?")
	if err := s.CommitTurn(t.Context(), &bot.Turn{Conversation: c, EventID: e1.ID, Out: []*bot.Outgoing{out}}); err != nil {
		t.Fatalf("CommitTurn of a new conversation: %v", err)
	}
	if c.Revision != 1 {
		t.Errorf("CommitTurn left Revision %d, want 1", c.Revision)
	}
	if out.ID <= 0 {
		t.Errorf("CommitTurn set out.ID = %d, want a positive ID", out.ID)
	}
	if d := diff(load(t, s, a), c); d != "" {
		t.Errorf("conversation after CommitTurn:\n%s", d)
	}

	c.Node = "ask_code"
	empty := outgoing(e2)
	tn := &bot.Turn{Conversation: c, EventID: e2.ID, Out: []*bot.Outgoing{empty, nil}} // nothing to send
	if err := s.CommitTurn(t.Context(), tn); err != nil {
		t.Fatalf("CommitTurn without messages: %v", err)
	}
	if c.Revision != 2 {
		t.Errorf("CommitTurn left Revision %d, want 2", c.Revision)
	}
	if empty.ID != 0 {
		t.Errorf("CommitTurn without messages set out.ID = %d, want 0", empty.ID)
	}
	if d := diff(load(t, s, a), c); d != "" {
		t.Errorf("conversation after CommitTurn:\n%s", d)
	}

	release(t, s, a, "w1")
	claimNone(t, s, "w2")
	claimOut(t, s, "d1", 10, out)
}

// testQueueCommitTurnMany commits a turn with everything a turn can change: outgoing
// messages to the customer and to agents, transcript lines and a closed ticket.
func testQueueCommitTurnMany(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	ev := event(a, "a1", t0)
	addEvents(t, s, ev)
	customer := outgoing(ev, "we will answer soon")
	customer.CreatedAt = time.Time{} // the store's now
	ticket := relay(ev, 1, "slack", "C0TICKETS", "new ticket")
	ticket.Messages[0] = bot.Message{Kind: bot.MsgTicket, Ticket: &bot.TicketCard{
		ID: "T1", State: bot.TicketWaiting, Customer: "山田", Channel: "line", Lang: bot.Japanese, Reason: "asked",
		Since: t0, Path: []string{"start → cannot use"}, Recent: []bot.Line{{At: t0, Role: bot.RoleCustomer, Text: "help"}},
	}}
	nothing := relay(ev, 2, "slack", "C0TICKETS") // no messages: not stored
	thread := relay(ev, 3, "slack", "ticket:T0", "closed")
	thread.EventID = "" // empty means the turn's event
	lines := []bot.Line{
		{At: t0, Role: bot.RoleCustomer, Name: "山田", Text: "使えない 🎁 ****-****", Miss: true},
		{At: t0, Role: bot.RoleBot, Text: "we will answer soon", Node: "handoff"},
		{At: t0.Add(time.Millisecond), Role: bot.RoleSystem, Text: "ticket T1 opened: asked"},
	}
	closed := &bot.Ticket{ID: "T0", State: bot.TicketClosed, Reason: "asked", CreatedAt: t0.Add(-time.Hour),
		ClosedAt: t0, Outcome: "cancelled", Rating: 2}
	c := current(t, s, a)
	c.Ticket = &bot.Ticket{ID: "T1", State: bot.TicketWaiting, Reason: "asked", CreatedAt: t0}
	tn := &bot.Turn{Conversation: c, Out: []*bot.Outgoing{customer, ticket, nothing, thread}, Transcript: lines, Closed: closed}
	commitTurn(t, s, ev, tn)
	thread.EventID = ev.ID // as claimed, for claimOut to compare

	if customer.ID == ticket.ID || ticket.ID == thread.ID || customer.ID == thread.ID {
		t.Errorf("outgoing IDs %d, %d, %d are not distinct", customer.ID, ticket.ID, thread.ID)
	}
	if !(customer.ID < ticket.ID && ticket.ID < thread.ID) {
		t.Errorf("outgoing IDs %d, %d, %d do not grow in the order of Turn.Out", customer.ID, ticket.ID, thread.ID)
	}
	checkTime(t, "CreatedAt of an outgoing without one", customer.CreatedAt, clk.Now())
	checkTime(t, "CreatedAt of an outgoing with one", ticket.CreatedAt, ev.At.Add(time.Second))
	if d := diff(load(t, s, a), c); d != "" {
		t.Errorf("conversation after CommitTurn:\n%s", d)
	}

	// The customer's row and the first Slack row go at once; the second Slack row waits.
	got := claimOut(t, s, "d1", 10, customer, ticket)
	if got[1].Seq != 1 || got[1].Channel != "slack" || got[1].Address != "C0TICKETS" || got[1].EventID != ev.ID {
		t.Errorf("claimed ticket row = %+v", got[1])
	}
	if !reflect.DeepEqual(got[1].Messages, ticket.Messages) {
		t.Errorf("ticket row Messages = %#v\nwant %#v", got[1].Messages, ticket.Messages)
	}
	if got[0].Seq != 0 || got[0].Channel != "line" {
		t.Errorf("claimed customer row: Seq %d, Channel %q; want 0, \"line\" (Channel is set to Via())", got[0].Seq, got[0].Channel)
	}
	finishOut(t, s, ticket.ID, "d1", "push")
	got = claimOut(t, s, "d2", 10, thread)
	if got[0].EventID != ev.ID || got[0].Seq != 3 {
		t.Errorf("claimed thread row: EventID %q, Seq %d; want %q, 3", got[0].EventID, got[0].Seq, ev.ID)
	}

	checkTranscript(t, s, a, 10, lines...)
	checkArchived(t, s, "T0", a, closed)
}

// testQueueCommitTurnBadOutgoing checks that a turn with an outgoing message that does not
// belong to it commits nothing.
func testQueueCommitTurnBadOutgoing(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	ev := event(a, "a1", t0)
	addEvents(t, s, ev)
	other := outgoing(ev, "to B")
	other.Key = bot.Key{Channel: "line", User: "B"}
	otherEvent := outgoing(ev, "answering another event")
	otherEvent.EventID = "a0"
	dup := relay(ev, 0, "slack", "C0", "same seq as the customer's")

	tests := []struct {
		name string
		out  *bot.Outgoing
	}{
		{name: "another conversation", out: other},
		{name: "another event", out: otherEvent},
		{name: "duplicate seq", out: dup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := current(t, s, a)
			c.Node = "lost"
			first := outgoing(ev, "hello")
			tn := &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{first, tt.out},
				Transcript: []bot.Line{{At: t0, Role: bot.RoleBot, Text: "lost"}},
				Closed:     &bot.Ticket{ID: "T-lost", State: bot.TicketClosed, CreatedAt: t0, ClosedAt: t0}}
			if err := s.CommitTurn(t.Context(), tn); err == nil {
				t.Fatal("CommitTurn succeeded")
			}
			if c.Revision != 0 || first.ID != 0 || tt.out.ID != 0 {
				t.Errorf("failed CommitTurn changed Revision 0 -> %d and IDs to %d, %d", c.Revision, first.ID, tt.out.ID)
			}
			checkUncommitted(t, s, ev, nil, "T-lost")
		})
	}
}

// testQueueCommitTurnBlanksEvent checks that a processed event's content is gone from the
// store, as it may hold a gift-card code, while its ID still drops redeliveries.
func testQueueCommitTurnBlanksEvent(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	ev := event(a, "a1", t0)
	ev.In.Text = "my code is GIFT-7K3Q-PX9M-2ZLW"
	other := event(a, "a2", t0.Add(time.Second))
	addEvents(t, s, ev, other)
	if p := payload(t, s, ev.ID); !bytes.Contains(p, []byte("GIFT-7K3Q-PX9M-2ZLW")) {
		t.Fatalf("pending event payload %q does not hold the event's text", p)
	}

	commit(t, s, ev, "thanks")
	if p := payload(t, s, ev.ID); len(p) != 0 {
		t.Errorf("processed event payload = %q, want none", p)
	}
	if p := payload(t, s, other.ID); !bytes.Contains(p, []byte(other.In.Text)) {
		t.Errorf("pending event payload %q does not hold the event's text", p)
	}
	if fresh := addEvents(t, s, ev); fresh[0] {
		t.Errorf("redelivered processed event is fresh")
	}
	if _, err := s.EventPayload(t.Context(), "a-unknown"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("EventPayload of an unknown event: err = %v, want bot.ErrNotFound", err)
	}
	claimWant(t, s, "w1", a, other.ID)
}

// testQueueCommitTurnConflict checks that a turn whose conversation changed meanwhile
// commits nothing: the event stays pending and no message goes out.
func testQueueCommitTurnConflict(t *testing.T, s Store, _ *clock) {
	tests := []struct {
		name     string
		revision int64 // of the turn's conversation; the stored one is at 2
	}{
		{name: "new", revision: 0},
		{name: "stale", revision: 1},
		{name: "ahead", revision: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := bot.Key{Channel: "line", User: tt.name}
			save(t, s, sample(k))
			stored := load(t, s, k)
			stored.Node = "moved"
			save(t, s, stored)

			ev := event(k, tt.name+"-e1", t0)
			addEvents(t, s, ev)
			c := sample(k)
			c.Node = "lost"
			c.Revision = tt.revision
			out := outgoing(ev, "lost")
			tn := &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out},
				Transcript: []bot.Line{{At: t0, Role: bot.RoleBot, Text: "lost"}},
				Closed:     &bot.Ticket{ID: "T-" + tt.name, State: bot.TicketClosed, CreatedAt: t0, ClosedAt: t0}}
			err := s.CommitTurn(t.Context(), tn)
			if !errors.Is(err, bot.ErrConflict) {
				t.Fatalf("CommitTurn at revision %d of a conversation at 2: err = %v, want bot.ErrConflict", tt.revision, err)
			}
			if c.Revision != tt.revision || out.ID != 0 {
				t.Errorf("failed CommitTurn changed Revision %d -> %d and out.ID 0 -> %d", tt.revision, c.Revision, out.ID)
			}
			checkUncommitted(t, s, ev, stored, "T-"+tt.name)
			claimWant(t, s, "w1", k, ev.ID)

			// The worker reloads and steps again.
			out = commit(t, s, ev, "hello")
			release(t, s, k, "w1")
			claimNone(t, s, "w1")
			if rows := claimOut(t, s, "d1", 10, out); rows[0].Messages[0].Text != "hello" {
				t.Errorf("outbox after the retried turn: %+v, want the retried turn's messages", rows[0].Messages)
			}
		})
	}
}

// testQueueCommitTurnNotPending checks that a turn answering an event that is not pending
// commits nothing: a second worker that took over an expired lease must not answer twice.
func testQueueCommitTurnNotPending(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	ea, eb := event(a, "a1", t0), event(b, "b1", t0)
	addEvents(t, s, ea, eb)
	first := commit(t, s, ea, "first")

	tests := []struct {
		name    string
		k       bot.Key
		eventID string
	}{
		{name: "committed already", k: a, eventID: ea.ID},
		{name: "never stored", k: a, eventID: "a-unknown"},
		{name: "of another conversation", k: a, eventID: eb.ID},
		{name: "never stored, new conversation", k: bot.Key{Channel: "line", User: "C"}, eventID: "c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := current(t, s, tt.k)
			stored := clone(c)
			c.Node = "twice"
			out := outgoing(bot.Event{ID: tt.eventID, Key: tt.k, At: t0}, "twice")
			tn := &bot.Turn{Conversation: c, EventID: tt.eventID, Out: []*bot.Outgoing{out},
				Transcript: []bot.Line{{At: t0, Role: bot.RoleBot, Text: "twice"}},
				Closed:     &bot.Ticket{ID: "T-twice", State: bot.TicketClosed, CreatedAt: t0, ClosedAt: t0}}
			err := s.CommitTurn(t.Context(), tn)
			if !errors.Is(err, bot.ErrNotFound) {
				t.Fatalf("CommitTurn of event %s: err = %v, want bot.ErrNotFound", tt.eventID, err)
			}
			if c.Revision != stored.Revision || out.ID != 0 {
				t.Errorf("failed CommitTurn changed Revision %d -> %d and out.ID 0 -> %d", stored.Revision, c.Revision, out.ID)
			}
			got, err := s.Conversation(t.Context(), tt.k)
			switch {
			case stored.Revision == 0 && !errors.Is(err, bot.ErrNotFound):
				t.Errorf("failed CommitTurn of a new conversation: Conversation err = %v, want bot.ErrNotFound", err)
			case stored.Revision != 0 && err != nil:
				t.Fatal(err)
			case stored.Revision != 0:
				if d := diff(got, stored); d != "" {
					t.Errorf("failed CommitTurn changed the conversation:\n%s", d)
				}
			}
			if tt.k == a {
				checkTranscript(t, s, a, 10) // the helper's turn appended none
			} else {
				checkTranscript(t, s, tt.k, 10)
			}
			checkNotArchived(t, s, "T-twice")
		})
	}
	claimOut(t, s, "d1", 10, first)
	claimWant(t, s, "w1", b, eb.ID) // untouched
}

func testQueueCancelledContext(t *testing.T, s Store, _ *clock) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := bot.Key{Channel: "line", User: "A"}
	ev := event(a, "a1", t0)
	addEvents(t, s, ev)

	if _, _, err := s.ClaimConversation(ctx, "w1", lease); !errors.Is(err, context.Canceled) {
		t.Errorf("ClaimConversation with a cancelled context: err = %v, want context.Canceled", err)
	}
	claimWant(t, s, "w2", a, ev.ID) // w1 got no lease
	if err := s.ReleaseConversation(ctx, a, "w2"); !errors.Is(err, context.Canceled) {
		t.Errorf("ReleaseConversation with a cancelled context: err = %v, want context.Canceled", err)
	}
	claimNone(t, s, "w3") // w2 still holds it

	c := current(t, s, a)
	out := outgoing(ev, "hello")
	tn := &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out},
		Transcript: []bot.Line{{At: t0, Role: bot.RoleBot, Text: "hello"}},
		Closed:     &bot.Ticket{ID: "T-cancelled", State: bot.TicketClosed, CreatedAt: t0, ClosedAt: t0}}
	if err := s.CommitTurn(ctx, tn); !errors.Is(err, context.Canceled) {
		t.Errorf("CommitTurn with a cancelled context: err = %v, want context.Canceled", err)
	}
	if c.Revision != 0 || out.ID != 0 {
		t.Errorf("cancelled CommitTurn changed Revision 0 -> %d and out.ID 0 -> %d", c.Revision, out.ID)
	}
	checkUncommitted(t, s, ev, nil, "T-cancelled")
	release(t, s, a, "w2")
	claimWant(t, s, "w3", a, ev.ID)
}

// checkUncommitted checks that the turn answering ev was not committed: ev is pending with
// its content, the conversation is stored (nil: not stored), the conversation has no
// transcript nor outgoing rows, and ticket closed is not archived.
func checkUncommitted(t *testing.T, s Store, ev bot.Event, stored *bot.Conversation, closed string) {
	t.Helper()
	got, err := s.Conversation(t.Context(), ev.Key)
	switch {
	case stored == nil && !errors.Is(err, bot.ErrNotFound):
		t.Errorf("after a failed CommitTurn of a new conversation: Conversation err = %v, want bot.ErrNotFound", err)
	case stored != nil && err != nil:
		t.Errorf("after a failed CommitTurn: %v", err)
	case stored != nil:
		if d := diff(got, stored); d != "" {
			t.Errorf("failed CommitTurn changed the conversation:\n%s", d)
		}
	}
	if p := payload(t, s, ev.ID); !bytes.Contains(p, []byte(ev.In.Text)) {
		t.Errorf("after a failed CommitTurn, event %s payload %q no longer holds its text", ev.ID, p)
	}
	checkTranscript(t, s, ev.Key, 10)
	checkNotArchived(t, s, closed)
	claimOut(t, s, "d-check", 10) // none
}
