package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// DelivererConfig configures a Deliverer. A zero field means the default.
type DelivererConfig struct {
	Outbox  bot.Outbox            // required
	Senders map[string]bot.Sender // by channel; required
	Owner   string                // this process's name in leases; default "deliverer"
	Lease   time.Duration         // how long a claimed row stays leased; default 30s
	Poll    time.Duration         // how often to look for work without a Notify; default 200ms
	Batch   int                   // rows claimed at once, delivered concurrently; default 16
	// ClaimGap is the least time between two claims that found less than a full batch;
	// default 50ms. Most rows are handed over by the worker (Deliver), and a claim may
	// cost the database a scan of the undelivered rows: wake-ups in between wait.
	ClaimGap time.Duration
	// MaxAttempts is how many temporary failures a row may have before it is given up;
	// default 12 (about an hour of backoff).
	MaxAttempts int
	// Backoff is the wait before attempt n+1 after n failures; default exponential from
	// 1s to 10 minutes with jitter.
	Backoff func(n int) time.Duration
	// ParkMax caps the wait between two attempts of a parked row (one a fixable error
	// stopped); default 5 minutes. The wait grows with the row's age from a tenth of it.
	ParkMax time.Duration
	// ParkLimit is how long after its creation a parked row is given up (outcome
	// "failed"); default 24 hours.
	ParkLimit time.Duration
	// Grace bounds the deliveries under way when Run's context ends: their context is
	// cancelled this long after; default DefaultGrace.
	Grace  time.Duration
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default time.Now
	// Delivered is called after every attempt with its outcome ("reply", "push",
	// "retry", "parked", "failed", OutcomeUncertain) and duration: a hook for metrics.
	Delivered func(channel, outcome string, d time.Duration)
	// Backlog, if set and Outbox is an OutboxCounter, is called at most every CountEvery
	// with the unfinished rows (Waiting, Parked): a hook for gauges, so that a metrics
	// scrape costs no query.
	Backlog    func(bot.OutboxCounts)
	CountEvery time.Duration // default 5s
}

// Deliverer sends committed outgoing messages through the channels' Senders, in order per
// conversation, retrying temporary failures with backoff. It is safe for concurrent use.
type Deliverer struct {
	cfg  DelivererConfig
	log  *slog.Logger
	wake chan struct{}
	// slots bounds the chains delivering in the background at once (see maxDirect).
	slots chan struct{}
	wg    sync.WaitGroup
	// direct counts the chains handed over to the background (by Deliver, or by RunOnce
	// after its own row) under way, from their start until their queue is empty. A row
	// committed while one of them is under way may wait behind it, so the end of each
	// of its rows wakes Run unless every Notify so far (notes counts them) was followed by
	// a claim that found nothing while none was under way (cleared is notes then).
	direct  atomic.Int64
	notes   atomic.Int64
	cleared atomic.Int64
	// mu guards chains, the groups being delivered now (by Deliver or RunOnce alike),
	// stopped, the groups whose chain ended lately with a row not finished, until when
	// (real time), and holds, the conversations held (see admit, stop and Hold).
	mu      sync.Mutex
	chains  map[group]*chain
	stopped map[group]time.Time
	holds   map[bot.Key]holding
	// lastClaim is when Run last claimed (Run's goroutine only).
	lastClaim time.Time
	// lastCount is when Run last counted the backlog (Run's goroutine only).
	lastCount time.Time
	// parked holds the channels that may have parked rows: a success there wakes them.
	parkMu sync.Mutex
	parked map[string]bool
}

// maxDirect is how many chains deliver in the background at once; more wait (a row
// queued behind a chain takes no slot).
const maxDirect = 256

// NewDeliverer returns a Deliverer.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	if cfg.Outbox == nil || len(cfg.Senders) == 0 {
		return nil, errors.New("new deliverer: Outbox and Senders are required")
	}
	if cfg.Owner == "" {
		cfg.Owner = "deliverer"
	}
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Poll == 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Batch == 0 {
		cfg.Batch = 16
	}
	if cfg.ClaimGap == 0 {
		cfg.ClaimGap = 50 * time.Millisecond
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.Backoff == nil {
		cfg.Backoff = defaultBackoff
	}
	if cfg.CountEvery == 0 {
		cfg.CountEvery = 5 * time.Second
	}
	if cfg.ParkMax == 0 {
		cfg.ParkMax = 5 * time.Minute
	}
	if cfg.ParkLimit == 0 {
		cfg.ParkLimit = 24 * time.Hour
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{cfg: cfg, log: log.With("component", "deliverer"), wake: make(chan struct{}, 1),
		slots: make(chan struct{}, maxDirect), parked: map[string]bool{},
		chains: map[group]*chain{}, stopped: map[group]time.Time{}, holds: map[bot.Key]holding{}}, nil
}

// Claim is the lease a Queue.CommitTurn gives rows to be handed to Deliver.
func (d *Deliverer) Claim() *bot.Claim {
	return &bot.Claim{Owner: d.cfg.Owner, Lease: d.cfg.Lease}
}

// Deliver delivers rows already leased to this deliverer (by CommitTurn with Claim) in
// the background, as if RunOnce had claimed them. Rows of one conversation and delivering
// channel (a group) go out one after the other, in row order, across calls: a row whose
// group is being delivered now (handed over earlier, or claimed by RunOnce) is queued
// behind it rather than started. A row of a group not under way starts at once unless
// its conversation is held (see Hold): a caller must hold the conversation of the rows
// it hands over from before their commit, so that rows committed after them, by another
// caller, cannot start first. Deliver waits only to start a group while maxDirect chains
// are under way. When a row is not finished (it is to be retried, or parked), the leases
// of the rows queued behind it end at once (RetryOutgoing, due now: nothing was
// attempted, so the claim is matched by a failure) and they wait behind it as claims
// would; so do rows of its group handed over shortly after (see stop). ctx bounds the
// deliveries of the rows given: the worker passes the context of its turn, which
// outlives shutdown by the grace (see inFlight). Run and Wait wait for them, queued,
// held or not.
func (d *Deliverer) Deliver(ctx context.Context, rows []*bot.Outgoing) {
	var chains [][]queued
	var index map[group]int
	for _, o := range rows {
		i := len(chains)
		if len(rows) > 1 {
			if index == nil {
				index = make(map[group]int)
			}
			g := groupOf(o)
			if j, ok := index[g]; ok {
				i = j
			} else {
				index[g] = i
			}
		}
		if i == len(chains) {
			chains = append(chains, nil)
		}
		chains[i] = append(chains[i], queued{ctx, *o})
	}
	for _, rows := range chains {
		g := groupOf(&rows[0].o)
		switch d.admit(g, rows, false) {
		case admitQueued:
			continue
		case admitStopped:
			d.unclaim(rows)
			continue
		}
		// Counted from now: a row committed meanwhile waits behind this one.
		d.wg.Add(1)
		d.direct.Add(1)
		d.slots <- struct{}{}
		go func() {
			defer func() { d.direct.Add(-1); <-d.slots; d.wg.Done() }()
			d.drain(g, rows[0])
		}()
	}
}

// unclaim ends this deliverer's leases on rows it has not attempted, so that they are
// claimed in order behind the one that holds them up.
func (d *Deliverer) unclaim(rows []queued) {
	for _, q := range rows {
		o := q.o
		if err := d.cfg.Outbox.RetryOutgoing(q.ctx, o.ID, d.cfg.Owner, d.cfg.Now()); err != nil {
			d.log.Error("end the lease of a row not attempted", "conversation", o.Key.String(), "outgoing", o.ID, "err", err)
		}
	}
	if len(rows) > 0 {
		d.wake1()
	}
}

func defaultBackoff(n int) time.Duration {
	d := time.Second << min(n, 10)
	d = min(d, 10*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// Notify wakes the deliverer: there is something in the outbox. It never blocks.
func (d *Deliverer) Notify() {
	d.notes.Add(1)
	d.wake1()
}

func (d *Deliverer) wake1() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Wait waits for the deliveries in the background to finish, the rows queued behind them
// too. Call it once nothing calls Deliver any more (the workers have stopped), to finish
// what they handed over last.
func (d *Deliverer) Wait() { d.wg.Wait() }

// Run delivers until ctx is done; deliveries under way finish first, those handed over
// by Deliver and the rows queued behind them too, within Grace.
func (d *Deliverer) Run(ctx context.Context) error {
	work := inFlight(ctx, d.cfg.Grace)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return nil
		case <-d.wake:
		case <-t.C:
		}
		if wait := d.cfg.ClaimGap - time.Since(d.lastClaim); wait > 0 { // real time, as timers
			gap := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				gap.Stop()
				d.wg.Wait()
				return nil
			case <-gap.C:
			}
		}
		for ctx.Err() == nil {
			inFlight, notes := d.direct.Load(), d.notes.Load()
			d.lastClaim = time.Now()
			n, err := d.RunOnce(work)
			if err != nil {
				d.log.Error("deliver", "err", err)
				break
			}
			if n == 0 {
				if inFlight == 0 {
					d.cleared.Store(notes)
				}
				break
			}
			if n < d.cfg.Batch {
				// The rows these were holding up may be due now: look again after the gap.
				d.wake1()
				break
			}
		}
		d.countBacklog(work)
		t.Reset(d.cfg.Poll)
	}
}

// countBacklog reports the outbox's unfinished rows to Backlog, at most every CountEvery.
func (d *Deliverer) countBacklog(ctx context.Context) {
	counter, ok := d.cfg.Outbox.(bot.OutboxCounter)
	if d.cfg.Backlog == nil || !ok || time.Since(d.lastCount) < d.cfg.CountEvery {
		return
	}
	d.lastCount = time.Now()
	c, err := counter.CountOutgoing(ctx, d.cfg.Now())
	if err != nil {
		d.log.Warn("count outgoing", "err", err)
		return
	}
	d.cfg.Backlog(c)
}

// RunOnce claims a batch of due rows and delivers them concurrently. It returns how many
// rows it claimed, once each of them has been attempted or queued. A claimed row whose
// group is being delivered now (its lease lapsed while it waited there, or the chain has
// just delivered the row before it) is queued there instead; so is one whose
// conversation is held (see Hold), and it goes out in the background when the hold
// ends. Rows that Deliver queues behind one of RunOnce's meanwhile go on in the
// background after it, as Deliver's own.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	rows, err := d.cfg.Outbox.ClaimOutgoing(ctx, d.cfg.Owner, d.cfg.Batch, d.cfg.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim outgoing: %w", err)
	}
	var wg sync.WaitGroup
	for _, o := range rows {
		g := groupOf(&o)
		if d.admit(g, []queued{{ctx, o}}, true) != admitStart {
			continue
		}
		wg.Go(func() {
			if !d.deliver(ctx, o) {
				d.stop(g)
				return
			}
			next, ok := d.next(g)
			if !ok {
				return
			}
			d.wg.Add(1)
			d.direct.Add(1)
			go func() {
				defer func() { d.direct.Add(-1); d.wg.Done() }()
				d.slots <- struct{}{}
				defer func() { <-d.slots }()
				d.drain(g, next)
			}()
		})
	}
	wg.Wait()
	d.sweepStopped()
	return len(rows), nil
}

// deliver attempts o and reports whether it is finished (delivered, failed for good or
// uncertain), so that the next row of its conversation and channel may go.
func (d *Deliverer) deliver(ctx context.Context, o bot.Outgoing) bool {
	start := d.cfg.Now()
	log := d.log.With("conversation", o.Key.String(), "outgoing", o.ID, "via", o.Via(), "attempt", o.Attempts+1)
	via := o.Via()
	sender, ok := d.cfg.Senders[via]
	var outcome string
	var err error
	if marker, can := d.cfg.Outbox.(bot.ReplyMarker); can {
		o.MarkReply = func(ctx context.Context) error { return marker.MarkReplying(ctx, o.ID, d.cfg.Owner) }
	}
	if !ok {
		err = &bot.DeliveryError{Permanent: true, Err: fmt.Errorf("no sender for channel %q", via)}
	} else {
		outcome, err = sender.Send(ctx, o)
	}
	if o.Parked {
		d.setParked(via, true)
	}
	age := d.cfg.Now().Sub(o.CreatedAt)
	switch {
	case err == nil && outcome == bot.OutcomeUncertain:
		// The sender logged why; this is the line operators alert on.
		log.Error("delivery uncertain: an earlier attempt may have delivered it; not sent again")
	case err == nil:
		// Debug: the processed event's line and the deliveries metric say as much, and a
		// line per delivery cost more than its worth under load. Failures and retries
		// are logged below.
		log.Debug("delivered", "outcome", outcome, "messages", len(o.Messages))
		d.wakeParked(ctx, via)
	case bot.IsFixable(err) && age < d.cfg.ParkLimit:
		// Error, not Warn: nothing goes out on this channel until a person acts.
		wait := d.parkWait(age)
		log.Error("delivery parked until the cause is fixed", "err", err, "in", wait.String())
		d.setParked(via, true)
		if perr := d.cfg.Outbox.ParkOutgoing(ctx, o.ID, d.cfg.Owner, d.cfg.Now().Add(wait)); perr != nil {
			log.Error("park outgoing", "err", perr)
		}
		d.observe(via, "parked", start)
		return false
	case bot.IsPermanent(err) || bot.IsFixable(err) || o.Attempts+1 >= d.cfg.MaxAttempts:
		outcome = "failed"
		log.Error("delivery failed", "err", err)
	default:
		wait := max(bot.RetryAfter(err), d.cfg.Backoff(o.Attempts))
		log.Warn("delivery will be retried", "err", err, "in", wait.String())
		if l, ok := sender.(Loader); ok && len(o.Messages) > 0 {
			// The customer waits for the retry: show that the answer is coming.
			l.ShowLoading(ctx, o.Key, o.Address)
		}
		if rerr := d.cfg.Outbox.RetryOutgoing(ctx, o.ID, d.cfg.Owner, d.cfg.Now().Add(wait)); rerr != nil {
			log.Error("schedule retry", "err", rerr)
		}
		d.observe(via, "retry", start)
		return false
	}
	ferr := d.cfg.Outbox.FinishOutgoing(ctx, o.ID, d.cfg.Owner, outcome)
	if ferr != nil {
		log.Error("finish outgoing", "err", ferr)
	}
	d.observe(via, outcome, start)
	return ferr == nil
}

// parkWait is the wait before the next attempt of a parked row of the given age: a tenth
// of its age, between a second and ParkMax, with jitter.
func (d *Deliverer) parkWait(age time.Duration) time.Duration {
	w := min(max(age/10, time.Second), d.cfg.ParkMax)
	return w/2 + rand.N(w/2+1)
}

func (d *Deliverer) setParked(via string, on bool) {
	d.parkMu.Lock()
	defer d.parkMu.Unlock()
	d.parked[via] = on
}

// wakeParked makes the parked rows of channel via due at once after a delivery there
// succeeded: whatever stopped them (a token, a missing invitation) is fixed.
func (d *Deliverer) wakeParked(ctx context.Context, via string) {
	d.parkMu.Lock()
	on := d.parked[via]
	d.parked[via] = false
	d.parkMu.Unlock()
	if !on {
		return
	}
	n, err := d.cfg.Outbox.WakeOutgoing(ctx, via)
	if err != nil {
		d.log.Error("wake parked deliveries", "via", via, "err", err)
		d.setParked(via, true)
		return
	}
	if n > 0 {
		d.log.Info("delivering again: woke parked deliveries", "via", via, "rows", n)
		d.wake1()
	}
}

func (d *Deliverer) observe(channel, outcome string, start time.Time) {
	if d.cfg.Delivered != nil {
		d.cfg.Delivered(channel, outcome, d.cfg.Now().Sub(start))
	}
}
