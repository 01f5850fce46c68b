package line

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// slowClient sends a webhook's headers and the first bytes of its body, and holds the
// rest until told.
type slowClient struct {
	conn net.Conn
	rest []byte
}

// answer is a slow client's response (nil when the connection failed).
type answer struct {
	client *slowClient
	resp   *http.Response
}

func startSlow(t *testing.T, addr string, body []byte, sig string, answers chan<- answer) *slowClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	head := fmt.Sprintf("POST /line/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"X-Line-Signature: %s\r\nContent-Length: %d\r\n\r\n", sig, len(body))
	if _, err := c.Write(append([]byte(head), body[:100]...)); err != nil {
		t.Fatal(err)
	}
	s := &slowClient{conn: c, rest: body[100:]}
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
		}
		answers <- answer{s, resp}
	}()
	return s
}

// waitFor waits until cond holds, failing the test after 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestWebhookBodyBudget: slow clients holding unauthenticated bodies open get 503 with
// Retry-After beyond the budget, at once and without their bodies being read; the budget
// is free again once the held bodies are answered.
func TestWebhookBodyBudget(t *testing.T) {
	const size, held, extra = 10 << 10, 3, 4
	bodies := budget.New(budget.Config{Bytes: held * size, MaxBody: 64 << 10})
	inbox := &recordingInbox{}
	c, err := New(Config{ChannelSecret: secret, AccessToken: "token", Inbox: inbox, Bodies: bodies})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")

	body := bytes.Repeat([]byte("x"), size)
	wrong := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	answers := make(chan answer, held+extra)
	waiting := map[*slowClient]bool{}
	for range held + extra {
		waiting[startSlow(t, addr, body, wrong, answers)] = true
	}
	// held clients fit; the others are refused at once while those hold their bodies.
	for range extra {
		select {
		case a := <-answers:
			if a.resp == nil || a.resp.StatusCode != http.StatusServiceUnavailable || a.resp.Header.Get("Retry-After") == "" {
				t.Fatalf("client beyond the budget answered %v, want 503 with Retry-After", a.resp)
			}
			delete(waiting, a.client)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d clients refused, want %d", held+extra-len(waiting), extra)
		}
	}
	if b, reads, _ := bodies.InFlight(); b != held*size || reads != held {
		t.Errorf("in flight: %d bytes in %d reads, want %d in %d", b, reads, held*size, held)
	}
	for cl := range waiting {
		if _, err := cl.conn.Write(cl.rest); err != nil {
			t.Fatal(err)
		}
		if a := <-answers; a.resp == nil || a.resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("held client answered %v, want 401", a.resp)
		}
	}
	waitFor(t, "the budget to be released", func() bool { b, reads, _ := bodies.InFlight(); return b == 0 && reads == 0 })
	if _, _, peak := bodies.InFlight(); peak > held*size {
		t.Errorf("peak %d bytes in flight, over the budget of %d", peak, held*size)
	}
	// A real webhook fits again.
	ev := []byte(`{"events":[{"type":"message","mode":"active","webhookEventId":"01A","timestamp":1,"source":{"type":"user","userId":"U1"},"replyToken":"r","message":{"type":"text","id":"1","text":"hi","quoteToken":"q"}}]}`)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/line/webhook", bytes.NewReader(ev))
	req.Header.Set("X-Line-Signature", linetest.Sign(secret, ev))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(inbox.events) != 1 {
		t.Errorf("after the budget was released: %d, %d events stored", resp.StatusCode, len(inbox.events))
	}
}

// TestWebhookRefusedUnread: requests refused by their headers alone are answered without
// waiting for their bodies.
func TestWebhookRefusedUnread(t *testing.T) {
	c, err := New(Config{ChannelSecret: secret, AccessToken: "token", Inbox: &recordingInbox{}, MaxBody: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	wrong := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	tests := []struct {
		name string
		size int
		sig  string
		want int
	}{
		{name: "no signature", size: 1000, sig: "", want: http.StatusUnauthorized},
		{name: "malformed signature", size: 1000, sig: "not-base64!", want: http.StatusUnauthorized},
		{name: "short signature", size: 1000, sig: base64.StdEncoding.EncodeToString([]byte("short")), want: http.StatusUnauthorized},
		{name: "Content-Length over the limit", size: 65<<10 + 1, sig: wrong, want: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := make(chan answer, 1)
			startSlow(t, addr, bytes.Repeat([]byte("x"), tt.size), tt.sig, answers)
			select {
			case a := <-answers:
				if a.resp == nil || a.resp.StatusCode != tt.want {
					t.Errorf("answered %v, want %d", a.resp, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("no answer before the body was sent")
			}
		})
	}
}

// TestProfilePathEscaped: ids from a webhook body go into the profile request's path as
// single escaped segments, so they cannot aim it at another API path.
func TestProfilePathEscaped(t *testing.T) {
	var got []*http.Request
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"displayName":"x","userId":"U1"}`)
	}))
	t.Cleanup(api.Close)
	c, err := New(Config{ChannelSecret: secret, AccessToken: "token", Inbox: &recordingInbox{}, APIBaseURL: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	const evil = "U1/../../v2/bot/message/push?to=U2#"
	tests := []struct {
		name     string
		key      string
		prefix   string
		segments int // in the decoded path
	}{
		{name: "user", key: evil, prefix: "/v2/bot/profile/", segments: 4},
		{name: "group member", key: "group:C1/../x:" + evil, prefix: "/v2/bot/group/", segments: 6},
		{name: "room member", key: "room:R1?x:" + evil, prefix: "/v2/bot/room/", segments: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			if _, err := c.Profile(t.Context(), bot.Event{Key: bot.Key{Channel: Name, User: tt.key}}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d requests", len(got))
			}
			r := got[0]
			segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
			if r.URL.RawQuery != "" || !strings.HasPrefix(r.URL.Path, tt.prefix) || len(segs) != tt.segments || slices.Contains(segs, "..") {
				t.Errorf("request went to %q (query %q), want %d segments under %s", r.URL.Path, r.URL.RawQuery, tt.segments, tt.prefix)
			}
		})
	}
}
