package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var inboxTests = []test{
	{"Dedup", testInboxDedup},
	{"ConcurrentDedup", testInboxConcurrentDedup},
	{"RoundTrip", testInboxRoundTrip},
	{"Empty", testInboxEmpty},
	{"DeadLetter", testInboxDeadLetter},
	{"CancelledContext", testInboxCancelledContext},
	{"Unstorable", testInboxUnstorable},
}

// testInboxUnstorable checks that an event that cannot be stored (its time is past year
// 9999: JSON cannot encode it) fails neither the call nor the other events: it is
// reported not fresh and the others are stored and claimable.
func testInboxUnstorable(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	poison := event(b, "line:poison", time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC))
	good1, good2 := event(a, "line:a1", t0), event(a, "line:a2", t0.Add(time.Second))
	fresh, err := s.AddEvents(t.Context(), []bot.Event{good1, poison, good2})
	if err != nil {
		t.Fatalf("AddEvents with an unstorable event: %v", err)
	}
	if !slices.Equal(fresh, []bool{true, false, true}) {
		t.Errorf("fresh = %v, want [true false true]", fresh)
	}
	if _, err := s.EventPayload(t.Context(), poison.ID); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("the unstorable event is stored: err = %v, want bot.ErrNotFound", err)
	}
	claimWant(t, s, "w1", a, good1.ID, good2.ID)
	claimNone(t, s, "w2")
	// Alone, too.
	fresh, err = s.AddEvents(t.Context(), []bot.Event{poison})
	if err != nil || len(fresh) != 1 || fresh[0] {
		t.Errorf("AddEvents of the unstorable event alone = %v, %v; want [false], nil", fresh, err)
	}
}

func testInboxDedup(t *testing.T, s Store, _ *clock) {
	k := bot.Key{Channel: "line", User: "U1"}
	e1, e2, e3 := event(k, "line:e1", t0), event(k, "line:e2", t0.Add(time.Second)), event(k, "line:e3", t0.Add(2*time.Second))
	redelivered := e1
	redelivered.In.Text = "redelivered"
	redelivered.ReplyToken = "another-token"

	tests := []struct {
		name string
		evs  []bot.Event
		want []bool
	}{
		{name: "new, and twice in one call", evs: []bot.Event{e1, e2, redelivered}, want: []bool{true, true, false}},
		{name: "again in a later call", evs: []bot.Event{e2, e3, e1}, want: []bool{false, true, false}},
		{name: "only duplicates", evs: []bot.Event{e3, e3}, want: []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := addEvents(t, s, tt.evs...); !slices.Equal(got, tt.want) {
				t.Errorf("AddEvents %s: fresh = %v, want %v", eventIDs(tt.evs), got, tt.want)
			}
		})
	}

	// Each event is pending once, as it first came.
	_, evs := claim(t, s, "w1")
	if got, want := eventIDs(evs), "line:e1,line:e2,line:e3"; got != want {
		t.Fatalf("pending events %s, want %s", got, want)
	}
	checkEvent(t, evs[0], e1)
}

// testInboxConcurrentDedup stores the same events from several goroutines at once, as when
// a platform redelivers a webhook while the first delivery is still being stored.
func testInboxConcurrentDedup(t *testing.T, s Store, _ *clock) {
	const (
		goroutines = 8
		events     = 10
	)
	k := bot.Key{Channel: "line", User: "U1"}
	var evs []bot.Event
	for i := range events {
		evs = append(evs, event(k, fmt.Sprintf("line:e%d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fresh = make(map[string]int)
		start = make(chan struct{})
	)
	for g := range goroutines {
		wg.Go(func() {
			// Each goroutine in its own order, so that they contend on different rows.
			mine := append(slices.Clone(evs[g%events:]), evs[:g%events]...)
			<-start
			got, err := s.AddEvents(t.Context(), mine)
			if err != nil {
				t.Errorf("goroutine %d: AddEvents: %v", g, err)
				return
			}
			if len(got) != len(mine) {
				t.Errorf("goroutine %d: %d fresh flags for %d events", g, len(got), len(mine))
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, f := range got {
				if f {
					fresh[mine[i].ID]++
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, ev := range evs {
		if n := fresh[ev.ID]; n != 1 {
			t.Errorf("event %s reported fresh %d times, want once", ev.ID, n)
		}
	}
	_, got := claim(t, s, "w1")
	if g, w := eventIDs(got), eventIDs(evs); g != w {
		t.Errorf("pending events %s, want %s", g, w)
	}
}

// testInboxRoundTrip checks that an event comes back from ClaimConversation as it was
// stored.
func testInboxRoundTrip(t *testing.T, s Store, _ *clock) {
	tokyo := time.FixedZone("JST", 9*60*60)
	k := bot.Key{Channel: "line", User: "U4af4980629f9f2e3b0cd1a3c8e2f5b71"}
	evs := []bot.Event{
		{
			ID:  "line:01HZX",
			Key: k,
			In: bot.Inbound{Kind: bot.InPostback, Text: "使えない 🎁 \"quoted\" \\ 'single'\n改行",
				Postback: `{"node":"start","option":"cannot_use"}`, Lang: bot.English},
			At:         time.Date(2025, time.April, 1, 18, 30, 15, 123_456_789, tokyo),
			Address:    "C0123456789abcdef",
			ReplyToken: "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
		},
		{ID: "line:minimal", Key: k, In: bot.Inbound{Kind: bot.InFollow}, At: time.Date(2025, time.April, 1, 9, 31, 0, 0, time.UTC)},
	}
	addEvents(t, s, evs...)
	_, got := claim(t, s, "w1")
	if len(got) != len(evs) {
		t.Fatalf("claimed %d events, want %d", len(got), len(evs))
	}
	for i := range evs {
		checkEvent(t, got[i], evs[i])
	}
}

func testInboxEmpty(t *testing.T, s Store, _ *clock) {
	for _, evs := range [][]bot.Event{nil, {}} {
		fresh, err := s.AddEvents(t.Context(), evs)
		if err != nil {
			t.Errorf("AddEvents of %#v: %v", evs, err)
		}
		if len(fresh) != 0 {
			t.Errorf("AddEvents of %#v: fresh = %v, want none", evs, fresh)
		}
	}
	claimNone(t, s, "w1")
}

// testInboxDeadLetter checks that dead letters of any content are accepted, duplicates
// included. What was stored is the implementation's own test to check.
func testInboxDeadLetter(t *testing.T, s Store, _ *clock) {
	tests := []struct {
		name string
		d    bot.DeadLetter
	}{
		{name: "json", d: bot.DeadLetter{Channel: "line", Reason: "event 0: no source", Body: []byte(`{"events":[{}]}`), At: t0}},
		{name: "binary", d: bot.DeadLetter{Channel: "line", Reason: "malformed body", Body: []byte{0, 0xff, 0xfe, '\n', 0}, At: t0}},
		{name: "empty body", d: bot.DeadLetter{Channel: "slack", Reason: "empty", Body: []byte{}, At: t0}},
		{name: "nil body, zero time", d: bot.DeadLetter{Channel: "slack", Reason: "empty"}},
		{name: "large", d: bot.DeadLetter{Channel: "line", Reason: "too many events", Body: make([]byte, 1<<20), At: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 {
				if err := s.AddDeadLetter(t.Context(), tt.d); err != nil {
					t.Fatalf("AddDeadLetter: %v", err)
				}
			}
		})
	}
}

func testInboxCancelledContext(t *testing.T, s Store, _ *clock) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	k := bot.Key{Channel: "line", User: "U1"}
	ev := event(k, "line:e1", t0)

	if _, err := s.AddEvents(ctx, []bot.Event{ev}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddEvents with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := s.AddDeadLetter(ctx, bot.DeadLetter{Channel: "line", Reason: "r", Body: []byte("b"), At: t0}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddDeadLetter with a cancelled context: err = %v, want context.Canceled", err)
	}
	// The cancelled call stored nothing.
	claimNone(t, s, "w1")
	if got := addEvents(t, s, ev); !got[0] {
		t.Errorf("event of a cancelled AddEvents is not fresh afterwards")
	}
}
