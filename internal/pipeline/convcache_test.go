package pipeline

import (
	"fmt"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

func TestConvCache(t *testing.T) {
	c := newConvCache(2)
	key := func(i int) bot.Key { return bot.Key{Channel: "line", User: fmt.Sprint(i)} }
	for i := range 3 {
		c.put(&bot.Conversation{Key: key(i), Node: fmt.Sprint("n", i)})
	}
	if c.get(key(0)) != nil {
		t.Error("the least recently used conversation is still cached")
	}
	got := c.get(key(1))
	if got == nil || got.Node != "n1" {
		t.Fatalf("get(1) = %+v", got)
	}
	got.Node = "changed"                  // a copy
	c.put(&bot.Conversation{Key: key(3)}) // evicts 2, not 1 (used last)
	if g := c.get(key(1)); g == nil || g.Node != "n1" {
		t.Errorf("get(1) after a change to a copy and an eviction = %+v, want n1", g)
	}
	if c.get(key(2)) != nil {
		t.Error("2 should have been evicted")
	}
	c.drop(key(1))
	if c.get(key(1)) != nil {
		t.Error("dropped conversation still cached")
	}
}
