package slack_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/budget"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/slack"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// TestBodyBudgetShared: while another channel's body holds the shared budget, a signed
// Slack request is refused at once with 503 and Retry-After (Slack retries it); once the
// budget is free, the same request is answered.
func TestBodyBudgetShared(t *testing.T) {
	store, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	bodies := budget.New(budget.Config{Bytes: 1 << 20, Reads: 1})
	ch, err := slack.New(slack.Config{
		BotToken: slacktest.BotToken, SigningSecret: secret, APIURL: "http://127.0.0.1:9/api/",
		Inbox: pipeline.NewBatcher(store, 0), Conversations: store, Bodies: bodies,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ch.Events())
	t.Cleanup(srv.Close)

	// Another channel's webhook is being read: its body has not all arrived.
	pr, pw := io.Pipe()
	held := make(chan *budget.Body)
	go func() {
		req := httptest.NewRequest(http.MethodPost, "/line/webhook", pr)
		req.ContentLength = 10
		b, err := bodies.Read(req)
		if err != nil {
			t.Error(err)
		}
		held <- b
	}()
	waitBudget := func(reads int) {
		t.Helper()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for deadline := time.After(5 * time.Second); ; {
			if _, n, _ := bodies.InFlight(); n == reads {
				return
			}
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("the budget never held %d reads", reads)
			}
		}
	}
	waitBudget(1)

	body := slacktest.URLVerification("challenge-1")
	post := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		for k, v := range slacktest.Sign(secret, body, time.Now()) {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post(); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("over budget: answered %d (Retry-After %q), want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	pw.Write([]byte("0123456789"))
	(<-held).Release()
	waitBudget(0)
	if res := post(); res.StatusCode != http.StatusOK {
		t.Errorf("after the budget was released: answered %d, want 200", res.StatusCode)
	}
}
