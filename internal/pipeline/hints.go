package pipeline

import (
	"context"
	"sync"

	"github.com/giftdesk/giftdesk/bot"
)

// Hints tells a Worker which conversations got new events in this process, so that it
// claims them by key (Queue.ClaimKey, a lookup) rather than searching the inbox for the
// oldest pending event (Queue.ClaimConversation, a walk that grows with the backlog and,
// on PostgreSQL, with the processed rows not yet vacuumed). Events that no hint names
// (stored by another replica, or before a restart, or dropped from a full Hints) are
// still found: the worker searches whenever it has no hint, and every searchEvery.
//
// A conversation is hinted once however many events it gets until a worker takes the
// hint. A hint for a conversation this process is stepping is kept until the step ends:
// the events it names may have arrived after the worker read the pending ones.
type Hints struct {
	mu     sync.Mutex
	queue  []bot.Key // oldest first, from head
	head   int
	queued map[bot.Key]struct{}
	active map[bot.Key]int // conversations this process is stepping, by how many claims
	again  map[bot.Key]struct{}
	max    int
}

// NewHints returns Hints holding at most max conversations (default 4096); a hint beyond
// is dropped, and its events are found by the worker's search.
func NewHints(max int) *Hints {
	if max <= 0 {
		max = 4096
	}
	return &Hints{queued: map[bot.Key]struct{}{}, active: map[bot.Key]int{}, again: map[bot.Key]struct{}{}, max: max}
}

// Inbox returns an Inbox that stores through inner and hints the conversations of the
// events that were fresh.
func (h *Hints) Inbox(inner bot.Inbox) bot.Inbox { return &hintingInbox{Inbox: inner, h: h} }

type hintingInbox struct {
	bot.Inbox
	h *Hints
}

func (i *hintingInbox) AddEvents(ctx context.Context, evs []bot.Event) ([]bool, error) {
	fresh, err := i.Inbox.AddEvents(ctx, evs)
	if err == nil {
		for j, ev := range evs {
			if j < len(fresh) && fresh[j] {
				i.h.Add(ev.Key)
			}
		}
	}
	return fresh, err
}

// Add hints that k has new events.
func (h *Hints) Add(k bot.Key) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.active[k] > 0 {
		h.again[k] = struct{}{}
		return
	}
	h.pushLocked(k)
}

func (h *Hints) pushLocked(k bot.Key) {
	if _, ok := h.queued[k]; ok || len(h.queued) >= h.max {
		return
	}
	// Reuse the array: start over when it is empty, move the hints down when most of it
	// is taken ones (a queue that never empties under load must not grow forever).
	if h.head > 0 && (h.head == len(h.queue) || h.head >= cap(h.queue)/2) {
		n := copy(h.queue, h.queue[h.head:])
		clear(h.queue[n:])
		h.queue, h.head = h.queue[:n], 0
	}
	h.queue = append(h.queue, k)
	h.queued[k] = struct{}{}
}

// Len returns how many conversations are hinted.
func (h *Hints) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.queued)
}

// take removes the oldest hint and marks its conversation active; ok is false when there
// is none.
func (h *Hints) take() (k bot.Key, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.head == len(h.queue) {
		return bot.Key{}, false
	}
	k = h.queue[h.head]
	h.queue[h.head] = bot.Key{}
	h.head++
	delete(h.queued, k)
	h.active[k]++
	return k, true
}

// begin marks k active: a worker claimed it by a search.
func (h *Hints) begin(k bot.Key) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active[k]++
}

// end marks the end of a claim of k that take or begin started. busy says the claim
// found k leased or without events while another worker of this process steps it: the
// hint is then kept for when that worker is done, since the events it named may have
// arrived after that worker read the pending ones. When no worker of this process steps
// k any more, a hint kept meanwhile is queued again.
func (h *Hints) end(k bot.Key, busy bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.active[k] - 1
	if n > 0 {
		h.active[k] = n
		if busy {
			h.again[k] = struct{}{}
		}
		return
	}
	delete(h.active, k)
	if _, ok := h.again[k]; ok {
		delete(h.again, k)
		h.pushLocked(k)
	}
}
