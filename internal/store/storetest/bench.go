package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// BenchStore is what the benchmarks use of a store: the bot's interfaces.
type BenchStore interface {
	bot.ConversationStore
	bot.Inbox
	bot.Queue
	bot.Outbox
}

// Bench runs the store benchmarks, the same for every store so that they can be compared
// on one machine:
//
//	GIFTDESK_TEST_POSTGRES=… go test ./internal/store/postgres/ ./internal/store/sqlite/ -run '^$' -bench Store
//
// open returns a new, empty store, closed when the benchmark ends. fill adds n processed
// inbox events, n delivered outbox rows, n transcript lines, n waiting tickets whose
// customers were told and n archived tickets, over 1000 conversations, at times 1 to n
// (milliseconds since 1970): the backlog that the claims must not slow down with. It
// writes the store's tables directly, as only the store's own test can.
func Bench(b *testing.B, open func(b *testing.B) BenchStore, fill func(b *testing.B, s BenchStore, n int)) {
	b.Run("AddEvents", func(b *testing.B) { benchAddEvents(b, open) })
	b.Run("ClaimCommit", func(b *testing.B) { benchClaimCommit(b, open, fill) })
	b.Run("IdlePoll", func(b *testing.B) { benchIdlePoll(b, open, fill) })
	b.Run("ClaimOutgoing", func(b *testing.B) { benchClaimOutgoing(b, open) })
	b.Run("SaveConversation", func(b *testing.B) { benchSaveConversation(b, open) })
	b.Run("LoadConversation", func(b *testing.B) { benchLoadConversation(b, open) })
}

func benchAddEvents(b *testing.B, open func(*testing.B) BenchStore) {
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
			evs := make([]bot.Event, batch)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				for i := range evs {
					n++
					evs[i] = BenchEvent(n, at)
				}
				if _, err := s.AddEvents(ctx, evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
		})
	}
}

// benchClaimCommit measures a worker's turn: claim the conversation of a new event,
// load the conversation, commit the turn with one message and two transcript lines,
// release. Storing the event is not measured. "backlog" runs on a database that already
// holds 100k processed events and 100k delivered rows.
func benchClaimCommit(b *testing.B, open func(*testing.B) BenchStore, fill func(*testing.B, BenchStore, int)) {
	for _, backlog := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			s := open(b)
			fill(b, s, backlog)
			ctx := b.Context()
			at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
			c := benchConversation()
			msgs := []bot.Message{{Kind: bot.MsgQuestion, Text: "Which card?", Choices: []bot.Choice{
				{Label: "Amazon", Data: "amazon"}, {Label: "Apple", Data: "apple"}, {Label: "Google Play", Data: "google"},
			}}}
			if err := s.SaveConversation(ctx, c); err != nil {
				b.Fatal(err)
			}
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				n++
				ev := BenchEvent(n, at)
				ev.Key = c.Key
				if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()

				k, evs, err := s.ClaimConversation(ctx, "worker", 30*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				c, err := s.Conversation(ctx, k)
				if err != nil {
					b.Fatal(err)
				}
				c.Node = fmt.Sprintf("node_%d", n%10)
				out := &bot.Outgoing{Key: k, EventID: evs[0].ID, Address: evs[0].Address, ReplyToken: evs[0].ReplyToken,
					EventAt: evs[0].At, Messages: msgs}
				lines := []bot.Line{
					{At: evs[0].At, Role: bot.RoleCustomer, Text: evs[0].In.Text},
					{At: evs[0].At, Role: bot.RoleBot, Text: msgs[0].Text, Node: c.Node},
				}
				tn := &bot.Turn{Conversation: c, EventID: evs[0].ID, Out: []*bot.Outgoing{out}, Transcript: lines}
				if err := s.CommitTurn(ctx, tn); err != nil {
					b.Fatal(err)
				}
				if err := s.ReleaseConversation(ctx, k, "worker"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchIdlePoll measures what idle workers and deliverers do between Notifies: find
// nothing to claim, on a database with 100k processed events and delivered rows.
func benchIdlePoll(b *testing.B, open func(*testing.B) BenchStore, fill func(*testing.B, BenchStore, int)) {
	s := open(b)
	fill(b, s, 100_000)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.ClaimConversation(ctx, "worker", 30*time.Second); !errors.Is(err, bot.ErrNotFound) {
			b.Fatal(err)
		}
		if outs, err := s.ClaimOutgoing(ctx, "deliverer", 16, 30*time.Second); err != nil || len(outs) != 0 {
			b.Fatal(outs, err)
		}
	}
}

// benchClaimOutgoing measures a deliverer's poll that finds one row to deliver while
// other rows are being delivered: claim it and finish it. "leased" runs with that many
// unfinished rows, each the only one of its conversation, under another owner's live
// lease (claimed as their turns committed), as under load; the claim must not read them.
func benchClaimOutgoing(b *testing.B, open func(*testing.B) BenchStore) {
	for _, leased := range []int{0, 5000} {
		b.Run(fmt.Sprintf("leased=%d", leased), func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
			msgs := []bot.Message{{Kind: bot.MsgText, Text: "ok"}}
			n := 0
			// commit stores the next event in conversation k and commits its turn with one
			// message, leased to claim's owner if claim is set.
			commit := func(k bot.Key, claim *bot.Claim) {
				b.Helper()
				n++
				ev := BenchEvent(n, at)
				ev.Key = k
				if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
					b.Fatal(err)
				}
				c, err := s.Conversation(ctx, k)
				if errors.Is(err, bot.ErrNotFound) {
					c, err = &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}, nil
				}
				if err != nil {
					b.Fatal(err)
				}
				out := &bot.Outgoing{Key: k, EventID: ev.ID, Address: ev.Address, EventAt: ev.At, Messages: msgs}
				if err := s.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out}, Claim: claim}); err != nil {
					b.Fatal(err)
				}
			}
			busy := &bot.Claim{Owner: "busy", Lease: time.Hour}
			for i := range leased {
				commit(bot.Key{Channel: "line", User: fmt.Sprintf("busy%05d", i)}, busy)
			}
			due := bot.Key{Channel: "line", User: "due"}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				commit(due, nil)
				b.StartTimer()
				outs, err := s.ClaimOutgoing(ctx, "deliverer", 16, 30*time.Second)
				if err != nil || len(outs) != 1 {
					b.Fatal(outs, err)
				}
				if err := s.FinishOutgoing(ctx, outs[0].ID, "deliverer", "push"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchSaveConversation measures saving a conversation of typical size.
func benchSaveConversation(b *testing.B, open func(*testing.B) BenchStore) {
	s := open(b)
	ctx := b.Context()
	c := benchConversation()
	if err := s.SaveConversation(ctx, c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SaveConversation(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// benchLoadConversation measures loading a conversation of typical size.
func benchLoadConversation(b *testing.B, open func(*testing.B) BenchStore) {
	s := open(b)
	ctx := b.Context()
	c := benchConversation()
	if err := s.SaveConversation(ctx, c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Conversation(ctx, c.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchEvent returns the nth event of a typical size, a LINE text message, at at plus n
// milliseconds, in one of 1000 conversations.
func BenchEvent(n int, at time.Time) bot.Event {
	return bot.Event{
		ID:         fmt.Sprintf("line:01JQ%022d", n),
		Key:        bot.Key{Channel: "line", User: fmt.Sprintf("U4af4980629f9f2e3b0cd1a3c8e%05d", n%1000)},
		In:         bot.Inbound{Kind: bot.InText, Text: "ギフトカードが使えません"},
		At:         at.Add(time.Duration(n) * time.Millisecond),
		Address:    fmt.Sprintf("U4af4980629f9f2e3b0cd1a3c8e%05d", n%1000),
		ReplyToken: "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
	}
}

// benchConversation is a conversation of typical size: a dozen steps into a diagnosis.
func benchConversation() *bot.Conversation {
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	c := &bot.Conversation{
		Key: bot.Key{Channel: "line", User: "U4af4980629f9f2e3b0cd1a3c8e2f5b71"}, Lang: bot.Japanese,
		Status: bot.StatusActive, Node: "card_type", Path: []string{"start", "card_type"},
		Answers:     []bot.Answer{{Node: "start", Option: "cannot_use", At: at.Add(time.Second)}},
		Vars:        map[string]string{"store": "amazon", "amount": "5000", "purchased_at": "2025-03-30"},
		FlowVersion: "1", CreatedAt: at, UpdatedAt: at.Add(time.Second),
	}
	for i := range 10 {
		node := fmt.Sprintf("node_%d", i)
		c.Path = append(c.Path, node)
		c.Answers = append(c.Answers, bot.Answer{Node: node, Option: "yes", At: c.UpdatedAt.Add(time.Duration(i) * time.Minute)})
	}
	return c
}
