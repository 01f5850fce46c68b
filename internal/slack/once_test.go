package slack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/slack"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// lostAnswer is Slack doing what was asked and its answer not reaching giftdesk.
var lostAnswer = slacktest.Fault{Error: "request_timeout", Lost: true}

// TestPostsOnce: a delivery whose earlier attempt posted does not post again, whether
// Slack's answer was lost (the attempt counted as failed, then retried by the deliverer)
// or the process died after posting (the row retried by another process, with no memory
// of it): a ticket's root, a relay to its thread, a conversation's answer. The posts carry
// the row's identity as metadata, and a first attempt reads nothing before posting.
func TestPostsOnce(t *testing.T) {
	t.Run("through the deliverer, answers lost", func(t *testing.T) {
		d := startDesk(t, setup{})
		d.fake.FailNext("chat.postMessage", lostAnswer) // the ticket's root
		root, id := d.handOff()
		d.fake.FailNext("chat.postMessage", lostAnswer) // the relay
		d.says("まだですか")
		d.waitDrained()
		if roots := d.fake.Messages(handoffChannel); len(roots) != 2 { // the root and the relay
			t.Errorf("%d messages in the channel, want the root and the relay once:\n%s", len(roots), plain(roots))
		}
		if addr, err := d.store.TicketThread(d.ctx, id); err != nil || addr != handoffChannel+":"+root.TS {
			t.Errorf("ticket linked to %q (%v), want the root %s", addr, err, root.TS)
		}
		relays := 0
		for _, m := range d.fake.Replies(handoffChannel, root.TS) {
			if strings.Contains(m.Plain(), "まだですか") {
				relays++
			}
		}
		if relays != 1 {
			t.Errorf("the relay is in the thread %d times, want once", relays)
		}
		var md struct {
			EventType    string            `json:"event_type"`
			EventPayload map[string]string `json:"event_payload"`
		}
		if err := json.Unmarshal(root.Metadata, &md); err != nil || md.EventType != "giftdesk_post" ||
			md.EventPayload["event"] == "" || md.EventPayload["post"] == "" {
			t.Errorf("the root's metadata is %s (%v), want the row's identity", root.Metadata, err)
		}
	})

	t.Run("after a crash", func(t *testing.T) {
		h := startWith(t, setup{threads: func(th bot.Threads) bot.Threads { return &flakyThreads{Threads: th, fail: 1} }})
		h.fake.Join(handoffChannel)
		// Another process: the same workspace and database, no memory of what this one did.
		other, err := slack.New(slack.Config{BotToken: slacktest.BotToken, APIURL: h.fake.URL(), Inbox: h.inbox,
			Conversations: h.store, Threads: h.store})
		if err != nil {
			t.Fatal(err)
		}
		card := &bot.TicketCard{ID: "Tcrash", State: bot.TicketWaiting, Customer: "山田太郎", Channel: "line",
			Lang: bot.Japanese, Reason: "customer_request", Since: time.Now()}
		ticket := bot.Outgoing{ID: 1, Key: customer, EventID: "line:ev1", Seq: 1, Channel: slack.Name, Address: handoffChannel,
			CreatedAt: time.Now(), Messages: []bot.Message{{Kind: bot.MsgTicket, Ticket: card}}}
		// The root is posted; the process dies before it is linked (the link fails here).
		if _, err := h.ch.Send(h.ctx, ticket); err == nil {
			t.Fatal("first Send linked the ticket")
		}
		if n := reads(h.fake.Calls()); n != 0 {
			t.Errorf("a first attempt read the channel %d times", n)
		}
		ticket.Attempts = 1
		if _, err := other.Send(h.ctx, ticket); err != nil {
			t.Fatalf("Send after the crash: %v", err)
		}
		roots := h.fake.Messages(handoffChannel)
		if len(roots) != 1 {
			t.Fatalf("%d roots, want 1:\n%s", len(roots), plain(roots))
		}
		if addr, err := h.store.TicketThread(h.ctx, card.ID); err != nil || addr != handoffChannel+":"+roots[0].TS {
			t.Errorf("linked to %q (%v), want the root %s", addr, err, roots[0].TS)
		}

		// A relay of two messages to the thread, posted whole; the process dies before the
		// outbox records it.
		relay := bot.Outgoing{ID: 2, Key: customer, EventID: "line:ev2", Channel: slack.Name, Address: bot.TicketAddress(card.ID),
			CreatedAt: time.Now(), Messages: []bot.Message{
				{Kind: bot.MsgText, From: "山田太郎", Text: "一通目"},
				{Kind: bot.MsgText, From: "山田太郎", Text: "二通目"},
			}}
		if _, err := h.ch.Send(h.ctx, relay); err != nil {
			t.Fatal(err)
		}
		// A row of the same event with another number is another row: posted.
		second := relay
		second.Seq, second.Attempts = 1, 1
		second.Messages = []bot.Message{{Kind: bot.MsgText, From: "山田太郎", Text: "三通目"}}
		relay.Attempts = 1
		for _, out := range []bot.Outgoing{relay, second} {
			if _, err := other.Send(h.ctx, out); err != nil {
				t.Fatalf("Send after the crash: %v", err)
			}
		}
		var got []string
		for _, m := range h.fake.Replies(handoffChannel, roots[0].TS) {
			got = append(got, m.Plain())
		}
		if len(got) != 3 || !strings.Contains(got[0], "一通目") || !strings.Contains(got[1], "二通目") || !strings.Contains(got[2], "三通目") {
			t.Errorf("the thread holds %d posts, want each message once:\n%s", len(got), strings.Join(got, "\n"))
		}

		// A conversation's answer (a staff member's diagnosis in Slack).
		thread := h.fake.Post(support, alice, "hi", "")
		answer := bot.Outgoing{ID: 3, Key: bot.Key{Channel: slack.Name, User: alice}, EventID: "slack:ev3", Channel: slack.Name,
			Address: support + ":" + thread.TS, CreatedAt: time.Now(), Messages: []bot.Message{{Kind: bot.MsgText, Text: "こんにちは"}}}
		h.fake.FailNext("chat.postMessage", lostAnswer)
		if _, err := h.ch.Send(h.ctx, answer); err == nil {
			t.Fatal("Send with the answer lost succeeded")
		}
		answer.Attempts, answer.Failures = 1, 1
		if _, err := other.Send(h.ctx, answer); err != nil {
			t.Fatal(err)
		}
		if n := len(h.fake.Replies(support, thread.TS)); n != 1 {
			t.Errorf("the answer is in the thread %d times, want once", n)
		}
	})
}

// reads counts the calls that read a channel or a thread.
func reads(calls []string) int {
	return len(slices.DeleteFunc(calls, func(c string) bool {
		return c != "conversations.history" && c != "conversations.replies"
	}))
}
