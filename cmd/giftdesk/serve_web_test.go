package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// webServe is giftdesk serve with the web chat, in-process.
type webServe struct {
	t    testing.TB
	url  string
	db   string
	logs *syncBuffer
}

func startWeb(t testing.TB, env map[string]string) *webServe {
	t.Helper()
	if env["GIFTDESK_LOG_FORMAT"] == "" {
		env["GIFTDESK_LOG_FORMAT"] = "text"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() { done <- runServe(ctx, func(k string) string { return env[k] }, logs, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	s := &webServe{t: t, url: "http://" + l.Addr().String(), db: env["GIFTDESK_DB"], logs: logs}
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := settle.Until(wait, func() (bool, error) {
		res, err := http.Get(s.url + "/readyz")
		if err != nil {
			return false, nil // not listening yet
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("%s never became ready: %v", s.url, err)
	}
	return s
}

// browser is one customer's browser: its cookies and language.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	lang string
}

func (s *webServe) browser(lang string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, base: s.url, c: &http.Client{Jar: jar}, lang: lang}
}

// on returns the same browser pointed at another replica (the cookie is for the host,
// 127.0.0.1, whatever the port).
func (b *browser) on(s *webServe) *browser {
	return &browser{t: b.t, base: s.url, c: b.c, lang: b.lang}
}

func (b *browser) call(method, path string, body any) (int, map[string]any) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	req.Header.Set("Accept-Language", b.lang)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 && json.Unmarshal(raw, &m) != nil {
		b.t.Fatalf("%s %s answered %d %q, not JSON", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, m
}

func (b *browser) say(id, text string) {
	b.t.Helper()
	if code, body := b.call(http.MethodPost, "/api/messages", map[string]string{"id": id, "text": text}); code != http.StatusAccepted {
		b.t.Fatalf("POST %q answered %d %v", text, code, body)
	}
}

// entry is a log entry as the page gets it.
type entry struct {
	Seq      int64        `json:"seq"`
	From     string       `json:"from"`
	Kind     string       `json:"kind"`
	Text     string       `json:"text"`
	Title    string       `json:"title"`
	Choices  []bot.Choice `json:"choices"`
	ClientID string       `json:"client_id"`
	raw      string
}

// events is an open event stream.
type events struct {
	t       testing.TB
	entries chan entry
	typing  chan bool
	stop    func()
}

// stream opens GET /api/events, resuming after lastID when it is not empty.
func (b *browser) stream(lastID string) *events {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/api/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := b.c.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		cancel()
		b.t.Fatalf("GET /api/events: %v %v", res, err)
	}
	e := &events{t: b.t, entries: make(chan entry, 1000), typing: make(chan bool, 1000)}
	e.stop = func() { cancel(); res.Body.Close() }
	b.t.Cleanup(e.stop)
	go func() {
		defer close(e.entries)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var kind, id, data string
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				switch kind {
				case "message":
					var en entry
					if err := json.Unmarshal([]byte(data), &en); err != nil || strconv.FormatInt(en.Seq, 10) != id {
						b.t.Errorf("entry %q with id %q: %v", data, id, err)
					}
					en.raw = data
					e.entries <- en
				case "typing":
					select {
					case e.typing <- strings.Contains(data, "true"):
					default: // nobody is looking: do not stop reading the stream
					}
				}
				kind, id, data = "", "", ""
			case strings.HasPrefix(line, "event: "):
				kind = line[7:]
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			}
		}
	}()
	return e
}

// until returns the entries up to and including the first for which stop is true.
func (e *events) until(stop func(entry) bool) []entry {
	e.t.Helper()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	var got []entry
	for {
		select {
		case en, ok := <-e.entries:
			if !ok {
				e.t.Fatalf("stream ended after %d entries", len(got))
			}
			got = append(got, en)
			if stop(en) {
				return got
			}
		case <-timeout.C:
			e.t.Fatalf("waited 20s; got %d entries: %v", len(got), got)
		}
	}
}

// question is the stop condition of a turn that ends with a question.
func question(en entry) bool { return en.From == "bot" && en.Kind == "question" }

// seqs checks that entries are numbered from first without a gap or a repeat.
func seqs(t *testing.T, entries []entry, first int64) {
	t.Helper()
	for i, en := range entries {
		if en.Seq != first+int64(i) {
			t.Fatalf("entry %d has seq %d, want %d (a gap or a repeat): %v", i, en.Seq, first+int64(i), entries)
		}
	}
}

// TestServeWeb drives the web chat alone (no LINE, no Slack), through HTTP, on a SQLite
// file and on PostgreSQL: the greeting, a diagnosis, a resend with one effect, order,
// resume, history on the next visit, HTML as text, refused input and cookies.
func TestServeWeb(t *testing.T) {
	for _, db := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", "pg"}} {
		t.Run(db.name, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "giftdesk.db")
			if db.url != "" {
				dbURL = postgresURL(t)
			}
			s := startWeb(t, map[string]string{"GIFTDESK_DB": dbURL})
			if m := regexp.MustCompile(`web chat: (http://\S+/)`).FindStringSubmatch(s.logs.String()); m == nil || m[1] != s.url+"/" {
				t.Errorf("the log does not name the URL %s/:\n%s", s.url, s.logs.String())
			}
			testWebConversation(t, s)
		})
	}
}

func testWebConversation(t *testing.T, s *webServe) {
	res, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
		t.Errorf("GET / = %d %v", res.StatusCode, res.Header)
	}

	b := s.browser("en-US,en;q=0.9")
	if code, body := b.call(http.MethodGet, "/api/session", nil); code != http.StatusOK || body["lang"] != "en" {
		t.Fatalf("session = %d %v", code, body)
	}
	st := b.stream("")
	greeting := st.until(question)
	if greeting[0].From != "bot" || !strings.Contains(greeting[0].Text, "giftdesk") || len(greeting[len(greeting)-1].Choices) < 2 {
		t.Fatalf("greeting = %v", greeting)
	}

	// A message sent twice (the connection cut before the answer): one answer.
	b.say("m-invalid-1", "my gift card code is invalid")
	b.say("m-invalid-1", "my gift card code is invalid")
	turn := st.until(question)
	if turn[0].From != "customer" || turn[0].ClientID != "m-invalid-1" || !strings.Contains(turn[len(turn)-1].Text, "code") {
		t.Fatalf("turn = %v", turn)
	}
	waitDrained(t, s.db)
	// A tapped option, with its label shown.
	skip := turn[len(turn)-1].Choices[len(turn[len(turn)-1].Choices)-1]
	if code, body := b.call(http.MethodPost, "/api/messages", map[string]string{"id": "m-tap-0002", "postback": skip.Data, "label": skip.Label}); code != http.StatusAccepted {
		t.Fatalf("postback = %d %v", code, body)
	}
	tap := st.until(func(en entry) bool { return en.From == "bot" && (en.Kind == "question" || en.Kind == "steps") })
	if tap[0].From != "customer" || tap[0].Text != skip.Label {
		t.Errorf("tap = %v", tap)
	}

	// HTML is text: the JSON carries it escaped, and it decodes to what was typed.
	xss := `<img src=x onerror=alert(1)>`
	b.say("m-html-3", xss)
	en := st.until(func(en entry) bool { return en.ClientID == "m-html-3" })
	if last := en[len(en)-1]; last.Text != xss || strings.Contains(last.raw, "<img") {
		t.Errorf("customer entry %q", last.raw)
	}
	waitDrained(t, s.db)
	st.stop()

	// The whole history, from the start (a reload): numbered without gaps, the resent
	// message and its answer once.
	all := b.stream("").until(func(en entry) bool { return en.ClientID == "m-html-3" })
	seqs(t, all, 1)
	n := 0
	for _, en := range all {
		if en.ClientID == "m-invalid-1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the resent message is %d times in the history", n)
	}
	// Resume from the middle (EventSource's Last-Event-ID): the rest, nothing twice.
	mid := all[len(all)/2].Seq
	rest := b.stream(strconv.FormatInt(mid, 10)).until(func(en entry) bool { return en.ClientID == "m-html-3" })
	seqs(t, rest, mid+1)

	// Messages sent at once are answered in the order sent.
	for i, text := range []string{"start over", "how to register", "on my computer"} {
		b.say("m-order-"+strconv.Itoa(i), text)
	}
	waitDrained(t, s.db)
	var sent []string
	for _, en := range b.stream(strconv.FormatInt(all[len(all)-1].Seq, 10)).until(func(en entry) bool { return en.ClientID == "m-order-2" }) {
		if en.From == "customer" {
			sent = append(sent, en.Text)
		}
	}
	if strings.Join(sent, "|") != "start over|how to register|on my computer" {
		t.Errorf("customer entries in the order %q", sent)
	}
	st2, err := openStore(t.Context(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	var conv string
	for _, ck := range b.c.Jar.Cookies(mustURL(t, s.url)) {
		conv, _, _ = strings.Cut(ck.Value, ".")
	}
	lines, err := st2.Transcript(t.Context(), bot.Key{Channel: "web", User: conv}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, l := range lines {
		if l.Role == bot.RoleCustomer {
			said = append(said, l.Text)
		}
	}
	if got := strings.Join(said, "|"); !strings.HasSuffix(got, "start over|how to register|on my computer") {
		t.Errorf("turns processed in the order %q", got)
	}

	// A gift-card code is kept masked in the log.
	b.say("m-code-0010", "my code is AQ12-345678-ABCDE")
	waitDrained(t, s.db)
	for _, en := range b.stream("").until(func(en entry) bool { return en.ClientID == "m-code-0010" }) {
		if strings.Contains(en.raw, "345678") {
			t.Errorf("the log holds the code: %s", en.raw)
		}
	}

	// Metrics and the report count the web channel like the others.
	res, err = http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`giftdesk_webhooks_total{channel="web",outcome="accepted"}`, `giftdesk_webhook_events_total{channel="web",result="duplicate"} 1`,
		`giftdesk_turns_total{channel="web"`, `giftdesk_deliveries_total{channel="web",outcome="push"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !isPostgres(s.db) { // giftdesk report reads SQLite files only
		var report, stderr bytes.Buffer
		if err := runReport(t.Context(), []string{"--db", s.db, "--lang", "en"}, &report, &stderr, time.Now); err != nil {
			t.Fatalf("report: %v %s", err, stderr.String())
		}
		if !regexp.MustCompile(`conversations +1  web 1`).MatchString(report.String()) {
			t.Errorf("the report does not count the web conversation:\n%s", report.String())
		}
	}

	// Refused: too long (in the session's language), a forged cookie.
	code, body := b.call(http.MethodPost, "/api/messages", map[string]string{"id": "m-long-9", "text": strings.Repeat("a", 1001)})
	if code != http.StatusRequestEntityTooLarge || body["code"] != "too_long" || !strings.Contains(body["error"].(string), "1000 characters") {
		t.Errorf("too long = %d %v", code, body)
	}
	forged := s.browser("ja")
	forged.c.Jar.SetCookies(mustURL(t, s.url), []*http.Cookie{{Name: "giftdesk_web", Value: conv + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}})
	if code, body := forged.call(http.MethodGet, "/api/events", nil); code != http.StatusUnauthorized || body["code"] != "bad_session" {
		t.Errorf("forged cookie = %d %v", code, body)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// mustDrainable opens the store db for settle.Drained, closed when the test ends.
func mustDrainable(t *testing.T, db string) settle.Store {
	t.Helper()
	st, err := openStore(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.(settle.Store)
}

// TestServeWebHandoff: a web customer asks for a person; the Slack ticket says "Web"; the
// agent's reply reaches the open page at once, and one sent while the page is closed is
// there on the next visit.
func TestServeWebHandoff(t *testing.T) {
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	slack.AddMembers("CHANDOFF", "UALICE")
	slack.AddUser(slacktest.User{ID: "UALICE", Name: "alice", DisplayName: "アリス"})
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	s := startWeb(t, map[string]string{
		"GIFTDESK_DB": db, "SLACK_BOT_TOKEN": slacktest.BotToken, "SLACK_SIGNING_SECRET": slackSecret,
		"SLACK_API_URL": slack.URL(), "SLACK_HANDOFF_CHANNEL": "CHANDOFF", "GIFTDESK_BUSINESS_HOURS": "always",
	})
	d := &desk{lineServer: &lineServer{t: t, url: s.url, db: db}, slack: slack}

	b := s.browser("ja,en;q=0.5")
	b.call(http.MethodGet, "/api/session", nil)
	st := b.stream("")
	st.until(question)
	b.say("m-person-1", "担当者と話したい")
	st.until(func(en entry) bool { return en.From == "bot" && strings.Contains(en.Text, "担当者") })
	ctx := waitCtx(t)
	roots, err := slack.WaitMessages(ctx, "CHANDOFF", 1)
	if err != nil {
		t.Fatalf("no ticket posted: %v", err)
	}
	root := roots[0]
	wantIn(t, "ticket", root.Plain(), "Web", "Claim")
	waitLinked(t, db, root)
	if code := d.press(root, "UALICE", "claim"); code != http.StatusOK {
		t.Fatalf("claim answered %d", code)
	}
	d.agentSays(root, "UALICE", "お待たせしました。アリスです、確認します")
	got := st.until(func(en entry) bool { return en.From == "agent" })
	if last := got[len(got)-1]; last.Text != "お待たせしました。アリスです、確認します" || last.Kind != "text" {
		t.Errorf("agent's entry %+v", last)
	}
	// The page is closed; the agent writes again; the next visit shows it.
	st.stop()
	d.agentSays(root, "UALICE", "コードの件、解決しました")
	if err := settle.Drained(ctx, mustDrainable(t, db)); err != nil {
		t.Fatal(err)
	}
	history := b.stream("").until(func(en entry) bool { return en.Text == "コードの件、解決しました" })
	if last := history[len(history)-1]; last.From != "agent" {
		t.Errorf("on the next visit: %+v", last)
	}
	agents := 0
	for _, en := range history {
		if en.From == "agent" {
			agents++
		}
	}
	if agents != 2 {
		t.Errorf("%d agent entries in the history (Slack retried each once), want 2", agents)
	}
}

// TestServeWebReplicas: two replicas on one PostgreSQL database; the page streams from
// one and posts to the other, and the answer (delivered by whichever replica) arrives.
func TestServeWebReplicas(t *testing.T) {
	db := postgresURL(t)
	secret := "a-shared-web-secret-of-the-replicas"
	a := startWeb(t, map[string]string{"GIFTDESK_DB": db, "GIFTDESK_WEB_SECRET": secret})
	bSrv := startWeb(t, map[string]string{"GIFTDESK_DB": db, "GIFTDESK_WEB_SECRET": secret})
	b := a.browser("en")
	b.call(http.MethodGet, "/api/session", nil)
	st := b.stream("")
	st.until(question)
	b.on(bSrv).say("m-replica-1", "my gift card code is invalid")
	if turn := st.until(question); turn[0].ClientID != "m-replica-1" {
		t.Errorf("turn = %v", turn)
	}
}

func TestServeWebConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error; empty for none
		web  bool
	}{
		{name: "nothing: the web chat alone", env: map[string]string{}, web: true},
		{name: "LINE and the web chat", env: map[string]string{"LINE_CHANNEL_SECRET": "a", "LINE_CHANNEL_ACCESS_TOKEN": "b"}, web: true},
		{name: "LINE, web off", env: map[string]string{"LINE_CHANNEL_SECRET": "a", "LINE_CHANNEL_ACCESS_TOKEN": "b", "GIFTDESK_WEB": "off"}},
		{name: "nothing at all", env: map[string]string{"GIFTDESK_WEB": "off"}, want: "no channel configured"},
		{name: "web maybe", env: map[string]string{"GIFTDESK_WEB": "maybe"}, want: "GIFTDESK_WEB="},
		{name: "short secret", env: map[string]string{"GIFTDESK_WEB_SECRET": "hunter2"}, want: "GIFTDESK_WEB_SECRET: want at least 16"},
		{name: "origins", env: map[string]string{"GIFTDESK_WEB_ORIGINS": "https://shop.example, http://localhost:3000/"}, web: true},
		{name: "origin with a path", env: map[string]string{"GIFTDESK_WEB_ORIGINS": "https://shop.example/chat"}, want: "GIFTDESK_WEB_ORIGINS"},
		{name: "origin without a scheme", env: map[string]string{"GIFTDESK_WEB_ORIGINS": "shop.example"}, want: "GIFTDESK_WEB_ORIGINS"},
		{name: "no limits", env: map[string]string{"GIFTDESK_WEB_MESSAGES_PER_MINUTE": "0", "GIFTDESK_WEB_ADDRESS_PER_MINUTE": "0"}, web: true},
		{name: "limit malformed", env: map[string]string{"GIFTDESK_WEB_MESSAGES_PER_MINUTE": "lots"}, want: "GIFTDESK_WEB_MESSAGES_PER_MINUTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadServeConfig(func(k string) string { return tt.env[k] })
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("the secret is quoted in the error: %v", err)
			case tt.want == "" && c.Web != tt.web:
				t.Errorf("Web = %v, want %v", c.Web, tt.web)
			}
			if tt.name == "origins" && strings.Join(c.WebOrigins, " ") != "https://shop.example http://localhost:3000" {
				t.Errorf("origins %q", c.WebOrigins)
			}
		})
	}
}

// BenchmarkWebRoundTrip measures the time from a customer's POST to the answer on the
// page's event stream, through giftdesk serve on a SQLite file (and for one customer on
// PostgreSQL, when GIFTDESK_TEST_POSTGRES is set): for one customer, and for
// -cpu × 4 customers chatting at once, each waiting for its answer before writing again;
// "under LINE load" also with 200 LINE webhooks a second (traffic like the load
// generator's, each a diagnosis message of one of 500 users, paced below what the machine
// processes so that no backlog builds up: at saturation every answer waits behind the
// backlog, however long it grows). It reports the median and 99th percentile per round
// trip.
func BenchmarkWebRoundTrip(b *testing.B) {
	sqlite := func(b *testing.B) string { return filepath.Join(b.TempDir(), "giftdesk.db") }
	b.Run("one customer", func(b *testing.B) { benchWeb(b, sqlite(b), false, 0) })
	b.Run("customers at once", func(b *testing.B) { benchWeb(b, sqlite(b), false, 4) })
	b.Run("customers at once under LINE load", func(b *testing.B) { benchWeb(b, sqlite(b), true, 4) })
	b.Run("one customer on PostgreSQL", func(b *testing.B) { benchWeb(b, postgresURL(b), false, 0) })
}

// benchWeb runs the round trips of one customer (parallelism 0) or of parallelism × -cpu
// customers at once, on the database db.
func benchWeb(b *testing.B, db string, lineLoad bool, parallelism int) {
	env := map[string]string{
		"GIFTDESK_DB": db, "GIFTDESK_LOG_LEVEL": "error",
		"GIFTDESK_WEB_MESSAGES_PER_MINUTE": "0", "GIFTDESK_WEB_ADDRESS_PER_MINUTE": "0",
	}
	var fake *linetest.Server
	if lineLoad {
		fake = linetest.New(b, linetest.Config{})
		env["LINE_CHANNEL_SECRET"], env["LINE_CHANNEL_ACCESS_TOKEN"], env["LINE_API_BASE_URL"] = testSecret, fake.Token(), fake.URL()
	}
	s := startWeb(b, env)
	stop := make(chan struct{})
	var load sync.WaitGroup
	var webhooks atomic.Int64
	if lineLoad {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		due := make(chan struct{}, 8)
		load.Go(func() {
			defer close(due)
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					select {
					case due <- struct{}{}:
					default: // the senders are behind: skip a beat rather than burst
					}
				}
			}
		})
		for c := range 8 {
			load.Go(func() {
				for i := 0; ; i++ {
					if _, ok := <-due; !ok {
						return
					}
					user := fmt.Sprintf("U%032x", (c*1000+i)%500)
					body, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{map[string]any{
						"type": "message", "mode": "active", "timestamp": time.Now().UnixMilli(),
						"webhookEventId": linetest.NewEventID(), "replyToken": fake.IssueReplyToken(user),
						"source":  map[string]any{"type": "user", "userId": user},
						"message": map[string]any{"type": "text", "id": strconv.Itoa(i), "text": "ギフト券のコードが無効と出ます", "quoteToken": "q"},
					}}})
					req, _ := http.NewRequest(http.MethodPost, s.url+"/line/webhook", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Line-Signature", linetest.Sign(testSecret, body))
					if res, err := http.DefaultClient.Do(req); err == nil {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						webhooks.Add(1)
					}
				}
			})
		}
	}
	texts := []string{"my gift card code is invalid", "start over"}
	var (
		mu    sync.Mutex
		times []time.Duration
		ids   atomic.Int64
	)
	customer := func(next func() bool) {
		br := s.browser("en")
		br.call(http.MethodGet, "/api/session", nil)
		st := br.stream("")
		st.until(question)
		var mine []time.Duration
		for i := 0; next(); i++ {
			id := "bench-" + strconv.FormatInt(1000000+ids.Add(1), 10)
			start := time.Now()
			br.say(id, texts[i%2])
			seen := false
			st.until(func(en entry) bool {
				seen = seen || en.ClientID == id
				return seen && question(en)
			})
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		times = append(times, mine...)
		mu.Unlock()
	}
	b.ResetTimer()
	began := time.Now()
	if parallelism > 0 {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) { customer(pb.Next) })
	} else {
		n := 0
		customer(func() bool { n++; return n <= b.N })
	}
	b.StopTimer()
	elapsed := time.Since(began)
	close(stop)
	load.Wait()
	slices.Sort(times)
	if len(times) > 0 {
		b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
	}
	if lineLoad {
		b.ReportMetric(float64(webhooks.Load())/elapsed.Seconds(), "LINE-webhooks/s")
	}
}

// TestServeWebWithLINE: with LINE configured the web chat runs too, unless GIFTDESK_WEB=off.
func TestServeWebWithLINE(t *testing.T) {
	for _, tt := range []struct {
		web  string
		want int
	}{{"", http.StatusOK}, {"off", http.StatusNotFound}} {
		t.Run("GIFTDESK_WEB="+tt.web, func(t *testing.T) {
			fake := linetest.New(t, linetest.Config{})
			s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), map[string]string{"GIFTDESK_WEB": tt.web})
			for _, path := range []string{"/", "/api/session"} {
				res, err := http.Get(s.url + path)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != tt.want {
					t.Errorf("GET %s = %d, want %d", path, res.StatusCode, tt.want)
				}
			}
		})
	}
}
