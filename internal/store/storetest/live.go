package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// LiveStore is a Store whose owners record themselves alive, so that a dead owner's
// leases are taken over at once rather than at their expiry.
type LiveStore interface {
	Store
	// Live records owner as alive until leave is called, the store is closed, or the
	// process dies, and first takes over the leases of owners that died, those left under
	// owner's own name included. It fails while another store has owner live.
	Live(ctx context.Context, owner string) (leave func() error, err error)
	// TakeOver ends the leases of the owners that were live and have died since, and
	// returns how many it ended.
	TakeOver(ctx context.Context) (int, error)
	// Close closes the store. To the other stores, its live owners are then dead, as
	// if its process had been killed. Closing twice is harmless.
	Close() error
}

// RunLive runs the liveness tests as subtests of t, named "Live/<case>". open must create
// a new, empty database for each call and return a function that opens another store on
// it, as another process would, with the clock now, closed when the test ends. Stores of
// one database share no memory: what one knows of another's leases, it knows from the
// database and the liveness records.
//
// Beyond the LiveStore interface, the suite pins down: a dead owner's outbox rows are
// claimable at once, with its claim counted as an attempt (Attempts 1, Failures 0) and
// a reply it began marked (Replied), and its FinishOutgoing fails once another has
// claimed them; its conversations are claimable at once; a live owner's leases and an
// owner's that never called Live are not taken over, the latter's expire as before.
func RunLive(t *testing.T, open func(t *testing.T, now func() time.Time) func() LiveStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, open func() LiveStore, clk *clock)
	}{
		{"AtStart", testLiveAtStart},
		{"WhileRunning", testLiveWhileRunning},
		{"SameName", testLiveSameName},
		{"NeverLive", testLiveNeverLive},
		{"Twice", testLiveTwice},
		{"Left", testLiveLeft},
	}
	t.Run("Live", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clk := &clock{t: clockStart}
				tt.run(t, open(t, clk.Now), clk)
			})
		}
	})
}

func live(t *testing.T, s LiveStore, owner string) func() error {
	t.Helper()
	leave, err := s.Live(t.Context(), owner)
	if err != nil {
		t.Fatalf("Live %s: %v", owner, err)
	}
	return leave
}

func takeOver(t *testing.T, s LiveStore) int {
	t.Helper()
	n, err := s.TakeOver(t.Context())
	if err != nil {
		t.Fatalf("TakeOver: %v", err)
	}
	return n
}

// leftBehind is what an owner that dies mid-work leaves: a row leased to it at commit, a
// row it claimed and began to reply to, and a conversation it claimed.
type leftBehind struct {
	committed, replying *bot.Outgoing
	conversation        bot.Key
}

func leave(t *testing.T, s LiveStore, owner string) leftBehind {
	t.Helper()
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	c := bot.Key{Channel: "line", User: "C"}
	outs := claimTurn(t, s, a, "a1", t0, owner, outgoing(event(a, "x", t0), "one"))
	if !outs[0].Claimed {
		t.Fatal("a row committed with a Claim was not claimed")
	}
	replying := turn(t, s, b, "b1", t0.Add(time.Second), "two")
	claimOut(t, s, owner, 10, replying)
	if err := s.MarkReplying(t.Context(), replying.ID, owner); err != nil {
		t.Fatalf("MarkReplying: %v", err)
	}
	addEvents(t, s, event(c, "c1", t0.Add(2*time.Second)))
	claimWant(t, s, owner, c, "c1")
	return leftBehind{committed: outs[0], replying: replying, conversation: c}
}

// takenOver checks that owner can claim what l's dead owner left, at once, as a row that
// may have been delivered, and that the dead owner can no longer finish it.
func takenOver(t *testing.T, s LiveStore, owner, dead string, l leftBehind) {
	t.Helper()
	got := claimOut(t, s, owner, 10, l.committed, l.replying)
	for i, o := range got {
		if o.Attempts != 1 || o.Failures != 0 {
			t.Errorf("row %d taken over: Attempts = %d, Failures = %d; want 1 and 0", o.ID, o.Attempts, o.Failures)
		}
		if replied := i == 1; o.Replied != replied {
			t.Errorf("row %d taken over: Replied = %t, want %t", o.ID, o.Replied, replied)
		}
	}
	if owner != dead {
		if err := s.FinishOutgoing(t.Context(), l.committed.ID, dead, "reply"); !errors.Is(err, bot.ErrConflict) {
			t.Errorf("FinishOutgoing by the dead owner: err = %v, want bot.ErrConflict", err)
		}
	}
	finishOut(t, s, l.committed.ID, owner, "push")
	finishOut(t, s, l.replying.ID, owner, bot.OutcomeUncertain)
	claimWant(t, s, owner, l.conversation, "c1")
}

// testLiveAtStart kills a live owner mid-work: the next store to go live takes its
// leases over at once, with the clock standing still.
func testLiveAtStart(t *testing.T, open func() LiveStore, _ *clock) {
	first := open()
	live(t, first, "w1")
	l := leave(t, first, "w1")
	first.Close() // killed

	second := open()
	claimOut(t, second, "w2", 10) // leased, and nobody has said w1 is dead
	live(t, second, "w2")
	takenOver(t, second, "w2", "w1", l)
}

// testLiveWhileRunning kills an owner while another is live: TakeOver leaves the live
// owner's leases alone while it lives, and takes them over once it is dead.
func testLiveWhileRunning(t *testing.T, open func() LiveStore, _ *clock) {
	survivor := open()
	live(t, survivor, "w2")
	doomed := open()
	live(t, doomed, "w1")
	l := leave(t, doomed, "w1")
	if n := takeOver(t, survivor); n != 0 {
		t.Fatalf("TakeOver with every owner alive ended %d leases", n)
	}
	claimOut(t, survivor, "w2", 10)
	doomed.Close()
	if n := takeOver(t, survivor); n < 2 {
		t.Fatalf("TakeOver after w1 died ended %d leases, want at least its 2 rows", n)
	}
	takenOver(t, survivor, "w2", "w1", l)
	if n := takeOver(t, survivor); n != 0 {
		t.Errorf("second TakeOver ended %d leases, want 0", n)
	}
}

// testLiveSameName restarts under the same name, as a container does (same host name,
// same pid): the new store takes over what the dead one left under that name.
func testLiveSameName(t *testing.T, open func() LiveStore, _ *clock) {
	first := open()
	live(t, first, "w1")
	l := leave(t, first, "w1")
	first.Close()
	second := open()
	live(t, second, "w1")
	takenOver(t, second, "w1", "w1", l)
}

// testLiveNeverLive checks that the leases of an owner that never went live wait for
// their expiry, as before.
func testLiveNeverLive(t *testing.T, open func() LiveStore, clk *clock) {
	first := open()
	a := bot.Key{Channel: "line", User: "A"}
	outs := claimTurn(t, first, a, "a1", t0, "w1", outgoing(event(a, "x", t0), "one"))
	first.Close()
	second := open()
	live(t, second, "w2")
	claimOut(t, second, "w2", 10)
	if n := takeOver(t, second); n != 0 {
		t.Fatalf("TakeOver ended %d leases of an owner never live", n)
	}
	clk.Advance(lease)
	claimOut(t, second, "w2", 10, outs[0])
}

// testLiveTwice checks that one owner cannot be live in two stores at once.
func testLiveTwice(t *testing.T, open func() LiveStore, _ *clock) {
	first, second := open(), open()
	leaveFirst := live(t, first, "w1")
	if _, err := second.Live(t.Context(), "w1"); err == nil {
		t.Fatal("Live of an owner live in another store succeeded")
	}
	if _, err := first.Live(t.Context(), "w1"); err == nil {
		t.Fatal("Live of an owner live in the same store succeeded")
	}
	if err := leaveFirst(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if err := leaveFirst(); err != nil {
		t.Fatalf("second leave: %v", err)
	}
	live(t, second, "w1")
}

// testLiveLeft checks that an owner that left, and whose store still runs, is not taken
// for dead: it is no longer live, and its leases expire as before.
func testLiveLeft(t *testing.T, open func() LiveStore, clk *clock) {
	first := open()
	leaveFirst := live(t, first, "w1")
	if err := leaveFirst(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	a := bot.Key{Channel: "line", User: "A"}
	outs := claimTurn(t, first, a, "a1", t0, "w1", outgoing(event(a, "x", t0), "one"))
	second := open()
	live(t, second, "w2")
	claimOut(t, second, "w2", 10)
	clk.Advance(lease)
	claimOut(t, second, "w2", 10, outs[0])
}
