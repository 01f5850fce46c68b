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

// Store is what a Pipeline needs of a store: the inbox, the queue of pending events, the
// conversations and the outbox.
type Store interface {
	bot.Inbox
	bot.Queue
	bot.ConversationStore
	bot.Outbox
}

// Config configures a Pipeline. A zero field means the default.
type Config struct {
	Store   Store       // required
	Stepper bot.Stepper // required: the *bot.Desk
	Owner   string      // this process's name in leases; default "pipeline"
	// Lease is how long a claimed conversation or outbox row stays leased; default 30s.
	Lease   time.Duration
	Workers int // conversations stepped at once; default 4
	// Grace bounds the work under way when Run's context ends (turns, store reads,
	// profile calls, deliveries): it is cancelled this long after; default DefaultGrace.
	Grace  time.Duration
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default time.Now
	// Turned, Delivered and Backlog are hooks for metrics (see WorkerConfig and
	// DelivererConfig); optional.
	Turned    func(ev bot.Event, c *bot.Conversation, msgs []bot.Message)
	Delivered func(channel, outcome string, d time.Duration)
	Backlog   func(bot.OutboxCounts)
	// TakeOverEvery is how often, when Store is a Liveness, Run looks for owners that
	// died and takes over their leases; default 500ms.
	TakeOverEvery time.Duration
}

// Liveness is an optional capability of a Store: recording that an owner is alive, so
// that when its process dies the others take over its leases (conversations, outbox
// rows) at once instead of at their expiry. Run records its Owner alive before it claims
// anything, which also takes over what a dead process left (under this Owner's name too:
// a restarted container keeps its host name and pid), and calls TakeOver every
// Config.TakeOverEvery.
type Liveness interface {
	// Live records owner as alive until leave is called or the process dies, and first
	// takes over the leases of dead owners, owner's own earlier ones included.
	Live(ctx context.Context, owner string) (leave func() error, err error)
	// TakeOver takes over the leases of the owners that died since, and returns how many.
	TakeOver(ctx context.Context) (int, error)
}

// Pipeline is the runtime between the channels and the store: the inbox the channels
// write to (group commit, hints), the workers that step pending events through the
// Stepper, and the deliverer that sends what they commit. Build it with New, give the
// channels its Inbox, register their senders with Add, then Run it.
//
// Events may be written to the Inbox before Run starts: they wait for it, and the worker
// finds them when it does.
type Pipeline struct {
	cfg       Config
	batcher   *Batcher
	hints     *Hints
	inbox     *wakingInbox
	worker    *Worker
	deliverer *Deliverer
	senders   map[string]bot.Sender
	profilers map[string]bot.Profiler
	loaders   map[string]Loader
	running   atomic.Bool
	log       *slog.Logger
}

// New returns a Pipeline. Its bot.TimerChannel sender (the desk's timers) is registered.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Store == nil || cfg.Stepper == nil {
		return nil, errors.New("new pipeline: Store and Stepper are required")
	}
	if cfg.Owner == "" {
		cfg.Owner = "pipeline"
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.TakeOverEvery == 0 {
		cfg.TakeOverEvery = 500 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{cfg: cfg, batcher: NewBatcher(cfg.Store, 0), hints: NewHints(0),
		senders: map[string]bot.Sender{}, profilers: map[string]bot.Profiler{}, loaders: map[string]Loader{},
		log: log.With("component", "pipeline")}
	p.batcher.grace = cfg.Grace
	t := &timers{}
	p.senders[bot.TimerChannel] = t
	var err error
	// The senders and profilers maps are filled in by Add before Run: the components
	// read them only once Run has started.
	p.deliverer, err = NewDeliverer(DelivererConfig{
		Outbox: cfg.Store, Senders: p.senders, Owner: cfg.Owner, Lease: cfg.Lease, Grace: cfg.Grace,
		Logger: cfg.Logger, Now: cfg.Now, Delivered: cfg.Delivered, Backlog: cfg.Backlog,
	})
	if err != nil {
		return nil, fmt.Errorf("new pipeline: %w", err)
	}
	// The worker hands what it commits straight to the deliverer; the deliverer's own
	// claims pick up retries and rows whose process died.
	p.worker, err = NewWorker(WorkerConfig{
		Queue: cfg.Store, Store: cfg.Store, Stepper: cfg.Stepper, Owner: cfg.Owner, Lease: cfg.Lease,
		Workers: cfg.Workers, Grace: cfg.Grace, Logger: cfg.Logger, Now: cfg.Now,
		Profilers: p.profilers, Loaders: p.loaders, Deliverer: p.deliverer, Hints: p.hints, Turned: cfg.Turned,
		Committed: p.deliverer.Notify,
	})
	if err != nil {
		return nil, fmt.Errorf("new pipeline: %w", err)
	}
	p.inbox = &wakingInbox{Inbox: p.hints.Inbox(p.batcher), wake: p.worker.Notify}
	t.inbox = p.inbox
	return p, nil
}

// Inbox returns the inbox the channels write to: it commits concurrent writes together,
// hints the conversations of fresh events to the workers and wakes them. It is safe for
// concurrent use, also before Run starts (writes then wait for it).
func (p *Pipeline) Inbox() bot.Inbox { return p.inbox }

// Add registers channel name's sender, its profile lookup if s is a bot.Profiler and its
// loading indicator if s is a Loader. It must be called before Run.
func (p *Pipeline) Add(name string, s bot.Sender) error {
	if p.running.Load() {
		return fmt.Errorf("add channel %s: the pipeline is running", name)
	}
	if _, ok := p.senders[name]; ok {
		return fmt.Errorf("add channel %s: already added", name)
	}
	p.senders[name] = s
	if pr, ok := s.(bot.Profiler); ok {
		p.profilers[name] = pr
	}
	if l, ok := s.(Loader); ok {
		p.loaders[name] = l
	}
	return nil
}

// Run writes the inbox, steps events and delivers answers until ctx is done. Work under
// way then finishes, within Config.Grace: turns are committed and their leases released,
// and what they committed is delivered. Run may be called once.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.running.Swap(true) {
		return errors.New("run pipeline: already running")
	}
	var wg sync.WaitGroup
	// Before the first claim: what a dead process left is claimable from the start.
	var leave func() error
	if l, ok := p.cfg.Store.(Liveness); ok {
		var err error
		if leave, err = l.Live(ctx, p.cfg.Owner); err != nil {
			p.log.Warn("liveness unavailable: the leases of a process that dies wait for their expiry",
				"owner", p.cfg.Owner, "err", err)
		} else {
			wg.Go(func() { p.takeOver(ctx, l) })
		}
	}
	wg.Go(func() { p.batcher.Run(ctx) })
	wg.Go(func() { p.worker.Run(ctx) })
	wg.Go(func() { p.deliverer.Run(ctx) })
	wg.Wait()
	p.deliverer.Wait() // what the workers handed over in their last turns
	if leave != nil {
		// Every lease of this owner has ended by now, or is left to expire.
		if err := leave(); err != nil {
			p.log.Warn("leave", "owner", p.cfg.Owner, "err", err)
		}
	}
	return nil
}

// takeOver calls l.TakeOver every TakeOverEvery until ctx is done, and wakes the worker
// and the deliverer when it took something over.
func (p *Pipeline) takeOver(ctx context.Context, l Liveness) {
	t := time.NewTicker(p.cfg.TakeOverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := l.TakeOver(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("take over the leases of dead processes", "err", err)
			}
			continue
		}
		if n > 0 {
			p.log.Info("took over the leases of a dead process", "leases", n)
			p.worker.Notify()
			p.deliverer.Notify()
		}
	}
}

// wakingInbox wakes the worker after events were stored that it has not seen.
type wakingInbox struct {
	bot.Inbox
	wake func()
}

func (i *wakingInbox) AddEvents(ctx context.Context, evs []bot.Event) ([]bool, error) {
	fresh, err := i.Inbox.AddEvents(ctx, evs)
	for _, f := range fresh {
		if f {
			i.wake()
			break
		}
	}
	return fresh, err
}
