package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// maxAttempts bounds the compare-and-swap retries of one turn.
const maxAttempts = 5

// WorkerConfig configures a Worker. A zero field means the default.
type WorkerConfig struct {
	Queue   bot.Queue             // required
	Store   bot.ConversationStore // required: where conversations are loaded from
	Stepper bot.Stepper           // required
	Owner   string                // this process's name in leases; default "worker"
	Lease   time.Duration         // how long a claimed conversation stays leased; default 30s
	Poll    time.Duration         // how often to look for work without a Notify; default 200ms
	Workers int                   // conversations stepped at once; default 4
	Logger  *slog.Logger          // default: discard
	Now     func() time.Time      // default time.Now
	// Profilers look up customers' profiles, by channel; optional.
	Profilers map[string]bot.Profiler
	// Loaders show customers that an answer is coming, by channel (see Loader); optional.
	Loaders map[string]Loader
	// Deliverer, if set, is handed the rows a turn could lease to it at commit (see
	// bot.Turn.Claim), so they go out at once; the conversation's deliveries are held across
	// the commit (see Deliverer.Hold), so that they go out in order.
	Deliverer *Deliverer
	// Committed is called after a turn with messages for the outbox is committed (to wake
	// a deliverer), unless they were all handed to Deliverer.
	Committed func()
	// CacheSize is how many conversations the worker keeps in memory after committing
	// their turn, so that the next turn need not load them; default 4096, negative for
	// none.
	CacheSize int
	// Turned is called after every committed turn with the event, the conversation's new
	// state and the messages sent (a hook for metrics); optional.
	Turned func(ev bot.Event, c *bot.Conversation, msgs []bot.Message)
	// Hints, if set, names the conversations with new events (see Hints.Inbox): the
	// worker claims those by key, and searches the inbox when there is none, and at
	// least every SearchEvery.
	Hints *Hints
	// Grace bounds a turn under way when Run's context ends: its context is cancelled
	// this long after; default DefaultGrace.
	Grace time.Duration
	// SearchEvery bounds how long events that no hint names can wait behind hinted ones
	// under load; default 250ms.
	SearchEvery time.Duration
}

// Worker steps pending inbox events: one conversation at a time per lease, its events in
// order, each turn's new state and outgoing messages committed together. It is safe for
// concurrent use; run it with Run.
type Worker struct {
	cfg        WorkerConfig
	log        *slog.Logger
	wake       chan struct{}
	cache      *convCache   // nil when CacheSize < 0
	lastSearch atomic.Int64 // when a claim last searched the inbox, in Now's UnixNano
}

// NewWorker returns a Worker.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Queue == nil || cfg.Store == nil || cfg.Stepper == nil {
		return nil, errors.New("new worker: Queue, Store and Stepper are required")
	}
	if cfg.Owner == "" {
		cfg.Owner = "worker"
	}
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Poll == 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 4096
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.SearchEvery == 0 {
		cfg.SearchEvery = 250 * time.Millisecond
	}
	w := &Worker{cfg: cfg, log: log.With("component", "worker"), wake: make(chan struct{}, 1)}
	if cfg.CacheSize > 0 {
		w.cache = newConvCache(cfg.CacheSize)
	}
	return w, nil
}

// Notify wakes the worker: new events are in the inbox. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run processes events until ctx is done. A conversation being stepped when ctx ends is
// finished (its turn committed) and its lease released before Run returns, unless that
// takes longer than Grace.
func (w *Worker) Run(ctx context.Context) error {
	work := inFlight(ctx, w.cfg.Grace)
	var wg sync.WaitGroup
	for i := 0; i < w.cfg.Workers; i++ {
		wg.Go(func() { w.loop(ctx, work) })
	}
	wg.Wait()
	return nil
}

// loop claims and steps conversations until ctx is done; work is the context of a claim
// under way (see inFlight).
func (w *Worker) loop(ctx, work context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
		// Work until the queue is empty, then wait for a Notify or the poll.
		for ctx.Err() == nil {
			did, err := w.RunOnce(work)
			if err != nil {
				w.log.Error("process inbox", "err", err)
				break
			}
			if !did {
				break
			}
			// Others may be waiting too: pass the wake-up on.
			w.Notify()
		}
		t.Reset(w.cfg.Poll)
	}
}

// RunOnce claims one conversation with pending events and steps them all. It reports
// whether there was one, or a hint to try.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	k, evs, err := w.claim(ctx)
	if errors.Is(err, bot.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim: %w", err)
	}
	if len(evs) == 0 { // a hint that led nowhere
		return true, nil
	}
	if w.cfg.Hints != nil {
		defer w.cfg.Hints.end(k, false)
	}
	w.showBacklog(ctx, evs)
	released := false
	tc, batch := w.cfg.Queue.(TurnsCommitter)
	for i := 0; i < len(evs); {
		if batch && len(evs)-i > 1 {
			n := min(len(evs)-i, maxBatchTurns)
			done, err := w.processBatch(ctx, tc, evs[i:i+n], i+n == len(evs))
			if err != nil {
				// As below: the events stay pending and the lease is kept.
				return true, fmt.Errorf("events %s to %s: %w", evs[i].ID, evs[i+n-1].ID, err)
			}
			if done {
				released = i+n == len(evs)
				i += n
				continue
			}
			// A conflict or an event processed elsewhere: one at a time from here, as
			// before batches.
			batch = false
		}
		ev := evs[i]
		var err error
		// The last turn ends the lease in its own commit.
		if released, err = w.process(ctx, ev, i == len(evs)-1); err != nil {
			// The event stays pending and the lease is kept: the conversation is tried
			// again when the lease expires, not in a tight loop.
			return true, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		i++
	}
	if !released {
		if err := w.cfg.Queue.ReleaseConversation(ctx, k, w.cfg.Owner); err != nil {
			w.log.Error("release conversation", "conversation", k.String(), "err", err)
		}
	}
	return true, nil
}

// claim claims a conversation: the next hinted one, by key, or the one whose pending
// event is the oldest, by a search, when there is no hint or the last search is
// SearchEvery old. A hinted conversation that turns out leased, or without pending events,
// is returned with no events; the caller must then not end it. Otherwise, with Hints, the
// caller ends the claim (Hints.end) once it is done with the conversation.
func (w *Worker) claim(ctx context.Context) (bot.Key, []bot.Event, error) {
	h := w.cfg.Hints
	now := w.cfg.Now().UnixNano()
	if h == nil || h.Len() == 0 || now-w.lastSearch.Load() >= int64(w.cfg.SearchEvery) {
		w.lastSearch.Store(now)
		k, evs, err := w.cfg.Queue.ClaimConversation(ctx, w.cfg.Owner, w.cfg.Lease)
		if err == nil && h != nil {
			h.begin(k)
		}
		if h == nil || !errors.Is(err, bot.ErrNotFound) {
			return k, evs, err
		}
	}
	k, ok := h.take()
	if !ok {
		return bot.Key{}, nil, bot.ErrNotFound
	}
	evs, err := w.cfg.Queue.ClaimKey(ctx, k, w.cfg.Owner, w.cfg.Lease)
	switch {
	case errors.Is(err, bot.ErrNotFound):
		h.end(k, true)
		return k, nil, nil
	case err != nil:
		h.end(k, false)
		return bot.Key{}, nil, err
	}
	return k, evs, nil
}

// process steps one event and commits the turn, retrying on a concurrent change. With
// release, the commit also ends the worker's lease on the conversation; released reports
// whether it did.
func (w *Worker) process(ctx context.Context, ev bot.Event, release bool) (released bool, err error) {
	for attempt := 1; ; attempt++ {
		start := w.cfg.Now()
		// The first attempt may start from the copy this process committed last; a
		// conflict means it was stale, and the next attempt loads.
		c, err := w.conversation(ctx, ev.Key, attempt == 1)
		if err != nil {
			return false, err
		}
		st := w.step(ctx, c, ev, attempt == 1, release)
		err = w.commit(ctx, []stepped{st}, start, func() error { return w.cfg.Queue.CommitTurn(ctx, st.turn) })
		if errors.Is(err, bot.ErrConflict) && attempt < maxAttempts {
			continue
		}
		if errors.Is(err, bot.ErrNotFound) {
			// Another worker processed it (after our lease lapsed, or in another process),
			// or an event that happened earlier arrived meanwhile: the next claim brings
			// whatever is still pending, in order.
			w.log.Warn("event not committed: processed elsewhere, or an earlier one is pending",
				"conversation", ev.Key.String(), "event", ev.ID)
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("commit: %w", err)
		}
		return release, nil
	}
}

// maxBatchTurns bounds the turns of one conversation committed together.
const maxBatchTurns = 16

// TurnsCommitter is an optional capability of a Queue: committing consecutive turns of
// one conversation in one transaction, the conversation saved once (as the SQLite store's
// CommitTurns). With it, a worker that claims several pending events steps them all and
// commits them together: a backlog costs a write of the conversation and of its index
// entries per batch rather than per event. Rows leased at the commit (bot.Turn.Claim)
// may then include several of one conversation and channel, which the Deliverer sends
// in order.
type TurnsCommitter interface {
	CommitTurns(ctx context.Context, ts []*bot.Turn) error
}

// processBatch steps evs, consecutive pending events of one conversation, and commits
// their turns together; with release, the commit also ends the worker's lease. It reports
// false, having stored nothing, when the commit met a concurrent change or an event no
// longer pending: the caller then processes them one at a time.
func (w *Worker) processBatch(ctx context.Context, tc TurnsCommitter, evs []bot.Event, release bool) (bool, error) {
	start := w.cfg.Now()
	k := evs[0].Key
	c, err := w.conversation(ctx, k, true)
	if err != nil {
		return false, err
	}
	sts := make([]stepped, len(evs))
	turns := make([]*bot.Turn, len(evs))
	for i, ev := range evs {
		sts[i] = w.step(ctx, c, ev, true, release && i == len(evs)-1)
		turns[i] = sts[i].turn
	}
	err = w.commit(ctx, sts, start, func() error { return tc.CommitTurns(ctx, turns) })
	if errors.Is(err, bot.ErrConflict) || errors.Is(err, bot.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// commit commits sts, turns of one conversation stepped from start, with do, keeps or
// drops the conversation in the cache, and when do succeeds, finishes them (committed).
// With a Deliverer, the conversation's deliveries are held from before the commit until
// its rows are handed over, whatever happens: the commit may release the conversation,
// and rows that another worker commits then must not start before these.
func (w *Worker) commit(ctx context.Context, sts []stepped, start time.Time, do func() error) error {
	k, c := sts[0].ev.Key, sts[len(sts)-1].turn.Conversation
	if w.cfg.Deliverer != nil {
		release := w.cfg.Deliverer.Hold(k)
		defer release()
	}
	err := do()
	if w.cache != nil {
		if err == nil {
			w.cache.put(c)
		} else {
			w.cache.drop(k)
		}
	}
	if err == nil {
		w.committed(ctx, sts, start)
	}
	return err
}

// conversation returns the conversation k, a new one if there is none: with cached, the
// copy this process committed last if it has one.
func (w *Worker) conversation(ctx context.Context, k bot.Key, cached bool) (*bot.Conversation, error) {
	if cached && w.cache != nil {
		if c := w.cache.get(k); c != nil {
			return c, nil
		}
	}
	c, err := w.cfg.Store.Conversation(ctx, k)
	if errors.Is(err, bot.ErrNotFound) {
		return &bot.Conversation{Key: k}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return c, nil
}

// stepped is one event stepped, its turn not yet committed.
type stepped struct {
	ev      bot.Event
	turn    *bot.Turn
	msgs    []bot.Message
	from    string            // the node before the step
	after   *bot.Conversation // a shallow copy of the conversation after the step
	outcome string
}

// step steps ev on c and builds its turn; first is the event's first attempt. With
// release, the turn ends the worker's lease on the conversation.
func (w *Worker) step(ctx context.Context, c *bot.Conversation, ev bot.Event, first, release bool) stepped {
	w.profile(ctx, c, &ev)
	if first {
		w.showHandoff(ctx, c, ev)
	}
	node := c.Node
	res, err := w.cfg.Stepper.Step(ctx, c, ev)
	outcome := "ok"
	if err != nil {
		// A bug in a flow or a stepper must not wedge the conversation's queue: the
		// customer gets an apology (an agent's action is only logged) and the event is
		// done.
		w.log.Error("step", "conversation", ev.Key.String(), "event", ev.ID, "node", node, "err", err)
		res = bot.Result{}
		if ev.In.Kind.FromCustomer() {
			res.Messages = bot.StepFailed(c.Lang)
		}
		outcome = "error"
	}
	turn := &bot.Turn{Conversation: c, EventID: ev.ID, Transcript: res.Transcript, Closed: res.Closed}
	if release {
		turn.Release = w.cfg.Owner
	}
	if w.cfg.Deliverer != nil {
		turn.Claim = w.cfg.Deliverer.Claim()
	}
	if len(res.Messages) > 0 {
		turn.Out = append(turn.Out, &bot.Outgoing{Address: ev.Address, ReplyToken: ev.ReplyToken, Handle: ev.Handle, EventAt: ev.At,
			Messages: res.Messages})
	}
	turn.Out = append(turn.Out, res.Out...)
	for i, o := range turn.Out {
		o.Key, o.EventID, o.Seq, o.CreatedAt = ev.Key, ev.ID, i, w.cfg.Now()
		if o.EventAt.IsZero() {
			o.EventAt = ev.At
		}
	}
	after := *c
	return stepped{ev: ev, turn: turn, msgs: res.Messages, from: node, after: &after, outcome: outcome}
}

// committed logs the turns committed together, calls the Turned hook, and hands the rows
// leased at the commit to the deliverer (in order) or wakes it for the others.
func (w *Worker) committed(ctx context.Context, sts []stepped, start time.Time) {
	var claimed []*bot.Outgoing
	unclaimed := false
	for _, st := range sts {
		ev, c := st.ev, st.after
		w.log.Info("event processed", "conversation", ev.Key.String(), "event", ev.ID, "kind", string(ev.In.Kind),
			"from", st.from, "node", c.Node, "status", string(c.Status), "messages", len(st.msgs), "outcome", st.outcome,
			"duration_ms", float64(w.cfg.Now().Sub(start).Microseconds())/1000)
		if w.cfg.Turned != nil {
			w.cfg.Turned(ev, c, st.msgs)
		}
		for _, o := range st.turn.Out {
			switch {
			case len(o.Messages) == 0:
			case o.Claimed:
				claimed = append(claimed, o)
			default:
				unclaimed = true
			}
		}
	}
	if len(claimed) > 0 {
		w.cfg.Deliverer.Deliver(ctx, claimed)
	}
	if unclaimed && w.cfg.Committed != nil {
		w.cfg.Committed()
	}
}

// profile fills in the customer's name and language once per conversation, when the
// channel can tell. Agent events carry no customer.
func (w *Worker) profile(ctx context.Context, c *bot.Conversation, ev *bot.Event) {
	p, ok := w.cfg.Profilers[ev.Key.Channel]
	if !ok || c.ProfileChecked || c.Name != "" || !ev.In.Kind.FromCustomer() || ev.In.Kind == bot.InUnfollow {
		return
	}
	prof, err := p.Profile(ctx, *ev)
	if err != nil {
		w.log.Warn("profile lookup", "conversation", ev.Key.String(), "err", err)
		return
	}
	c.Name, c.ProfileChecked = prof.Name, true // asked once: do not ask again every turn
	if ev.In.Lang == "" {
		ev.In.Lang = prof.Lang
	}
}
