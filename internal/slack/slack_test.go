package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/slack"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

const (
	secret    = "test-signing-secret"
	support   = "C0SUPPORT" // a channel the bot is in
	elsewhere = "C0RANDOM"  // a channel it is not in
	dmAlice   = "D0ALICE"   // Alice's direct messages with the bot
	alice     = "U0ALICE"   // Slack locale ja-JP
	bob       = "U0BOB"     // Slack locale en-US
)

// harness is a Slack channel wired as in production — a SQLite store behind a batcher, the
// real worker, deliverer and gift-card engine behind the desk — in front of a fake Slack,
// with the channel's HTTP routes served by an httptest server.
type harness struct {
	t     *testing.T
	fake  *slacktest.Server
	store *sqlite.Store
	inbox *countingInbox
	ch    *slack.Channel
	url   string
	ctx   context.Context // ends when the test does
	logs  *syncBuffer
}

// socketMode runs the channel's Socket Mode connection until the test ends.
func (h *harness) socketMode() {
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.ch.RunSocketMode(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("RunSocketMode: %v", err)
		}
	})
}

// setup varies the harness.
type setup struct {
	// tickets is the Slack channel where hand-off tickets are posted; empty for none.
	tickets string
	// threads wraps the store's bot.Threads given to the channel, to inject failures.
	threads func(bot.Threads) bot.Threads
	// senders and profilers are further channels' (a recording "line").
	senders   map[string]bot.Sender
	profilers map[string]bot.Profiler
	// relaysPerMinute is the desk's limit (0: its default, negative: none).
	relaysPerMinute int
}

func start(t *testing.T) *harness {
	t.Helper()
	return startWith(t, setup{})
}

func startWith(t *testing.T, su setup) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	fake := slacktest.NewServer()
	fake.AddUser(slacktest.User{ID: alice, Name: "alice", RealName: "山田花子", DisplayName: "はなこ", Locale: "ja-JP"})
	fake.AddUser(slacktest.User{ID: bob, Name: "bob", RealName: "Bob Smith", Locale: "en-US"})
	fake.Join(support)
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := bot.NewEngine(bot.EngineConfig{Flow: f, Funcs: flows.Funcs(), Normalize: textnorm.Normalize})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	batcher := pipeline.NewBatcher(store, 0)
	inbox := &countingInbox{Inbox: batcher}
	var (
		worker    *pipeline.Worker
		deliverer *pipeline.Deliverer
	)
	var threads bot.Threads = store
	if su.threads != nil {
		threads = su.threads(store)
	}
	ch, err := slack.New(slack.Config{
		BotToken: slacktest.BotToken, SigningSecret: secret, AppToken: slacktest.AppToken, APIURL: fake.URL(),
		Inbox: inbox, Conversations: store, Threads: threads,
		Redact: flows.RedactCodes, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	deskCfg := bot.DeskConfig{Engine: engine, Redact: flows.RedactCodes, Transcripts: store, Logger: log,
		RelaysPerMinute: su.relaysPerMinute}
	if su.tickets != "" {
		deskCfg.TicketChannel, deskCfg.TicketAddress = slack.Name, su.tickets
	}
	desk, err := bot.NewDesk(deskCfg)
	if err != nil {
		t.Fatal(err)
	}
	profilers := map[string]bot.Profiler{slack.Name: ch}
	maps.Copy(profilers, su.profilers)
	worker, err = pipeline.NewWorker(pipeline.WorkerConfig{
		Queue: store, Store: store, Stepper: desk, Poll: 20 * time.Millisecond, Logger: log,
		Profilers: profilers, Committed: func() { deliverer.Notify() },
	})
	if err != nil {
		t.Fatal(err)
	}
	inbox.wake = worker.Notify
	senders := map[string]bot.Sender{slack.Name: ch}
	maps.Copy(senders, su.senders)
	deliverer, err = pipeline.NewDeliverer(pipeline.DelivererConfig{
		Outbox: store, Senders: senders, Poll: 20 * time.Millisecond, Logger: log,
		Backoff: func(int) time.Duration { return 20 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { batcher.Run(ctx) })
	wg.Go(func() { worker.Run(ctx) })
	wg.Go(func() { deliverer.Run(ctx) })
	mux := http.NewServeMux()
	mux.Handle("POST /slack/events", ch.Events())
	mux.Handle("POST /slack/interactivity", ch.Interactions())
	mux.Handle("POST /slack/commands", ch.Commands())
	srv := httptest.NewServer(mux)
	h := &harness{t: t, fake: fake, store: store, inbox: inbox, ch: ch, url: srv.URL, ctx: ctx, logs: logs}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		store.Close()
		fake.Close()
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	return h
}

// countingInbox counts what reaches the inbox.
type countingInbox struct {
	bot.Inbox
	wake                    func() // after new events were stored, as the pipeline's inbox does
	mu                      sync.Mutex
	calls, fresh, dup, dead int
}

func (c *countingInbox) AddEvents(ctx context.Context, evs []bot.Event) ([]bool, error) {
	fresh, err := c.Inbox.AddEvents(ctx, evs)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	for _, f := range fresh {
		if f {
			c.fresh++
		} else {
			c.dup++
		}
	}
	if c.fresh > 0 && c.wake != nil {
		c.wake()
	}
	return fresh, err
}

func (c *countingInbox) AddDeadLetter(ctx context.Context, d bot.DeadLetter) error {
	c.mu.Lock()
	c.dead++
	c.mu.Unlock()
	return c.Inbox.AddDeadLetter(ctx, d)
}

func (c *countingInbox) counts() (calls, fresh, dup, dead int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.fresh, c.dup, c.dead
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// request posts body to path with the given headers and returns the status and body.
func (h *harness) request(path, contentType string, body []byte, header http.Header) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// signed posts body signed now, as Slack does.
func (h *harness) signed(path, contentType string, body []byte) (int, []byte) {
	h.t.Helper()
	return h.request(path, contentType, body, slacktest.Sign(secret, body, time.Now()))
}

func (h *harness) event(body []byte) int {
	h.t.Helper()
	code, _ := h.signed("/slack/events", "application/json", body)
	return code
}

func (h *harness) command(v url.Values) (int, []byte) {
	h.t.Helper()
	return h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(v.Encode()))
}

// click presses the button labelled label in m as user.
func (h *harness) click(m slacktest.Message, user, label string) int {
	h.t.Helper()
	payload, err := h.fake.BlockActions(m, user, label)
	if err != nil {
		h.t.Fatal(err)
	}
	code, _ := h.signed("/slack/interactivity", "application/x-www-form-urlencoded",
		[]byte(slacktest.InteractivityForm(payload).Encode()))
	return code
}

func (h *harness) wait() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, 10*time.Second)
}

// replies waits until the bot has posted n messages in the thread.
func (h *harness) replies(channel, thread string, n int) []slacktest.Message {
	h.t.Helper()
	ctx, cancel := h.wait()
	defer cancel()
	msgs, err := h.fake.WaitReplies(ctx, channel, thread, n)
	if err != nil {
		h.t.Fatalf("waiting for %d replies in %s/%s: %v; have:\n%s", n, channel, thread, err, plain(msgs))
	}
	return msgs
}

// settled waits for a drained pipeline, after which a wrongly duplicated answer would
// have been sent, then returns the thread's replies.
func (h *harness) settled(channel, thread string) []slacktest.Message {
	h.t.Helper()
	h.waitDrained()
	return h.fake.Replies(channel, thread)
}

// waitDrained waits until the store has no pending event and no unfinished outbox row.
func (h *harness) waitDrained() {
	h.t.Helper()
	ctx, cancel := h.wait()
	defer cancel()
	if err := settle.Drained(ctx, h.store); err != nil {
		h.t.Fatal(err)
	}
}

func plain(msgs []slacktest.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("---- " + m.TS + "\n" + m.Plain() + "\n")
	}
	return b.String()
}

// japanese reports whether s has kana.
func japanese(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana) })
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// Buttons are pressed by value (node and option ids), which change less often than labels.
const (
	choiceCheckout = "o:start:checkout_select" // leads to advice_checkout_select
	choiceInvalid  = "o:start:invalid_code"
	choiceSolved   = "o:advice_checkout_select:solved"
)

// label returns the label of the button of m with value v.
func label(t *testing.T, m slacktest.Message, v string) string {
	t.Helper()
	for _, b := range m.Buttons() {
		if b.Value == v {
			return b.Label
		}
	}
	t.Fatalf("no button %s in:\n%s", v, m.Plain())
	return ""
}

// TestDiagnosisFromSlashCommand walks /giftdesk to advice and "solved" by pressing
// buttons, in each user's Slack language.
func TestDiagnosisFromSlashCommand(t *testing.T) {
	tests := []struct {
		name, user, root, solvedPrompt, lang, displayName string
	}{
		{name: "english", user: bob, root: "<@U0BOB> started a gift-card diagnosis",
			solvedPrompt: "Did that solve it?", lang: "en", displayName: "Bob Smith"},
		{name: "japanese", user: alice, root: "<@U0ALICE> さんがギフト券の診断を始めました",
			solvedPrompt: "解決しましたか?", lang: "ja", displayName: "はなこ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t)
			code, body := h.command(h.fake.SlashCommand(support, tt.user, "/giftdesk", ""))
			if code != http.StatusOK || len(body) != 0 {
				t.Fatalf("command answered %d %q, want 200 and no body", code, body)
			}
			all := h.fake.Messages(support)
			if len(all) != 1 {
				t.Fatalf("%d messages in the channel, want the thread root:\n%s", len(all), plain(all))
			}
			root := all[0]
			mustContain(t, "root", root.Text, tt.root)

			msgs := h.replies(support, root.TS, 1)
			q := msgs[0]
			if japanese(q.Plain()) != (tt.lang == "ja") {
				t.Errorf("first answer not in %s:\n%s", tt.lang, q.Plain())
			}
			choice := label(t, q, choiceCheckout)
			if code := h.click(q, tt.user, choiceCheckout); code != http.StatusOK {
				t.Fatalf("click answered %d", code)
			}
			msgs = h.replies(support, root.TS, 2)
			advice := msgs[1]
			mustContain(t, "advice", advice.Plain(), "# ", "1. ", "2. ", tt.solvedPrompt)

			ctx, cancel := h.wait()
			defer cancel()
			q, err := h.fake.WaitUpdated(ctx, support, q.TS, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(q.Buttons()) != 0 {
				t.Errorf("the answered question still has buttons:\n%s", q.Plain())
			}
			mustContain(t, "answered question", q.Plain(), "> ✅ *"+choice+"* — <@"+tt.user+">")

			if code := h.click(advice, tt.user, choiceSolved); code != http.StatusOK {
				t.Fatalf("click answered %d", code)
			}
			msgs = h.replies(support, root.TS, 3)
			if len(msgs[2].Buttons()) != 0 {
				t.Errorf("the last answer asks something:\n%s", msgs[2].Plain())
			}

			c, err := h.store.Conversation(h.ctx, bot.Key{Channel: slack.Name, User: support + ":" + root.TS})
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != bot.StatusEnded || string(c.Lang) != tt.lang || c.Name != tt.displayName {
				t.Errorf("conversation: status %s, lang %s, name %q; want ended, %s, %q", c.Status, c.Lang, c.Name, tt.lang, tt.displayName)
			}
			if got := h.settled(support, root.TS); len(got) != 3 {
				t.Errorf("%d replies, want 3:\n%s", len(got), plain(got))
			}
		})
	}
}

// TestDirectMessage starts a conversation in a DM thread with free text and continues it
// with free text in the thread.
func TestDirectMessage(t *testing.T) {
	h := start(t)
	m := h.fake.Post(dmAlice, alice, "支払い方法でギフト券が選べません &amp; 困っています", "")
	body, _ := h.fake.MessageEvent(m, "im")
	if code := h.event(body); code != http.StatusOK {
		t.Fatalf("event answered %d", code)
	}
	msgs := h.replies(dmAlice, m.TS, 1)
	mustContain(t, "answer", msgs[0].Plain(), "こんにちは", "# ", "1. ", "解決しましたか?")

	r := h.fake.Post(dmAlice, alice, "いいえ", m.TS)
	body, _ = h.fake.MessageEvent(r, "im")
	if code := h.event(body); code != http.StatusOK {
		t.Fatalf("event answered %d", code)
	}
	msgs = h.replies(dmAlice, m.TS, 2)
	if len(msgs[1].Buttons()) == 0 {
		t.Errorf("the second answer asks nothing:\n%s", msgs[1].Plain())
	}
}

// TestMention starts a conversation with a mention at the top of a channel; a reply in its
// thread without a mention continues it, while other threads are not read.
func TestMention(t *testing.T) {
	h := start(t)
	m := h.fake.Post(support, bob, "<@"+slacktest.BotUserID+"> my gift card code is invalid", "")
	// Slack reports a mention twice, as app_mention and as message.channels, with
	// different event ids: one answer.
	mention, _ := h.fake.MentionEvent(m)
	message, _ := h.fake.MessageEvent(m, "channel")
	for _, body := range [][]byte{mention, message} {
		if code := h.event(body); code != http.StatusOK {
			t.Fatalf("event answered %d", code)
		}
	}
	msgs := h.replies(support, m.TS, 1)
	if len(msgs[0].Buttons()) == 0 || japanese(msgs[0].Plain()) {
		t.Errorf("want an English question:\n%s", msgs[0].Plain())
	}

	r := h.fake.Post(support, bob, "ABCD-123456-EFGH", m.TS)
	body, _ := h.fake.MessageEvent(r, "channel")
	if code := h.event(body); code != http.StatusOK {
		t.Fatalf("event answered %d", code)
	}
	msgs = h.replies(support, m.TS, 2)
	if strings.Contains(msgs[1].Plain(), "123456") {
		t.Errorf("the code was echoed unmasked:\n%s", msgs[1].Plain())
	}

	other := h.fake.Post(support, bob, "lunch?", "")
	reply := h.fake.Post(support, alice, "sure", other.TS)
	for _, m := range []slacktest.Message{other, reply} {
		body, _ := h.fake.MessageEvent(m, "channel")
		if code := h.event(body); code != http.StatusOK {
			t.Fatalf("event answered %d", code)
		}
	}
	if got := h.settled(support, m.TS); len(got) != 2 {
		t.Errorf("%d replies in the mention's thread, want 2:\n%s", len(got), plain(got))
	}
	if got := h.fake.Replies(support, other.TS); len(got) != 0 {
		t.Errorf("the bot answered in a thread it does not run:\n%s", plain(got))
	}
	if _, fresh, _, _ := h.inbox.counts(); fresh != 2 {
		t.Errorf("%d events stored, want 2", fresh)
	}
}

// TestRetriedEvent sends an event again as Slack retries it: one answer.
func TestRetriedEvent(t *testing.T) {
	h := start(t)
	m := h.fake.Post(dmAlice, alice, "こんにちは", "")
	body, _ := h.fake.MessageEvent(m, "im")
	for i := range 3 {
		header := slacktest.Sign(secret, body, time.Now())
		if i > 0 {
			header.Set("X-Slack-Retry-Num", string(rune('0'+i)))
			header.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		if code, _ := h.request("/slack/events", "application/json", body, header); code != http.StatusOK {
			t.Fatalf("delivery %d answered %d", i, code)
		}
	}
	h.replies(dmAlice, m.TS, 1)
	if got := h.settled(dmAlice, m.TS); len(got) != 1 {
		t.Errorf("%d replies to one event delivered three times, want 1:\n%s", len(got), plain(got))
	}
	if _, fresh, dup, _ := h.inbox.counts(); fresh != 1 || dup != 2 {
		t.Errorf("inbox: %d fresh, %d duplicates; want 1 and 2", fresh, dup)
	}
}

// TestDoubleClick presses the buttons of one question several times at once: one answer,
// and the question updated to show the choice.
func TestDoubleClick(t *testing.T) {
	h := start(t)
	h.command(h.fake.SlashCommand(support, bob, "/giftdesk", ""))
	root := h.fake.Messages(support)[0]
	q := h.replies(support, root.TS, 1)[0]
	var wg sync.WaitGroup
	for _, choice := range []string{choiceCheckout, choiceCheckout, choiceInvalid} {
		wg.Go(func() {
			if code := h.click(q, bob, choice); code != http.StatusOK {
				t.Errorf("click answered %d", code)
			}
		})
	}
	wg.Wait()
	h.replies(support, root.TS, 2)
	got := h.settled(support, root.TS)
	if len(got) != 2 {
		t.Errorf("%d replies, want the question and one answer:\n%s", len(got), plain(got))
	}
	updated, _ := h.fake.Message(support, q.TS)
	if updated.Updates != 1 || len(updated.Buttons()) != 0 || !strings.Contains(updated.Plain(), "✅") {
		t.Errorf("question updated %d times, now:\n%s", updated.Updates, updated.Plain())
	}
	if _, fresh, dup, _ := h.inbox.counts(); fresh != 2 || dup != 2 {
		t.Errorf("inbox: %d fresh, %d duplicates; want 2 (command, click) and 2", fresh, dup)
	}
}

// TestPressedMessageGone answers a press even when the pressed message can no longer be
// updated.
func TestPressedMessageGone(t *testing.T) {
	h := start(t)
	h.command(h.fake.SlashCommand(support, bob, "/giftdesk", ""))
	root := h.fake.Messages(support)[0]
	q := h.replies(support, root.TS, 1)[0]
	h.fake.FailNext("chat.update", slacktest.Fault{Error: "message_not_found"})
	h.click(q, bob, choiceCheckout)
	msgs := h.replies(support, root.TS, 2)
	mustContain(t, "answer", msgs[1].Plain(), "Did that solve it?")
}

// TestIgnored sends what the bot must not react to: its own messages, other bots', edits,
// deletions, channel chatter, unknown events. Nothing is stored or sent.
func TestIgnored(t *testing.T) {
	h := start(t)
	own := slacktest.Message{Channel: dmAlice, TS: h.fake.NextTS(), User: slacktest.BotUserID, BotID: slacktest.BotID, Text: "Hello!"}
	ownBody, _ := h.fake.MessageEvent(own, "im")
	mentionsSelf := slacktest.Message{Channel: support, TS: h.fake.NextTS(), User: slacktest.BotUserID,
		Text: "<@" + slacktest.BotUserID + "> hi"}
	mentionsSelfBody, _ := h.fake.MessageEvent(mentionsSelf, "channel")
	chatter := h.fake.Post(support, bob, "anyone around?", "")
	chatterBody, _ := h.fake.MessageEvent(chatter, "channel")
	event := func(ev map[string]any) []byte {
		b, _ := h.fake.EventCallback(ev)
		return b
	}
	ts := h.fake.NextTS()
	tests := []struct {
		name string
		body []byte
	}{
		{"own message", ownBody},
		{"own message without bot_id", mentionsSelfBody},
		{"other bot", event(map[string]any{"type": "message", "subtype": "bot_message", "bot_id": "B0OTHER",
			"channel": dmAlice, "text": "beep", "ts": ts, "channel_type": "im"})},
		{"other bot mentioning", event(map[string]any{"type": "app_mention", "bot_id": "B0OTHER", "user": "U0OTHERBOT",
			"channel": support, "text": "<@" + slacktest.BotUserID + "> beep", "ts": ts})},
		{"edit", event(map[string]any{"type": "message", "subtype": "message_changed", "channel": dmAlice, "ts": ts,
			"channel_type": "im", "message": map[string]any{"user": alice, "text": "edited", "ts": ts}})},
		{"edited mention", event(map[string]any{"type": "app_mention", "user": bob, "channel": support, "ts": ts,
			"text": "<@" + slacktest.BotUserID + "> hi", "edited": map[string]any{"user": bob, "ts": ts}})},
		{"deletion", event(map[string]any{"type": "message", "subtype": "message_deleted", "channel": dmAlice,
			"ts": ts, "deleted_ts": ts, "channel_type": "im"})},
		{"join", event(map[string]any{"type": "message", "subtype": "channel_join", "user": bob, "channel": support,
			"ts": ts, "text": "<@U0BOB> has joined the channel", "channel_type": "channel"})},
		{"channel chatter", chatterBody},
		{"unknown event", event(map[string]any{"type": "reaction_added", "user": bob, "reaction": "tada"})},
		{"app rate limited", []byte(`{"token":"x","type":"app_rate_limited","team_id":"T0GIFTDESK","minute_rate_limited":1518467820,"api_app_id":"A0GIFTDESK"}`)},
		{"unknown envelope", []byte(`{"type":"something_new"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := h.event(tt.body); code != http.StatusOK {
				t.Errorf("answered %d, want 200", code)
			}
		})
	}
	h.waitDrained()
	if calls, _, _, dead := h.inbox.counts(); calls != 0 || dead != 0 {
		t.Errorf("%d inbox writes and %d dead letters, want none", calls, dead)
	}
	for _, c := range h.fake.Calls() {
		if c != "auth.test" && c != "bots.info" {
			t.Errorf("Slack was called: %s", c)
		}
	}
}

// TestRejected sends unsigned, badly signed and stale requests to every route: 401 and
// nothing stored or sent.
func TestRejected(t *testing.T) {
	h := start(t)
	m := h.fake.Post(dmAlice, alice, "こんにちは", "")
	event, _ := h.fake.MessageEvent(m, "im")
	command := []byte(h.fake.SlashCommand(support, bob, "/giftdesk", "").Encode())
	routes := []struct {
		path, contentType string
		body              []byte
	}{
		{"/slack/events", "application/json", event},
		{"/slack/commands", "application/x-www-form-urlencoded", command},
		{"/slack/interactivity", "application/x-www-form-urlencoded", []byte("payload=%7B%7D")},
	}
	now := time.Now()
	tests := []struct {
		name   string
		header func(body []byte) http.Header
		want   int
	}{
		{"no signature", func([]byte) http.Header { return http.Header{} }, http.StatusUnauthorized},
		{"wrong secret", func(b []byte) http.Header { return slacktest.Sign("other-secret", b, now) }, http.StatusUnauthorized},
		{"other body", func(b []byte) http.Header { return slacktest.Sign(secret, append(b, ' '), now) }, http.StatusUnauthorized},
		{"expired timestamp", func(b []byte) http.Header { return slacktest.Sign(secret, b, now.Add(-6*time.Minute)) }, http.StatusUnauthorized},
		{"future timestamp", func(b []byte) http.Header { return slacktest.Sign(secret, b, now.Add(6*time.Minute)) }, http.StatusUnauthorized},
		{"garbage signature", func(b []byte) http.Header {
			hd := slacktest.Sign(secret, b, now)
			hd.Set("X-Slack-Signature", "v0=zz")
			return hd
		}, http.StatusUnauthorized},
		{"v1 signature", func(b []byte) http.Header {
			hd := slacktest.Sign(secret, b, now)
			hd.Set("X-Slack-Signature", strings.Replace(hd.Get("X-Slack-Signature"), "v0=", "v1=", 1))
			return hd
		}, http.StatusUnauthorized},
	}
	for _, r := range routes {
		for _, tt := range tests {
			t.Run(r.path+"/"+tt.name, func(t *testing.T) {
				if code, _ := h.request(r.path, r.contentType, r.body, tt.header(r.body)); code != tt.want {
					t.Errorf("answered %d, want %d", code, tt.want)
				}
			})
		}
	}
	t.Run("too large", func(t *testing.T) {
		big := append([]byte(`{"type":"event_callback","x":"`), bytes.Repeat([]byte("x"), 2<<20)...)
		if code, _ := h.signed("/slack/events", "application/json", big); code != http.StatusRequestEntityTooLarge {
			t.Errorf("answered %d, want 413", code)
		}
	})
	t.Run("GET", func(t *testing.T) {
		res, err := http.Get(h.url + "/slack/events")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("answered %d, want 405", res.StatusCode)
		}
	})
	h.waitDrained()
	if calls, _, _, dead := h.inbox.counts(); calls != 0 || dead != 0 {
		t.Errorf("%d inbox writes and %d dead letters, want none", calls, dead)
	}
	if calls := h.fake.Calls(); len(calls) != 0 {
		t.Errorf("Slack was called: %v", calls)
	}
}

func TestURLVerification(t *testing.T) {
	h := start(t)
	code, body := h.signed("/slack/events", "application/json", slacktest.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
	var got struct{ Challenge string }
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Challenge != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("answered %d %s, want 200 and the challenge", code, body)
	}
}

// TestMalformed sends authentic requests that cannot be understood: kept as dead letters
// (codes masked), acknowledged.
func TestMalformed(t *testing.T) {
	h := start(t)
	tests := []struct {
		name, path, contentType, body string
	}{
		{"not JSON", "/slack/events", "application/json", `{"type": "event_callback", "code": "ABCD-123456-EFGH`},
		{"message without ts", "/slack/events", "application/json",
			`{"type":"event_callback","event_id":"Ev1","team_id":"T0GIFTDESK","api_app_id":"A0GIFTDESK","event":{"type":"message","user":"U0BOB","channel":"D0X","text":"hi","channel_type":"im"}}`},
		{"no payload", "/slack/interactivity", "application/x-www-form-urlencoded", "nothing=here"},
		{"payload not JSON", "/slack/interactivity", "application/x-www-form-urlencoded", "payload=%7B"},
		{"command without trigger", "/slack/commands", "application/x-www-form-urlencoded", "channel_id=C0SUPPORT&user_id=U0BOB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _ := h.signed(tt.path, tt.contentType, []byte(tt.body)); code != http.StatusOK {
				t.Errorf("answered %d, want 200", code)
			}
		})
	}
	if _, _, _, dead := h.inbox.counts(); dead != len(tests) {
		t.Errorf("%d dead letters, want %d", dead, len(tests))
	}
	if strings.Contains(h.logs.String(), "123456") {
		t.Errorf("a code reached the log")
	}
}

// TestCommandNotStarted answers privately when the thread root cannot be posted, and
// stores nothing.
func TestCommandNotStarted(t *testing.T) {
	tests := []struct {
		name, channel string
		fault         *slacktest.Fault
		want          string
	}{
		{name: "bot not in channel", channel: elsewhere, want: "Invite the app"},
		{name: "Slack failing", channel: support, fault: &slacktest.Fault{Status: http.StatusServiceUnavailable}, want: "try again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t)
			if tt.fault != nil {
				h.fake.FailNext("chat.postMessage", *tt.fault)
			}
			code, body := h.command(h.fake.SlashCommand(tt.channel, bob, "/giftdesk", ""))
			var got struct {
				ResponseType string `json:"response_type"`
				Text         string `json:"text"`
			}
			if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.ResponseType != "ephemeral" ||
				!strings.Contains(got.Text, tt.want) {
				t.Errorf("answered %d %s, want 200 and an ephemeral message containing %q", code, body, tt.want)
			}
			if calls, _, _, _ := h.inbox.counts(); calls != 0 {
				t.Errorf("%d inbox writes, want none", calls)
			}
		})
	}
}

// TestCommandReplayed sends one signed slash command three times, as an attacker
// replaying it within the signature window would: one thread root, one conversation.
func TestCommandReplayed(t *testing.T) {
	h := start(t)
	body := []byte(h.fake.SlashCommand(support, bob, "/giftdesk", "").Encode())
	header := slacktest.Sign(secret, body, time.Now())
	for i := range 3 {
		if code, _ := h.request("/slack/commands", "application/x-www-form-urlencoded", body, header); code != http.StatusOK {
			t.Fatalf("delivery %d answered %d", i, code)
		}
	}
	if roots := h.fake.Messages(support); len(roots) != 1 {
		t.Errorf("%d thread roots, want 1:\n%s", len(roots), plain(roots))
	}
	if _, fresh, dup, _ := h.inbox.counts(); fresh != 1 || dup != 0 {
		t.Errorf("inbox: %d fresh, %d duplicates; want 1 and 0", fresh, dup)
	}
}

// TestCommandWithText starts a diagnosis from the command's text.
func TestCommandWithText(t *testing.T) {
	h := start(t)
	h.command(h.fake.SlashCommand(support, bob, "/giftdesk", "I can't select the gift card when paying"))
	root := h.fake.Messages(support)[0]
	msgs := h.replies(support, root.TS, 1)
	mustContain(t, "answer", msgs[0].Plain(), "# ", "1. ", "Did that solve it?")
}

// TestDeliveryErrors checks how Web API failures are classified.
func TestDeliveryErrors(t *testing.T) {
	h := start(t)
	root := h.fake.Post(dmAlice, alice, "root", "")
	address := dmAlice + ":" + root.TS
	out := bot.Outgoing{Key: bot.Key{Channel: slack.Name, User: address}, Address: address,
		Messages: []bot.Message{{Kind: bot.MsgText, Text: "hi"}}}
	tests := []struct {
		name       string
		fault      *slacktest.Fault
		address    string
		permanent  bool
		fixable    bool
		retryAfter time.Duration
		ok         bool
	}{
		{name: "delivered", ok: true},
		{name: "rate limited", fault: &slacktest.Fault{Status: 429, RetryAfter: 7}, retryAfter: 7 * time.Second},
		{name: "server error", fault: &slacktest.Fault{Status: 503}},
		{name: "ratelimited error code", fault: &slacktest.Fault{Error: "ratelimited"}},
		{name: "channel not found", fault: &slacktest.Fault{Error: "channel_not_found"}, fixable: true},
		{name: "not in channel", address: elsewhere + ":1712345678.000100", fixable: true},
		{name: "invalid auth", fault: &slacktest.Fault{Error: "invalid_auth"}, fixable: true},
		{name: "token revoked", fault: &slacktest.Fault{Error: "token_revoked"}, fixable: true},
		{name: "forbidden", fault: &slacktest.Fault{Status: 403}, fixable: true},
		{name: "message too long", fault: &slacktest.Fault{Error: "msg_too_long"}, permanent: true},
		{name: "no address", address: "nonsense", permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := out
			if tt.address != "" {
				o.Address = tt.address
			}
			if tt.fault != nil {
				h.fake.FailNext("chat.postMessage", *tt.fault)
			}
			_, err := h.ch.Send(h.ctx, o)
			if tt.ok {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			var de *bot.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send returned %v, want a *bot.DeliveryError", err)
			}
			if de.Permanent != tt.permanent || de.Fixable != tt.fixable || de.RetryAfter != tt.retryAfter {
				t.Errorf("Send: %v (permanent %v, fixable %v, retry after %s); want permanent %v, fixable %v, retry after %s",
					err, de.Permanent, de.Fixable, de.RetryAfter, tt.permanent, tt.fixable, tt.retryAfter)
			}
			if strings.Contains(err.Error(), slacktest.BotToken) {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

// TestRateLimitedDelivery lets the deliverer retry after a 429.
func TestRateLimitedDelivery(t *testing.T) {
	h := start(t)
	h.fake.FailNext("chat.postMessage", slacktest.Fault{Status: 429, RetryAfter: 1})
	m := h.fake.Post(dmAlice, alice, "こんにちは", "")
	body, _ := h.fake.MessageEvent(m, "im")
	h.event(body)
	h.replies(dmAlice, m.TS, 1)
	if got := h.settled(dmAlice, m.TS); len(got) != 1 {
		t.Errorf("%d replies, want 1", len(got))
	}
}

// TestSocketMode drives the channel through a Socket Mode connection: a DM, a slash
// command and a button press, each acknowledged after it is stored.
func TestSocketMode(t *testing.T) {
	h := start(t)
	h.socketMode()
	wctx, wcancel := h.wait()
	defer wcancel()
	send := func(e slacktest.Envelope) json.RawMessage {
		t.Helper()
		id, err := h.fake.Send(wctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ack, err := h.fake.WaitAck(wctx, id)
		if err != nil {
			t.Fatalf("no ack for %s: %v", e.Type, err)
		}
		return ack
	}

	m := h.fake.Post(dmAlice, alice, "こんにちは", "")
	body, _ := h.fake.MessageEvent(m, "im")
	send(slacktest.Envelope{Type: "events_api", Payload: body})
	h.replies(dmAlice, m.TS, 1)
	// A redelivered envelope is acknowledged and has no second effect.
	send(slacktest.Envelope{Type: "events_api", Payload: body, RetryAttempt: 1})

	ack := send(slacktest.Envelope{Type: "slash_commands", Payload: slacktest.JSON(h.fake.SlashCommand(support, bob, "/giftdesk", ""))})
	if string(ack) != "null" {
		t.Errorf("command ack payload %s, want none", ack)
	}
	root := h.fake.Messages(support)[0]
	q := h.replies(support, root.TS, 1)[0]
	payload, err := h.fake.BlockActions(q, bob, choiceCheckout)
	if err != nil {
		t.Fatal(err)
	}
	send(slacktest.Envelope{Type: "interactive", Payload: payload})
	msgs := h.replies(support, root.TS, 2)
	mustContain(t, "advice", msgs[1].Plain(), "# ", "1. ", "Did that solve it?")

	ack = send(slacktest.Envelope{Type: "slash_commands", Payload: slacktest.JSON(h.fake.SlashCommand(elsewhere, bob, "/giftdesk", ""))})
	if !strings.Contains(string(ack), "ephemeral") {
		t.Errorf("command ack payload %s, want an ephemeral answer", ack)
	}
	// An event type slack-go does not know is acknowledged and ignored.
	unknown, _ := h.fake.EventCallback(map[string]any{"type": "brand_new_event", "user": bob})
	send(slacktest.Envelope{Type: "events_api", Payload: unknown})

	if got := h.settled(dmAlice, m.TS); len(got) != 1 {
		t.Errorf("%d replies to the DM, want 1", len(got))
	}
}

// TestSocketModeNeedsAppToken checks RunSocketMode refuses to run without an app token.
func TestSocketModeNeedsAppToken(t *testing.T) {
	h := start(t)
	ch, err := slack.New(slack.Config{BotToken: slacktest.BotToken, APIURL: h.fake.URL(), Inbox: h.inbox, Conversations: h.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.RunSocketMode(h.ctx); err == nil {
		t.Error("RunSocketMode without an app token returned nil")
	}
}

// TestSSLCheck: Slack's certificate check of the slash command URL (ssl_check=1) is
// answered 200 quietly: no dead letter, no event, no warning.
func TestSSLCheck(t *testing.T) {
	h := start(t)
	code, _ := h.command(url.Values{"ssl_check": {"1"}, "token": {"gIkuvaNzQIHg97ATvDxqgjtO"}})
	if code != http.StatusOK {
		t.Errorf("answered %d, want 200", code)
	}
	if calls, fresh, _, dead := h.inbox.counts(); calls != 0 || fresh != 0 || dead != 0 {
		t.Errorf("inbox got %d calls, %d events, %d dead letters; want none", calls, fresh, dead)
	}
	if logs := h.logs.String(); strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "outcome=ssl_check") {
		t.Errorf("log, want one quiet ssl_check request:\n%s", logs)
	}
}
