package slacktest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", "hello", true},
		{"entities", "a &amp; b &lt;c&gt;", true},
		{"user mention", "<@U1> hi", true},
		{"link", "<https://example.com|x>", true},
		{"raw ampersand", "a & b", false},
		{"raw less than", "a < b", false},
		{"raw greater than", "a > b", false},
		{"broadcast", "<!channel> hi", false},
		{"here", "<!here>", false},
		{"group", "<!subteam^S1>", false},
		{"not a reference", "<script>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if probs := CheckText(tt.in); (len(probs) == 0) != tt.ok {
				t.Errorf("CheckText(%q) = %v, want ok %v", tt.in, probs, tt.ok)
			}
		})
	}
}

func TestCheckBlocks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"section", `[{"type":"section","text":{"type":"mrkdwn","text":"hi","verbatim":true}}]`, true},
		{"not verbatim", `[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`, false},
		{"empty section", `[{"type":"section","text":{"type":"mrkdwn","text":" ","verbatim":true}}]`, false},
		{"long section", `[{"type":"section","text":{"type":"plain_text","text":"` + strings.Repeat("x", 3001) + `"}}]`, false},
		{"long button", `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"` + strings.Repeat("x", 76) + `"}}]}]`, false},
		{"duplicate action", `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"x"}},{"type":"button","action_id":"a","text":{"type":"plain_text","text":"y"}}]}]`, false},
		{"long value", `[{"type":"actions","elements":[{"type":"button","action_id":"a","value":"` + strings.Repeat("v", 2001) + `","text":{"type":"plain_text","text":"x"}}]}]`, false},
		{"51 blocks", "[" + strings.TrimSuffix(strings.Repeat(`{"type":"divider"},`, 51), ",") + "]", false},
		{"unknown block", `[{"type":"marquee"}]`, false},
		{"fields", `[{"type":"section","fields":[{"type":"mrkdwn","text":"*a*\nb","verbatim":true}]}]`, true},
		{"unescaped field", `[{"type":"section","fields":[{"type":"mrkdwn","text":"a < b","verbatim":true}]}]`, false},
		{"11 fields", `[{"type":"section","fields":[` + strings.TrimSuffix(strings.Repeat(`{"type":"plain_text","text":"x"},`, 11), ",") + `]}]`, false},
		{"confirm", `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"x"},"confirm":{"title":{"type":"plain_text","text":"Sure?"},"text":{"type":"plain_text","text":"Really"},"confirm":{"type":"plain_text","text":"Yes"},"deny":{"type":"plain_text","text":"No"}}}]}]`, true},
		{"confirm without deny", `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"x"},"confirm":{"title":{"type":"plain_text","text":"Sure?"},"text":{"type":"plain_text","text":"Really"},"confirm":{"type":"plain_text","text":"Yes"}}}]}]`, false},
		{"not JSON", `[`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if probs := CheckBlocks([]byte(tt.in)); (len(probs) == 0) != tt.ok {
				t.Errorf("CheckBlocks = %v, want ok %v", probs, tt.ok)
			}
		})
	}
}

// TestServer drives the fake with slack-go's client.
func TestServer(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.Join("C1")
	s.AddUser(User{ID: "U1", Name: "alice", DisplayName: "Alice", Locale: "en-US"})
	api := slackapi.New(BotToken, slackapi.OptionAPIURL(s.URL()))
	ctx := context.Background()

	_, ts1, err := api.PostMessageContext(ctx, "C1", slackapi.MsgOptionText("one", false))
	if err != nil {
		t.Fatal(err)
	}
	_, ts2, err := api.PostMessageContext(ctx, "C1", slackapi.MsgOptionText("two", false), slackapi.MsgOptionTS(ts1))
	if err != nil {
		t.Fatal(err)
	}
	if ts1 == ts2 || ts2 < ts1 {
		t.Errorf("ts %s then %s, want distinct and increasing", ts1, ts2)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts2, slackapi.MsgOptionText("two!", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message("C1", ts2); m.Text != "two!" || m.Updates != 1 {
		t.Errorf("updated message %+v", m)
	}
	if got := s.Replies("C1", ts1); len(got) != 1 || got[0].TS != ts2 {
		t.Errorf("replies %+v", got)
	}
	u, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil || u.Locale != "en-US" || u.Profile.DisplayName != "Alice" {
		t.Errorf("users.info = %+v, %v", u, err)
	}

	// conversations.history lists the top of the channel, newest first, blocks included.
	_, ts3, err := api.PostMessageContext(ctx, "C1", slackapi.MsgOptionText("three", false),
		slackapi.MsgOptionBlocks(slackapi.NewSectionBlock(slackapi.NewTextBlockObject("mrkdwn", "three", false, true), nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	hist, err := api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{ChannelID: "C1", Latest: ts3, Inclusive: true, Limit: 1})
	if err != nil || len(hist.Messages) != 1 || hist.Messages[0].Timestamp != ts3 || len(hist.Messages[0].Blocks.BlockSet) != 1 ||
		hist.Messages[0].Blocks.BlockSet[0].ID() == "" {
		t.Errorf("conversations.history up to %s = %+v, %v", ts3, hist, err)
	}
	hist, err = api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{ChannelID: "C1", Latest: ts3})
	if err != nil || len(hist.Messages) != 1 || hist.Messages[0].Timestamp != ts1 {
		t.Errorf("conversations.history before %s = %+v, %v; want only %s (not the reply)", ts3, hist, err, ts1)
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C1", ts3); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Message("C1", ts3); ok {
		t.Errorf("deleted message still there")
	}

	refusals := []struct {
		name string
		call func() error
		want string
	}{
		{"not in channel", func() error {
			_, _, err := api.PostMessageContext(ctx, "C2", slackapi.MsgOptionText("x", false))
			return err
		}, "not_in_channel"},
		{"no thread", func() error {
			_, _, err := api.PostMessageContext(ctx, "C1", slackapi.MsgOptionText("x", false), slackapi.MsgOptionTS("1.000001"))
			return err
		}, "thread_not_found"},
		{"unescaped text", func() error {
			_, _, err := api.PostMessageContext(ctx, "C1", slackapi.MsgOptionText("<!channel>", false))
			return err
		}, "invalid_text"},
		{"wrong token", func() error {
			_, err := slackapi.New("xoxb-wrong", slackapi.OptionAPIURL(s.URL())).AuthTestContext(ctx)
			return err
		}, "invalid_auth"},
		{"history of a channel the bot is not in", func() error {
			_, err := api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{ChannelID: "C2"})
			return err
		}, "not_in_channel"},
		{"delete of someone else's message", func() error {
			m := s.Post("C1", "U1", "mine", "")
			_, _, err := api.DeleteMessageContext(ctx, "C1", m.TS)
			return err
		}, "cant_delete_message"},
		{"update of someone else's message", func() error {
			m := s.Post("C1", "U1", "mine", "")
			_, _, _, err := api.UpdateMessageContext(ctx, "C1", m.TS, slackapi.MsgOptionText("x", false))
			return err
		}, "cant_update_message"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			if err := r.call(); err == nil || err.Error() != r.want {
				t.Errorf("got %v, want %s", err, r.want)
			}
		})
	}

	s.FailNext("chat.postMessage", Fault{Status: http.StatusTooManyRequests, RetryAfter: 3})
	_, _, err = api.PostMessageContext(ctx, "C1", slackapi.MsgOptionText("x", false))
	var rl *slackapi.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
		t.Errorf("got %v, want a rate limit of 3s", err)
	}
}
