package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"

	"github.com/giftdesk/giftdesk/internal/store/storetest"
)

// BenchmarkStore runs the benchmarks every store runs (storetest.Bench), so that the two
// stores can be compared on one machine:
//
//	GIFTDESK_TEST_POSTGRES=… go test ./internal/store/postgres/ ./internal/store/sqlite/ -run '^$' -bench Store
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.BenchStore { return open(b, nil) },
		func(b *testing.B, s storetest.BenchStore, n int) { fillBacklog(b, s.(*Store), n) })
}

// BenchmarkConcurrentTurns measures what group commit is for: many webhooks and workers
// at once. Each of 16 goroutines per CPU stores an event of a conversation of its own
// (AddEvents), claims it (ClaimKey) and commits its turn, releasing the lease
// (CommitTurn); an op is one such event, so ns/op is the inverse of the throughput.
func BenchmarkConcurrentTurns(b *testing.B) {
	s := open(b, nil)
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	var users, events atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		k := bot.Key{Channel: "line", User: fmt.Sprintf("U%d", users.Add(1))}
		c := &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}
		for pb.Next() {
			ev := storetest.BenchEvent(int(events.Add(1)), at)
			ev.Key = k
			if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
				b.Error(err)
				return
			}
			evs, err := s.ClaimKey(ctx, k, k.User, 30*time.Second)
			if err != nil {
				b.Error(err)
				return
			}
			out := &bot.Outgoing{Key: k, EventID: evs[0].ID, Messages: []bot.Message{{Kind: bot.MsgText, Text: "ok"}}}
			lines := []bot.Line{{At: at, Role: bot.RoleCustomer, Text: "hi"}, {At: at, Role: bot.RoleBot, Text: "ok"}}
			t := &bot.Turn{Conversation: c, EventID: evs[0].ID, Out: []*bot.Outgoing{out}, Transcript: lines, Release: k.User}
			if err := s.CommitTurn(ctx, t); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
