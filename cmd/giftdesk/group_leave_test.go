package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// TestServeLineGroupLeaveHandoff: the bot removed from a group (LINE leave) while the
// group's conversation has a ticket open closes the ticket, and the thread says the bot
// was removed — not that the customer blocked it, as an unfollow does.
func TestServeLineGroupLeaveHandoff(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	slack.AddMembers("CHANDOFF", "UALICE")
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	d := startDesk(t, fake, slack, db, nil)
	const group = "C" + "fedcba9876543210fedcba9876543210"

	msgs := d.say(group, d.groupEvent(group, "", "join", nil), 1)
	d.say(group, d.groupEvent(group, "", "message", mention("担当者と話したい")), len(msgs)+1)
	roots, err := slack.WaitMessages(waitCtx(t), "CHANDOFF", 1)
	if err != nil {
		t.Fatalf("no ticket posted: %v", err)
	}
	root := roots[0]
	waitLinked(t, db, root)
	if code := d.post(d.groupEvent(group, "", "leave", nil)); code != http.StatusOK {
		t.Fatalf("leave answered %d", code)
	}
	threadSays(t, slack, root, "ボットがグループトークから退出させられました")
	d.waitDrained()
	for _, m := range slack.Replies(root.Channel, root.TS) {
		if strings.Contains(m.Plain(), "ブロック") {
			t.Errorf("the thread says the customer blocked the bot: %s", m.Plain())
		}
	}
}
