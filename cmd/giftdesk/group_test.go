package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// groupEvent builds a LINE webhook event in group; member is the sender's user id, empty
// for one LINE does not name (a member on LINE for PC, a postback in a group).
func (s *lineServer) groupEvent(group, member, typ string, extra map[string]any) event {
	n := s.seq.Add(1)
	src := map[string]any{"type": "group", "groupId": group}
	if member != "" {
		src["userId"] = member
	}
	e := event{
		"type": typ, "mode": "active", "timestamp": time.Now().UnixMilli(),
		"webhookEventId":  fmt.Sprintf("01HG%016X%06d", rand.Uint64(), n),
		"deliveryContext": map[string]any{"isRedelivery": false},
		"source":          src,
	}
	if typ != "leave" {
		e["replyToken"] = s.fake.IssueReplyToken(group)
	}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

// mention is a group text message that mentions the bot at its start.
func mention(text string) map[string]any {
	const at = "@giftdesk"
	return map[string]any{"message": map[string]any{
		"type": "text", "id": "1", "quoteToken": "q", "text": at + " " + text,
		"mention": map[string]any{"mentionees": []any{map[string]any{"type": "user", "index": 0, "length": len(at), "isSelf": true}}},
	}}
}

// TestServeLineGroup: the bot added to a group greets once, in both languages, saying how
// to ask it; a member LINE does not name (LINE for PC) who mentions it, and a postback in
// the group, are answered in the group, never dead-lettered; leave ends the group's
// conversation. No loading animation is shown in a group.
func TestServeLineGroup(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	s := startServe(t, fake, db, nil)
	const group = "C" + "0123456789abcdef0123456789abcdef"

	msgs := s.say(group, s.groupEvent(group, "", "join", nil), 1)
	greeting := texts(msgs)
	for _, want := range []string{"メンション", "mention me"} {
		if !strings.Contains(greeting, want) {
			t.Errorf("join greeting lacks %q:\n%s", want, greeting)
		}
	}

	msgs = s.say(group, s.groupEvent(group, "", "message", mention("アマゾンギフト券が使えません")), len(msgs)+1)
	choice := quick(t, msgs, "登録方法を知りたい")
	msgs = s.say(group, s.groupEvent(group, "", "postback", map[string]any{"postback": map[string]any{"data": choice}}), len(msgs)+1)
	if code := s.post(s.groupEvent(group, "", "leave", nil)); code != http.StatusOK {
		t.Fatalf("leave answered %d", code)
	}
	s.waitDrained()
	if n := len(fake.Delivered(group)); n != len(msgs) {
		t.Errorf("%d messages after leave, want %d (nothing said on leave):\n%s", n, len(msgs), texts(fake.Delivered(group)))
	}
	if strings.Count(texts(fake.Delivered(group)), "メンション") != 1 {
		t.Errorf("greeted more than once:\n%s", texts(fake.Delivered(group)))
	}
	if n := len(fake.Loadings()); n != 0 {
		t.Errorf("%d loading animations in a group, want none", n)
	}
	if len(fake.Errors()) > 0 {
		t.Errorf("invalid requests: %+v", fake.Errors())
	}
	s.stop()

	dbh, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer dbh.Close()
	var dead int
	if err := dbh.QueryRow(`SELECT COUNT(*) FROM dead_letters`).Scan(&dead); err != nil {
		t.Fatal(err)
	}
	if dead != 0 {
		t.Errorf("%d dead letters, want none", dead)
	}
	var status string
	if err := dbh.QueryRow(`SELECT status FROM conversations WHERE user_id = ?`, "group:"+group).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "ended" {
		t.Errorf("group conversation %q after leave, want ended", status)
	}
}
