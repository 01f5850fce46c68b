package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

const slackSecret = "test-slack-signing-secret"

// startSlackServe runs giftdesk serve with Slack alone, against fake, and returns its base
// URL.
func startSlackServe(t *testing.T, fake *slacktest.Server, extra map[string]string) string {
	t.Helper()
	env := map[string]string{
		"GIFTDESK_DB":         filepath.Join(t.TempDir(), "giftdesk.db"),
		"GIFTDESK_LOG_FORMAT": "text",
		"SLACK_BOT_TOKEN":     slacktest.BotToken,
		"SLACK_API_URL":       fake.URL(),
	}
	for k, v := range extra {
		env[k] = v
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() { done <- runServe(ctx, func(k string) string { return env[k] }, &logs, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), slacktest.BotToken) || strings.Contains(logs.String(), slackSecret) {
			t.Errorf("a Slack secret reached the log")
		}
	})
	url := "http://" + l.Addr().String()
	waitReady(t, url)
	return url
}

func newSlackFake(t *testing.T) *slacktest.Server {
	fake := slacktest.NewServer()
	t.Cleanup(fake.Close)
	fake.AddUser(slacktest.User{ID: "U0BOB", Name: "bob", RealName: "Bob", Locale: "en-US"})
	fake.Join("C0SUPPORT")
	return fake
}

func TestServeSlackSocketMode(t *testing.T) {
	fake := newSlackFake(t)
	startSlackServe(t, fake, map[string]string{"SLACK_APP_TOKEN": slacktest.AppToken})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := fake.Post("D0BOB", "U0BOB", "my gift card code is invalid", "")
	body, _ := fake.MessageEvent(m, "im")
	id, err := fake.Send(ctx, slacktest.Envelope{Type: "events_api", Payload: body})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(ctx, id); err != nil {
		t.Fatalf("no ack: %v", err)
	}
	msgs, err := fake.WaitReplies(ctx, "D0BOB", m.TS, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs[0].Buttons()) == 0 {
		t.Errorf("want a question, got:\n%s", msgs[0].Plain())
	}
}

func TestServeSlackHTTP(t *testing.T) {
	fake := newSlackFake(t)
	base := startSlackServe(t, fake, map[string]string{"SLACK_SIGNING_SECRET": slackSecret})
	post := func(path string, body []byte, secret string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header = slacktest.Sign(secret, body, time.Now())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	cmd := []byte(fake.SlashCommand("C0SUPPORT", "U0BOB", "/giftdesk", "").Encode())
	if code := post("/slack/commands", cmd, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("badly signed command answered %d, want 401", code)
	}
	if code := post("/slack/commands", cmd, slackSecret); code != http.StatusOK {
		t.Fatalf("command answered %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	root := fake.Messages("C0SUPPORT")[0]
	msgs, err := fake.WaitReplies(ctx, "C0SUPPORT", root.TS, 1)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := fake.BlockActions(msgs[0], "U0BOB", "o:start:checkout_select")
	if err != nil {
		t.Fatal(err)
	}
	if code := post("/slack/interactivity", []byte(slacktest.InteractivityForm(payload).Encode()), slackSecret); code != http.StatusOK {
		t.Fatalf("click answered %d", code)
	}
	if msgs, err = fake.WaitReplies(ctx, "C0SUPPORT", root.TS, 2); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msgs[1].Plain(), "Did that solve it?") {
		t.Errorf("want advice, got:\n%s", msgs[1].Plain())
	}
}

func TestServeSlackConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error; empty for none
	}{
		{"socket mode", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, ""},
		{"http mode", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, ""},
		{"both and LINE", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "xapp-1",
			"LINE_CHANNEL_SECRET": "a", "LINE_CHANNEL_ACCESS_TOKEN": "b"}, ""},
		{"nothing, web off", map[string]string{"GIFTDESK_WEB": "off"}, "no channel configured"},
		{"no bot token", map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN is not set"},
		{"bot token only", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "neither SLACK_APP_TOKEN"},
		{"user token", map[string]string{"SLACK_BOT_TOKEN": "xoxp-secret", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN: want"},
		{"swapped tokens", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-secret"}, "SLACK_APP_TOKEN: want"},
		{"API URL", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": "https://slack.example/api"}, "SLACK_API_URL="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadServeConfig(func(k string) string { return tt.env[k] })
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "secret"):
				t.Errorf("a token is quoted in the error: %v", err)
			}
		})
	}
}

// TestServeSlackForeign sends a correctly signed event of another workspace and app:
// acknowledged, not answered, counted in the metrics.
func TestServeSlackForeign(t *testing.T) {
	fake := newSlackFake(t)
	base := startSlackServe(t, fake, map[string]string{"SLACK_SIGNING_SECRET": slackSecret})
	m := fake.Post("D0BOB", "U0BOB", "my gift card code is invalid", "")
	body, _ := fake.MessageEvent(m, "im")
	body = bytes.ReplaceAll(bytes.ReplaceAll(body, []byte(slacktest.TeamID), []byte("T0OTHER")), []byte(slacktest.AppID), []byte("A0OTHER"))
	req, _ := http.NewRequest(http.MethodPost, base+"/slack/events", bytes.NewReader(body))
	req.Header = slacktest.Sign(slackSecret, body, time.Now())
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("foreign event answered %d, want 200", res.StatusCode)
	}
	res, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := `giftdesk_webhooks_total{channel="slack",outcome="foreign"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %s", want)
	}
	if got := fake.Replies("D0BOB", m.TS); len(got) != 0 {
		t.Errorf("the foreign event was answered: %v", got)
	}
}

// TestServeSlackTokenRefused checks that a bot token Slack refuses stops start-up.
func TestServeSlackTokenRefused(t *testing.T) {
	fake := newSlackFake(t)
	fake.FailNext("auth.test", slacktest.Fault{Error: "invalid_auth"})
	env := map[string]string{
		"GIFTDESK_DB": filepath.Join(t.TempDir(), "giftdesk.db"), "SLACK_BOT_TOKEN": slacktest.BotToken,
		"SLACK_API_URL": fake.URL(), "SLACK_SIGNING_SECRET": slackSecret,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var logs syncBuffer
	err = runServe(context.Background(), func(k string) string { return env[k] }, &logs, l)
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("serve: %v, want an error naming SLACK_BOT_TOKEN and invalid_auth", err)
	}
}
