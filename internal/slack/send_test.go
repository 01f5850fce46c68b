package slack_test

import (
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/sendertest"
	"github.com/giftdesk/giftdesk/internal/slack"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// TestSenderContract runs the contract every channel's sender keeps against the fake
// Slack, posting in one thread.
func TestSenderContract(t *testing.T) {
	sendertest.Run(t, func(t *testing.T, client *http.Client) sendertest.Target {
		fake := slacktest.NewServer()
		t.Cleanup(fake.Close)
		fake.Join(support)
		root := fake.Post(support, "U0CUSTOMER", "ギフト券が使えません", "")
		store, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "x.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		ch, err := slack.New(slack.Config{BotToken: slacktest.BotToken, SigningSecret: secret, AppToken: slacktest.AppToken,
			APIURL: fake.URL(), HTTPClient: client, Inbox: store, Conversations: store})
		if err != nil {
			t.Fatal(err)
		}
		addr := support + ":" + root.TS
		var seq atomic.Int64
		return sendertest.Target{
			Sender: ch,
			Outgoing: func(msgs ...bot.Message) bot.Outgoing {
				n := seq.Add(1)
				return bot.Outgoing{ID: n, Key: bot.Key{Channel: slack.Name, User: addr}, EventID: "slack:Ev" + root.TS,
					Seq: int(n), Address: addr, EventAt: time.Now(), Messages: msgs}
			},
			Delivered: func() []string {
				var out []string
				for _, m := range fake.Replies(support, root.TS) {
					out = append(out, m.Plain())
				}
				return out
			},
			FailNext: func(status int) {
				f := slacktest.Fault{Status: status}
				if status == http.StatusTooManyRequests {
					f.RetryAfter = 1
				}
				fake.FailNext("chat.postMessage", f)
			},
			Secrets: []string{slacktest.BotToken, slacktest.AppToken, secret},
		}
	})
}
