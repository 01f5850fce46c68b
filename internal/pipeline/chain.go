package pipeline

import (
	"context"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// A group is a conversation and the channel that delivers its rows: the rows of one group
// go out one after the other, oldest first.
type group struct {
	k   bot.Key
	via string
}

func groupOf(o *bot.Outgoing) group { return group{o.Key, o.Via()} }

// queued is a row leased to this deliverer, with the context it was handed over with.
type queued struct {
	ctx context.Context
	o   bot.Outgoing
}

// chain is a group this deliverer is delivering now: one goroutine delivers the row
// under way (cur) and then the rows queued behind it, which were leased to this
// deliverer meanwhile (at a commit, which may lease a row behind others that this
// deliverer holds; or by RunOnce). A chain of a held conversation (see Hold) that has
// not started yet has no row under way (cur is 0, no row's ID) and no goroutine: its
// rows wait in the queue until the last hold ends.
type chain struct {
	cur   int64
	queue []queued // by ID: the rows of a group are created in order
}

// holding is the holds outstanding on a conversation (see Hold) and the groups of it
// whose chains wait for their end.
type holding struct {
	n      int
	groups []group
}

// add queues q in ID order: a row handed over late by one worker goes before a later row
// handed over by another, if that one is not under way yet. A row claimed again (fresh:
// by RunOnce, after its lease lapsed while it waited) replaces its queued copy, and is
// dropped if it is the one under way: delivering it twice at once would not help.
func (c *chain) add(q queued, fresh bool) {
	i := len(c.queue)
	for i > 0 && c.queue[i-1].o.ID > q.o.ID {
		i--
	}
	switch {
	case fresh && q.o.ID == c.cur:
		return
	case fresh && i > 0 && c.queue[i-1].o.ID == q.o.ID:
		c.queue[i-1] = q
		return
	}
	c.queue = append(c.queue, queued{})
	copy(c.queue[i+1:], c.queue[i:])
	c.queue[i] = q
}

// admission says what becomes of rows handed over to the deliverer.
type admission int

const (
	admitStart   admission = iota // no chain of the group: the caller delivers the first row
	admitQueued                   // queued behind the chain under way, or in a held one
	admitStopped                  // the group stopped lately: the caller unclaims them
)

// admit hands rows, rows of group g oldest first, to the group's chain. When the group
// has none, it starts one with rows[0] under way and the rest queued: the caller then
// delivers rows[0] and drains the chain. Unless g's conversation is held: then the chain
// is made with every row queued and counted as under way in the background (wg, direct),
// and the end of the last hold starts it (see Hold). Rows handed over by Deliver (fresh
// false) are refused while the group is stopped (see stop); a row RunOnce claimed (fresh)
// is the oldest unfinished one of its group, so it ends the stop.
func (d *Deliverer) admit(g group, rows []queued, fresh bool) admission {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.chains[g]; ok {
		for _, q := range rows {
			c.add(q, fresh)
		}
		return admitQueued
	}
	if until, ok := d.stopped[g]; ok {
		if !fresh && time.Now().Before(until) {
			return admitStopped
		}
		delete(d.stopped, g)
	}
	if h, ok := d.holds[g.k]; ok {
		c := &chain{}
		for _, q := range rows {
			c.add(q, fresh)
		}
		d.chains[g] = c
		h.groups = append(h.groups, g)
		d.holds[g.k] = h
		// Counted under the lock: the end of the hold may start the chain, and end it,
		// as soon as the lock is free.
		d.wg.Add(1)
		d.direct.Add(1)
		return admitQueued
	}
	c := &chain{cur: rows[0].o.ID}
	for _, q := range rows[1:] {
		c.add(q, fresh)
	}
	d.chains[g] = c
	return admitStart
}

// Hold holds the deliveries of conversation k until release is called: rows of k handed
// to Deliver or claimed by RunOnce meanwhile are queued, in row order, but a group of k
// not under way does not start; one under way goes on. A caller that commits rows of k
// holds k from before the commit until it has handed them to Deliver: the commit may let
// another caller commit rows of k after them and hand those over first, and they then
// queue behind them instead of starting. Holds are counted: k's groups start, each with
// its oldest row, when every hold on k has been released. release is idempotent; it
// waits, as Deliver does, to start a group while maxDirect chains are under way. Every
// hold must be released, or Wait and Run wait for ever for the rows of k.
func (d *Deliverer) Hold(k bot.Key) (release func()) {
	d.mu.Lock()
	h := d.holds[k]
	h.n++
	d.holds[k] = h
	d.mu.Unlock()
	released := false
	return func() {
		d.mu.Lock()
		if released {
			d.mu.Unlock()
			return
		}
		released = true
		h := d.holds[k]
		if h.n--; h.n > 0 {
			d.holds[k] = h
			d.mu.Unlock()
			return
		}
		delete(d.holds, k)
		start := make([]queued, len(h.groups))
		for i, g := range h.groups {
			start[i] = d.chains[g].take()
		}
		d.mu.Unlock()
		for i, g := range h.groups {
			// Counted by admit: the slot is taken here, as Deliver takes it.
			d.slots <- struct{}{}
			go func() {
				defer func() { d.direct.Add(-1); <-d.slots; d.wg.Done() }()
				d.drain(g, start[i])
			}()
		}
	}
}

// drain delivers q, the row of g's chain under way, and then the rows queued behind it in
// order, until none is left or one is not finished. It runs in the background (counted
// by direct), so the end of each row wakes Run when a Notify may have been left waiting
// behind it.
func (d *Deliverer) drain(g group, q queued) {
	for {
		if !d.deliver(q.ctx, q.o) {
			d.stop(g)
			return
		}
		if d.notes.Load() > d.cleared.Load() {
			// A row committed meanwhile may have waited behind this one.
			d.wake1()
		}
		var ok bool
		if q, ok = d.next(g); !ok {
			return
		}
	}
}

// next takes the first row queued in g's chain and makes it the one under way; when none
// is queued, it ends the chain and reports false. Both happen under the lock that admit
// takes, so a row admitted meanwhile is either taken here or starts a chain of its own
// after this one has ended: never lost, never beside it.
func (d *Deliverer) next(g group) (queued, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.chains[g]
	if len(c.queue) == 0 {
		delete(d.chains, g)
		return queued{}, false
	}
	return c.take(), true
}

// take makes the first row queued the one under way and returns it; d.mu is held.
func (c *chain) take() queued {
	q := c.queue[0]
	c.queue[0] = queued{}
	c.queue = c.queue[1:]
	c.cur = q.o.ID
	return q
}

// stop ends g's chain after a row that is not finished (to be retried, parked, or its
// outcome not recorded): the leases of the rows queued behind it end at once (see
// unclaim) and they wait behind it as claims would. For a Lease from now the group stays
// stopped: a row that Deliver is handed then was leased at a commit before the stop
// (the store leases no row behind one that is not leased to this deliverer), and is
// unclaimed too rather than sent before the row it follows. A Deliver later than that
// finds the row's lease lapsed anyway; a RunOnce claim of the group ends the stop.
func (d *Deliverer) stop(g group) {
	d.mu.Lock()
	rest := d.chains[g].queue
	delete(d.chains, g)
	d.stopped[g] = time.Now().Add(d.cfg.Lease) // real time: how long a hand-over may take
	d.mu.Unlock()
	d.unclaim(rest)
}

// sweepStopped forgets the stops that have run out.
func (d *Deliverer) sweepStopped() {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for g, until := range d.stopped {
		if !now.Before(until) {
			delete(d.stopped, g)
		}
	}
}
