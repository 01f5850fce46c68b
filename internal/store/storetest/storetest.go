// Package storetest is a conformance suite for giftdesk's stores, in the manner of
// testing/slogtest: every implementation (SQLite, PostgreSQL, an in-memory fake) runs the
// same tests, so they agree on the contract the bot relies on.
//
// An implementation's test calls Run with a function that opens a new, empty store on the
// clock it is given:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
//			s, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db"), Now: now})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Beyond what the bot package's interfaces say, the suite pins down:
//
//   - Errors are matched with errors.Is against bot.ErrNotFound and bot.ErrConflict, so
//     implementations may wrap them with context.
//   - SaveConversation persists every field of the Conversation as given and changes only
//     c.Revision, which it increments on success and leaves alone on any error. Saving with
//     a non-zero Revision a conversation that does not exist is a conflict.
//   - Times come back in UTC with at least millisecond precision (finer precision may be
//     truncated, never rounded into the future by a millisecond or more).
//   - Slices and maps that were nil or empty come back with length zero, and Vars comes back
//     non-nil so the caller can assign to it.
//   - The caller owns a returned Conversation: changing it does not change the store.
//   - A cancelled context makes a call return an error matching context.Canceled promptly,
//     and a write it interrupts stores nothing.
//
// and for the message pipeline (bot.Inbox, bot.Queue, bot.Outbox):
//
//   - The store reads the time from the now function it was opened with, never from the
//     database server: leases and due times are compared with it, to the millisecond. A
//     lease taken at t for d is live while now < t+d; at t+d it has expired and may be
//     taken over.
//   - AddEvents returns one bool per event, false for an ID stored before or earlier in the
//     same call, whose event does not replace the stored one; concurrent calls with the
//     same ID report it fresh exactly once.
//   - Claimed events are ordered by Event.At (to the millisecond), then by arrival; an
//     Event comes back with every field as stored.
//   - ReleaseConversation by an owner that does not hold the lease does nothing and
//     succeeds.
//   - CommitTurn applies nothing, and leaves c.Revision and out.ID alone, when it fails: with
//     bot.ErrConflict for a stale revision, with bot.ErrNotFound when the event is not
//     pending (committed already, or never stored).
//   - ClaimOutgoing returns an empty slice and no error when nothing is due, and rows oldest
//     first (by ID, which grows with each commit). Attempts counts RetryOutgoing calls; a
//     lease that merely expires is not an attempt.
//   - FinishOutgoing and RetryOutgoing of an unknown row fail with bot.ErrNotFound, of a
//     finished row with bot.ErrConflict.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// Store is everything a store must implement to pass Run. It grows as the bot gains
// stores (tickets); each interface gets its own group of subtests.
type Store interface {
	bot.ConversationStore
	bot.Inbox
	bot.Queue
	bot.Outbox
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
