package web

import (
	"testing"
	"time"
)

// TestHubForgets: events whose answer never comes here (delivered by another replica)
// are forgotten once expired, also for conversations nobody streams.
func TestHubForgets(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	h := newHub(func() time.Time { return now })
	h.pending("a", "e1", now.Add(30*time.Second))
	if on, _ := h.typing("a"); !on {
		t.Fatal("typing off with an event pending")
	}
	now = now.Add(2 * time.Minute)
	h.pending("b", "e2", now.Add(30*time.Second))
	h.mu.Lock()
	_, kept := h.convs["a"]
	h.mu.Unlock()
	if kept {
		t.Error("an expired event of a conversation nobody streams is still kept")
	}
	h.answered("b", "e2")
	h.mu.Lock()
	n := len(h.convs)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d conversations kept after every event was answered", n)
	}
}
