package slack_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// TestMediaLinkTokenStaysOnSlack: a file whose URL files.info gives on another host is
// not downloaded: the bot token, which goes with the download, never leaves Slack.
func TestMediaLinkTokenStaysOnSlack(t *testing.T) {
	h := start(t)
	var (
		mu     sync.Mutex
		tokens []string
	)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = w.Write([]byte("content"))
	}))
	defer other.Close()
	links, err := bot.NewMediaLinks("https://desk.example", []byte("0123456789abcdef0123"), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+bot.MediaPath+"{id}", h.ch.MediaHandler(links))
	get := func(id string) int {
		u, _ := url.Parse(links.URL(id))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.RequestURI(), nil))
		return rec.Code
	}

	on := h.fake.AddFile(slacktest.File{Name: "a.pdf", Mimetype: "application/pdf", Content: []byte("%PDF")})
	if code := get(on.ID); code != http.StatusOK {
		t.Fatalf("a file on Slack served %d", code)
	}
	for _, u := range []string{other.URL + "/files/x.pdf", "http://files.slack.com/x.pdf", "https://files.slack.com.evil.example/x.pdf"} {
		off := h.fake.AddFile(slacktest.File{Name: "b.pdf", Mimetype: "application/pdf", Content: []byte("%PDF"), URL: u})
		if code := get(off.ID); code != http.StatusBadGateway {
			t.Errorf("a file at %s served %d, want 502", u, code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tokens) > 0 {
		t.Errorf("another host was sent %q", tokens)
	}
}
