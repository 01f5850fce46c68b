package storetest

import (
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var statsTests = []test{
	{"PendingEvents", testStatsPendingEvents},
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
