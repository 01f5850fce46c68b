// Package storetest is a conformance suite for giftdesk's stores, in the manner of
// testing/slogtest: every implementation (SQLite, PostgreSQL, an in-memory fake) runs the
// same tests, so they agree on the contract the bot relies on.
//
// An implementation's test calls Run with a function that opens a new, empty store on the
// clock it is given. Besides the bot's interfaces the store must provide Stats, as every
// store does for the metrics package, and Inspector, which only tests need: the test
// wraps the store in a type that reads the store's tables.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
//			s, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db"), Now: now})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return inspected{s} // a *sqlite.Store with EventPayload and ArchivedTicket
//		})
//	}
//
// Beyond what the bot package's interfaces say, the suite pins down:
//
//   - Errors are matched with errors.Is against bot.ErrNotFound and bot.ErrConflict, so
//     implementations may wrap them with context.
//   - SaveConversation persists every field of the Conversation as given, its Ticket
//     included, and changes only c.Revision, which it increments on success and leaves
//     alone on any error. Saving with a non-zero Revision a conversation that does not
//     exist is a conflict.
//   - Times come back in UTC with at least millisecond precision (finer precision may be
//     truncated, never rounded into the future by a millisecond or more).
//   - Slices and maps that were nil or empty come back with length zero, and Vars comes back
//     non-nil so the caller can assign to it. Methods that return lists return an empty
//     slice, not nil, when there is nothing.
//   - The caller owns a returned Conversation: changing it does not change the store.
//   - A cancelled context makes a call return an error matching context.Canceled promptly,
//     and a write it interrupts stores nothing.
//
// for the message pipeline (bot.Inbox, bot.Queue, bot.Outbox):
//
//   - The store reads the time from the now function it was opened with, never from the
//     database server: leases and due times are compared with it, to the millisecond. A
//     lease taken at t for d is live while now < t+d; at t+d it has expired and may be
//     taken over.
//   - AddEvents returns one bool per event, false for an ID stored before or earlier in the
//     same call, whose event does not replace the stored one; concurrent calls with the
//     same ID report it fresh exactly once.
//   - An event that cannot be stored (a time past year 9999) does not fail AddEvents: it
//     is reported not fresh, kept as a dead letter, and the call's other events stored.
//   - Claimed events are ordered by Event.At (to the millisecond), then by arrival; an
//     Event comes back with every field as stored.
//   - ReleaseConversation by an owner that does not hold the lease does nothing and
//     succeeds.
//   - CommitTurn applies nothing (no state, no outgoing row, no transcript line, no
//     archived ticket, the event still pending with its content), and leaves the
//     conversation's Revision and the Outgoings' IDs alone, when it fails: with
//     bot.ErrConflict for a stale revision, with bot.ErrNotFound when the event is not
//     pending (committed already, or never stored), with another error for an Outgoing
//     that does not belong to the turn (another Key; an EventID neither empty nor the
//     turn's; a Seq twice).
//   - CommitTurn keeps nothing of a processed event but its ID (which still drops
//     redeliveries), key and times: Inspector.EventPayload is empty.
//   - CommitTurn gives each Outgoing with messages its own ID, growing in the order of
//     Turn.Out, and sets CreatedAt to the store's now if it was zero; Outgoings without
//     messages are not stored and keep ID 0. A claimed Outgoing has EventID set to the
//     turn's event and Channel to Via() as committed, whatever the Channel given was.
//   - Archiving a ticket whose ID is archived already replaces it: the latest close wins.
//   - ClaimOutgoing returns an empty slice and no error when nothing is due, and rows oldest
//     first (by ID). It claims a row only if it is the oldest unfinished one of its
//     conversation and delivering channel. Every claim counts: Attempts is the number of
//     claims before, whether they ended in RetryOutgoing or in an expired lease.
//   - FinishOutgoing and RetryOutgoing of an unknown row fail with bot.ErrNotFound, of a
//     finished row with bot.ErrConflict, and by anyone but the owner of the last claim
//     with bot.ErrConflict, changing nothing. The owner of an expired lease that nobody
//     took over may still finish or retry; RetryOutgoing ends the lease.
//   - ParkOutgoing is RetryOutgoing without counting the attempt; the row comes back
//     Parked until its next attempt ends, and WakeOutgoing of its delivering channel makes
//     it due at once. MarkReplying makes the next claim return the row Replied, until a
//     RetryOutgoing or ParkOutgoing. An Outgoing with NotBefore after now is not claimed
//     at commit and is due then. FinishOutgoing drops the row's payload.
//
// and for tickets (bot.Tickets, bot.Threads, bot.Purger, Stats):
//
//   - WaitingTickets compares Ticket.CreatedAt with since to the millisecond, strictly;
//     tickets created in the same millisecond come in the order of their conversations'
//     keys (channel, then user).
//   - Transcript returns lines in the order they were appended, whatever their times, and
//     an empty slice for a conversation without lines, existing or not.
//   - LinkThread of a ticket already linked to the same address and conversation succeeds;
//     of a ticket linked elsewhere, or to an address linked to another ticket, it fails
//     with bot.ErrConflict. Of concurrent links of one ticket to different addresses,
//     exactly one succeeds.
//   - Purge compares with before strictly: transcript lines by Line.At, events by when
//     they were processed, outgoing rows by when they were finished, dead letters by
//     DeadLetter.At (the store's now when zero), archived tickets by Ticket.ClosedAt (the
//     commit's now when zero). It deletes the thread links of the archived tickets it
//     deletes, and counts them. It never deletes pending events, unfinished outgoing rows,
//     or the thread links of tickets not archived. It deletes conversations saved before
//     before, unless one has an open ticket, a pending event or an unfinished row.
//   - PendingEvents counts the pending events and reports when the longest waiting one
//     arrived, by the store's clock.
//   - CountOutgoing counts unfinished rows (Parked among them) and rows finished as
//     "failed" or bot.OutcomeUncertain at or after since; its Waiting, with
//     PendingEvents, tells a drained pipeline (both zero).
//   - CountConversations counts the stored conversations, whatever their state.
//
// and for reports (Reports):
//
//   - LinesSince compares Line.At with since to the millisecond (a line of since's
//     millisecond is in) and returns the lines in the order they were appended, across
//     conversations, whatever their times, every field as appended.
//   - TicketsSince returns the archived tickets whose ClosedAt (the commit's now when it
//     was zero, and then filled in) is at or after since, to the millisecond, ordered by
//     ClosedAt and then ID; then every open ticket of a conversation, whatever its age,
//     ordered by CreatedAt and then the conversation's key.
//   - Both stop at the first error their callback returns and return it, matching
//     errors.Is. Both call it on the caller's goroutine, one row at a time, and callers
//     must not call the store from it (report.Source states the contract): the suite's
//     callbacks only collect.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// Store is everything a store must implement to pass Run. It grows as the bot gains
// stores; each interface gets its own group of subtests.
type Store interface {
	bot.ConversationStore
	bot.Inbox
	bot.Queue
	bot.Outbox
	bot.ReplyMarker
	bot.Tickets
	bot.Threads
	bot.Purger
	Stats
	Reports
	Inspector
}

// Stats is what the metrics package reads from every store.
type Stats interface {
	// PendingEvents returns how many stored events wait to be processed and when the one
	// that has waited longest arrived, by the store's clock; oldest is zero when none
	// waits.
	PendingEvents(ctx context.Context) (n int, oldest time.Time, err error)
	// CountOutgoing counts the unfinished outbox rows, and those finished as failed or
	// uncertain at or after since (bot.OutboxCounter).
	CountOutgoing(ctx context.Context, since time.Time) (bot.OutboxCounts, error)
	// CountConversations returns how many conversations are stored.
	CountConversations(ctx context.Context) (int, error)
}

// Inspector lets the suite see what the bot's interfaces do not show. It is for tests
// only: an implementation's test provides it, typically by wrapping the store in a type
// that reads its tables, so that it need not be part of the store's API.
type Inspector interface {
	// EventPayload returns what the store keeps of event id beyond its ID, key and times:
	// the whole event while it is pending, nothing (an empty or nil slice) once it is
	// processed. It returns an error matching bot.ErrNotFound if id is not stored.
	EventPayload(ctx context.Context, id string) ([]byte, error)
	// ArchivedTicket returns the ticket archived with ID id and its conversation's key,
	// or an error matching bot.ErrNotFound.
	ArchivedTicket(ctx context.Context, id string) (bot.Key, *bot.Ticket, error)
	// OutgoingPayload returns what the store keeps of outbox row id beyond its key,
	// channel, event, sequence and bookkeeping, or an error matching bot.ErrNotFound.
	OutgoingPayload(ctx context.Context, id int64) ([]byte, error)
}

// test is one conformance test. It gets a fresh, empty store and the clock the store was
// opened with.
type test struct {
	name string
	run  func(t *testing.T, s Store, clk *clock)
}

// Run runs the conformance suite as subtests of t, named "<Interface>/<case>" (for example
// "Conversation/StaleRevision"), so one case can be selected with go test -run.
//
// open must return a new, empty store for each call that takes the time from now, and
// arrange with t.Cleanup to close it. Run calls open once per subtest, with the subtest's
// t and a clock that stands still unless the test moves it.
func Run(t *testing.T, open func(t *testing.T, now func() time.Time) Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Conversation", conversationTests},
		{"Inbox", inboxTests},
		{"Queue", queueTests},
		{"Outbox", outboxTests},
		{"Tickets", ticketTests},
		{"Threads", threadTests},
		{"Purge", purgeTests},
		{"Stats", statsTests},
		{"Reports", reportTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					clk := &clock{t: clockStart}
					tt.run(t, open(t, clk.Now), clk)
				})
			}
		})
	}
}

// clockStart is where each test's clock starts: a day after t0 and, like a real clock's
// readings, not on a millisecond.
var clockStart = t0.Add(24*time.Hour + 654_321)

// clock is a test's clock. It is safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock d forward.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
