package pipeline

import (
	"container/list"
	"sync"

	"github.com/giftdesk/giftdesk/bot"
)

// convCache keeps the conversations a worker committed last, so that the next turn of a
// conversation need not load it again. It is only a guess at the stored state: a commit
// from a stale copy fails its compare-and-swap on the revision, and the worker then loads
// the conversation from the store. It holds at most max conversations, dropping the least
// recently used; it is safe for concurrent use.
type convCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *Conversation, most recent first
	byKey map[bot.Key]*list.Element
}

func newConvCache(max int) *convCache {
	return &convCache{max: max, order: list.New(), byKey: make(map[bot.Key]*list.Element)}
}

// get returns a copy of the cached conversation k, or nil.
func (c *convCache) get(k bot.Key) *bot.Conversation {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[k]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*bot.Conversation).Clone()
}

// put caches a copy of conv.
func (c *convCache) put(conv *bot.Conversation) {
	cp := conv.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[conv.Key]; ok {
		e.Value = cp
		c.order.MoveToFront(e)
		return
	}
	c.byKey[conv.Key] = c.order.PushFront(cp)
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*bot.Conversation).Key)
	}
}

// drop forgets k.
func (c *convCache) drop(k bot.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[k]; ok {
		c.order.Remove(e)
		delete(c.byKey, k)
	}
}
