package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/pipeline"
)

// recordingSender hands every row it delivers to got.
type recordingSender struct{ got chan bot.Outgoing }

func (s recordingSender) Send(_ context.Context, o bot.Outgoing) (string, error) {
	s.got <- o
	return "push", nil
}

// waitFor returns the next row the sender delivers, failing the test after a generous
// bound.
func waitFor(t *testing.T, got <-chan bot.Outgoing) bot.Outgoing {
	t.Helper()
	select {
	case o := <-got:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
		return bot.Outgoing{}
	}
}

// TestPipeline checks the assembly: an event stored through the inbox before Run (a
// channel that receives before the pipeline runs) and one stored while it runs are both
// stepped and their answers delivered by the channel's sender; channels cannot be added
// once it runs.
func TestPipeline(t *testing.T) {
	store := openMemory(t)
	p, err := pipeline.New(pipeline.Config{Store: store, Stepper: countingStepper{}, Owner: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s := recordingSender{got: make(chan bot.Outgoing, 4)}
	if err := p.Add("line", s); err != nil {
		t.Fatal(err)
	}
	if err := p.Add("line", s); err == nil {
		t.Error("adding a channel twice: no error")
	}
	k := bot.Key{Channel: "line", User: "U1"}
	at := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
	add := func(ctx context.Context, id string) error {
		_, err := p.Inbox().AddEvents(ctx, []bot.Event{{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at, Address: "U1"}})
		return err
	}
	ctx, cancel := context.WithCancel(t.Context())
	// The inbox takes the event before Run, and acknowledges it once Run has stored it.
	stored := make(chan error, 1)
	go func() { stored <- add(ctx, "e1") }()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if err := <-stored; err != nil {
		t.Fatalf("add before Run: %v", err)
	}
	if o := waitFor(t, s.got); o.EventID != "e1" || o.Messages[0].Text != "1" {
		t.Errorf("first delivery: event %s, %q; want e1, \"1\"", o.EventID, o.Messages[0].Text)
	}
	at = at.Add(time.Second)
	if err := add(ctx, "e2"); err != nil {
		t.Fatal(err)
	}
	if o := waitFor(t, s.got); o.EventID != "e2" || o.Messages[0].Text != "2" {
		t.Errorf("second delivery: event %s, %q; want e2, \"2\"", o.EventID, o.Messages[0].Text)
	}
	if err := p.Add("slack", s); err == nil {
		t.Error("adding a channel to a running pipeline: no error")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// stuckStepper waits in its turn until the turn's context ends, and reports that on
// ended.
type stuckStepper struct {
	stepping chan struct{}
	ended    chan error
}

func (s stuckStepper) Step(ctx context.Context, _ *bot.Conversation, _ bot.Event) (bot.Result, error) {
	s.stepping <- struct{}{}
	<-ctx.Done()
	s.ended <- ctx.Err()
	return bot.Result{}, ctx.Err()
}

// TestPipelineGrace checks the shutdown policy: a turn under way when Run's context ends
// goes on (its context is not cancelled with Run's), until the grace has passed; then
// Run returns.
func TestPipelineGrace(t *testing.T) {
	store := openMemory(t)
	st := stuckStepper{stepping: make(chan struct{}, 1), ended: make(chan error, 1)}
	const grace = 200 * time.Millisecond
	p, err := pipeline.New(pipeline.Config{Store: store, Stepper: st, Grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Add("line", recordingSender{got: make(chan bot.Outgoing, 1)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	k := bot.Key{Channel: "line", User: "U1"}
	if _, err := p.Inbox().AddEvents(ctx, []bot.Event{{ID: "e1", Key: k, In: bot.Inbound{Kind: bot.InAgentText}, At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	<-st.stepping
	stopped := time.Now()
	cancel()
	select {
	case err := <-st.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("turn ended with %v, want context.Canceled", err)
		}
		if d := time.Since(stopped); d < grace {
			t.Errorf("turn cancelled %v after Run's context, before the grace of %v", d, grace)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("turn never cancelled: shutdown is unbounded")
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
