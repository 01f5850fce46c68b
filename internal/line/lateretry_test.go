package line_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/line"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

type nopInbox struct{}

func (nopInbox) AddEvents(_ context.Context, evs []bot.Event) ([]bool, error) {
	return make([]bool, len(evs)), nil
}
func (nopInbox) AddDeadLetter(context.Context, bot.DeadLetter) error { return nil }

// TestLateRestartAnswersOnce plays a delivery whose process died after the call to LINE
// and before its outcome was recorded, then a restart: the row's lease expires and another
// deliverer claims it. Past the reply window, a row whose lost attempt recorded a reply
// is recorded as uncertain and not pushed; one that surely delivered nothing (it failed,
// or died before the call), or whose only earlier attempts were pushes with a retry key
// LINE still remembers, is pushed.
func TestLateRestartAnswersOnce(t *testing.T) {
	tests := []struct {
		name     string
		reply    bool          // the row has a reply token
		late     time.Duration // the turn was committed this long after the event
		marked   bool          // the lost attempt recorded a reply but never called LINE
		sent     bool          // the lost attempt called LINE (a reply is recorded first)
		failed   bool          // the earlier attempt failed and said so (RetryOutgoing)
		restart  time.Duration // the restart, after the event
		outcome  string
		messages int // what the customer has in the end
		pushes   int
	}{
		{name: "reply sent, restart after the window", reply: true, sent: true, restart: 2 * time.Minute,
			outcome: bot.OutcomeUncertain, messages: 1},
		{name: "reply recorded, not sent, restart after the window", reply: true, marked: true, restart: 2 * time.Minute,
			outcome: bot.OutcomeUncertain, messages: 0},
		{name: "died before the call, restart after the window", reply: true, restart: 2 * time.Minute,
			outcome: "push", messages: 1, pushes: 1},
		{name: "reply sent, restart within the window", reply: true, sent: true, restart: 40 * time.Second,
			outcome: "reply", messages: 1},
		{name: "reply failed, restart after the window", reply: true, sent: true, failed: true, restart: 2 * time.Minute,
			outcome: "push", messages: 1, pushes: 1},
		{name: "push sent, restart after the window", late: time.Minute, sent: true, restart: 2 * time.Minute,
			outcome: "push", messages: 1, pushes: 2},
		{name: "push sent, restart after a day", late: time.Minute, sent: true, restart: 25 * time.Hour,
			outcome: bot.OutcomeUncertain, messages: 1, pushes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			var mu sync.Mutex
			eventAt := time.Date(2026, time.May, 1, 10, 0, 0, 0, time.UTC)
			now := eventAt.Add(tt.late)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			fake := linetest.New(t, linetest.Config{Now: clock, ReplyTokenTTL: time.Minute})
			store, err := sqlite.New(ctx, sqlite.Config{Path: sqlite.Memory, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			ch, err := line.New(line.Config{ChannelSecret: "s", AccessToken: fake.Token(), APIBaseURL: fake.URL(),
				Inbox: nopInbox{}, Now: clock})
			if err != nil {
				t.Fatal(err)
			}

			user := "U" + "0123456789abcdef0123456789abcdef"
			k := bot.Key{Channel: "line", User: user}
			ev := bot.Event{ID: "line:01EV", Key: k, At: eventAt, Address: user, In: bot.Inbound{Kind: bot.InText, Text: "x"}}
			if tt.reply {
				ev.ReplyToken = fake.IssueReplyToken(user)
			}
			if _, err := store.AddEvents(ctx, []bot.Event{ev}); err != nil {
				t.Fatal(err)
			}
			c := &bot.Conversation{Key: k, Lang: bot.Japanese, Status: bot.StatusActive, Node: "start", FlowVersion: "t",
				CreatedAt: eventAt, UpdatedAt: eventAt}
			out := &bot.Outgoing{Key: k, EventID: ev.ID, Address: user, ReplyToken: ev.ReplyToken, EventAt: eventAt,
				Messages: []bot.Message{{Kind: bot.MsgText, Text: "answer"}}}
			// The first process commits the turn with its claim: the attempt is recorded
			// before the call.
			err = store.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out},
				Claim: &bot.Claim{Owner: "first", Lease: 30 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.marked {
				if err := store.MarkReplying(ctx, out.ID, "first"); err != nil {
					t.Fatal(err)
				}
			}
			if tt.sent {
				first := *out
				first.MarkReply = func(ctx context.Context) error { return store.MarkReplying(ctx, out.ID, "first") }
				if tt.failed {
					fake.FailNext(linetest.PathReply, 500, 1)
				}
				if _, err := ch.Send(ctx, first); err != nil && !tt.failed {
					t.Fatalf("first Send: %v", err)
				}
			}
			if tt.failed {
				if err := store.RetryOutgoing(ctx, out.ID, "first", now); err != nil {
					t.Fatal(err)
				}
			}
			// The process dies; the restart comes later.
			mu.Lock()
			now = eventAt.Add(tt.restart)
			mu.Unlock()
			var outcomes []string
			d, err := pipeline.NewDeliverer(pipeline.DelivererConfig{Outbox: store, Senders: map[string]bot.Sender{"line": ch},
				Owner: "second", Now: clock,
				Delivered: func(_, outcome string, _ time.Duration) { outcomes = append(outcomes, outcome) }})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := d.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("RunOnce = %d, %v; want the row claimed again", n, err)
			}
			if len(outcomes) != 1 || outcomes[0] != tt.outcome {
				t.Errorf("outcome %v, want %s", outcomes, tt.outcome)
			}
			if got := len(fake.Delivered(user)); got != tt.messages {
				t.Errorf("the customer has %d messages, want %d", got, tt.messages)
			}
			if got := len(fake.Pushes()); got != tt.pushes {
				t.Errorf("%d pushes, want %d", got, tt.pushes)
			}
		})
	}
}
