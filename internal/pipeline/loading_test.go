package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/pipeline"
)

// recordingLoader records the loading indicators asked for.
type recordingLoader struct {
	mu    sync.Mutex
	shown []string
}

func (l *recordingLoader) ShowLoading(_ context.Context, k bot.Key, address string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shown = append(l.shown, k.User+"@"+address)
}

func (l *recordingLoader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.shown)
}

// TestWorkerShowsLoading: the worker asks for the loading indicator when a customer's
// answer will not be immediate (several events pending, or one that waited), once per
// claim, and not for a fresh single event, an agent's action or a channel without one.
func TestWorkerShowsLoading(t *testing.T) {
	now := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
	customer := func(id, user string, at time.Time) bot.Event {
		return bot.Event{ID: id, Key: bot.Key{Channel: "line", User: user}, Address: user, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at}
	}
	tests := []struct {
		name string
		evs  []bot.Event
		want int
	}{
		{"fresh", []bot.Event{customer("a", "U1", now)}, 0},
		{"waited", []bot.Event{customer("a", "U1", now.Add(-2*pipeline.BacklogAfter))}, 1},
		{"several pending", []bot.Event{customer("a", "U1", now), customer("b", "U1", now), customer("c", "U1", now)}, 1},
		{"agent action", []bot.Event{{ID: "a", Key: bot.Key{Channel: "line", User: "U1"}, Address: "U1",
			In: bot.Inbound{Kind: bot.InAgentClaim}, At: now.Add(-time.Hour)}}, 0},
		{"no indicator on the channel", []bot.Event{customer("a", "U1", now.Add(-time.Hour))}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openMemory(t)
			l := &recordingLoader{}
			loaders := map[string]pipeline.Loader{"line": l}
			if tt.name == "no indicator on the channel" {
				loaders = nil
			}
			w, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: store, Store: store, Stepper: countingStepper{},
				Loaders: loaders, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.AddEvents(t.Context(), tt.evs); err != nil {
				t.Fatal(err)
			}
			if did, err := w.RunOnce(t.Context()); !did || err != nil {
				t.Fatalf("RunOnce = %v, %v", did, err)
			}
			if got := l.count(); got != tt.want {
				t.Errorf("%d indicators (%v), want %d", got, l.shown, tt.want)
			}
		})
	}
}
