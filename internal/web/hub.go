package web

import (
	"sync"
	"time"
)

// hub wakes the event streams of a conversation when its log grows or its typing state
// changes, within this process. It is safe for concurrent use.
type hub struct {
	now   func() time.Time
	mu    sync.Mutex
	convs map[string]*topic
	// swept is when pending last forgot the expired events of every conversation: with
	// several replicas, an event's answer may be delivered by another process, and
	// nothing here would forget it.
	swept time.Time
}

// sweepEvery is how often pending forgets expired events.
const sweepEvery = time.Minute

// topic is one conversation's streams and its events awaiting an answer.
type topic struct {
	subs map[chan struct{}]struct{}
	// waiting maps the conversation's events still unanswered to when the typing
	// indicator stops showing for them anyway.
	waiting map[string]time.Time
}

func newHub(now func() time.Time) *hub {
	return &hub{now: now, convs: map[string]*topic{}}
}

// topicLocked returns conv's topic, made if needed; h.mu is held.
func (h *hub) topicLocked(conv string) *topic {
	t := h.convs[conv]
	if t == nil {
		t = &topic{subs: map[chan struct{}]struct{}{}, waiting: map[string]time.Time{}}
		h.convs[conv] = t
	}
	return t
}

// dropLocked forgets conv's topic once nothing refers to it; h.mu is held.
func (h *hub) dropLocked(conv string, t *topic) {
	if len(t.subs) == 0 && len(t.waiting) == 0 {
		delete(h.convs, conv)
	}
}

// subscribe returns a channel that receives when conv changes, and the function that
// ends the subscription.
func (h *hub) subscribe(conv string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.topicLocked(conv).subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if t := h.convs[conv]; t != nil {
			delete(t.subs, ch)
			h.dropLocked(conv, t)
		}
	}
}

// notify wakes conv's streams.
func (h *hub) notify(conv string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.convs[conv]; t != nil {
		t.wakeLocked()
	}
}

func (t *topic) wakeLocked() {
	for ch := range t.subs {
		select {
		case ch <- struct{}{}:
		default: // woken already
		}
	}
}

// pending records event id of conv as awaiting its answer, until at the latest, and wakes
// conv's streams (typing starts).
func (h *hub) pending(conv, id string, until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := h.now(); now.Sub(h.swept) >= sweepEvery {
		h.swept = now
		for c, t := range h.convs {
			t.expireLocked(now)
			h.dropLocked(c, t)
		}
	}
	t := h.topicLocked(conv)
	t.waiting[id] = until
	t.wakeLocked()
}

// expireLocked forgets the events that have waited too long; h.mu is held.
func (t *topic) expireLocked(now time.Time) {
	for id, u := range t.waiting {
		if !now.Before(u) {
			delete(t.waiting, id)
		}
	}
}

// answered records that event id of conv has its answer, and wakes conv's streams.
func (h *hub) answered(conv, id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.convs[conv]
	if t == nil {
		return
	}
	if _, ok := t.waiting[id]; ok {
		delete(t.waiting, id)
		t.wakeLocked()
	}
	h.dropLocked(conv, t)
}

// typing reports whether an event of conv awaits its answer, and when that stops
// counting at the latest (zero when none does).
func (h *hub) typing(conv string) (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.convs[conv]
	if t == nil {
		return false, time.Time{}
	}
	t.expireLocked(h.now()) // unanswered too long: typing stops showing
	var until time.Time
	for _, u := range t.waiting {
		if u.After(until) {
			until = u
		}
	}
	h.dropLocked(conv, t)
	return !until.IsZero(), until
}
