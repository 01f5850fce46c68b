package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// loadingsFor counts the loading animations the fake accepted for chat.
func loadingsFor(fake *linetest.Server, chat string) int {
	n := 0
	for _, l := range fake.Loadings() {
		if l.ChatID == chat {
			n++
		}
	}
	return n
}

// TestServeLineLoading: giftdesk serve shows the loading animation in a one-to-one chat
// when the answer will not be immediate: a backlog (several events at once, or one that
// waited), a retry after LINE failed, a message for the agent during a hand-off.
func TestServeLineLoading(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	d := startDesk(t, fake, slack, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	ctx := waitCtx(t)
	shown := func(what, chat string) {
		t.Helper()
		if err := fake.WaitFor(ctx, func() bool { return loadingsFor(fake, chat) > 0 }); err != nil {
			t.Errorf("%s: no loading animation for %s: %v", what, chat, err)
		}
	}

	t.Run("several events at once", func(t *testing.T) {
		user := "U" + strings.Repeat("1", 32)
		if code := d.post(d.textEvent(user, "こんにちは"), d.textEvent(user, "ギフト券が"), d.textEvent(user, "使えません")); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
		shown("backlog", user)
		d.waitDrained() // the next subtest's failure must hit its own reply
	})
	t.Run("event that waited", func(t *testing.T) {
		user := "U" + strings.Repeat("2", 32)
		ev := d.textEvent(user, "こんにちは")
		ev["timestamp"] = time.Now().Add(-3 * time.Second).UnixMilli()
		d.say(user, ev, 1)
		shown("waited", user)
		d.waitDrained()
	})
	t.Run("retry after a LINE error", func(t *testing.T) {
		user := "U" + strings.Repeat("3", 32)
		fake.FailNext(linetest.PathReply, http.StatusInternalServerError, 1)
		d.say(user, d.textEvent(user, "こんにちは"), 1)
		shown("retry", user)
	})
	t.Run("hand-off", func(t *testing.T) {
		user := "U" + strings.Repeat("4", 32)
		msgs := d.say(user, d.textEvent(user, "こんにちは"), 2)
		msgs = d.say(user, d.textEvent(user, "担当者と話したい"), len(msgs)+1)
		if _, err := slack.WaitMessages(ctx, "CHANDOFF", 1); err != nil {
			t.Fatalf("no ticket: %v", err)
		}
		d.waitDrained()
		before := loadingsFor(fake, user)
		if code := d.post(d.textEvent(user, "まだですか")); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
		if err := fake.WaitFor(ctx, func() bool { return loadingsFor(fake, user) > before }); err != nil {
			t.Errorf("no loading animation while the agent is asked:\n%s", texts(msgs))
		}
	})
	if len(fake.Errors()) > 0 {
		t.Errorf("invalid requests: %+v", fake.Errors())
	}
}
