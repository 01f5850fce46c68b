package storetest

import (
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var statsTests = []test{
	{"PendingEvents", testStatsPendingEvents},
	{"CountOutgoing", testStatsCountOutgoing},
	{"CountOutgoing/Unfinished", testStatsUnfinishedOutgoing},
	{"CountConversations", testStatsCountConversations},
}

// testStatsCountOutgoing checks that CountOutgoing counts the unfinished rows, the parked
// ones among them, and the rows finished as failed or uncertain from since on.
func testStatsCountOutgoing(t *testing.T, s Store, clk *clock) {
	check := func(since time.Time, want bot.OutboxCounts) {
		t.Helper()
		got, err := s.CountOutgoing(t.Context(), since)
		if err != nil {
			t.Fatalf("CountOutgoing: %v", err)
		}
		if got != want {
			t.Errorf("CountOutgoing since %s = %+v, want %+v", since, got, want)
		}
	}
	check(t0, bot.OutboxCounts{})
	keys := []bot.Key{{Channel: "line", User: "A"}, {Channel: "line", User: "B"}, {Channel: "line", User: "C"},
		{Channel: "line", User: "D"}, {Channel: "line", User: "E"}}
	var outs []*bot.Outgoing
	for i, k := range keys {
		outs = append(outs, turn(t, s, k, "e"+k.User, t0.Add(time.Duration(i)*time.Second), "hi"))
	}
	check(t0, bot.OutboxCounts{Waiting: 5})
	claimOut(t, s, "d1", 10, outs...)
	start := clk.Now()
	finishOut(t, s, outs[0].ID, "d1", "failed")
	finishOut(t, s, outs[1].ID, "d1", bot.OutcomeUncertain)
	finishOut(t, s, outs[2].ID, "d1", "reply")
	if err := s.ParkOutgoing(t.Context(), outs[3].ID, "d1", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check(start, bot.OutboxCounts{Waiting: 2, Parked: 1, Failed: 1, Uncertain: 1})
	clk.Advance(time.Second)
	check(clk.Now(), bot.OutboxCounts{Waiting: 2, Parked: 1})
}

// testStatsPendingEvents checks that PendingEvents counts the pending events and reports
// the arrival, by the store's clock, of the one that has waited longest.
func testStatsPendingEvents(t *testing.T, s Store, clk *clock) {
	check := func(wantN int, wantOldest time.Time) {
		t.Helper()
		n, oldest, err := s.PendingEvents(t.Context())
		if err != nil {
			t.Fatalf("PendingEvents: %v", err)
		}
		if n != wantN {
			t.Errorf("PendingEvents: n = %d, want %d", n, wantN)
		}
		if wantOldest.IsZero() {
			if !oldest.IsZero() {
				t.Errorf("PendingEvents: oldest = %s, want zero", oldest)
			}
			return
		}
		checkTime(t, "PendingEvents oldest", oldest, wantOldest)
	}
	check(0, time.Time{})

	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	// Events arrive out of order: the oldest arrival is not the oldest event.
	first := clk.Now()
	e1, e2, e3 := event(a, "a1", t0.Add(time.Minute)), event(a, "a2", t0), event(b, "b1", t0)
	addEvents(t, s, e1)
	clk.Advance(time.Second)
	addEvents(t, s, e2, e3)
	clk.Advance(time.Second)
	addEvents(t, s, e1) // a redelivery does not count
	check(3, first)

	commit(t, s, e2, "hello") // not the first arrival: oldest stays
	check(2, first)
	commit(t, s, e1, "hello")
	check(1, first.Add(time.Second))
	commit(t, s, e3)
	check(0, time.Time{})
}

// testStatsUnfinishedOutgoing checks that CountOutgoing's Waiting counts the outbox rows
// not finished, whether due, leased or waiting for a retry, and none once all are finished.
func testStatsUnfinishedOutgoing(t *testing.T, s Store, clk *clock) {
	check := func(want int) {
		t.Helper()
		c, err := s.CountOutgoing(t.Context(), clk.Now())
		if err != nil {
			t.Fatalf("CountOutgoing: %v", err)
		}
		if c.Waiting != want {
			t.Errorf("CountOutgoing: %d waiting, want %d", c.Waiting, want)
		}
	}
	check(0)
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	e1, e2, e3 := event(a, "a1", t0), event(b, "b1", t0), event(b, "b2", t0.Add(time.Second))
	addEvents(t, s, e1, e2, e3)
	commit(t, s, e1, "hello")
	commit(t, s, e2, "hi", "there")
	commit(t, s, e3) // no messages: no row
	check(2)

	outs, err := s.ClaimOutgoing(t.Context(), "d1", 10, time.Minute)
	if err != nil || len(outs) != 2 {
		t.Fatalf("ClaimOutgoing = %d rows, %v; want 2", len(outs), err)
	}
	check(2) // leased
	if err := s.RetryOutgoing(t.Context(), outs[0].ID, "d1", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishOutgoing(t.Context(), outs[1].ID, "d1", "push"); err != nil {
		t.Fatal(err)
	}
	check(1) // the one waiting for its retry
	clk.Advance(2 * time.Hour)
	outs, err = s.ClaimOutgoing(t.Context(), "d2", 10, time.Minute)
	if err != nil || len(outs) != 1 {
		t.Fatalf("ClaimOutgoing = %d rows, %v; want 1", len(outs), err)
	}
	if err := s.FinishOutgoing(t.Context(), outs[0].ID, "d2", "reply"); err != nil {
		t.Fatal(err)
	}
	check(0)
}

// testStatsCountConversations checks that CountConversations counts every stored
// conversation once, however often it was saved.
func testStatsCountConversations(t *testing.T, s Store, _ *clock) {
	for i, k := range []bot.Key{{Channel: "line", User: "A"}, {Channel: "line", User: "B"}, {Channel: "slack", User: "C:1"}} {
		c := sample(k)
		if err := s.SaveConversation(t.Context(), c); err != nil {
			t.Fatalf("SaveConversation %v: %v", k, err)
		}
		c.Node = "after"
		if err := s.SaveConversation(t.Context(), c); err != nil {
			t.Fatalf("SaveConversation %v again: %v", k, err)
		}
		n, err := s.CountConversations(t.Context())
		if err != nil {
			t.Fatalf("CountConversations: %v", err)
		}
		if n != i+1 {
			t.Errorf("CountConversations = %d, want %d", n, i+1)
		}
	}
}
