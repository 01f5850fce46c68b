package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var ticketTests = []test{
	{"Waiting", testTicketsWaiting},
	{"WaitingAfterCommit", testTicketsWaitingAfterCommit},
	{"Transcript", testTicketsTranscript},
	{"Archive", testTicketsArchive},
	{"CancelledContext", testTicketsCancelledContext},
}

var threadTests = []test{
	{"Link", withoutClock(testThreadsLink)},
	{"Conflict", withoutClock(testThreadsConflict)},
	{"ConcurrentLinks", withoutClock(testThreadsConcurrentLinks)},
}

// withTicket saves a conversation of k with ticket tk (nil for none) and returns it.
func withTicket(t *testing.T, s Store, k bot.Key, tk *bot.Ticket) *bot.Conversation {
	t.Helper()
	c := current(t, s, k)
	c.Ticket = tk
	save(t, s, c)
	return c
}

// waitingWant checks that WaitingTickets(since, limit) returns the conversations want, in
// that order.
func waitingWant(t *testing.T, s Store, since time.Time, limit int, want ...bot.Key) {
	t.Helper()
	got, err := s.WaitingTickets(t.Context(), since, limit)
	if err != nil {
		t.Fatalf("WaitingTickets: %v", err)
	}
	if got == nil {
		t.Errorf("WaitingTickets returned nil, want an empty slice")
	}
	if !slices.Equal(got, want) {
		t.Fatalf("WaitingTickets(%s, %d) = %v, want %v", since.Format(time.RFC3339Nano), limit, got, want)
	}
}

// testTicketsWaiting checks which conversations WaitingTickets selects, and their order.
func testTicketsWaiting(t *testing.T, s Store, _ *clock) {
	since := t0.Add(time.Hour)
	waiting := func(created time.Time) *bot.Ticket {
		return &bot.Ticket{ID: "T-" + created.Format("150405.000"), State: bot.TicketWaiting, Reason: "asked", CreatedAt: created}
	}
	var (
		newest  = bot.Key{Channel: "line", User: "newest"}   // waiting since just before since
		oldest  = bot.Key{Channel: "slack", User: "oldest"}  // waiting longest
		middle  = bot.Key{Channel: "line", User: "middle"}   //
		tieA    = bot.Key{Channel: "line", User: "tie-a"}    // as old as tieB: ordered by key
		tieB    = bot.Key{Channel: "line", User: "tie-b"}    //
		told    = bot.Key{Channel: "line", User: "told"}     // Waited
		claimed = bot.Key{Channel: "line", User: "claimed"}  // not waiting
		none    = bot.Key{Channel: "line", User: "none"}     // no ticket
		recent  = bot.Key{Channel: "line", User: "recent"}   // waiting since after since
		exact   = bot.Key{Channel: "line", User: "at-since"} // waiting since since: not before
	)
	// Saved in no particular order.
	withTicket(t, s, newest, waiting(since.Add(-time.Millisecond)))
	withTicket(t, s, tieB, waiting(t0.Add(20*time.Minute)))
	withTicket(t, s, claimed, &bot.Ticket{ID: "T-c", State: bot.TicketClaimed, CreatedAt: t0, ClaimedAt: t0.Add(time.Minute)})
	withTicket(t, s, middle, waiting(t0.Add(10*time.Minute)))
	tk := waiting(t0)
	tk.Waited = true
	withTicket(t, s, told, tk)
	withTicket(t, s, none, nil)
	withTicket(t, s, oldest, waiting(t0.Add(time.Minute)))
	withTicket(t, s, tieA, waiting(t0.Add(20*time.Minute)))
	withTicket(t, s, recent, waiting(since.Add(time.Minute)))
	withTicket(t, s, exact, waiting(since))

	waitingWant(t, s, since, 100, oldest, middle, tieA, tieB, newest)
	waitingWant(t, s, since, 2, oldest, middle)
	waitingWant(t, s, t0.Add(10*time.Minute), 100, oldest)
	waitingWant(t, s, t0, 100)

	// Telling the customer, claiming, and closing take a conversation out.
	c := load(t, s, oldest)
	c.Ticket.Waited = true
	save(t, s, c)
	c = load(t, s, middle)
	c.Ticket.State, c.Ticket.ClaimedAt = bot.TicketClaimed, since
	save(t, s, c)
	c = load(t, s, tieB)
	c.Ticket = nil
	save(t, s, c)
	waitingWant(t, s, since, 100, tieA, newest)
	// And a new ticket of a conversation that had one brings it back.
	c = load(t, s, told)
	c.Ticket = waiting(t0.Add(30 * time.Minute))
	save(t, s, c)
	waitingWant(t, s, since, 100, tieA, told, newest)

	if _, err := s.WaitingTickets(t.Context(), since, 0); err == nil {
		t.Errorf("WaitingTickets with limit 0 succeeded, want an error")
	}
}

// testTicketsWaitingAfterCommit checks that a ticket saved by CommitTurn is found as well.
func testTicketsWaitingAfterCommit(t *testing.T, s Store, _ *clock) {
	k := bot.Key{Channel: "line", User: "U1"}
	ev := event(k, "e1", t0)
	addEvents(t, s, ev)
	c := current(t, s, k)
	c.Ticket = &bot.Ticket{ID: "T1", State: bot.TicketWaiting, Reason: "asked", CreatedAt: t0}
	commitTurn(t, s, ev, &bot.Turn{Conversation: c})
	waitingWant(t, s, t0.Add(time.Minute), 10, k)

	ev = event(k, "e2", t0.Add(2*time.Minute))
	addEvents(t, s, ev)
	c.Ticket.Waited = true
	commitTurn(t, s, ev, &bot.Turn{Conversation: c})
	waitingWant(t, s, t0.Add(time.Hour), 10)
}

// testTicketsTranscript checks that transcript lines come back as appended, the last n,
// oldest first, and per conversation.
func testTicketsTranscript(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "slack", User: "A"} // the same user id on another channel
	tokyo := time.FixedZone("JST", 9*60*60)
	turns := [][]bot.Line{
		{
			{At: t0, Role: bot.RoleCustomer, Name: "山田 'Taro'", Text: "ギフト券が使えません 🎁 \"quoted\" \\ ****-****\n改行"},
			{At: t0, Role: bot.RoleBot, Text: "Which card? [Amazon | Apple]"},
		},
		{}, // a turn without lines
		{
			// Out of time order: lines keep the order they were appended in.
			{At: t0.Add(time.Minute), Role: bot.RoleSystem, Text: "ticket T1 opened: asked"},
			{At: time.Date(2025, time.April, 1, 18, 30, 15, 987_654_321, tokyo), Role: bot.RoleAgent, Name: "Sato", Text: "Hello"},
			{At: t0.Add(30 * time.Second), Role: bot.RoleNote, Name: "Sato", Text: "note: check the order"},
		},
	}
	var all []bot.Line
	for i, lines := range turns {
		for _, k := range []bot.Key{a, b} {
			ev := event(k, fmt.Sprintf("%s-e%d", k.Channel, i), t0.Add(time.Duration(i)*time.Second))
			addEvents(t, s, ev)
			commitTurn(t, s, ev, &bot.Turn{Transcript: lines})
		}
		all = append(all, lines...)
	}
	checkTranscript(t, s, a, 100, all...)
	checkTranscript(t, s, a, 5, all...)
	checkTranscript(t, s, a, 2, all[3:]...)
	checkTranscript(t, s, a, 1, all[4:]...)
	checkTranscript(t, s, b, 3, all[2:]...)
	checkTranscript(t, s, bot.Key{Channel: "line", User: "nobody"}, 10)
	if _, err := s.Transcript(t.Context(), a, 0); err == nil {
		t.Errorf("Transcript of 0 lines succeeded, want an error")
	}
}

// testTicketsArchive checks that a closed ticket is archived with its conversation's key,
// and that archiving a ticket again replaces the archived one.
func testTicketsArchive(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	tokyo := time.FixedZone("JST", 9*60*60)
	full := &bot.Ticket{
		ID: "T0a1b2c3d4e5f", State: bot.TicketClosed, Reason: "code_rejected 'コード' \"🎁\"", Staff: true,
		Agent: "U0AGENT", AgentName: "佐藤 'Sato'", CreatedAt: t0,
		ClaimedAt: t0.Add(time.Minute), ResolvedAt: t0.Add(time.Hour),
		ClosedAt: time.Date(2025, time.April, 1, 20, 30, 15, 123_000_000, tokyo),
		Outcome:  "resolved", Waited: true, Rating: 5,
	}
	minimal := &bot.Ticket{ID: "T-minimal", State: bot.TicketClosed, CreatedAt: t0, ClosedAt: t0.Add(time.Second), Outcome: "self_help"}

	ev := event(a, "a1", t0)
	addEvents(t, s, ev)
	commitTurn(t, s, ev, &bot.Turn{Closed: full})
	checkArchived(t, s, full.ID, a, full)
	ev = event(a, "a2", t0.Add(time.Second))
	addEvents(t, s, ev)
	commitTurn(t, s, ev, &bot.Turn{Closed: minimal})
	checkArchived(t, s, minimal.ID, a, minimal)
	checkArchived(t, s, full.ID, a, full)
	checkNotArchived(t, s, "T-unknown")

	// The same ID again, from another conversation: the latest close wins.
	again := *minimal
	again.Outcome, again.Rating = "resolved", 3
	ev = event(b, "b1", t0.Add(2*time.Second))
	addEvents(t, s, ev)
	commitTurn(t, s, ev, &bot.Turn{Closed: &again})
	checkArchived(t, s, minimal.ID, b, &again)
}

func testTicketsCancelledContext(t *testing.T, s Store, _ *clock) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	k := bot.Key{Channel: "line", User: "A"}
	withTicket(t, s, k, &bot.Ticket{ID: "T1", State: bot.TicketWaiting, CreatedAt: t0})
	if _, err := s.WaitingTickets(ctx, t0.Add(time.Hour), 10); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitingTickets with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := s.Transcript(ctx, k, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("Transcript with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := s.LinkThread(ctx, "T1", k, "C0/1.2"); !errors.Is(err, context.Canceled) {
		t.Errorf("LinkThread with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := s.TicketThread(t.Context(), "T1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("after a cancelled LinkThread: TicketThread err = %v, want bot.ErrNotFound", err)
	}
	if _, err := s.TicketThread(ctx, "T1"); !errors.Is(err, context.Canceled) {
		t.Errorf("TicketThread with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, _, err := s.ThreadTicket(ctx, "C0/1.2"); !errors.Is(err, context.Canceled) {
		t.Errorf("ThreadTicket with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := s.Purge(ctx, t0); !errors.Is(err, context.Canceled) {
		t.Errorf("Purge with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, _, err := s.PendingEvents(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("PendingEvents with a cancelled context: err = %v, want context.Canceled", err)
	}
}

// link links ticket id of k to address.
func link(t *testing.T, s Store, id string, k bot.Key, address string) {
	t.Helper()
	if err := s.LinkThread(t.Context(), id, k, address); err != nil {
		t.Fatalf("LinkThread %s of %s to %s: %v", id, k, address, err)
	}
}

// checkThread checks that ticket id of k is linked to address, both ways.
func checkThread(t *testing.T, s Store, id string, k bot.Key, address string) {
	t.Helper()
	got, err := s.TicketThread(t.Context(), id)
	if err != nil || got != address {
		t.Errorf("TicketThread(%s) = %q, %v; want %q", id, got, err, address)
	}
	gotID, gotKey, err := s.ThreadTicket(t.Context(), address)
	if err != nil || gotID != id || gotKey != k {
		t.Errorf("ThreadTicket(%s) = %s, %v, %v; want %s, %v", address, gotID, gotKey, err, id, k)
	}
}

func testThreadsLink(t *testing.T, s Store) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "slack", User: "T1/C1/1712345678.000100"}
	link(t, s, "T1", a, "C0TICKETS/1712345678.000200")
	link(t, s, "T2", b, "C0TICKETS/1712345678.000300")
	link(t, s, "T3", a, "C0OTHER/1712345678.000200")   // a conversation may have had several tickets
	link(t, s, "T1", a, "C0TICKETS/1712345678.000200") // again: a no-op
	checkThread(t, s, "T1", a, "C0TICKETS/1712345678.000200")
	checkThread(t, s, "T2", b, "C0TICKETS/1712345678.000300")
	checkThread(t, s, "T3", a, "C0OTHER/1712345678.000200")

	if got, err := s.TicketThread(t.Context(), "T-unknown"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TicketThread of an unknown ticket = %q, %v; want bot.ErrNotFound", got, err)
	}
	if id, k, err := s.ThreadTicket(t.Context(), "C0TICKETS/unknown"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("ThreadTicket of an unknown thread = %s, %v, %v; want bot.ErrNotFound", id, k, err)
	}
	// Addresses and ids are compared exactly.
	if _, err := s.TicketThread(t.Context(), "t1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TicketThread(t1): err = %v, want bot.ErrNotFound", err)
	}
}

func testThreadsConflict(t *testing.T, s Store) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	link(t, s, "T1", a, "C0/1")
	link(t, s, "T2", b, "C0/2")

	tests := []struct {
		name    string
		id      string
		k       bot.Key
		address string
	}{
		{name: "ticket to another thread", id: "T1", k: a, address: "C0/3"},
		{name: "ticket to another linked thread", id: "T1", k: a, address: "C0/2"},
		{name: "another ticket to the thread", id: "T3", k: a, address: "C0/1"},
		{name: "ticket of another conversation", id: "T1", k: b, address: "C0/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.LinkThread(t.Context(), tt.id, tt.k, tt.address)
			if !errors.Is(err, bot.ErrConflict) {
				t.Fatalf("LinkThread %s of %s to %s: err = %v, want bot.ErrConflict", tt.id, tt.k, tt.address, err)
			}
			checkThread(t, s, "T1", a, "C0/1")
			checkThread(t, s, "T2", b, "C0/2")
			if _, err := s.TicketThread(t.Context(), "T3"); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("TicketThread(T3): err = %v, want bot.ErrNotFound", err)
			}
			if _, _, err := s.ThreadTicket(t.Context(), "C0/3"); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("ThreadTicket(C0/3): err = %v, want bot.ErrNotFound", err)
			}
		})
	}
}

// testThreadsConcurrentLinks links tickets from several goroutines at once, as when two
// deliverers post a ticket: one address wins per ticket, and relinking it succeeds.
func testThreadsConcurrentLinks(t *testing.T, s Store) {
	const goroutines = 8
	k := bot.Key{Channel: "line", User: "A"}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		won   []string
		start = make(chan struct{})
	)
	for g := range goroutines {
		wg.Go(func() {
			address := fmt.Sprintf("C0/%d", g)
			<-start
			err := s.LinkThread(t.Context(), "T1", k, address)
			// Every goroutine also links the same ticket to the same thread.
			if serr := s.LinkThread(t.Context(), "T-same", k, "C0/same"); serr != nil {
				t.Errorf("goroutine %d: LinkThread of the same ticket and thread: %v", g, serr)
			}
			switch {
			case err == nil:
				mu.Lock()
				won = append(won, address)
				mu.Unlock()
			case !errors.Is(err, bot.ErrConflict):
				t.Errorf("goroutine %d: LinkThread: err = %v, want nil or bot.ErrConflict", g, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("LinkThread of one ticket to %d threads at once succeeded for %s, want exactly one", goroutines, strings.Join(won, ", "))
	}
	checkThread(t, s, "T1", k, won[0])
	checkThread(t, s, "T-same", k, "C0/same")
}

// checkTranscript checks that Transcript(k, n) returns want.
func checkTranscript(t *testing.T, s Store, k bot.Key, n int, want ...bot.Line) {
	t.Helper()
	got, err := s.Transcript(t.Context(), k, n)
	if err != nil {
		t.Fatalf("Transcript of %s: %v", k, err)
	}
	if got == nil {
		t.Errorf("Transcript of %s returned nil, want an empty slice", k)
	}
	if len(got) != len(want) {
		t.Fatalf("Transcript(%s, %d) = %d lines %v, want %d %v", k, n, len(got), got, len(want), want)
	}
	for i, g := range got {
		w := want[i]
		if g.Role != w.Role || g.Name != w.Name || g.Text != w.Text {
			t.Errorf("Transcript(%s, %d)[%d] = %+v, want %+v", k, n, i, g, w)
		}
		checkTime(t, fmt.Sprintf("Transcript(%s, %d)[%d].At", k, n, i), g.At, w.At)
	}
}

// checkArchived checks that ticket id is archived as want, of conversation k.
func checkArchived(t *testing.T, s Store, id string, k bot.Key, want *bot.Ticket) {
	t.Helper()
	gotKey, got, err := s.ArchivedTicket(t.Context(), id)
	if err != nil {
		t.Fatalf("ArchivedTicket(%s): %v", id, err)
	}
	if gotKey != k {
		t.Errorf("ticket %s archived with conversation %v, want %v", id, gotKey, k)
	}
	if d := diffTicket(got, want); d != "" {
		t.Errorf("archived ticket %s = %s", id, d)
	}
	for _, at := range []time.Time{got.CreatedAt, got.ClaimedAt, got.ResolvedAt, got.ClosedAt} {
		if !at.IsZero() && at.Location() != time.UTC {
			t.Errorf("archived ticket %s: time %s is not in UTC", id, at)
		}
	}
}

// checkNotArchived checks that no ticket id is archived.
func checkNotArchived(t *testing.T, s Store, id string) {
	t.Helper()
	if _, got, err := s.ArchivedTicket(t.Context(), id); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("ArchivedTicket(%s) = %+v, %v; want bot.ErrNotFound", id, got, err)
	}
}

// payload returns what the store keeps of event id.
func payload(t *testing.T, s Store, id string) []byte {
	t.Helper()
	p, err := s.EventPayload(t.Context(), id)
	if err != nil {
		t.Fatalf("EventPayload(%s): %v", id, err)
	}
	return p
}
