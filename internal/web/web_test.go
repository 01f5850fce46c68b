package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	"github.com/giftdesk/giftdesk/internal/web"
)

const secret = "0123456789abcdef0123456789abcdef"

// harness is a web Channel on a SQLite file store, served by an httptest server.
type harness struct {
	t     *testing.T
	ch    *web.Channel
	store *sqlite.Store
	srv   *httptest.Server
}

func start(t *testing.T, mod func(*web.Config), serverMod ...func(*http.Server)) *harness {
	t.Helper()
	store, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "web.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := web.Config{
		Inbox: store, Log: store, Conversations: store, Secret: []byte(secret),
		// Streams are woken by the channel itself: a poll this slow never helps a test.
		Poll: time.Hour,
	}
	if mod != nil {
		mod(&cfg)
	}
	ch, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for p, h := range ch.Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewUnstartedServer(mux)
	for _, m := range serverMod {
		m(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(ch.CloseStreams) // before srv.Close, which waits for the streams
	return &harness{t: t, ch: ch, store: store, srv: srv}
}

// client is a browser: a cookie jar and the headers it sends.
type client struct {
	h      *harness
	c      *http.Client
	header http.Header
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, c: &http.Client{Jar: jar}, header: http.Header{}}
}

func (c *client) do(method, path, contentType string, body []byte) *http.Response {
	c.h.t.Helper()
	req, err := http.NewRequest(method, c.h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		c.h.t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return res
}

// call does a request and returns its status and JSON body.
func (c *client) call(method, path string, body any) (int, map[string]any, http.Header) {
	c.h.t.Helper()
	var b []byte
	ct := ""
	if body != nil {
		ct = "application/json"
		switch v := body.(type) {
		case []byte:
			b = v
		case string:
			b = []byte(v)
		default:
			b, _ = json.Marshal(v)
		}
	}
	res := c.do(method, path, ct, b)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			c.h.t.Fatalf("%s %s answered %d with %q, not JSON", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, m, res.Header
}

func (c *client) say(id, text string) int {
	c.h.t.Helper()
	code, _, _ := c.call(http.MethodPost, "/api/messages", map[string]string{"id": id, "text": text})
	return code
}

// pending returns how many events wait in the inbox.
func (h *harness) pending() int {
	h.t.Helper()
	n, _, err := h.store.PendingEvents(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// sse is one Server-Sent Event.
type sse struct {
	ID, Event, Data string
}

// stream is an open GET /api/events.
type stream struct {
	t      *testing.T
	res    *http.Response
	events chan sse
	pings  chan struct{}
	cancel func()
}

func (c *client) stream(path string, lastID string) *stream {
	c.h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.h.srv.URL+path, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := c.c.Do(req)
	if err != nil {
		cancel()
		c.h.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		cancel()
		res.Body.Close()
		c.h.t.Fatalf("GET %s answered %d", path, res.StatusCode)
	}
	s := &stream{t: c.h.t, res: res, events: make(chan sse, 1000), pings: make(chan struct{}, 1000), cancel: cancel}
	go s.read()
	c.h.t.Cleanup(s.close)
	return s
}

func (s *stream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.res.Body)
	var ev sse
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Event != "" || ev.Data != "" {
				s.events <- ev
			}
			ev = sse{}
		case line == ": ping":
			select {
			case s.pings <- struct{}{}:
			default:
			}
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.Data += line[6:]
		}
	}
}

func (s *stream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event of kind ("message" or "typing"), skipping others.
func (s *stream) next(kind string) sse {
	s.t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended waiting for a %s event", kind)
			}
			if ev.Event == kind {
				return ev
			}
		case <-timeout.C:
			s.t.Fatalf("no %s event within 10s", kind)
		}
	}
}

// messages returns the next n message entries, decoded.
func (s *stream) messages(n int) []map[string]any {
	s.t.Helper()
	var out []map[string]any
	for range n {
		ev := s.next("message")
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
			s.t.Fatalf("entry %q: %v", ev.Data, err)
		}
		if ev.ID != strconv.Itoa(int(m["seq"].(float64))) {
			s.t.Errorf("event id %q, entry seq %v", ev.ID, m["seq"])
		}
		out = append(out, m)
	}
	return out
}

// outgoing is what the pipeline hands the channel to deliver to conversation conv.
func outgoing(conv, eventID string, seq int, msgs ...bot.Message) bot.Outgoing {
	return bot.Outgoing{Key: bot.Key{Channel: web.Name, User: conv}, Address: conv, EventID: eventID, Seq: seq, Messages: msgs}
}

// cookie returns the value of the conversation cookie the server set.
func (c *client) cookie() string {
	c.h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.h.srv.URL, nil)
	for _, ck := range c.c.Jar.Cookies(req.URL) {
		if ck.Name == web.CookieName {
			return ck.Value
		}
	}
	c.h.t.Fatal("no conversation cookie")
	return ""
}

// conversation returns the client's conversation id, from its cookie.
func (c *client) conversation() string {
	id, _, _ := strings.Cut(c.cookie(), ".")
	return id
}

func TestSession(t *testing.T) {
	h := start(t, nil)
	c := h.client()
	c.header.Set("Accept-Language", "fr-FR, en;q=0.8, ja;q=0.5")
	res := c.do(http.MethodGet, "/api/session", "", nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"lang":"en"`) || !strings.Contains(string(body), `"max_text":1000`) {
		t.Fatalf("GET /api/session = %d %s", res.StatusCode, body)
	}
	ck := res.Header.Get("Set-Cookie")
	for _, want := range []string{web.CookieName + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Errorf("cookie %q is Secure over plain HTTP", ck)
	}
	// The greeting is stored once, however often the page asks.
	for range 3 {
		if code, _, hdr := c.call(http.MethodGet, "/api/session", nil); code != http.StatusOK || hdr.Get("Set-Cookie") != "" {
			t.Fatalf("GET /api/session again = %d, cookie %q", code, hdr.Get("Set-Cookie"))
		}
	}
	if n := h.pending(); n != 1 {
		t.Errorf("%d events pending, want the one greeting", n)
	}
	_, evs, err := h.store.ClaimConversation(t.Context(), "test", time.Minute)
	if err != nil || len(evs) != 1 || evs[0].In.Kind != bot.InFollow || evs[0].In.Lang != bot.English || evs[0].Address != c.conversation() {
		t.Errorf("greeting event = %+v, %v", evs, err)
	}
	// Another browser is another conversation.
	if other := h.client(); other.say("abcdefgh", "hello") != http.StatusAccepted || other.conversation() == c.conversation() {
		t.Error("a second browser did not get a conversation of its own")
	}
}

func TestCookieOverHTTPS(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		want    []string
	}{
		{name: "own site", want: []string{"Secure", "SameSite=Lax"}},
		{name: "embedded", origins: []string{"https://shop.example"}, want: []string{"Secure", "SameSite=None", "Partitioned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, func(c *web.Config) { c.Origins = tt.origins })
			c := h.client()
			c.header.Set("X-Forwarded-Proto", "https") // TLS ends at the proxy in front
			_, _, hdr := c.call(http.MethodGet, "/api/session", nil)
			for _, w := range tt.want {
				if !strings.Contains(hdr.Get("Set-Cookie"), w) {
					t.Errorf("cookie %q lacks %s", hdr.Get("Set-Cookie"), w)
				}
			}
		})
	}
}

func TestForgedCookie(t *testing.T) {
	h := start(t, nil)
	good := h.client()
	good.call(http.MethodGet, "/api/session", nil)
	conv := good.conversation()
	// A genuine cookie of another server (another key).
	foreign := start(t, func(c *web.Config) { c.Secret = []byte("another-key-of-another-server") }).client()
	foreign.call(http.MethodGet, "/api/session", nil)
	foreignValue := foreign.cookie()
	_, mac, _ := strings.Cut(good.cookie(), ".")
	tests := []struct{ name, value string }{
		{"garbage", "hello"},
		{"no signature", conv},
		{"empty signature", conv + "."},
		{"another id with this id's signature", "AAAAAAAAAAAAAAAAAAAAAA." + mac},
		{"signature cut short", conv + "." + mac[:len(mac)-2]},
		{"signature of zeros", conv + "." + strings.Repeat("A", len(mac))},
		{"another server's cookie", foreignValue},
		{"id too long", conv + "AAAA." + mac},
	}
	before := h.pending()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct{ method, path string }{
				{http.MethodGet, "/api/session"}, {http.MethodPost, "/api/messages"}, {http.MethodGet, "/api/events"},
			} {
				c := h.client()
				c.header.Set("Cookie", web.CookieName+"="+tt.value)
				code, body, hdr := c.call(req.method, req.path, map[string]string{"id": "abcdefgh", "text": "hi"})
				if code != http.StatusUnauthorized || body["code"] != "bad_session" || body["error"] == "" {
					t.Errorf("%s %s with a forged cookie = %d %v, want 401 bad_session", req.method, req.path, code, body)
				}
				if ck := hdr.Get("Set-Cookie"); !strings.Contains(ck, "Max-Age=0") {
					t.Errorf("%s %s: cookie not cleared: %q", req.method, req.path, ck)
				}
			}
		})
	}
	if n := h.pending(); n != before {
		t.Errorf("forged requests stored %d events", n-before)
	}
	if good.say("abcdefgh", "still me") != http.StatusAccepted {
		t.Error("the genuine cookie is refused")
	}
}

func TestPostErrors(t *testing.T) {
	h := start(t, func(c *web.Config) { c.MaxText = 10 })
	long := strings.Repeat("あ", 11)
	tests := []struct {
		name   string
		ct     string
		body   string
		status int
		code   string
		lang   string // Accept-Language
		inText string // in the error
	}{
		{name: "not JSON", body: `{"id":`, status: 400, code: "bad_json"},
		{name: "form post", ct: "application/x-www-form-urlencoded", body: `id=abcdefgh&text=hi`, status: 400, code: "bad_json"},
		{name: "id short", body: `{"id":"abc","text":"hi"}`, status: 400, code: "bad_id"},
		{name: "id with a dot", body: `{"id":"abcdefgh.1","text":"hi"}`, status: 400, code: "bad_id"},
		{name: "id too long", body: `{"id":"` + strings.Repeat("a", 65) + `","text":"hi"}`, status: 400, code: "bad_id"},
		{name: "no id", body: `{"text":"hi"}`, status: 400, code: "bad_id"},
		{name: "empty text", body: `{"id":"abcdefgh","text":""}`, status: 400, code: "empty"},
		{name: "blank text", body: `{"id":"abcdefgh","text":" \n\t"}`, status: 400, code: "empty"},
		{name: "nothing", body: `{"id":"abcdefgh"}`, status: 400, code: "empty"},
		{name: "text and postback", body: `{"id":"abcdefgh","text":"hi","postback":"x"}`, status: 400, code: "bad_json"},
		{name: "postback too long", body: `{"id":"abcdefgh","postback":"` + strings.Repeat("x", 301) + `"}`, status: 400, code: "bad_json"},
		{name: "too long, Japanese", body: `{"id":"abcdefgh","text":"` + long + `"}`, status: 413, code: "too_long", inText: "10文字"},
		{name: "too long, English", body: `{"id":"abcdefgh","text":"` + long + `"}`, status: 413, code: "too_long", lang: "en-GB", inText: "10 characters"},
		{name: "body far too long", body: `{"id":"abcdefgh","text":"` + strings.Repeat("a", 1<<20) + `"}`, status: 413, code: "too_long", inText: "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.client()
			if tt.lang != "" {
				c.header.Set("Accept-Language", tt.lang)
			}
			ct := tt.ct
			if ct == "" {
				ct = "application/json"
			}
			res := c.do(http.MethodPost, "/api/messages", ct, []byte(tt.body))
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var body map[string]string
			_ = json.Unmarshal(raw, &body)
			if res.StatusCode != tt.status || body["code"] != tt.code || body["error"] == "" {
				t.Errorf("answered %d %s, want %d %s with a message", res.StatusCode, raw, tt.status, tt.code)
			}
			if !strings.Contains(body["error"], tt.inText) || strings.Contains(body["error"], "%") {
				t.Errorf("error %q lacks %q", body["error"], tt.inText)
			}
		})
	}
	if n := h.pending(); n != 0 {
		t.Errorf("refused messages stored %d events", n)
	}
	// The limit counts characters, not bytes.
	if c := h.client(); c.say("abcdefgh", strings.Repeat("あ", 10)) != http.StatusAccepted {
		t.Error("a message of exactly MaxText Japanese characters is refused")
	}
}

func TestPostOnce(t *testing.T) {
	h := start(t, nil)
	c := h.client()
	for range 3 {
		if code := c.say("msg-0001", "コードが無効です"); code != http.StatusAccepted {
			t.Fatalf("POST answered %d", code)
		}
	}
	if code, _, _ := c.call(http.MethodPost, "/api/messages", map[string]string{"id": "msg-0002", "postback": "o:start:register", "label": "登録方法"}); code != http.StatusAccepted {
		t.Fatalf("postback answered %d", code)
	}
	if n := h.pending(); n != 2 {
		t.Errorf("%d events pending, want 2 (a message sent three times has one)", n)
	}
	_, evs, err := h.store.ClaimConversation(t.Context(), "test", time.Minute)
	if err != nil || len(evs) != 2 {
		t.Fatalf("claimed %v, %v", evs, err)
	}
	if evs[0].In != (bot.Inbound{Kind: bot.InText, Text: "コードが無効です"}) || evs[1].In != (bot.Inbound{Kind: bot.InPostback, Postback: "o:start:register", Text: "登録方法"}) {
		t.Errorf("events %+v %+v", evs[0].In, evs[1].In)
	}
	recs, err := h.store.ReadWeb(t.Context(), c.conversation(), 0, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("log holds %d entries (%v), want 2", len(recs), err)
	}
}

func TestRateLimits(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	h := start(t, func(c *web.Config) {
		c.PerConversation = web.Rate{Burst: 2, Every: 10 * time.Second}
		c.PerAddress = web.Rate{Burst: 5, Every: time.Minute}
		c.Now = func() time.Time { return now }
	})
	c := h.client()
	for i := range 2 {
		if code := c.say(fmt.Sprintf("msg-%04d", i), "hi"); code != http.StatusAccepted {
			t.Fatalf("message %d answered %d", i, code)
		}
	}
	code, body, hdr := c.call(http.MethodPost, "/api/messages", map[string]string{"id": "msg-0009", "text": "hi"})
	if code != http.StatusTooManyRequests || body["code"] != "rate_limited" || body["error"] == "" || hdr.Get("Retry-After") != "10" {
		t.Errorf("third message = %d %v Retry-After %q; want 429 rate_limited, Retry-After 10", code, body, hdr.Get("Retry-After"))
	}
	// Another conversation from the same address: the address has 5 - 1 (the first
	// conversation) - 2 (its messages) left: a new conversation and one message.
	d := h.client()
	if code := d.say("msg-0100", "hi"); code != http.StatusAccepted {
		t.Errorf("another conversation's first message answered %d", code)
	}
	if code, body, _ := d.call(http.MethodPost, "/api/messages", map[string]string{"id": "msg-0101", "text": "hi"}); code != http.StatusTooManyRequests {
		t.Errorf("over the address's limit: %d %v", code, body)
	}
	if code, _, _ := h.client().call(http.MethodGet, "/api/session", nil); code != http.StatusTooManyRequests {
		t.Errorf("a new conversation over the address's limit answered %d", code)
	}
}

func TestEvents(t *testing.T) {
	h := start(t, nil)
	c := h.client()
	c.call(http.MethodGet, "/api/session", nil)
	conv := c.conversation()
	ctx := t.Context()
	// History before the stream opens: the bot's greeting, the customer's message.
	greet := outgoing(conv, "web:"+conv+":follow", 0,
		bot.Message{Kind: bot.MsgText, Text: "こんにちは"},
		bot.Message{Kind: bot.MsgQuestion, Text: "どうしましたか？", Choices: []bot.Choice{{Label: "登録", Data: "o:start:register"}}})
	if _, err := h.ch.Send(ctx, greet); err != nil {
		t.Fatal(err)
	}
	if code := c.say("msg-0001", `<img src=x onerror=alert(1)>`); code != http.StatusAccepted {
		t.Fatal(code)
	}
	s := c.stream("/api/events", "")
	got := s.messages(3)
	if got[0]["from"] != "bot" || got[0]["text"] != "こんにちは" || got[1]["kind"] != "question" || got[2]["from"] != "customer" || got[2]["client_id"] != "msg-0001" {
		t.Errorf("history = %v", got)
	}
	if got[2]["text"] != `<img src=x onerror=alert(1)>` {
		t.Errorf("customer text came back as %q", got[2]["text"])
	}
	// Typing while the message awaits its answer; the answer, then typing stops.
	if ev := s.next("typing"); ev.Data != `{"on":true}` {
		t.Errorf("typing event %q", ev.Data)
	}
	answer := outgoing(conv, "web:"+conv+":msg-0001", 0,
		bot.Message{Kind: bot.MsgSteps, Title: "登録方法", Steps: []string{"サインイン", "入力"}, Note: "注意"})
	for range 2 { // a retried delivery shows nothing twice
		if out, err := h.ch.Send(ctx, answer); err != nil || out != "push" {
			t.Fatalf("Send = %q, %v", out, err)
		}
	}
	if m := s.messages(1)[0]; m["seq"] != 4.0 || m["kind"] != "steps" || m["title"] != "登録方法" || m["note"] != "注意" {
		t.Errorf("answer = %v", m)
	}
	if ev := s.next("typing"); ev.Data != `{"on":false}` {
		t.Errorf("typing event %q", ev.Data)
	}
	// An agent's message.
	agent := outgoing(conv, "slack:Ev1", 0, bot.Message{Kind: bot.MsgText, Text: "担当の山田です", From: "山田"})
	if _, err := h.ch.Send(ctx, agent); err != nil {
		t.Fatal(err)
	}
	if m := s.messages(1)[0]; m["from"] != "agent" || m["seq"] != 5.0 {
		t.Errorf("agent's message = %v", m)
	}
	s.close()

	// Resume: after seq 2 by Last-Event-ID (a reconnect), after 4 by ?after.
	r := c.stream("/api/events", "2")
	if got := r.messages(3); got[0]["seq"] != 3.0 || got[2]["seq"] != 5.0 {
		t.Errorf("resumed after 2: %v", got)
	}
	r2 := c.stream("/api/events?after=4", "")
	if got := r2.messages(1); got[0]["seq"] != 5.0 {
		t.Errorf("resumed after 4: %v", got)
	}
	// Nothing else came, and the next entry comes live to both.
	if _, err := h.ch.Send(ctx, outgoing(conv, "slack:Ev2", 0, bot.Message{Kind: bot.MsgText, Text: "last"})); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*stream{r, r2} {
		if m := st.messages(1)[0]; m["seq"] != 6.0 || m["text"] != "last" {
			t.Errorf("live entry = %v, want seq 6", m)
		}
	}
	if code, body, _ := c.call(http.MethodGet, "/api/events?after=x", nil); code != http.StatusBadRequest || body["code"] != "bad_after" {
		t.Errorf("?after=x = %d %v", code, body)
	}
}

// TestStreamOutlivesServerTimeouts: a stream stays open past the server's read and write
// timeouts, sending heartbeats, and still delivers.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	// Timeouts long enough for an ordinary request under -race on a loaded machine, and a
	// stream kept open for three times as long.
	const timeout = 300 * time.Millisecond
	h := start(t, func(c *web.Config) { c.Heartbeat = 20 * time.Millisecond }, func(s *http.Server) {
		s.ReadTimeout, s.WriteTimeout = timeout, timeout
	})
	c := h.client()
	c.call(http.MethodGet, "/api/session", nil)
	s := c.stream("/api/events", "")
	start := time.Now()
	for n := 0; n < 20 || time.Since(start) < 3*timeout; n++ {
		select {
		case <-s.pings:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d heartbeats, then none", n)
		}
	}
	if _, err := h.ch.Send(t.Context(), outgoing(c.conversation(), "x", 0, bot.Message{Kind: bot.MsgText, Text: "still here"})); err != nil {
		t.Fatal(err)
	}
	if m := s.messages(1)[0]; m["text"] != "still here" {
		t.Errorf("entry %v", m)
	}
}

func TestCloseStreams(t *testing.T) {
	h := start(t, nil)
	c := h.client()
	s := c.stream("/api/events", "")
	h.ch.CloseStreams()
	select {
	case _, ok := <-s.events:
		for ok {
			_, ok = <-s.events
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open after CloseStreams")
	}
	res := c.do(http.MethodGet, "/api/events", "", nil)
	body, _ := io.ReadAll(res.Body) // ends at once
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "retry: 2000\n\n" {
		t.Errorf("a stream after CloseStreams = %d %q, want 200 and only the retry delay", res.StatusCode, body)
	}
}

func TestTypingEndsWithoutAnswer(t *testing.T) {
	h := start(t, nil)
	c := h.client()
	c.say("msg-0001", "hi")
	s := c.stream("/api/events", "")
	if ev := s.next("typing"); ev.Data != `{"on":true}` {
		t.Fatalf("typing %q", ev.Data)
	}
	conv := c.conversation()
	h.ch.Turned(bot.Event{ID: "web:" + conv + ":msg-0001", Key: bot.Key{Channel: web.Name, User: conv}}, nil)
	if ev := s.next("typing"); ev.Data != `{"on":false}` {
		t.Errorf("typing %q after a turn without messages", ev.Data)
	}
}

func TestHeadersAndOrigins(t *testing.T) {
	h := start(t, func(c *web.Config) { c.Origins = []string{"https://shop.example", "http://localhost:3000"} })
	c := h.client()
	for _, path := range []string{"/", "/?embed=1", "/widget.js", "/api/session"} {
		res := c.do(http.MethodGet, path, "", nil)
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != http.StatusOK || !strings.Contains(csp, "default-src 'self'") ||
			!strings.Contains(csp, "frame-ancestors 'self' https://shop.example http://localhost:3000") ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s = %d, CSP %q", path, res.StatusCode, csp)
		}
	}
	if res := c.do(http.MethodGet, "/widget.js", "", nil); !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
		t.Errorf("widget.js served as %q", res.Header.Get("Content-Type"))
	}
	// Another site's page may not post as the customer; an allowed one may, with CORS.
	c.header.Set("Origin", "https://evil.example")
	if code, body, _ := c.call(http.MethodPost, "/api/messages", map[string]string{"id": "abcdefgh", "text": "hi"}); code != http.StatusForbidden {
		t.Errorf("POST from another origin = %d %v", code, body)
	}
	c.header.Set("Origin", "https://shop.example")
	code, _, hdr := c.call(http.MethodPost, "/api/messages", map[string]string{"id": "abcdefgh", "text": "hi"})
	if code != http.StatusAccepted || hdr.Get("Access-Control-Allow-Origin") != "https://shop.example" || hdr.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("POST from an allowed origin = %d, %v", code, hdr)
	}
	code, _, hdr = c.call(http.MethodOptions, "/api/messages", nil)
	if code != http.StatusNoContent || !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight = %d, %v", code, hdr)
	}
	// The page's own origin needs no listing.
	c.header.Set("Origin", h.srv.URL)
	if code := c.say("abcdefgh2", "hi"); code != http.StatusAccepted {
		t.Errorf("POST from the page's own origin = %d", code)
	}
	if _, err := web.New(web.Config{Inbox: h.store, Log: h.store, Secret: []byte(secret), Origins: []string{"shop.example"}}); err == nil {
		t.Error("an origin without a scheme was accepted")
	}
}

// TestClientIPHeader: behind a proxy, the address the proxy adds counts, not the
// connection's (the proxy's) nor what the client wrote before it.
func TestClientIPHeader(t *testing.T) {
	h := start(t, func(c *web.Config) {
		c.PerAddress = web.Rate{Burst: 2, Every: time.Hour}
		c.ClientIP = web.ClientIPHeader("X-Forwarded-For")
	})
	for _, tt := range []struct {
		name, xff string
		want      []int // the statuses of a new conversation's first and second message
	}{
		{"first client", "203.0.113.7", []int{202, 429}}, // the new conversation took one
		{"second client", "198.51.100.2", []int{202, 429}},
		{"first client, spoofing", "198.51.100.99, 203.0.113.7", []int{429}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := h.client()
			c.header.Set("X-Forwarded-For", tt.xff)
			for i, want := range tt.want {
				if code := c.say(fmt.Sprintf("msg-%04d", i), "hi"); code != want {
					t.Errorf("message %d answered %d, want %d", i, code, want)
				}
			}
		})
	}
	if code := h.client().say("msg-0001", "hi"); code != http.StatusAccepted {
		t.Errorf("a request without the header (the connection's address) answered %d", code)
	}
}

// TestStreamLimits: a conversation, and a client address, hold a bounded number of event
// streams open; beyond, a new one is refused (429) until one of theirs closes.
func TestStreamLimits(t *testing.T) {
	h := start(t, func(c *web.Config) {
		c.StreamsPerConversation = 2
		c.StreamsPerAddress = 3
	})
	get := func(c *client) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/api/events", nil)
		res, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	a := h.client()
	if code, _, _ := a.call(http.MethodGet, "/api/session", nil); code != http.StatusOK {
		t.Fatalf("session = %d", code)
	}
	first := a.stream("/api/events", "")
	a.stream("/api/events", "")
	if code := get(a); code != http.StatusTooManyRequests {
		t.Errorf("a conversation's third stream answered %d, want 429", code)
	}
	b := h.client()
	if code, _, _ := b.call(http.MethodGet, "/api/session", nil); code != http.StatusOK {
		t.Fatalf("session = %d", code)
	}
	b.stream("/api/events", "")
	if code := get(b); code != http.StatusTooManyRequests {
		t.Errorf("the address's fourth stream answered %d, want 429", code)
	}
	first.close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var code int
	err := settle.Until(ctx, func() (bool, error) {
		code = get(b)
		return code != http.StatusTooManyRequests, nil
	})
	if err != nil || code != http.StatusOK {
		t.Errorf("after a stream closed, a new one answered %d (%v)", code, err)
	}
}

// TestIPv6AddressesCountByNetwork: the addresses of one IPv6 /64 (one subscriber, who
// may use any of them) share the per-address limit; another /64 does not.
func TestIPv6AddressesCountByNetwork(t *testing.T) {
	h := start(t, func(c *web.Config) {
		c.PerAddress = web.Rate{Burst: 2, Every: time.Hour}
		c.ClientIP = web.ClientIPHeader("X-Real-IP")
	})
	for _, tt := range []struct {
		addr string
		want int // the status of a new conversation's first message
	}{
		{"2001:db8:1:2::1", 202}, // the new conversation and the message: the /64's two
		{"2001:db8:1:2:ffff::9", 429},
		{"2001:db8:1:3::1", 202},
		{"::ffff:203.0.113.7", 202},
		{"203.0.113.7", 429}, // the same IPv4 address, mapped or not
	} {
		c := h.client()
		c.header.Set("X-Real-IP", tt.addr)
		if code := c.say("msg-0001", "hi"); code != tt.want {
			t.Errorf("from %s: %d, want %d", tt.addr, code, tt.want)
		}
	}
}

// TestJumpOnlyWhenOffered: a "did you mean" jump (j:<node>) is taken only when the bot
// offered it in this conversation; one made up in the browser is read as its label typed.
func TestJumpOnlyWhenOffered(t *testing.T) {
	h := start(t, nil)
	c := h.client()
	c.call(http.MethodGet, "/api/session", nil)
	post := func(id string) {
		t.Helper()
		if code, _, _ := c.call(http.MethodPost, "/api/messages", map[string]string{"id": id, "postback": "j:handoff_fraud", "label": "不正利用"}); code != http.StatusAccepted {
			t.Fatalf("postback answered %d", code)
		}
	}
	post("jump-0001")
	// The bot offers the jump (a question's choices, after many other entries).
	for i := range 600 {
		if _, err := h.ch.Send(t.Context(), outgoing(c.conversation(), fmt.Sprintf("e%d", i), 0, bot.Message{Kind: bot.MsgText, Text: "…"})); err != nil {
			t.Fatal(err)
		}
	}
	offer := bot.Message{Kind: bot.MsgQuestion, Text: "もしかして：", Choices: []bot.Choice{{Label: "不正利用", Data: "j:handoff_fraud"}}}
	if _, err := h.ch.Send(t.Context(), outgoing(c.conversation(), "offer", 0, offer)); err != nil {
		t.Fatal(err)
	}
	post("jump-0002")
	_, evs, err := h.store.ClaimConversation(t.Context(), "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []bot.Inbound
	for _, ev := range evs { // the greeting's event aside
		if ev.In.Kind == bot.InText || ev.In.Kind == bot.InPostback {
			got = append(got, ev.In)
		}
	}
	want := []bot.Inbound{{Kind: bot.InText, Text: "不正利用"}, {Kind: bot.InPostback, Postback: "j:handoff_fraud", Text: "不正利用"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events %+v, want %+v", got, want)
	}
}
