package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// desk is giftdesk serve with LINE and Slack, on the fakes of both APIs.
type desk struct {
	*lineServer
	slack *slacktest.Server
}

func startDesk(t *testing.T, fake *linetest.Server, slack *slacktest.Server, db string, extra map[string]string) *desk {
	t.Helper()
	env := map[string]string{
		"GIFTDESK_DB": db, "LINE_CHANNEL_SECRET": testSecret, "LINE_CHANNEL_ACCESS_TOKEN": fake.Token(),
		"LINE_API_BASE_URL": fake.URL(), "SLACK_BOT_TOKEN": slacktest.BotToken, "SLACK_SIGNING_SECRET": slackSecret,
		"SLACK_API_URL": slack.URL(), "SLACK_HANDOFF_CHANNEL": "CHANDOFF", "GIFTDESK_BUSINESS_HOURS": "always",
	}
	for k, v := range extra {
		env[k] = v
	}
	var logs syncBuffer
	s := startServeWith(t, fake, env, &logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &desk{lineServer: s, slack: slack}
}

// slackPost sends a signed Slack request; retry > 0 marks it as Slack's retry.
func (d *desk) slackPost(path, contentType string, body []byte, retry int) int {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url+path, bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range slacktest.Sign(slackSecret, body, time.Now()) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", string(rune('0'+retry)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// press presses the ticket button of m for action ("claim", "resolve", "return") as user
// and returns the status (0 when there is no such button).
func (d *desk) press(m slacktest.Message, user, action string) int {
	for _, b := range m.Buttons() {
		if strings.HasPrefix(b.Value, "t:"+action+":") {
			payload, err := d.slack.BlockActions(m, user, b.Value)
			if err != nil {
				return 0
			}
			form := slacktest.InteractivityForm(payload)
			return d.slackPost("/slack/interactivity", "application/x-www-form-urlencoded", []byte(form.Encode()), 0)
		}
	}
	return 0
}

// agentSays posts an agent's message in the ticket thread, delivered once and retried once.
func (d *desk) agentSays(root slacktest.Message, user, text string) {
	d.t.Helper()
	m := d.slack.Post(root.Channel, user, text, root.TS)
	body, _ := d.slack.MessageEvent(m, "channel")
	for retry := range 2 {
		if code := d.slackPost("/slack/events", "application/json", body, retry); code != http.StatusOK {
			d.t.Fatalf("Slack event answered %d", code)
		}
	}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestHandoffEndToEnd: a LINE customer asks for a person; the ticket is posted in Slack;
// two agents claim at once and one wins; giftdesk restarts mid-hand-off; the agent's reply
// (retried by Slack) reaches the customer once; a note stays internal; the customer's
// answer, with a gift-card code in it, appears masked in the thread; the agent resolves;
// the customer rates; the bot answers again.
func TestHandoffEndToEnd(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	slack.AddMembers("CHANDOFF", "UALICE", "UBOB") // ticket buttons count for members only
	slack.AddUser(slacktest.User{ID: "UALICE", Name: "alice", DisplayName: "アリス"})
	slack.AddUser(slacktest.User{ID: "UBOB", Name: "bob", DisplayName: "ボブ"})
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	d := startDesk(t, fake, slack, db, nil)
	customer := "U" + strings.Repeat("e", 32)
	fake.SetProfile(customer, linetest.Profile{DisplayName: "山田花子", Language: "ja"})

	msgs := d.say(customer, d.textEvent(customer, "こんにちは"), 2)
	msgs = d.say(customer, d.textEvent(customer, "担当者と話したい"), len(msgs)+1)
	if !strings.Contains(texts(msgs), "担当者") {
		t.Fatalf("no hand-off notice:\n%s", texts(msgs))
	}
	ctx := waitCtx(t)
	roots, err := slack.WaitMessages(ctx, "CHANDOFF", 1)
	if err != nil {
		t.Fatalf("no ticket posted: %v", err)
	}
	root := roots[0]
	wantIn(t, "ticket", root.Plain(), "山田花子", "Claim")
	waitLinked(t, db, root)

	// Two agents claim at once: exactly one wins.
	var wg sync.WaitGroup
	for _, agent := range []string{"UALICE", "UBOB"} {
		wg.Go(func() {
			if code := d.press(root, agent, "claim"); code != http.StatusOK {
				t.Errorf("claim by %s answered %d", agent, code)
			}
		})
	}
	wg.Wait()
	claimed, err := slack.WaitUpdated(ctx, "CHANDOFF", root.TS, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slack.WaitReplies(ctx, "CHANDOFF", root.TS, 1); err != nil {
		t.Fatalf("the losing agent was not told: %v", err)
	}
	alice, bob := strings.Contains(claimed.Plain(), "UALICE"), strings.Contains(claimed.Plain(), "UBOB")
	if alice == bob {
		t.Fatalf("claimed by alice %v, bob %v; want exactly one:\n%s", alice, bob, claimed.Plain())
	}
	winner := "UALICE"
	if bob {
		winner = "UBOB"
	}

	// giftdesk restarts in the middle of the hand-off.
	d.stop()
	d = startDesk(t, fake, slack, db, nil)

	before := len(fake.Delivered(customer))
	d.agentSays(root, winner, "お待たせしました。*確認*します <https://example.com|こちら>")
	got, err := fake.WaitDelivered(ctx, customer, before+1)
	if err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1]; last.Text != "お待たせしました。確認します こちら (https://example.com)" && !strings.Contains(last.Text, "確認") {
		t.Errorf("agent's reply reached the customer as %q", last.Text)
	}
	d.agentSays(root, winner, "note: 出品者に確認中")
	code := "ABCD-EFGH12-JKLM3"
	d.say(customer, d.textEvent(customer, "コードは "+code+" です"), before+1)
	thread, err := slack.WaitReplies(ctx, "CHANDOFF", root.TS, 2)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, m := range thread {
		all.WriteString(m.Plain() + "\n")
	}
	if !strings.Contains(all.String(), "****-KLM3") || strings.Contains(all.String(), "EFGH12") {
		t.Errorf("the customer's code in the thread is not masked:\n%s", all.String())
	}
	d.waitDrained() // a retried Slack event or a note would have been answered by now
	delivered := fake.Delivered(customer)
	if n := len(delivered); n != before+1 {
		t.Errorf("the customer saw %d messages after the agent's reply, want exactly 1 (no retry, no note):\n%s", n-before, texts(delivered[before:]))
	}

	// Resolve → rating → the bot again.
	current, _ := slack.Message("CHANDOFF", root.TS)
	if code := d.press(current, winner, "resolve"); code != http.StatusOK {
		t.Fatalf("resolve answered %d", code)
	}
	rated, err := fake.WaitDelivered(ctx, customer, len(delivered)+2)
	if err != nil {
		t.Fatal(err)
	}
	msgs = d.say(customer, d.postbackEvent(customer, quick(t, rated, "★★★★★")), len(rated)+1)
	wantIn(t, "after rating", texts(msgs[len(rated):]), "ご評価ありがとうございました")
	msgs = d.say(customer, d.textEvent(customer, "こんにちは"), len(msgs)+1)
	wantIn(t, "bot again", texts(msgs[len(msgs)-1:]), "どのような状況ですか")
	d.waitDrained() // the rating's update of the ticket is delivered
	final, _ := slack.Message("CHANDOFF", root.TS)
	if len(final.Buttons()) > 0 || !strings.Contains(final.Plain(), "★") {
		t.Errorf("the resolved ticket still offers Claim or shows no rating:\n%s", final.Plain())
	}
}

// TestHandoffUnfollowAndWait: a ticket nobody claims tells the customer after the wait; a
// customer who then blocks the account closes the ticket with a note in its thread.
func TestHandoffUnfollowAndWait(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	d := startDesk(t, fake, slack, filepath.Join(t.TempDir(), "giftdesk.db"),
		map[string]string{"GIFTDESK_HANDOFF_WAIT": "1ms", "GIFTDESK_SWEEP_EVERY": "100ms"})
	customer := "U" + strings.Repeat("f", 32)
	msgs := d.say(customer, d.textEvent(customer, "hello"), 2)
	d.say(customer, d.textEvent(customer, "agent"), len(msgs)+1)
	ctx := waitCtx(t)
	roots, err := slack.WaitMessages(ctx, "CHANDOFF", 1)
	if err != nil {
		t.Fatal(err)
	}
	wait, err := fake.WaitDelivered(ctx, customer, len(msgs)+2)
	if err != nil {
		t.Fatalf("no wait notice: %v", err)
	}
	wantIn(t, "wait notice", texts(wait[len(wait)-1:]), "Keep waiting", "Self-help steps")

	unfollow := d.userEvent(customer, "unfollow", nil)
	delete(unfollow, "replyToken")
	if code := d.post(unfollow); code != http.StatusOK {
		t.Fatalf("unfollow answered %d", code)
	}
	thread, err := slack.WaitReplies(ctx, "CHANDOFF", roots[0].TS, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, "unfollow note", thread[0].Plain(), "ブロック")
}

// waitLinked waits until giftdesk has recorded the ticket's thread (just after posting
// it), as an agent could hardly press a button sooner.
func waitLinked(t *testing.T, db string, root slacktest.Message) {
	t.Helper()
	st, err := sqlite.New(context.Background(), sqlite.Config{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := settle.Until(ctx, func() (bool, error) {
		_, _, err := st.ThreadTicket(ctx, root.Channel+":"+root.TS)
		return err == nil, nil
	}); err != nil {
		t.Fatalf("ticket %s was never linked: %v", root.TS, err)
	}
}

func wantIn(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}
