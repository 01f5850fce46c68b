package line

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/sendertest"
)

// TestDeliveryErrorClassification pins how Send classifies LINE's answers to a push, with
// the real SDK against the fake: which failures are permanent, which are parked for an operator (fixable), which are retried (and
// after how long LINE asked), and which count as delivered. Profile classifies the same
// way (deliveryError).
func TestDeliveryErrorClassification(t *testing.T) {
	const user = "U0123456789abcdef0123456789abcdef"
	tests := []struct {
		name       string
		status     int  // LINE's answer to the push; 0: it answers too late
		delivered  bool // Send returns "push" and no error
		permanent  bool
		fixable    bool // parked until an operator fixes the token or permission
		retryAfter time.Duration
	}{
		{name: "400 bad request", status: http.StatusBadRequest, permanent: true},
		{name: "401 unauthorized", status: http.StatusUnauthorized, fixable: true},
		{name: "403 forbidden", status: http.StatusForbidden, fixable: true},
		{name: "404 not found", status: http.StatusNotFound, permanent: true},
		{name: "409 retry key already accepted", status: http.StatusConflict, delivered: true},
		{name: "429 rate limited", status: http.StatusTooManyRequests, retryAfter: time.Second},
		{name: "500 internal error", status: http.StatusInternalServerError},
		{name: "503 unavailable", status: http.StatusServiceUnavailable},
		{name: "timeout", status: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := linetest.New(t, linetest.Config{})
			client := fake.HTTPClient()
			if tt.status == 0 {
				fake.SetLatency(5 * time.Second)
				client = &http.Client{Timeout: 50 * time.Millisecond, Transport: client.Transport}
			} else {
				fake.FailNext(linetest.PathPush, tt.status, 1)
			}
			c, err := New(Config{ChannelSecret: secret, AccessToken: fake.Token(), APIBaseURL: fake.URL(),
				HTTPClient: client, Inbox: nopInbox{}})
			if err != nil {
				t.Fatal(err)
			}
			out := bot.Outgoing{ID: 1, Key: bot.Key{Channel: Name, User: user}, EventID: "line:01EV", Address: user,
				EventAt: time.Now(), Messages: []bot.Message{{Kind: bot.MsgText, Text: "こんにちは"}}}
			outcome, err := c.Send(t.Context(), out)
			if tt.delivered {
				if err != nil || outcome != "push" {
					t.Fatalf("Send = %q, %v; want push, delivered", outcome, err)
				}
				return
			}
			var de *bot.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send = %q, %v; want a *bot.DeliveryError", outcome, err)
			}
			if de.Permanent != tt.permanent || bot.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", de.Permanent, tt.permanent, err)
			}
			if de.Fixable != tt.fixable {
				t.Errorf("fixable = %v, want %v (%v)", de.Fixable, tt.fixable, err)
			}
			if de.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", de.RetryAfter, tt.retryAfter)
			}
			if strings.Contains(err.Error(), fake.Token()) {
				t.Errorf("the error %q holds the access token", err)
			}
		})
	}
}

// TestSenderContract runs the contract every channel's sender keeps against the fake
// LINE API, pushing to one user.
func TestSenderContract(t *testing.T) {
	sendertest.Run(t, func(t *testing.T, client *http.Client) sendertest.Target {
		const user = "U0123456789abcdef0123456789abcdef"
		fake := linetest.New(t, linetest.Config{})
		c, err := New(Config{ChannelSecret: secret, AccessToken: fake.Token(), APIBaseURL: fake.URL(),
			HTTPClient: client, Inbox: nopInbox{}})
		if err != nil {
			t.Fatal(err)
		}
		var seq atomic.Int64
		return sendertest.Target{
			Sender: c,
			Outgoing: func(msgs ...bot.Message) bot.Outgoing {
				n := seq.Add(1)
				return bot.Outgoing{ID: n, Key: bot.Key{Channel: Name, User: user}, EventID: fmt.Sprintf("line:01EV%d", n),
					Address: user, EventAt: time.Now(), Messages: msgs}
			},
			Delivered: func() []string {
				var out []string
				for _, m := range fake.Delivered(user) {
					out = append(out, m.Text+"\n"+m.AltText+"\n"+string(m.Raw))
				}
				return out
			},
			FailNext: func(status int) { fake.FailNext(linetest.PathPush, status, 1) },
			Secrets:  []string{fake.Token(), secret},
		}
	})
}
