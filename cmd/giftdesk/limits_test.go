package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// TestTicketsPerHour: a customer who asks for a person and starts over, eight times,
// opens three tickets; the rest are noted in the last ticket's thread.
func TestTicketsPerHour(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	d := startDesk(t, fake, slack, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	customer := "U" + strings.Repeat("c", 32)
	var msgs []linetest.Message
	for range 8 {
		msgs = d.say(customer, d.textEvent(customer, "担当者と話したい"), len(msgs)+1)
		msgs = d.say(customer, d.textEvent(customer, "最初から"), len(msgs)+1)
	}
	if got := strings.Count(texts(msgs), "担当者へのご依頼が短い間に続いたため"); got != 5 {
		t.Errorf("%d requests refused, want 5:\n%s", got, texts(msgs))
	}
	ctx := waitCtx(t)
	roots, err := slack.WaitMessages(ctx, "CHANDOFF", 3)
	if err != nil {
		t.Fatal(err)
	}
	// The notes come after the third root, in its thread: once they are there, every
	// root that was to be posted is.
	if _, err := slack.WaitReplies(ctx, "CHANDOFF", roots[2].TS, 5); err != nil {
		t.Fatalf("the refused requests are not noted in the last ticket's thread: %v", err)
	}
	n := 0
	for _, m := range slack.Messages("CHANDOFF") {
		if m.ThreadTS == "" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d ticket roots, want 3", n)
	}
}
