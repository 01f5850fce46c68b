package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// switchSender fails every delivery with a fixable error while broken, and records
// what it delivered.
type switchSender struct {
	mu        sync.Mutex
	broken    bool
	delivered []string
}

func (s *switchSender) Send(_ context.Context, o bot.Outgoing) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return "", &bot.DeliveryError{Fixable: true, Err: errors.New("LINE answered 401")}
	}
	s.delivered = append(s.delivered, o.Key.User)
	return "push", nil
}

// TestDelivererParks checks that a fixable error parks a row instead of giving it up,
// that parking spends no attempt, that a success on the channel wakes the parked rows at
// once, and that a row parked past ParkLimit is given up.
func TestDelivererParks(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, time.May, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, err := sqlite.New(ctx, sqlite.Config{Path: sqlite.Memory, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	commit := func(user string) {
		t.Helper()
		k := bot.Key{Channel: "line", User: user}
		ev := bot.Event{ID: "e-" + user, Key: k, At: now, In: bot.Inbound{Kind: bot.InText, Text: "x"}}
		if _, err := store.AddEvents(ctx, []bot.Event{ev}); err != nil {
			t.Fatal(err)
		}
		c := &bot.Conversation{Key: k, Lang: bot.Japanese, Status: bot.StatusActive, Node: "start", FlowVersion: "t",
			CreatedAt: now, UpdatedAt: now}
		out := &bot.Outgoing{Key: k, EventID: ev.ID, Address: user, EventAt: now, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hi"}}}
		if err := store.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out}}); err != nil {
			t.Fatal(err)
		}
	}
	sender := &switchSender{broken: true}
	var outcomes []string
	d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender},
		Now: clock, MaxAttempts: 2, ParkLimit: time.Hour,
		Delivered: func(_, outcome string, _ time.Duration) { outcomes = append(outcomes, outcome) }})
	if err != nil {
		t.Fatal(err)
	}
	runOnce := func(want int) {
		t.Helper()
		if n, err := d.RunOnce(ctx); err != nil || n != want {
			t.Fatalf("RunOnce = %d, %v; want %d rows", n, err, want)
		}
	}
	commit("A")
	runOnce(1) // parked
	now = now.Add(time.Minute)
	runOnce(1) // parked again: more than MaxAttempts, still not given up
	runOnce(0) // not due: the clock stands still
	sender.broken = false
	commit("B")
	runOnce(1) // B goes out and wakes A
	runOnce(1) // A
	if got := sender.delivered; len(got) != 2 || got[0] != "B" || got[1] != "A" {
		t.Errorf("delivered to %v, want [B A]", got)
	}

	sender.broken = true
	commit("C")
	runOnce(1)
	now = now.Add(time.Hour)
	runOnce(1) // C is an hour old: given up
	want := []string{"parked", "parked", "push", "push", "parked", "failed"}
	if len(outcomes) != len(want) {
		t.Fatalf("outcomes %v, want %v", outcomes, want)
	}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", outcomes, want)
		}
	}
}

// TestDelivererBacklog checks that a running deliverer reports the outbox's backlog to
// Backlog, parked rows included, without anybody asking.
func TestDelivererBacklog(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	store := openMemory(t)
	for _, user := range []string{"A", "B"} {
		k := bot.Key{Channel: "line", User: user}
		at := time.Now()
		ev := bot.Event{ID: "e-" + user, Key: k, At: at, In: bot.Inbound{Kind: bot.InText, Text: "x"}}
		if _, err := store.AddEvents(ctx, []bot.Event{ev}); err != nil {
			t.Fatal(err)
		}
		c := &bot.Conversation{Key: k, Lang: bot.Japanese, Status: bot.StatusActive, Node: "start", FlowVersion: "t",
			CreatedAt: at, UpdatedAt: at}
		out := &bot.Outgoing{Key: k, EventID: ev.ID, Address: user, EventAt: at, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hi"}}}
		if err := store.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out}}); err != nil {
			t.Fatal(err)
		}
	}
	counts := make(chan bot.OutboxCounts, 100)
	d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": &switchSender{broken: true}},
		CountEvery: time.Millisecond, ParkMax: time.Hour,
		Backlog: func(c bot.OutboxCounts) {
			select {
			case counts <- c:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	want := bot.OutboxCounts{Waiting: 2, Parked: 2}
	timeout := time.After(10 * time.Second)
	for last := (bot.OutboxCounts{}); last != want; {
		select {
		case last = <-counts:
		case <-timeout:
			t.Fatalf("Backlog last reported %+v, want %+v", last, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
