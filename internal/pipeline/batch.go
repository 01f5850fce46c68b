package pipeline

import (
	"context"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// Batcher is an Inbox that commits the events of concurrent callers together (group
// commit): while one transaction is being written, the next callers queue up and share the
// following one. It is safe for concurrent use; Run must be running.
type Batcher struct {
	inbox bot.Inbox
	max   int
	reqs  chan *batchReq
	grace time.Duration // bounds a write under way when Run's context ends
}

type batchReq struct {
	ctx   context.Context
	evs   []bot.Event
	fresh []bool
	err   error
	done  chan struct{}
}

// NewBatcher returns a Batcher writing to inbox at most maxEvents events per transaction
// (default 256).
func NewBatcher(inbox bot.Inbox, maxEvents int) *Batcher {
	if maxEvents <= 0 {
		maxEvents = 256
	}
	return &Batcher{inbox: inbox, max: maxEvents, reqs: make(chan *batchReq, 1024), grace: DefaultGrace}
}

// AddEvents queues evs for the next transaction and waits until it is committed.
func (b *Batcher) AddEvents(ctx context.Context, evs []bot.Event) ([]bool, error) {
	r := &batchReq{ctx: ctx, evs: evs, done: make(chan struct{})}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued the events will be written: wait for the outcome even if ctx ends, so
	// that the caller never acknowledges what is not on disk, nor fails what is.
	<-r.done
	return r.fresh, r.err
}

// AddDeadLetter writes d directly; dead letters are rare.
func (b *Batcher) AddDeadLetter(ctx context.Context, d bot.DeadLetter) error {
	return b.inbox.AddDeadLetter(ctx, d)
}

// Run writes batches until ctx is done, then fails what is still queued. A write under
// way then finishes, within DefaultGrace (a Pipeline's Config.Grace).
func (b *Batcher) Run(ctx context.Context) {
	work := inFlight(ctx, b.grace)
	for {
		var first *batchReq
		select {
		case <-ctx.Done():
			b.drain(ctx.Err())
			return
		case first = <-b.reqs:
		}
		batch := []*batchReq{first}
		n := len(first.evs)
	fill:
		for n < b.max {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
				n += len(r.evs)
			default:
				break fill
			}
		}
		b.write(work, batch, n)
	}
}

// write stores batch in one transaction. When that fails and the batch holds several
// requests, it stores each request on its own: one that cannot be stored then fails
// alone, and the others' webhooks are acknowledged. (Events that can never be stored are
// kept as dead letters by the Inbox itself; this covers what it does not foresee.)
func (b *Batcher) write(ctx context.Context, batch []*batchReq, n int) {
	all := make([]bot.Event, 0, n)
	for _, r := range batch {
		all = append(all, r.evs...)
	}
	fresh, err := b.inbox.AddEvents(ctx, all)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			r.fresh, r.err = b.inbox.AddEvents(ctx, r.evs)
			close(r.done)
		}
		return
	}
	i := 0
	for _, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.fresh = fresh[i : i+len(r.evs)]
		}
		i += len(r.evs)
		close(r.done)
	}
}

func (b *Batcher) drain(err error) {
	for {
		select {
		case r := <-b.reqs:
			r.err = err
			close(r.done)
		default:
			return
		}
	}
}
