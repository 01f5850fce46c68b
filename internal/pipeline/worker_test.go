package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// countingStepper counts the turns of a conversation in Vars["turns"] and answers with
// the count.
type countingStepper struct{}

func (countingStepper) Step(_ context.Context, c *bot.Conversation, ev bot.Event) (bot.Result, error) {
	if c.Vars == nil {
		c.Vars = map[string]string{}
	}
	n, _ := strconv.Atoi(c.Vars["turns"])
	c.Vars["turns"] = strconv.Itoa(n + 1)
	if c.Lang == "" {
		c.Lang, c.Status, c.Node, c.FlowVersion = bot.Japanese, bot.StatusActive, "start", "test"
		c.CreatedAt = ev.At
	}
	c.UpdatedAt = ev.At
	return bot.Result{Messages: []bot.Message{{Kind: bot.MsgText, Text: c.Vars["turns"]}}}, nil
}

// openMemory opens an in-memory SQLite store, closed when the test ends.
func openMemory(t *testing.T) *sqlite.Store {
	t.Helper()
	store, err := sqlite.New(t.Context(), sqlite.Config{Path: sqlite.Memory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// TestWorkerStaleCache checks that the conversation a worker keeps from its last commit
// is only a guess: when the stored one changed meanwhile, the turn is stepped again from
// the stored state, and nothing is lost.
func TestWorkerStaleCache(t *testing.T) {
	ctx := t.Context()
	store := openMemory(t)
	w, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: store, Store: store, Stepper: countingStepper{}})
	if err != nil {
		t.Fatal(err)
	}
	k := bot.Key{Channel: "line", User: "U1"}
	at := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
	turn := func(id string) {
		t.Helper()
		if _, err := store.AddEvents(ctx, []bot.Event{{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at}}); err != nil {
			t.Fatal(err)
		}
		if did, err := w.RunOnce(ctx); !did || err != nil {
			t.Fatalf("RunOnce = %v, %v", did, err)
		}
		at = at.Add(time.Second)
	}
	turn("e1")
	turn("e2") // from the cache

	// Someone else changes the conversation: the worker's copy is stale.
	c, err := store.Conversation(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	c.Vars["agent"] = "note"
	if err := store.SaveConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	turn("e3")

	got, err := store.Conversation(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Vars["turns"] != "3" || got.Vars["agent"] != "note" || got.Revision != 4 {
		t.Errorf("conversation: turns %q, agent %q, revision %d; want 3, note, 4", got.Vars["turns"], got.Vars["agent"], got.Revision)
	}
}

// keyOnlyQueue is a store whose search never finds anything: only hints lead the worker.
type keyOnlyQueue struct{ *sqlite.Store }

func (keyOnlyQueue) ClaimConversation(context.Context, string, time.Duration) (bot.Key, []bot.Event, error) {
	return bot.Key{}, nil, bot.ErrNotFound
}

// blockingStepper is countingStepper, except that the turn of event "a1" waits for
// release (after telling stepping).
type blockingStepper struct {
	stepping, release chan struct{}
}

func (s blockingStepper) Step(ctx context.Context, c *bot.Conversation, ev bot.Event) (bot.Result, error) {
	if ev.ID == "a1" {
		close(s.stepping)
		<-s.release
	}
	return countingStepper{}.Step(ctx, c, ev)
}

// TestWorkerHintWhileStepping checks that an event stored while its conversation is being
// stepped, after the worker read the pending events, is stepped next: its hint waits for
// the step to end (and a worker that took it and found the conversation leased would
// hand it back). The search is disabled, so only hints can lead to the event.
func TestWorkerHintWhileStepping(t *testing.T) {
	ctx := t.Context()
	store := openMemory(t)
	hints := pipeline.NewHints(0)
	st := blockingStepper{stepping: make(chan struct{}), release: make(chan struct{})}
	w, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: keyOnlyQueue{store}, Store: store, Stepper: st, Workers: 2,
		Hints: hints, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	inbox := hints.Inbox(store)
	k := bot.Key{Channel: "line", User: "U1"}
	at := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
	add := func(id string) {
		t.Helper()
		if _, err := inbox.AddEvents(ctx, []bot.Event{{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at}}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Second)
		w.Notify()
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	add("a1")
	<-st.stepping
	add("a2")
	// Nothing to take while a1 is stepped.
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := settle.Until(wait, func() (bool, error) { w.Notify(); return hints.Len() == 0, nil }); err != nil {
		t.Fatal("the hint for a2 was never taken")
	}
	close(st.release)
	var c *bot.Conversation
	err = settle.Until(wait, func() (bool, error) {
		var err error
		c, err = store.Conversation(ctx, k)
		return err == nil && c.Vars["turns"] == "2", nil
	})
	if err != nil {
		t.Fatalf("a2 not processed: conversation %+v", c)
	}
}

// countingProfiler counts the lookups and tells name.
type countingProfiler struct {
	name  string
	calls *int
}

func (p countingProfiler) Profile(context.Context, bot.Event) (bot.Profile, error) {
	*p.calls++
	return bot.Profile{Name: p.name}, nil
}

// TestWorkerProfileOnce checks that the worker asks the channel for the customer's
// profile once per conversation, also when the channel tells no name, and records that
// it asked.
func TestWorkerProfileOnce(t *testing.T) {
	tests := []struct {
		name string
		told string
	}{
		{name: "told a name", told: "山田"},
		{name: "told no name", told: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			store := openMemory(t)
			calls := 0
			w, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: store, Store: store, Stepper: countingStepper{},
				Profilers: map[string]bot.Profiler{"line": countingProfiler{name: tt.told, calls: &calls}}})
			if err != nil {
				t.Fatal(err)
			}
			k := bot.Key{Channel: "line", User: "U1"}
			at := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
			for _, id := range []string{"e1", "e2", "e3"} {
				if _, err := store.AddEvents(ctx, []bot.Event{{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at}}); err != nil {
					t.Fatal(err)
				}
				if did, err := w.RunOnce(ctx); !did || err != nil {
					t.Fatalf("RunOnce = %v, %v", did, err)
				}
				at = at.Add(time.Second)
			}
			c, err := store.Conversation(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if calls != 1 || c.Name != tt.told || !c.ProfileChecked {
				t.Errorf("lookups %d, Name %q, ProfileChecked %v; want 1, %q, true", calls, c.Name, c.ProfileChecked, tt.told)
			}
		})
	}
}

// orderSender records the texts it delivers, in order, and fails the first attempt
// of the texts in fail with a temporary error.
type orderSender struct {
	mu    sync.Mutex
	fail  map[string]bool
	texts []string
}

func (s *orderSender) Send(_ context.Context, o bot.Outgoing) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	text := o.Messages[0].Text
	if s.fail[text] {
		delete(s.fail, text)
		return "", &bot.DeliveryError{Err: errors.New("LINE answered 500")}
	}
	s.texts = append(s.texts, text)
	return "reply", nil
}

func (s *orderSender) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.texts)
}

// TestWorkerBacklogOneCommit checks that a conversation's pending events are stepped in
// order and committed together (the conversation saved once), and that their answers,
// leased at the commit, go out in order; and that when one of them fails, those after it
// wait behind its retry instead of for their leases to expire.
func TestWorkerBacklogOneCommit(t *testing.T) {
	tests := []struct {
		name string
		fail string // the answer whose first attempt fails
	}{
		{name: "all delivered"},
		{name: "second retried", fail: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			now := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			store, err := sqlite.New(ctx, sqlite.Config{Path: sqlite.Memory, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			sender := &orderSender{fail: map[string]bool{tt.fail: true}}
			d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender},
				Now: clock, Backoff: func(int) time.Duration { return 0 }})
			if err != nil {
				t.Fatal(err)
			}
			w, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: store, Store: store, Stepper: countingStepper{},
				Deliverer: d, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			k := bot.Key{Channel: "line", User: "U1"}
			var evs []bot.Event
			for i := range 5 {
				evs = append(evs, bot.Event{ID: "e" + strconv.Itoa(i), Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"},
					At: now.Add(time.Duration(i) * time.Second), ReplyToken: "token" + strconv.Itoa(i)})
			}
			if _, err := store.AddEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			if did, err := w.RunOnce(ctx); !did || err != nil {
				t.Fatalf("RunOnce = %v, %v", did, err)
			}
			d.Wait()
			c, err := store.Conversation(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if c.Vars["turns"] != "5" || c.Revision != 1 {
				t.Errorf("conversation: turns %q, revision %d; want 5 turns saved at once (revision 1)", c.Vars["turns"], c.Revision)
			}
			// What is left (a retried answer and those behind it) goes out in order by
			// claims, none of them held by a lease.
			for range 10 {
				n, err := d.RunOnce(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			if got, want := sender.delivered(), []string{"1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
				t.Errorf("delivered %v, want %v", got, want)
			}
		})
	}
}

// TestWorkerHoldsDeliveriesAcrossCommit checks that a worker's answer goes out before
// the next turn's, committed by another worker, also when that one hands its answer over
// first: the commit of the first turn releases the conversation, and the worker hands its
// answer over only after the Turned hook. (A store that leases no row behind another
// unfinished one at commit leaves the second answer to a claim after the first.)
func TestWorkerHoldsDeliveriesAcrossCommit(t *testing.T) {
	ctx := t.Context()
	store := openMemory(t)
	sender := newGateSender()
	d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender}})
	if err != nil {
		t.Fatal(err)
	}
	turned, resume := make(chan struct{}), make(chan struct{})
	w, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: store, Store: store, Stepper: countingStepper{}, Deliverer: d,
		Turned: func(ev bot.Event, _ *bot.Conversation, _ []bot.Message) {
			if ev.ID == "e1" {
				close(turned)
				<-resume
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	k := bot.Key{Channel: "line", User: "U1"}
	at := time.Now()
	add := func(id string) {
		t.Helper()
		if _, err := store.AddEvents(ctx, []bot.Event{{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at}}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Second)
	}
	runOnce := func() {
		if did, err := w.RunOnce(ctx); !did || err != nil {
			t.Errorf("RunOnce = %v, %v", did, err)
		}
	}
	add("e1")
	first := make(chan struct{})
	go func() { defer close(first); runOnce() }()
	<-turned // e1 is committed and the conversation released; its answer not handed over
	add("e2")
	runOnce() // another worker steps e2 and hands its answer over
	close(resume)
	<-first
	d.Wait()
	sender.mu.Lock()
	n := len(sender.delivered[k])
	sender.mu.Unlock()
	if n == 1 {
		t.Log("the store leased no answer behind an unfinished one at commit")
		if n, err := d.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v; want the second answer", n, err)
		}
	}
	sender.mu.Lock()
	defer sender.mu.Unlock()
	if got := sender.delivered[k]; len(got) != 2 || got[0] > got[1] {
		t.Errorf("delivered rows %v, want both in row order", got)
	}
	if sender.overlap {
		t.Error("two answers were under way at once")
	}
}

// conflictStepper is countingStepper, except that its first conflicts steps change the
// stored conversation meanwhile, so that their commits meet a conflict.
type conflictStepper struct {
	store     *sqlite.Store
	conflicts *int
}

func (s conflictStepper) Step(ctx context.Context, c *bot.Conversation, ev bot.Event) (bot.Result, error) {
	if *s.conflicts > 0 {
		*s.conflicts--
		stored, err := s.store.Conversation(ctx, c.Key)
		if errors.Is(err, bot.ErrNotFound) {
			stored = &bot.Conversation{Key: c.Key, Lang: bot.Japanese, Status: bot.StatusActive, Node: "start",
				FlowVersion: "test", CreatedAt: ev.At, UpdatedAt: ev.At}
		} else if err != nil {
			return bot.Result{}, err
		}
		if err := s.store.SaveConversation(ctx, stored); err != nil {
			return bot.Result{}, err
		}
	}
	return countingStepper{}.Step(ctx, c, ev)
}

// TestWorkerHoldEndsOnConflict checks that a commit that meets a conflict ends the hold
// on the conversation's deliveries: the answer of a later commit goes out, whether the
// turn is stepped again at once or, after too many conflicts, once the lease lapsed.
func TestWorkerHoldEndsOnConflict(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int
	}{
		{name: "stepped again", conflicts: 1},
		{name: "given up", conflicts: 5}, // the worker's maxAttempts
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			}
			store, err := sqlite.New(ctx, sqlite.Config{Path: sqlite.Memory, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			sender := newGateSender()
			d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender},
				Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			conflicts := tt.conflicts
			w, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: store, Store: store, Deliverer: d, Now: clock,
				Stepper: conflictStepper{store: store, conflicts: &conflicts}, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			k := bot.Key{Channel: "line", User: "U1"}
			if _, err := store.AddEvents(ctx, []bot.Event{{ID: "e1", Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: now}}); err != nil {
				t.Fatal(err)
			}
			did, err := w.RunOnce(ctx)
			if tt.conflicts >= 5 {
				if !did || !errors.Is(err, bot.ErrConflict) {
					t.Fatalf("RunOnce = %v, %v; want a conflict", did, err)
				}
				mu.Lock()
				now = now.Add(2 * time.Minute) // the worker's lease lapses
				mu.Unlock()
				did, err = w.RunOnce(ctx)
			}
			if !did || err != nil {
				t.Fatalf("RunOnce = %v, %v", did, err)
			}
			waited := make(chan struct{})
			go func() { d.Wait(); close(waited) }()
			select {
			case <-waited:
			case <-time.After(10 * time.Second):
				t.Fatal("the answer never went out: the conversation is still held")
			}
			sender.mu.Lock()
			defer sender.mu.Unlock()
			if got := sender.delivered[k]; len(got) != 1 {
				t.Errorf("delivered rows %v, want the answer", got)
			}
		})
	}
}
