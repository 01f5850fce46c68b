package pipeline

import (
	"context"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

func TestHints(t *testing.T) {
	a, b, c := bot.Key{Channel: "line", User: "A"}, bot.Key{Channel: "line", User: "B"}, bot.Key{Channel: "line", User: "C"}
	h := NewHints(2)
	take := func(want bot.Key) {
		t.Helper()
		if k, ok := h.take(); !ok || k != want {
			t.Fatalf("take = %v, %v; want %v", k, ok, want)
		}
	}
	none := func() {
		t.Helper()
		if k, ok := h.take(); ok {
			t.Fatalf("take = %v; want none", k)
		}
	}

	h.Add(a)
	h.Add(b)
	h.Add(a) // already hinted
	h.Add(c) // full: dropped, left to the search
	if n := h.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	take(a)
	take(b)
	none()

	// A hint for a conversation being stepped waits for the step to end.
	h.Add(a)
	none()
	h.end(b, false)
	none()
	h.end(a, false)
	take(a)
	h.end(a, false)
	none()

	// A claim that finds the conversation leased by another worker of this process keeps
	// the hint for when that one is done; one that finds it free of local workers drops it.
	h.begin(c) // found by a search
	h.Add(c)   // kept as again
	h.end(c, false)
	take(c) // requeued
	h.begin(c)
	h.end(c, true) // the hinted claim found it busy: c is still stepped by the other
	none()
	h.end(c, false)
	take(c)
	h.end(c, true) // busy, but nobody else here steps it: another process does
	none()
}

type fakeInbox struct{ fresh []bool }

func (f fakeInbox) AddEvents(context.Context, []bot.Event) ([]bool, error) { return f.fresh, nil }
func (f fakeInbox) AddDeadLetter(context.Context, bot.DeadLetter) error    { return nil }

func TestHintsInbox(t *testing.T) {
	h := NewHints(0)
	a, b := bot.Key{Channel: "line", User: "A"}, bot.Key{Channel: "line", User: "B"}
	in := h.Inbox(fakeInbox{fresh: []bool{false, true}})
	if _, err := in.AddEvents(t.Context(), []bot.Event{{ID: "1", Key: a}, {ID: "2", Key: b}}); err != nil {
		t.Fatal(err)
	}
	if k, ok := h.take(); !ok || k != b || h.Len() != 0 {
		t.Errorf("hinted %v, %v and %d more; want only %v (the redelivered event is not hinted)", k, ok, h.Len(), b)
	}
}

// TestHintsBounded checks that a queue that never empties does not grow.
func TestHintsBounded(t *testing.T) {
	h := NewHints(8)
	keys := make([]bot.Key, 4)
	for i := range keys {
		keys[i] = bot.Key{Channel: "line", User: string(rune('A' + i))}
		h.Add(keys[i])
	}
	for i := range 100_000 {
		k, ok := h.take()
		if !ok || k != keys[i%4] {
			t.Fatalf("take %d = %v, %v; want %v", i, k, ok, keys[i%4])
		}
		h.end(k, false)
		h.Add(k)
	}
	if c := cap(h.queue); c > 16 {
		t.Errorf("queue capacity %d after 100,000 hints with at most 4 waiting; want it bounded", c)
	}
}
