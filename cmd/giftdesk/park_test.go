package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// TestParkedUntilFixed: messages that a fixable error stopped (LINE's 401 for a rotated
// token, Slack's not_in_channel) wait and go out once the cause is fixed, instead of being
// given up.
func TestParkedUntilFixed(t *testing.T) {
	t.Run("line token revoked", func(t *testing.T) {
		fake := linetest.New(t, linetest.Config{})
		var logs syncBuffer
		s := startServeWith(t, fake, map[string]string{
			"GIFTDESK_DB": filepath.Join(t.TempDir(), "giftdesk.db"), "LINE_CHANNEL_SECRET": testSecret,
			"LINE_CHANNEL_ACCESS_TOKEN": fake.Token(), "LINE_API_BASE_URL": fake.URL(),
		}, &logs)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("server log:\n%s", logs.String())
			}
		})
		fake.SetRevoked(true)
		const customers = 10
		users := make([]string, customers)
		for i := range users {
			users[i] = fmt.Sprintf("U%031x", 0xa00+i)
			if code := s.post(s.textEvent(users[i], "こんにちは")); code != http.StatusOK {
				t.Fatalf("webhook answered %d", code)
			}
		}
		ctx := waitCtx(t)
		// Every customer's answer was tried and refused.
		refused := func() bool {
			n := 0
			for _, c := range fake.Calls() {
				if c.Status == http.StatusUnauthorized && c.Route == linetest.PathReply {
					n++
				}
			}
			return n >= customers
		}
		if err := fake.WaitFor(ctx, refused); err != nil {
			t.Fatalf("the answers were not all tried: %v", err)
		}
		if !strings.Contains(logs.String(), "delivery parked") {
			t.Errorf("no error logged for the parked deliveries")
		}
		fake.SetRevoked(false) // the operator put the new token in place
		for _, u := range users {
			msgs, err := fake.WaitDelivered(ctx, u, 1)
			if err != nil {
				t.Fatalf("customer %s never answered after the token was fixed: %v", u, err)
			}
			if len(msgs) == 0 {
				t.Errorf("customer %s got nothing", u)
			}
		}
		if strings.Contains(logs.String(), "delivery failed") {
			t.Errorf("a delivery was given up:\n%s", logs.String())
		}
	})
	t.Run("slack bot not invited", func(t *testing.T) {
		fake := linetest.New(t, linetest.Config{})
		slack := slacktest.NewServer()
		t.Cleanup(slack.Close)
		d := startDesk(t, fake, slack, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
		customer := "U" + strings.Repeat("f", 32)
		msgs := d.say(customer, d.textEvent(customer, "担当者と話したい"), 1)
		if !strings.Contains(texts(msgs), "担当者") {
			t.Fatalf("no hand-off notice:\n%s", texts(msgs))
		}
		ctx := waitCtx(t)
		// The ticket is tried twice (not_in_channel) before the bot is invited.
		if err := slack.WaitCalls(ctx, "chat.postMessage", 2); err != nil {
			t.Fatalf("the ticket was never tried: %v", err)
		}
		slack.Join("CHANDOFF") // the bot is invited
		roots, err := slack.WaitMessages(ctx, "CHANDOFF", 1)
		if err != nil {
			t.Fatalf("the ticket was never posted after the bot was invited: %v", err)
		}
		wantIn(t, "ticket", roots[0].Plain(), "Claim")
	})
}
