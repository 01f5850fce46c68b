package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// TestServeWebAgent: a web customer handed off to Slack gets the agent's words with a
// gift-card code masked, as the web chat's log keeps them, and every file of an agent's
// message with several, each as its own entry with its link, in the agent's order, once.
func TestServeWebAgent(t *testing.T) {
	const code = "AQ7X-K29PLM-ZR4TW"
	masked := flows.RedactCodes(code)
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	slack.AddMembers("CHANDOFF", "UALICE")
	slack.AddUser(slacktest.User{ID: "UALICE", Name: "alice", DisplayName: "アリス"})
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	d := startDesk(t, fake, slack, db, map[string]string{"GIFTDESK_PUBLIC_URL": publicURL})
	s := &webServe{t: t, url: d.url, db: db}

	b := s.browser("ja")
	b.call(http.MethodGet, "/api/session", nil)
	st := b.stream("")
	st.until(question)
	b.say("m-person-1", "担当者と話したい")
	roots, err := slack.WaitMessages(waitCtx(t), "CHANDOFF", 1)
	if err != nil {
		t.Fatalf("no ticket posted: %v", err)
	}
	root := roots[0]
	waitLinked(t, db, root)

	d.agentSays(root, "UALICE", "コード "+code+" を確認しました")
	got := st.until(func(en entry) bool { return en.From == "agent" })
	if last := got[len(got)-1]; last.Text != "コード "+masked+" を確認しました" {
		t.Errorf("the page shows the agent's words as %q, want the code masked", last.Text)
	}

	png := []byte("\x89PNG\r\n\x1a\nppp")
	files := []slacktest.File{
		slack.AddFile(slacktest.File{Name: "screen.png", Mimetype: "image/png", Content: png}),
		slack.AddFile(slacktest.File{Name: code + ".pdf", Mimetype: "application/pdf", Content: []byte("%PDF-1.4 ")}),
		slack.AddFile(slacktest.File{Name: "steps.pdf", Mimetype: "application/pdf", Content: []byte("%PDF-1.4 ")}),
	}
	body, _ := slack.FileShareEvent(root.Channel, "UALICE", "", root.TS, files...)
	if code := d.slackPost("/slack/events", "application/json", body, 0); code != http.StatusOK {
		t.Fatalf("file_share event answered %d", code)
	}
	got = st.until(func(en entry) bool { return strings.Contains(en.Text, "/media/"+files[2].ID+"?") })
	var links []entry
	for _, en := range got {
		if strings.Contains(en.Text, "/media/") {
			links = append(links, en)
		}
	}
	if len(links) != len(files) {
		t.Fatalf("%d entries with a link, want one for each of %d files: %v", len(links), len(files), got)
	}
	for i, f := range files {
		name := strings.ReplaceAll(f.Name, code, masked)
		wantIn(t, fmt.Sprintf("file %d", i+1), links[i].Text, "担当者からファイルが届きました: "+name, publicURL+"/media/"+f.ID+"?")
		if links[i].From != "agent" {
			t.Errorf("file %d shown from %q", i+1, links[i].From)
		}
	}
	d.waitDrained()

	// The log as the store keeps it: the code masked everywhere, each file once.
	conv := webConversation(t, b)
	store, err := sqlite.New(context.Background(), sqlite.Config{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	recs, err := store.ReadWeb(t.Context(), conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range recs {
		if strings.Contains(string(r.Data), "K29PLM") {
			t.Errorf("the web log keeps the code: %s", r.Data)
		}
		for _, f := range files {
			if strings.Contains(string(r.Data), "/media/"+f.ID+"?") {
				count[f.ID]++
			}
		}
	}
	for _, f := range files {
		if count[f.ID] != 1 {
			t.Errorf("file %s is in the web log %d times, want once", f.Name, count[f.ID])
		}
	}
}

// webConversation returns the browser's web conversation: its cookie's id.
func webConversation(t *testing.T, b *browser) string {
	t.Helper()
	for _, c := range b.c.Jar.Cookies(mustURL(t, b.base)) {
		if id, _, ok := strings.Cut(c.Value, "."); ok && id != "" {
			return id
		}
	}
	t.Fatal("no conversation cookie")
	return ""
}
