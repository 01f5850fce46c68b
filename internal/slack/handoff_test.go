package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/slack"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

const handoffChannel = "C0HANDOFF" // SLACK_HANDOFF_CHANNEL: where tickets are posted

// customer is a LINE customer's conversation.
var customer = bot.Key{Channel: "line", User: "U1"}

// lineSender records what the desk sends to LINE customers.
type lineSender struct {
	mu   sync.Mutex
	outs []bot.Outgoing
}

func (l *lineSender) Send(_ context.Context, out bot.Outgoing) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outs = append(l.outs, out)
	return "push", nil
}

func (l *lineSender) all() []bot.Outgoing {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]bot.Outgoing(nil), l.outs...)
}

// wait waits until n Outgoings were sent and returns them all.
func (l *lineSender) wait(t *testing.T, n int) []bot.Outgoing {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var outs []bot.Outgoing
	if err := settle.Until(ctx, func() (bool, error) {
		outs = l.all()
		return len(outs) >= n, nil
	}); err != nil {
		t.Fatalf("waiting for %d deliveries to LINE: %v; have:\n%s", n, err, lineText(outs))
	}
	return outs
}

func lineText(outs []bot.Outgoing) string {
	var b strings.Builder
	for _, o := range outs {
		for _, m := range o.Messages {
			b.WriteString(o.Address + ": " + string(m.Kind) + " " + m.Text)
			for _, c := range m.Choices {
				b.WriteString(" [" + c.Label + "=" + c.Data + "]")
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// lineProfiler knows every LINE customer as 山田太郎.
type lineProfiler struct{}

func (lineProfiler) Profile(context.Context, bot.Event) (bot.Profile, error) {
	return bot.Profile{Name: "山田太郎", Lang: bot.Japanese}, nil
}

// namedProfiler knows every LINE customer by its name.
type namedProfiler string

func (n namedProfiler) Profile(context.Context, bot.Event) (bot.Profile, error) {
	return bot.Profile{Name: string(n), Lang: bot.Japanese}, nil
}

// deskHarness is the harness with hand-off tickets posted to handoffChannel and a
// recording LINE channel.
type deskHarness struct {
	*harness
	line   *lineSender
	n      int
	socket bool // agents' replies come over Socket Mode
}

func startDesk(t *testing.T, su setup) *deskHarness {
	t.Helper()
	line := &lineSender{}
	su.tickets = handoffChannel
	su.senders = map[string]bot.Sender{"line": line}
	if su.profilers == nil {
		su.profilers = map[string]bot.Profiler{"line": lineProfiler{}}
	}
	h := startWith(t, su)
	h.fake.Join(handoffChannel)
	h.fake.AddMembers(handoffChannel, alice, bob)
	return &deskHarness{harness: h, line: line}
}

// from stores an event of the LINE customer, as the LINE channel would.
func (d *deskHarness) from(in bot.Inbound) {
	d.t.Helper()
	d.n++
	_, err := d.inbox.AddEvents(d.ctx, []bot.Event{{ID: "line:ev" + strconv.Itoa(d.n), Key: customer, In: in,
		At: time.Now(), Address: "U1"}})
	if err != nil {
		d.t.Fatal(err)
	}
}

func (d *deskHarness) says(text string) {
	d.t.Helper()
	d.from(bot.Inbound{Kind: bot.InText, Text: text})
}

// handOff starts the customer's conversation, asks for a person and returns the ticket's
// root and id.
func (d *deskHarness) handOff() (slacktest.Message, string) {
	d.t.Helper()
	d.says("こんにちは")
	d.line.wait(d.t, 1)
	d.says("人と話したい")
	ctx, cancel := d.wait()
	defer cancel()
	roots, err := d.fake.WaitMessages(ctx, handoffChannel, 1)
	if err != nil {
		d.t.Fatalf("no ticket posted: %v", err)
	}
	c, err := d.store.Conversation(d.ctx, customer)
	if err != nil || c.Ticket == nil {
		d.t.Fatalf("conversation after the hand-off: %+v, %v", c, err)
	}
	// The root is linked right after it is posted.
	if err := settle.Until(ctx, func() (bool, error) {
		_, err := d.store.TicketThread(d.ctx, c.Ticket.ID)
		return err == nil, nil
	}); err != nil {
		d.t.Fatalf("ticket %s not linked: %v", c.Ticket.ID, err)
	}
	return roots[0], c.Ticket.ID
}

// markup returns the text of m's blocks as sent to Slack, entities and all.
func markup(t *testing.T, m slacktest.Message) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(m.Blocks, &v); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["text"].(string); ok {
				b.WriteString(s + "\n")
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

// press presses the button with value v of m as user and expects a 200.
func (d *deskHarness) press(m slacktest.Message, user, v string) {
	d.t.Helper()
	if code := d.click(m, user, v); code != http.StatusOK {
		d.t.Fatalf("press %s: answered %d", v, code)
	}
}

// reply writes text in the thread at root as user, and sends Slack's event for it; it
// returns the event's body for a retry.
func (d *deskHarness) reply(root slacktest.Message, user, text string) []byte {
	d.t.Helper()
	m := d.fake.Post(handoffChannel, user, text, root.TS)
	body, _ := d.fake.MessageEvent(m, "channel")
	if code := d.event(body); code != http.StatusOK {
		d.t.Fatalf("reply %q: answered %d", text, code)
	}
	return body
}

func (d *deskHarness) updated(root slacktest.Message, n int) slacktest.Message {
	d.t.Helper()
	ctx, cancel := d.wait()
	defer cancel()
	m, err := d.fake.WaitUpdated(ctx, handoffChannel, root.TS, n)
	if err != nil {
		d.t.Fatalf("root not updated %d times: %v; now:\n%s", n, err, m.Plain())
	}
	return m
}

// TestHandoff walks a LINE customer's hand-off in Slack: the ticket is posted, the
// customer's messages appear in its thread, two agents claim at once and one wins, the
// winner answers (reaching the customer on LINE) and notes, resolves, and the customer's
// rating closes the ticket.
func TestHandoff(t *testing.T) {
	d := startDesk(t, setup{})
	root, id := d.handOff()

	mustContain(t, "ticket", root.Plain(), "🎫 山田太郎 (LINE)", "対応待ち", "日本語", "JST", "customer_request",
		"直近のやりとり", "👤 *山田太郎*: 人と話したい", "🤖",
		"[✋ 担当する (Claim)] [✅ 解決 (Resolve)] [↩️ ボットに戻す (Return to bot)]")
	if addr, err := d.store.TicketThread(d.ctx, id); err != nil || addr != handoffChannel+":"+root.TS {
		t.Errorf("ticket %s linked to %q, %v; want the root %s", id, addr, err, root.TS)
	}
	for _, b := range root.Buttons() {
		if !strings.HasSuffix(b.Value, ":"+id) {
			t.Errorf("button %+v is not for ticket %s", b, id)
		}
	}
	outs := d.line.wait(t, 2)
	mustContain(t, "customer told", lineText(outs), "おつなぎ")

	// The customer writes while waiting: in the thread, code masked, nothing pinged.
	d.says("まだですか? <!channel> @here 番号はABCD-EFGH12-JKLM3です")
	replies := d.replies(handoffChannel, root.TS, 1)
	mustContain(t, "relay", replies[0].Plain(), "👤 *山田太郎*: まだですか? <!channel> @here 番号は")
	if strings.Contains(replies[0].Plain(), "EFGH12") || !strings.Contains(markup(t, replies[0]), "&lt;!channel&gt;") {
		t.Errorf("relay leaks a code or pings:\n%s", markup(t, replies[0]))
	}

	// Two agents claim at once: exactly one wins, the other is told who has it.
	var wg sync.WaitGroup
	for _, agent := range []string{alice, bob} {
		wg.Go(func() { d.press(root, agent, "t:claim:"+id) })
	}
	wg.Wait()
	root = d.updated(root, 1)
	replies = d.replies(handoffChannel, root.TS, 2)
	c, err := d.store.Conversation(d.ctx, customer)
	if err != nil || c.Ticket == nil || c.Ticket.State != bot.TicketClaimed {
		t.Fatalf("after the claims: %+v, %v", c, err)
	}
	winner, loser := c.Ticket.Agent, alice
	if winner == alice {
		loser = bob
	}
	if winner != alice && winner != bob {
		t.Fatalf("ticket claimed by %q", winner)
	}
	mustContain(t, "claimed root", root.Plain(), "対応中", "<@"+winner+">", "[✅ 解決 (Resolve)] [↩️ ボットに戻す (Return to bot)]",
		"直近のやりとり", "人と話したい")
	if strings.Contains(root.Plain(), "(Claim)") || strings.Contains(root.Plain(), "<@"+loser+">") {
		t.Errorf("claimed root still offers Claim or names the loser:\n%s", root.Plain())
	}
	mustContain(t, "already claimed", replies[1].Plain(), "<@"+winner+"> が対応中")
	if !strings.Contains(markup(t, replies[1]), "<@"+winner+">") {
		t.Errorf("the winner is not mentioned: %s", markup(t, replies[1]))
	}

	// The winner answers in the thread: pushed to the customer on LINE as plain text.
	before := len(d.line.all())
	retry := d.reply(root, winner, "確認しますね &lt;3 <https://example.com/help|ヘルプ> <@"+slacktest.BotUserID+">")
	outs = d.line.wait(t, before+1)
	got := outs[before]
	if got.Via() != "line" || got.Address != "U1" || got.Key != customer || len(got.Messages) != 1 ||
		got.Messages[0].Text != "確認しますね <3 ヘルプ (https://example.com/help)" {
		t.Errorf("agent's answer reached LINE as %+v", got)
	}
	if !strings.HasPrefix(got.EventID, "slack:msg:"+handoffChannel+":") {
		t.Errorf("event id %q", got.EventID)
	}
	// Slack retries the event: no second push.
	hdr := slacktest.Sign(secret, retry, time.Now())
	hdr.Set("X-Slack-Retry-Num", "1")
	if code, _ := d.request("/slack/events", "application/json", retry, hdr); code != http.StatusOK {
		t.Errorf("retry answered %d", code)
	}
	// A note stays in Slack.
	d.reply(root, winner, "note: 返金の可能性あり")
	d.settled(handoffChannel, root.TS)
	if n := len(d.line.all()); n != before+1 {
		t.Errorf("%d deliveries to LINE after the answer, its retry and a note; want %d:\n%s", n, before+1, lineText(d.line.all()))
	}
	lines, err := d.store.Transcript(d.ctx, customer, 50)
	if err != nil {
		t.Fatal(err)
	}
	var note, agentLine bool
	for _, l := range lines {
		note = note || (l.Role == bot.RoleNote && strings.Contains(l.Text, "返金の可能性あり"))
		agentLine = agentLine || (l.Role == bot.RoleAgent && l.Name != "" && strings.Contains(l.Text, "確認しますね"))
	}
	if !note || !agentLine {
		t.Errorf("transcript lacks the note (%v) or the agent's named answer (%v): %+v", note, agentLine, lines)
	}

	// The customer answers: in the thread.
	d.says("ありがとうございます")
	replies = d.replies(handoffChannel, root.TS, 3)
	mustContain(t, "customer's answer", replies[2].Plain(), "👤 *山田太郎*: ありがとうございます")

	// Resolve: the root shows it without buttons; the customer is asked for a rating.
	before = len(d.line.all())
	d.press(root, winner, "t:resolve:"+id)
	root = d.updated(root, 2)
	mustContain(t, "resolved root", root.Plain(), "解決済み", "<@"+winner+">")
	if len(root.Buttons()) != 0 {
		t.Errorf("resolved root has buttons:\n%s", root.Plain())
	}
	outs = d.line.wait(t, before+1)
	mustContain(t, "rating request", lineText(outs[before:]), "[★★★★★=r:5]")

	// The rating closes the ticket; the bot answers again.
	d.from(bot.Inbound{Kind: bot.InPostback, Postback: "r:5", Text: "★★★★★"})
	root = d.updated(root, 3)
	mustContain(t, "closed root", root.Plain(), "終了", "★★★★★")
	replies = d.replies(handoffChannel, root.TS, 4)
	mustContain(t, "rating note", replies[3].Plain(), "📝 ★5")
	before = len(d.line.all())
	d.says("こんにちは")
	outs = d.line.wait(t, before+1)
	if strings.Contains(lineText(outs[before:]), "担当者") {
		t.Errorf("the bot did not take over again:\n%s", lineText(outs[before:]))
	}
	if got := d.settled(handoffChannel, root.TS); len(got) != 4 {
		t.Errorf("%d messages in the thread, want 4:\n%s", len(got), plain(got))
	}
}

// TestHandoffReturn lets an agent give the conversation back to the bot.
func TestHandoffReturn(t *testing.T) {
	d := startDesk(t, setup{})
	posted, id := d.handOff()
	before := len(d.line.wait(t, 2))
	d.press(posted, bob, "t:return:"+id)
	root := d.updated(posted, 1)
	mustContain(t, "returned root", root.Plain(), "終了", "自動案内に戻しました", "<@"+bob+">")
	if len(root.Buttons()) != 0 {
		t.Errorf("returned root has buttons:\n%s", root.Plain())
	}
	replies := d.replies(handoffChannel, root.TS, 1)
	mustContain(t, "note", replies[0].Plain(), "📝 自動案内に戻しました。 — <@"+bob+">")
	mustContain(t, "customer", lineText(d.line.wait(t, before+1)[before:]), "自動案内")
	// Pressing a button of the root as it was, or answering in the closed ticket's
	// thread, reaches nobody.
	d.press(posted, alice, "t:claim:"+id)
	d.reply(root, alice, "まだいますか?")
	replies = d.replies(handoffChannel, root.TS, 3)
	mustContain(t, "stale", plain(replies[1:]), "このチケットは終了しています")
	if n := len(d.settledLine()); n != before+1 {
		t.Errorf("%d deliveries to LINE, want %d:\n%s", n, before+1, lineText(d.line.all()))
	}
}

// settledLine waits for a drained pipeline, then returns what was sent to LINE.
func (d *deskHarness) settledLine() []bot.Outgoing {
	d.t.Helper()
	d.waitDrained()
	return d.line.all()
}

// flakyThreads fails the first fail LinkThread calls, after which the store works.
type flakyThreads struct {
	bot.Threads
	mu   sync.Mutex
	fail int
}

func (f *flakyThreads) LinkThread(ctx context.Context, id string, k bot.Key, address string) error {
	f.mu.Lock()
	fail := f.fail > 0
	f.fail--
	f.mu.Unlock()
	if fail {
		return errors.New("database is locked")
	}
	return f.Threads.LinkThread(ctx, id, k, address)
}

// racingThreads links every ticket to another thread just before the channel does, as
// a second process delivering the same ticket would.
type racingThreads struct{ bot.Threads }

func (r racingThreads) LinkThread(ctx context.Context, id string, k bot.Key, address string) error {
	if err := r.Threads.LinkThread(ctx, id, k, handoffChannel+":1700000000.000001"); err != nil {
		return err
	}
	return r.Threads.LinkThread(ctx, id, k, address)
}

// TestTicketRootOnce delivers a ticket again after it was posted: the root is posted once
// and linked, whether the first delivery failed to link it or succeeded.
func TestTicketRootOnce(t *testing.T) {
	card := &bot.TicketCard{ID: "Tonce", State: bot.TicketWaiting, Customer: "山田太郎", Channel: "line",
		Lang: bot.Japanese, Reason: "customer_request", Since: time.Now()}
	out := bot.Outgoing{ID: 1, Key: customer, EventID: "line:ev1", Seq: 1, Channel: slack.Name, Address: handoffChannel,
		Messages: []bot.Message{{Kind: bot.MsgTicket, Ticket: card}}}
	postCalls := func(h *harness) int {
		n := 0
		for _, c := range h.fake.Calls() {
			if c == "chat.postMessage" {
				n++
			}
		}
		return n
	}

	t.Run("link failed", func(t *testing.T) {
		h := startWith(t, setup{threads: func(th bot.Threads) bot.Threads { return &flakyThreads{Threads: th, fail: 1} }})
		h.fake.Join(handoffChannel)
		_, err := h.ch.Send(h.ctx, out)
		var de *bot.DeliveryError
		if !errors.As(err, &de) || de.Permanent {
			t.Fatalf("first Send: %v, want a temporary delivery error", err)
		}
		for i := range 2 {
			if _, err := h.ch.Send(h.ctx, out); err != nil {
				t.Fatalf("Send %d: %v", i+2, err)
			}
		}
		roots := h.fake.Messages(handoffChannel)
		if len(roots) != 1 || postCalls(h) != 1 {
			t.Fatalf("%d roots, %d posts; want 1", len(roots), postCalls(h))
		}
		if addr, err := h.store.TicketThread(h.ctx, card.ID); err != nil || addr != handoffChannel+":"+roots[0].TS {
			t.Errorf("linked to %q, %v; want %s", addr, err, roots[0].TS)
		}
	})

	t.Run("linked meanwhile elsewhere", func(t *testing.T) {
		h := startWith(t, setup{threads: func(th bot.Threads) bot.Threads { return racingThreads{th} }})
		h.fake.Join(handoffChannel)
		if _, err := h.ch.Send(h.ctx, out); err != nil {
			t.Fatal(err)
		}
		if roots := h.fake.Messages(handoffChannel); len(roots) != 0 {
			t.Errorf("the duplicate root was not deleted:\n%s", plain(roots))
		}
		if addr, _ := h.store.TicketThread(h.ctx, card.ID); addr != handoffChannel+":1700000000.000001" {
			t.Errorf("linked to %q", addr)
		}
	})

	t.Run("through the deliverer", func(t *testing.T) {
		d := startDesk(t, setup{threads: func(th bot.Threads) bot.Threads { return &flakyThreads{Threads: th, fail: 1} }})
		root, _ := d.handOff()
		d.says("まだですか")
		d.replies(handoffChannel, root.TS, 1)
		if roots := d.fake.Messages(handoffChannel); len(roots) != 1+1 { // the root and the relay
			t.Errorf("%d messages in the channel, want the root and the relay:\n%s", len(roots), plain(roots))
		}
		if n := postCalls(d.harness); n != 2 {
			t.Errorf("%d posts, want 2 (root, relay)", n)
		}
	})
}

// TestTicketDeliveryErrors checks deliveries to tickets that cannot be made.
func TestTicketDeliveryErrors(t *testing.T) {
	h := startWith(t, setup{})
	h.fake.Join(handoffChannel)
	noThreads, err := slack.New(slack.Config{BotToken: slacktest.BotToken, APIURL: h.fake.URL(), Inbox: h.inbox, Conversations: h.store})
	if err != nil {
		t.Fatal(err)
	}
	card := &bot.TicketCard{ID: "Terr", State: bot.TicketWaiting, Customer: "x", Channel: "line", Since: time.Now()}
	ticket := bot.Outgoing{Key: customer, Channel: slack.Name, Address: handoffChannel, Messages: []bot.Message{{Kind: bot.MsgTicket, Ticket: card}}}
	relay := bot.Outgoing{Key: customer, Channel: slack.Name, Address: "ticket:Tnone",
		Messages: []bot.Message{{Kind: bot.MsgText, From: "x", Text: "hello"}}}
	notIn := ticket
	notIn.Address = elsewhere
	tests := []struct {
		name      string
		ch        *slack.Channel
		out       bot.Outgoing
		permanent bool
		fixable   bool
	}{
		{name: "thread not linked yet", ch: h.ch, out: relay},
		{name: "no thread store: ticket", ch: noThreads, out: ticket, permanent: true},
		{name: "no thread store: relay", ch: noThreads, out: relay, permanent: true},
		{name: "bot not in the channel", ch: h.ch, out: notIn, fixable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ch.Send(h.ctx, tt.out)
			var de *bot.DeliveryError
			if !errors.As(err, &de) || de.Permanent != tt.permanent || de.Fixable != tt.fixable {
				t.Errorf("Send: %v; want a delivery error, permanent %v, fixable %v", err, tt.permanent, tt.fixable)
			}
		})
	}
}

// countingThreads counts ThreadTicket lookups and can fail them.
type countingThreads struct {
	bot.Threads
	mu      sync.Mutex
	lookups int
	fail    bool
}

func (c *countingThreads) ThreadTicket(ctx context.Context, address string) (string, bot.Key, error) {
	c.mu.Lock()
	c.lookups++
	fail := c.fail
	c.mu.Unlock()
	if fail {
		return "", bot.Key{}, errors.New("database is locked")
	}
	return c.Threads.ThreadTicket(ctx, address)
}

func (c *countingThreads) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookups
}

// TestTicketThreadReading checks which messages and presses in the tickets' channel become
// events, and that ticket threads cost one lookup per thread reply and none otherwise.
func TestTicketThreadReading(t *testing.T) {
	threads := &countingThreads{}
	h := startWith(t, setup{threads: func(th bot.Threads) bot.Threads { threads.Threads = th; return threads }})
	h.fake.Join(handoffChannel)
	h.fake.AddMembers(handoffChannel, alice, bob)
	// A customer's ticket, and a staff member's own diagnosis's ticket.
	root := h.fake.Post(handoffChannel, bob, "ticket root", "")
	if err := h.store.LinkThread(h.ctx, "Tcust", customer, handoffChannel+":"+root.TS); err != nil {
		t.Fatal(err)
	}
	staffRoot := h.fake.Post(handoffChannel, bob, "staff ticket root", "")
	if err := h.store.LinkThread(h.ctx, "Tstaff", bot.Key{Channel: slack.Name, User: support + ":1.0"}, handoffChannel+":"+staffRoot.TS); err != nil {
		t.Fatal(err)
	}
	event := func(ev map[string]any) []byte {
		b, _ := h.fake.EventCallback(ev)
		return b
	}
	msg := func(channel, user, text, thread, channelType string) []byte {
		m := h.fake.Post(channel, user, text, thread)
		b, _ := h.fake.MessageEvent(m, channelType)
		return b
	}
	tests := []struct {
		name    string
		body    []byte
		code    int
		fresh   int
		lookups int
	}{
		{name: "agent's reply", body: msg(handoffChannel, alice, "hello", root.TS, "channel"), code: 200, fresh: 1, lookups: 1},
		{name: "mention in a ticket thread", body: event(map[string]any{"type": "app_mention", "user": alice, "channel": handoffChannel,
			"text": "<@" + slacktest.BotUserID + "> hi", "ts": h.fake.NextTS(), "thread_ts": root.TS}), code: 200, fresh: 1, lookups: 1},
		{name: "only a mention", body: event(map[string]any{"type": "message", "user": alice, "channel": handoffChannel,
			"text": "<@" + slacktest.BotUserID + ">", "ts": h.fake.NextTS(), "thread_ts": root.TS, "channel_type": "channel"}), code: 200, lookups: 1},
		{name: "reply in a staff ticket", body: msg(handoffChannel, alice, "nice", staffRoot.TS, "channel"), code: 200, lookups: 1},
		{name: "bot's own reply", body: event(map[string]any{"type": "message", "user": slacktest.BotUserID, "bot_id": slacktest.BotID,
			"channel": handoffChannel, "text": "x", "ts": h.fake.NextTS(), "thread_ts": root.TS, "channel_type": "channel"}), code: 200},
		{name: "bot's own reply without bot_id", body: event(map[string]any{"type": "message", "user": slacktest.BotUserID,
			"channel": handoffChannel, "text": "x", "ts": h.fake.NextTS(), "thread_ts": root.TS, "channel_type": "channel"}), code: 200},
		{name: "edit", body: event(map[string]any{"type": "message", "subtype": "message_changed", "channel": handoffChannel,
			"ts": h.fake.NextTS(), "channel_type": "channel", "message": map[string]any{"user": alice, "text": "edited", "ts": root.TS, "thread_ts": root.TS}}), code: 200},
		{name: "top-level chatter", body: msg(handoffChannel, alice, "lunch?", "", "channel"), code: 200},
		{name: "reply in another thread", body: msg(handoffChannel, alice, "hm", h.fake.Post(handoffChannel, bob, "x", "").TS, "channel"), code: 200, lookups: 1},
		{name: "reply in a DM thread", body: msg(dmAlice, alice, "hm", h.fake.Post(dmAlice, alice, "x", "").TS, "im"), code: 200, fresh: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookups := threads.count()
			_, fresh0, _, _ := h.inbox.counts()
			if code := h.event(tt.body); code != tt.code {
				t.Errorf("answered %d, want %d", code, tt.code)
			}
			_, fresh, _, _ := h.inbox.counts()
			if fresh-fresh0 != tt.fresh {
				t.Errorf("%d new events, want %d", fresh-fresh0, tt.fresh)
			}
			if n := threads.count() - lookups; n != tt.lookups {
				t.Errorf("%d thread lookups, want %d", n, tt.lookups)
			}
		})
	}

	t.Run("store failing", func(t *testing.T) {
		threads.mu.Lock()
		threads.fail = true
		threads.mu.Unlock()
		defer func() { threads.mu.Lock(); threads.fail = false; threads.mu.Unlock() }()
		if code := h.event(msg(handoffChannel, alice, "hello?", root.TS, "channel")); code != http.StatusInternalServerError {
			t.Errorf("answered %d, want 500 (Slack sends it again)", code)
		}
	})

	// Presses: of an unlinked message, of another ticket's button: ignored.
	bogus := h.fake.Post(handoffChannel, bob, "x", "")
	bogus.BotID = slacktest.BotID
	bogus.Blocks = []byte(`[{"type":"actions","block_id":"b","elements":[{"type":"button","action_id":"giftdesk-ticket-claim","value":"t:claim:Tcust","text":{"type":"plain_text","text":"Claim"}},` +
		`{"type":"button","action_id":"giftdesk-ticket-resolve","value":"t:resolve:Tother","text":{"type":"plain_text","text":"Resolve"}}]}]`)
	_, fresh0, _, _ := h.inbox.counts()
	h.click(bogus, alice, "t:claim:Tcust")
	linked := bogus
	linked.TS = root.TS
	h.click(linked, alice, "t:resolve:Tother")
	if _, fresh, _, _ := h.inbox.counts(); fresh != fresh0 {
		t.Errorf("%d events from presses that are no ticket's, want none", fresh-fresh0)
	}
	// A press of the ticket's own button counts; the same press again does not; another
	// agent's does.
	h.click(linked, alice, "t:claim:Tcust")
	payload, err := h.fake.BlockActions(linked, bob, "t:claim:Tcust")
	if err != nil {
		t.Fatal(err)
	}
	form := []byte(slacktest.InteractivityForm(payload).Encode())
	for range 2 {
		if code, _ := h.signed("/slack/interactivity", "application/x-www-form-urlencoded", form); code != http.StatusOK {
			t.Errorf("press answered %d", code)
		}
	}
	if _, fresh, dup, _ := h.inbox.counts(); fresh-fresh0 != 2 || dup != 1 {
		t.Errorf("%d new events and %d duplicates from three presses, want 2 and 1", fresh-fresh0, dup)
	}
}

// slackNotes are internal notes as Slack sends them in a ticket's thread (markup and
// entities as in the event's text): none may reach the customer. bot's TestIsNote has
// more spellings as the desk sees them.
var slackNotes = []string{
	"note: 返金の可能性あり",
	"Note: refund likely",
	"note : refund likely",
	"NOTE - refund likely",
	"*note:* refund likely",
	"*Note*: refund likely",
	"_note:_ refund likely",
	"~note:~ refund likely",
	"`note:` refund likely",
	"```note: refund likely```",
	"&gt; note: refund likely",
	"&gt; *note:* refund likely",
	"\u200bnote: zero-width space",
	"\u2060note: word joiner",
	"\ufeffnote: byte-order mark",
	"＊note:＊ full-width",
	"ＮＯＴＥ：全角",
	"memo: refund likely",
	"internal: refund likely",
	"Internal note: refund likely",
	"private: refund likely",
	"[note] refund likely",
	"(note) refund likely",
	"&lt;internal&gt; refund likely",
	"メモ: 返金の可能性あり",
	"メモ：返金の可能性あり",
	"メモ 返金の可能性あり",
	"ﾒﾓ: 半角",
	"内部メモ: 返金の可能性あり",
	"ノート: 返金の可能性あり",
	"社内: 返金の可能性あり",
	"社内メモ：返金の可能性あり",
	"【メモ】返金の可能性あり",
	"「メモ」返金の可能性あり",
	"（メモ）返金の可能性あり",
	"*【社内メモ】* 返金の可能性あり",
	":memo: refund likely",
	"<@U0AGENT2> note: can you check?",
	"<@" + slacktest.BotUserID + "> note: refund likely",
	// Addressed to colleagues, not the customer.
	"<@U0AGENT2> can you take this one?",
	"\u200b*<@U0AGENT2>* please check",
	"<!subteam^S0SUPPORT|@support> anyone know this card type?",
	"<!here> who knows this card type?",
}

// slackReplies are ordinary replies, some with a note word later or inside another word,
// and what the customer reads of them.
var slackReplies = []struct{ text, want string }{
	{"Note that your code may take a few minutes to appear.", "Note that your code may take a few minutes to appear."},
	{"Please note: the code is case-insensitive.", "Please note: the code is case-insensitive."},
	{"Notes on your order: none yet.", "Notes on your order: none yet."},
	{"I've made a note of your order number.", "I've made a note of your order number."},
	{"Your internal reference is 4711.", "Your internal reference is 4711."},
	{"Memory cards are not affected.", "Memory cards are not affected."},
	{"社内で確認いたしますので、少々お待ちください。", "社内で確認いたしますので、少々お待ちください。"},
	{"メモ帳に控えておいてください。", "メモ帳に控えておいてください。"},
	{"ノートパソコンからもお試しください。", "ノートパソコンからもお試しください。"},
	{"確認しますね &lt;3", "確認しますね <3"},
	{"*ありがとうございます*", "*ありがとうございます*"},
}

// TestNotesStayInternal writes every note spelling and ordinary reply in a ticket's
// thread, through signed Events API requests and over Socket Mode: notes never reach the customer and get 📝,
// replies reach the customer as written and get 📤.
func TestNotesStayInternal(t *testing.T) {
	if len(slackNotes) < 30 || len(slackReplies) < 10 {
		t.Fatalf("%d notes and %d replies, want at least 30 and 10", len(slackNotes), len(slackReplies))
	}
	t.Run("http", func(t *testing.T) { notesStayInternal(t, false) })
	t.Run("socket mode", func(t *testing.T) { notesStayInternal(t, true) })
}

func notesStayInternal(t *testing.T, socket bool) {
	d := startDesk(t, setup{})
	if d.socket = socket; socket {
		d.socketMode()
	}
	root, _ := d.handOff()
	before := len(d.line.wait(t, 2))
	for _, text := range slackNotes {
		t.Run("note/"+text, func(t *testing.T) {
			if got := d.receipt(root, alice, text); !slices.Equal(got, []string{"memo"}) {
				t.Errorf("reactions %v, want [memo]", got)
			}
		})
	}
	for i, r := range slackReplies {
		t.Run("reply/"+r.text, func(t *testing.T) {
			if got := d.receipt(root, alice, r.text); !slices.Equal(got, []string{"outbox_tray"}) {
				t.Errorf("reactions %v, want [outbox_tray]", got)
			}
			outs := d.line.wait(t, before+i+1)
			if got := outs[before+i]; len(got.Messages) != 1 || got.Messages[0].Text != r.want {
				t.Errorf("the customer got %q, want %q", lineText(outs[before+i:]), r.want)
			}
		})
	}
	// LINE gets a conversation's messages in order: had a note gone out, it would have
	// before the replies.
	if outs := d.line.all(); len(outs) != before+len(slackReplies) {
		t.Errorf("%d deliveries to LINE, want %d:\n%s", len(outs)-before, len(slackReplies), lineText(outs[before:]))
	}
	lines, err := d.store.Transcript(d.ctx, customer, 200)
	if err != nil {
		t.Fatal(err)
	}
	notes := 0
	for _, l := range lines {
		if l.Role == bot.RoleNote {
			notes++
		}
	}
	if notes != len(slackNotes) {
		t.Errorf("%d notes in the transcript, want %d", notes, len(slackNotes))
	}
}

// receipt writes text in the thread at root as user, sends Slack's event for it, and
// returns the bot's reactions to it once it has one.
func (d *deskHarness) receipt(root slacktest.Message, user, text string) []string {
	d.t.Helper()
	m := d.fake.Post(handoffChannel, user, text, root.TS)
	body, _ := d.fake.MessageEvent(m, "channel")
	if d.socket {
		ctx, cancel := d.wait()
		defer cancel()
		id, err := d.fake.Send(ctx, slacktest.Envelope{Type: "events_api", Payload: body})
		if err == nil {
			_, err = d.fake.WaitAck(ctx, id)
		}
		if err != nil {
			d.t.Fatalf("reply %q over Socket Mode: %v", text, err)
		}
	} else if code := d.event(body); code != http.StatusOK {
		d.t.Fatalf("reply %q: answered %d", text, code)
	}
	ctx, cancel := d.wait()
	defer cancel()
	m, err := d.fake.WaitReaction(ctx, handoffChannel, m.TS)
	if err != nil {
		d.t.Fatalf("no reaction to %q: %v", text, err)
	}
	return m.Reactions
}

// hostile is what a customer may put in a LINE display name or a message to make Slack
// ping, link or mislead: broadcasts, mentions, channel links, labelled links, entities
// that would decode to markup, formatting.
var hostile = []string{
	"<!channel>", "<!here>", "<!everyone>", "<@U0ALICE>", "<@U123|boss>", "<#C123>", "<#C0SUPPORT|support>",
	"<http://evil.example|click>", "<https://evil.example>", "<mailto:a@evil.example|mail>",
	"&lt;!channel&gt;", "&amp;lt;@U123&amp;gt;", "<!subteam^S123|@team>", "<!date^1392734382^{date}|x>",
	"*bold*", "_it_", "`code`", "> quote", "@channel", "#general",
}

// TestHostileCustomer sends a hostile display name and hostile texts through every path
// a customer's words take to Slack — the ticket's root (name, recent lines), its updates
// (claim, resolve, rating), relayed messages and relayed choices — and checks every
// text Slack parses in what the channel posted: no mention, broadcast, channel link or
// link comes from the customer; the only mentions are the agents' own, put there by
// giftdesk.
func TestHostileCustomer(t *testing.T) {
	name := strings.Join(hostile, " ")
	// No relay limit: every hostile message is checked in a post of its own.
	d := startDesk(t, setup{profilers: map[string]bot.Profiler{"line": namedProfiler(name)}, relaysPerMinute: -1})
	d.says("こんにちは " + strings.Join(hostile[:10], " "))
	d.line.wait(t, 1)
	root, id := d.handOff()
	posts := 0
	for _, h := range hostile {
		d.says("まだですか " + h)
		posts++
	}
	d.from(bot.Inbound{Kind: bot.InPostback, Postback: "x:" + hostile[0], Text: strings.Join(hostile[:8], " ")})
	posts++
	d.replies(handoffChannel, root.TS, posts)
	d.press(root, alice, "t:claim:"+id)
	d.updated(root, 1)
	d.receipt(root, alice, "確認します")
	d.says("ありがとう " + name)
	posts++
	d.replies(handoffChannel, root.TS, posts)
	d.press(root, alice, "t:resolve:"+id)
	d.updated(root, 2)
	d.from(bot.Inbound{Kind: bot.InPostback, Postback: "r:5", Text: name})
	d.updated(root, 3)
	d.replies(handoffChannel, root.TS, posts+1) // the rating's note

	markup := regexp.MustCompile(`<[^>]*>`)
	agents := map[string]bool{"<@" + alice + ">": true}
	var texts []string
	for _, r := range d.fake.Requests() {
		texts = append(texts, r.Parsed()...)
	}
	escaped := 0
	for _, s := range texts {
		for _, m := range markup.FindAllString(s, -1) {
			if !agents[m] {
				t.Errorf("Slack parses %s in %q", m, s)
			}
		}
		if strings.Contains(s, "&lt;!channel&gt;") && strings.Contains(s, "&lt;http://evil.example|click&gt;") {
			escaped++
		}
	}
	// The hostile words did reach Slack, escaped: in the root (name), its updates, and
	// the relays.
	if escaped < 10 {
		t.Errorf("the hostile name and texts reached Slack escaped in %d texts, want at least 10:\n%s", escaped, strings.Join(texts, "\n"))
	}
	if !strings.Contains(strings.Join(texts, "\n"), "<@"+alice+">") {
		t.Errorf("the agent is not mentioned anywhere: the check above may be vacuous")
	}
}

// TestInternalNoteForm writes notes the explicit way — the "Internal note" message
// shortcut on a message of the ticket's thread, and the ticket's button — whatever they
// say: each is posted in the thread as a note (codes masked), recorded as one, marked 📝,
// and never reaches the customer.
func TestInternalNoteForm(t *testing.T) {
	d := startDesk(t, setup{})
	root, id := d.handOff()
	before := len(d.line.wait(t, 2))
	d.says("まだですか")
	relay := d.replies(handoffChannel, root.TS, 1)[0]
	interact := func(payload json.RawMessage) []byte {
		t.Helper()
		code, body := d.signed("/slack/interactivity", "application/x-www-form-urlencoded",
			[]byte(slacktest.InteractivityForm(payload).Encode()))
		if code != http.StatusOK {
			t.Fatalf("answered %d", code)
		}
		return body
	}
	submit := func(n int, text string) slacktest.Message {
		t.Helper()
		ctx, cancel := d.wait()
		defer cancel()
		v, err := d.fake.WaitView(ctx, n)
		if err != nil {
			t.Fatalf("no form opened: %v", err)
		}
		if v.User != alice || v.CallbackID != "giftdesk-note" || v.PrivateMetadata != handoffChannel+":"+root.TS {
			t.Errorf("form %+v", v)
		}
		if body := interact(d.fake.ViewSubmission(v, alice, map[string]map[string]string{"note": {"text": text}})); len(body) != 0 {
			t.Errorf("submission answered %s, want nothing (the form closes)", body)
		}
		posts, err := d.fake.WaitReplies(ctx, handoffChannel, root.TS, 1+n)
		if err != nil {
			t.Fatalf("note not posted: %v", err)
		}
		note := posts[len(posts)-1]
		m, err := d.fake.WaitReaction(ctx, handoffChannel, note.TS)
		if err != nil || !slices.Equal(m.Reactions, []string{"memo"}) {
			t.Errorf("note reactions %v, %v; want [memo]", m.Reactions, err)
		}
		return note
	}

	// The shortcut, on the customer's relayed message.
	interact(d.fake.MessageAction(relay, alice, "giftdesk_note"))
	note := submit(1, "お待たせしました、コードは ABCD-EFGH12-JKLM3 ですね")
	mustContain(t, "note", note.Plain(), "📝 *社内メモ / Internal note* — <@"+alice+">", "お待たせしました")
	if strings.Contains(markup(t, note)+note.Text, "EFGH12") {
		t.Errorf("the note shows the code: %s", markup(t, note))
	}
	// The button on the ticket.
	d.press(root, alice, "t:note:"+id)
	submit(2, "Thanks for waiting, your refund is on its way.")

	// Outside a ticket's thread the shortcut does nothing.
	other := d.fake.Post(handoffChannel, bob, "lunch?", "")
	interact(d.fake.MessageAction(other, alice, "giftdesk_note"))
	// A failed post keeps the form open with an error, and stores nothing.
	d.press(root, alice, "t:note:"+id)
	ctx, cancel := d.wait()
	defer cancel()
	v, err := d.fake.WaitView(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, fresh0, _, _ := d.inbox.counts()
	d.fake.FailNext("chat.postMessage", slacktest.Fault{Error: "ratelimited"})
	body := interact(d.fake.ViewSubmission(v, alice, map[string]map[string]string{"note": {"text": "x"}}))
	if !strings.Contains(string(body), `"response_action":"errors"`) {
		t.Errorf("failed submission answered %s, want errors", body)
	}
	if _, fresh, _, _ := d.inbox.counts(); fresh != fresh0 {
		t.Errorf("a note that was not posted was stored")
	}
	if n := len(d.fake.Views()); n != 3 {
		t.Errorf("%d forms opened, want 3 (none outside a ticket)", n)
	}

	// An ordinary reply afterwards reaches the customer first: the notes did not.
	d.receipt(root, alice, "確認します")
	outs := d.line.wait(t, before+1)
	if len(outs) != before+1 || outs[before].Messages[0].Text != "確認します" {
		t.Errorf("the customer got:\n%s", lineText(outs[before:]))
	}
	lines, err := d.store.Transcript(d.ctx, customer, 50)
	if err != nil {
		t.Fatal(err)
	}
	notes := 0
	for _, l := range lines {
		if l.Role == bot.RoleNote && l.Name != "" {
			notes++
		}
	}
	if notes != 2 {
		t.Errorf("%d named notes in the transcript, want 2: %+v", notes, lines)
	}
}

// TestTicketButtonsMembersOnly presses a ticket's buttons as someone who is not a member
// of the tickets channel (anyone in the workspace may see a public channel): ignored.
// Members' presses count; an app without the scope to list members lets presses through.
func TestTicketButtonsMembersOnly(t *testing.T) {
	const eve = "U0EVE"
	t.Run("members only", func(t *testing.T) {
		d := startDesk(t, setup{})
		root, id := d.handOff()
		before := len(d.line.wait(t, 2))
		d.press(root, eve, "t:resolve:"+id)
		d.press(root, eve, "t:claim:"+id)
		d.press(root, alice, "t:claim:"+id)
		d.updated(root, 1)
		c, err := d.store.Conversation(d.ctx, customer)
		if err != nil || c.Ticket == nil || c.Ticket.State != bot.TicketClaimed || c.Ticket.Agent != alice {
			t.Fatalf("after the presses: %+v, %v; want claimed by %s", c.Ticket, err, alice)
		}
		if n := len(d.settledLine()); n != before {
			t.Errorf("%d deliveries to LINE after a non-member's Resolve, want none", n-before)
		}
	})
	t.Run("no scope to list members", func(t *testing.T) {
		d := startDesk(t, setup{})
		root, id := d.handOff()
		d.fake.FailNext("conversations.members", slacktest.Fault{Error: "missing_scope"})
		d.press(root, eve, "t:claim:"+id)
		d.updated(root, 1)
	})
}
