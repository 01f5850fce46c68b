package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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

// commitRows stores n events of user, from at on a second apart, and commits their turns
// together (as a worker stepping a backlog does), each with an answer leased to claim's
// owner; it returns the answers, oldest first. The store leases every one of them: each
// waits only behind the one before it, which the same owner holds.
func commitRows(t *testing.T, store *sqlite.Store, user string, n int, claim *bot.Claim, at time.Time) []*bot.Outgoing {
	t.Helper()
	outs := commitTurns(t, store, user, n, claim, at)
	for _, o := range outs {
		if !o.Claimed {
			t.Fatalf("row %d of %s was not leased at commit", o.ID, user)
		}
	}
	return outs
}

// commitTurns is commitRows without the check that the answers were leased.
func commitTurns(t *testing.T, store *sqlite.Store, user string, n int, claim *bot.Claim, at time.Time) []*bot.Outgoing {
	t.Helper()
	ctx := t.Context()
	k := bot.Key{Channel: "line", User: user}
	c, err := store.Conversation(ctx, k)
	if errors.Is(err, bot.ErrNotFound) {
		c = &bot.Conversation{Key: k, Lang: bot.Japanese, Status: bot.StatusActive, Node: "start", FlowVersion: "t",
			CreatedAt: at, UpdatedAt: at}
	} else if err != nil {
		t.Fatal(err)
	}
	var turns []*bot.Turn
	var outs []*bot.Outgoing
	for i := range n {
		evAt := at.Add(time.Duration(i) * time.Second)
		ev := bot.Event{ID: fmt.Sprintf("e-%s-%d", user, evAt.UnixNano()), Key: k, At: evAt,
			In: bot.Inbound{Kind: bot.InText, Text: "x"}}
		if _, err := store.AddEvents(ctx, []bot.Event{ev}); err != nil {
			t.Fatal(err)
		}
		out := &bot.Outgoing{Key: k, EventID: ev.ID, Address: user, EventAt: ev.At, CreatedAt: ev.At,
			Messages: []bot.Message{{Kind: bot.MsgText, Text: fmt.Sprint(i)}}}
		turns = append(turns, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out}, Claim: claim})
		outs = append(outs, out)
	}
	if err := store.CommitTurns(ctx, turns); err != nil {
		t.Fatal(err)
	}
	return outs
}

// gateSender records the rows it delivered per conversation. A row in hold waits in Send
// until its channel is closed; a row in fail fails once with a temporary error; started,
// if not nil, is sent the id of every attempt as it begins. It notes when two attempts of
// one conversation were under way at once.
type gateSender struct {
	mu        sync.Mutex
	hold      map[int64]chan struct{}
	fail      map[int64]bool
	started   chan int64
	busy      map[bot.Key]int
	overlap   bool
	delivered map[bot.Key][]int64
}

func newGateSender() *gateSender {
	return &gateSender{hold: map[int64]chan struct{}{}, fail: map[int64]bool{}, started: make(chan int64, 1000),
		busy: map[bot.Key]int{}, delivered: map[bot.Key][]int64{}}
}

func (s *gateSender) Send(ctx context.Context, o bot.Outgoing) (string, error) {
	s.mu.Lock()
	s.busy[o.Key]++
	if s.busy[o.Key] > 1 {
		s.overlap = true
	}
	gate := s.hold[o.ID]
	s.mu.Unlock()
	s.started <- o.ID
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	runtime.Gosched()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy[o.Key]--
	if s.fail[o.ID] {
		delete(s.fail, o.ID)
		return "", &bot.DeliveryError{Err: errors.New("LINE answered 500")}
	}
	s.delivered[o.Key] = append(s.delivered[o.Key], o.ID)
	return "push", nil
}

// check fails t unless the conversation of rows got exactly rows, in order, one at a time.
func (s *gateSender) check(t *testing.T, rows []*bot.Outgoing) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var want []int64
	for _, o := range rows {
		want = append(want, o.ID)
	}
	if got := s.delivered[rows[0].Key]; !slices.Equal(got, want) {
		t.Errorf("%s: delivered rows %v, want %v", rows[0].Key, got, want)
	}
	if s.overlap {
		t.Error("two rows of one conversation were under way at once")
	}
}

// awaitStart waits until the sender began an attempt of row id, and fails t if it began
// another first.
func awaitStart(t *testing.T, s *gateSender, id int64) {
	t.Helper()
	select {
	case got := <-s.started:
		if got != id {
			t.Fatalf("attempt of row %d began, want %d", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no attempt of row %d began", id)
	}
}

// wantWaiting fails t unless the outbox has n unfinished rows.
func wantWaiting(t *testing.T, store *sqlite.Store, n int) {
	t.Helper()
	c, err := store.CountOutgoing(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Waiting != n {
		t.Errorf("%d rows unfinished, want %d", c.Waiting, n)
	}
}

// TestDelivererChainsAcrossCalls checks that a row handed over while the row before it
// (handed over by an earlier call) is under way waits for it, and that when that one is
// to be retried, the row behind it is unclaimed at once, also when it is handed over
// just after, and then claimed in order.
func TestDelivererChainsAcrossCalls(t *testing.T) {
	tests := []struct {
		name  string
		fail  bool // the first row is to be retried
		after bool // the second row is handed over after the first one's attempt ended
	}{
		{name: "delivered"},
		{name: "retried", fail: true},
		{name: "handed over after a retry", fail: true, after: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			store := openMemory(t)
			sender := newGateSender()
			d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender},
				Backoff: func(int) time.Duration { return 0 }})
			if err != nil {
				t.Fatal(err)
			}
			rows := commitRows(t, store, "A", 2, d.Claim(), time.Now())
			gate := make(chan struct{})
			sender.hold[rows[0].ID] = gate
			sender.fail[rows[0].ID] = tt.fail
			d.Deliver(ctx, rows[:1])
			awaitStart(t, sender, rows[0].ID)
			if tt.after {
				close(gate)
				d.Wait()
				d.Deliver(ctx, rows[1:])
			} else {
				d.Deliver(ctx, rows[1:])
				close(gate)
			}
			d.Wait()
			if tt.fail {
				// Both are claimable at once: the first is due again (no backoff), and
				// the second no longer leased.
				for _, o := range rows {
					if n, err := d.RunOnce(ctx); err != nil || n != 1 {
						t.Fatalf("RunOnce = %d, %v; want row %d", n, err, o.ID)
					}
				}
			}
			sender.check(t, rows)
			wantWaiting(t, store, 0)
		})
	}
}

// TestDelivererChainsConcurrent hands over the rows of many conversations from many
// goroutines, each conversation's one at a time and in order as its commits would, and
// checks that every conversation gets all of its rows in order, one at a time. The first
// rows are held until every conversation has a second one queued; the rest race with the
// ends of the chains.
func TestDelivererChainsConcurrent(t *testing.T) {
	const users, perUser = 40, 6
	ctx := t.Context()
	store := openMemory(t)
	sender := newGateSender()
	d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender}})
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	rows := make([][]*bot.Outgoing, users)
	for i := range rows {
		rows[i] = commitRows(t, store, fmt.Sprint("U", i), perUser, d.Claim(), time.Now())
		sender.hold[rows[i][0].ID] = gate
	}
	var queued, done sync.WaitGroup
	for _, rs := range rows {
		queued.Add(1)
		done.Go(func() {
			d.Deliver(ctx, rs[:1])
			d.Deliver(ctx, rs[1:2])
			queued.Done()
			<-gate
			for _, o := range rs[2:] {
				d.Deliver(ctx, []*bot.Outgoing{o})
			}
		})
	}
	queued.Wait()
	close(gate)
	done.Wait()
	d.Wait()
	for _, rs := range rows {
		sender.check(t, rs)
	}
	wantWaiting(t, store, 0)
}

// TestDelivererChainsBehindClaim checks that a row handed over while RunOnce delivers
// the row before it waits for that one.
func TestDelivererChainsBehindClaim(t *testing.T) {
	tests := []struct {
		name string
		// lapse: both rows are leased at commit, and the leases lapse: RunOnce claims the
		// first again (as after a takeover), while the second is still this deliverer's
		// to hand over. Otherwise the first is committed without a claim, and the second
		// while RunOnce delivers the first: a store may lease it at commit then, behind a
		// row that this deliverer holds (if not, RunOnce claims it after the first).
		lapse bool
	}{
		{name: "lease lapsed", lapse: true},
		{name: "committed meanwhile"},
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
				Now: clock, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			var rows []*bot.Outgoing
			if tt.lapse {
				rows = commitRows(t, store, "A", 2, d.Claim(), now)
				mu.Lock()
				now = now.Add(2 * time.Minute)
				mu.Unlock()
			} else {
				rows = commitTurns(t, store, "A", 1, nil, now)
			}
			gate := make(chan struct{})
			sender.hold[rows[0].ID] = gate
			claimed := make(chan int, 1)
			go func() {
				n, err := d.RunOnce(ctx)
				if err != nil {
					t.Error(err)
				}
				claimed <- n
			}()
			awaitStart(t, sender, rows[0].ID)
			if !tt.lapse {
				rows = append(rows, commitTurns(t, store, "A", 1, d.Claim(), clock().Add(time.Second))...)
			}
			if rows[1].Claimed {
				d.Deliver(ctx, rows[1:])
			} else {
				t.Log("the store leased no row behind one under way at commit")
			}
			close(gate)
			if n := <-claimed; n != 1 {
				t.Errorf("RunOnce claimed %d rows, want 1", n)
			}
			d.Wait()
			if !rows[1].Claimed {
				if n, err := d.RunOnce(ctx); err != nil || n != 1 {
					t.Fatalf("RunOnce = %d, %v; want the second row", n, err)
				}
			}
			sender.check(t, rows)
			if c, err := store.CountOutgoing(ctx, clock()); err != nil || c.Waiting != 0 {
				t.Errorf("CountOutgoing = %+v, %v; want nothing waiting", c, err)
			}
		})
	}
}

// TestDelivererQueuedTakesNoSlot checks that a row queued behind its conversation's row
// under way takes none of the slots that bound the deliveries at once, so that handing
// it over does not wait even while every slot is taken.
func TestDelivererQueuedTakesNoSlot(t *testing.T) {
	const slots = 256 // the deliverer's maxDirect
	ctx := t.Context()
	store := openMemory(t)
	sender := newGateSender()
	sender.started = make(chan int64, 2*slots)
	d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender}})
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	rows := make([][]*bot.Outgoing, slots)
	for i := range rows {
		rows[i] = commitRows(t, store, fmt.Sprint("U", i), 2, d.Claim(), time.Now())
		sender.hold[rows[i][0].ID] = gate
	}
	for _, rs := range rows {
		d.Deliver(ctx, rs[:1])
	}
	handed := make(chan struct{})
	go func() {
		defer close(handed)
		for _, rs := range rows {
			d.Deliver(ctx, rs[1:])
		}
	}()
	select {
	case <-handed:
	case <-time.After(10 * time.Second):
		t.Error("Deliver of rows queued behind others waited for a slot")
	}
	close(gate)
	<-handed
	d.Wait()
	for _, rs := range rows {
		sender.check(t, rs)
	}
	wantWaiting(t, store, 0)
}

// TestDelivererHold checks that rows of a held conversation wait for the end of its
// last hold and then go out in row order, whoever handed them over first (Deliver or
// RunOnce), and that a hold does not stop a group already under way.
func TestDelivererHold(t *testing.T) {
	ctx := t.Context()
	k := bot.Key{Channel: "line", User: "A"}
	setup := func(t *testing.T) (*sqlite.Store, *gateSender, *pipeline.Deliverer) {
		t.Helper()
		store := openMemory(t)
		sender := newGateSender()
		d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": sender}})
		if err != nil {
			t.Fatal(err)
		}
		return store, sender, d
	}
	t.Run("later commit handed over first", func(t *testing.T) {
		// Worker A commits row 1 and, before it hands it over, worker B commits row 2
		// and hands it over: both held the conversation from before their commits.
		store, sender, d := setup(t)
		releaseA := d.Hold(k)
		rows := commitRows(t, store, "A", 2, d.Claim(), time.Now())
		releaseB := d.Hold(k)
		d.Deliver(ctx, rows[1:])
		releaseB()
		releaseB() // idempotent: A's hold is still on
		d.Deliver(ctx, rows[:1])
		releaseA()
		d.Wait()
		sender.check(t, rows)
		wantWaiting(t, store, 0)
	})
	t.Run("claimed while held", func(t *testing.T) {
		store, sender, d := setup(t)
		rows := commitTurns(t, store, "A", 1, nil, time.Now())
		release := d.Hold(k)
		if n, err := d.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v; want the row", n, err)
		}
		sender.mu.Lock()
		early := len(sender.delivered[k])
		sender.mu.Unlock()
		if early != 0 {
			t.Error("RunOnce delivered a row of a held conversation")
		}
		release()
		d.Wait()
		sender.check(t, rows)
		wantWaiting(t, store, 0)
	})
	t.Run("under way", func(t *testing.T) {
		store, sender, d := setup(t)
		rows := commitRows(t, store, "A", 2, d.Claim(), time.Now())
		gate := make(chan struct{})
		sender.hold[rows[0].ID] = gate
		d.Deliver(ctx, rows[:1])
		awaitStart(t, sender, rows[0].ID)
		release := d.Hold(k)
		d.Deliver(ctx, rows[1:])
		close(gate)
		awaitStart(t, sender, rows[1].ID) // the hold is still on
		release()
		d.Wait()
		sender.check(t, rows)
		wantWaiting(t, store, 0)
	})
}
