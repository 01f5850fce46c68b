package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/settle"
)

const testSecret = "test-channel-secret"

// lineServer is a giftdesk serve running in-process against a fake LINE API.
type lineServer struct {
	t      *testing.T
	fake   *linetest.Server
	url    string
	db     string // GIFTDESK_DB
	secret string
	seq    atomic.Int64
	stop   func() // stops the server and waits for it; also run at cleanup
}

func startServe(t *testing.T, fake *linetest.Server, db string, extra map[string]string) *lineServer {
	t.Helper()
	env := map[string]string{
		"GIFTDESK_DB":               db,
		"LINE_CHANNEL_SECRET":       testSecret,
		"LINE_CHANNEL_ACCESS_TOKEN": fake.Token(),
		"LINE_API_BASE_URL":         fake.URL(),
	}
	for k, v := range extra {
		env[k] = v
	}
	var logs syncBuffer
	s := startServeWith(t, fake, env, &logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

// startServeWith runs giftdesk serve with env, logging to logs.
func startServeWith(t *testing.T, fake *linetest.Server, env map[string]string, logs *syncBuffer) *lineServer {
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
	go func() { done <- runServe(ctx, func(k string) string { return env[k] }, logs, l) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	s := &lineServer{t: t, fake: fake, url: "http://" + l.Addr().String(), db: env["GIFTDESK_DB"], secret: env["LINE_CHANNEL_SECRET"], stop: stop}
	waitReady(t, s.url)
	return s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := settle.Until(ctx, func() (bool, error) {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false, nil // not listening yet
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("%s never became ready: %v", base, err)
	}
}

// waitDrained waits until the store db (GIFTDESK_DB) has no pending event and no
// unfinished outbox row: every event acknowledged so far has been answered and the answer
// delivered, so nothing more will be sent until another event arrives.
func waitDrained(t *testing.T, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	drainable, ok := st.(settle.Store)
	if !ok {
		t.Fatalf("the store of %s cannot tell a drained pipeline", db)
	}
	if err := settle.Drained(ctx, drainable); err != nil {
		t.Fatal(err)
	}
}

// waitDrained waits for the server's pipeline to be drained (see waitDrained).
func (s *lineServer) waitDrained() {
	s.t.Helper()
	waitDrained(s.t, s.db)
}

// event builds a LINE webhook event from a user; body is the type-specific part.
type event map[string]any

func (s *lineServer) textEvent(user, text string) event {
	return s.userEvent(user, "message", map[string]any{"message": map[string]any{
		"type": "text", "id": fmt.Sprint(s.seq.Add(1)), "text": text, "quoteToken": "q",
	}})
}

func (s *lineServer) postbackEvent(user, data string) event {
	return s.userEvent(user, "postback", map[string]any{"postback": map[string]any{"data": data}})
}

func (s *lineServer) userEvent(user, typ string, extra map[string]any) event {
	n := s.seq.Add(1)
	e := event{
		"type": typ, "mode": "active", "timestamp": time.Now().UnixMilli(),
		"webhookEventId":  fmt.Sprintf("01HT%016X%06d", rand.Uint64(), n),
		"deliveryContext": map[string]any{"isRedelivery": false},
		"source":          map[string]any{"type": "user", "userId": user},
		"replyToken":      s.fake.IssueReplyToken(user),
	}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

// post sends events in one signed webhook and returns the status.
func (s *lineServer) post(evs ...event) int {
	s.t.Helper()
	body, err := json.Marshal(map[string]any{"destination": "Ubot", "events": evs})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.postRaw(body, linetest.Sign(s.secret, body))
}

func (s *lineServer) postRaw(body []byte, signature string) int {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/line/webhook", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Line-Signature", signature)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// say sends one event and waits until the user has seen want messages in all.
func (s *lineServer) say(user string, ev event, want int) []linetest.Message {
	s.t.Helper()
	if code := s.post(ev); code != http.StatusOK {
		s.t.Fatalf("webhook answered %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := s.fake.WaitDelivered(ctx, user, want)
	if err != nil {
		s.t.Fatalf("waiting for %d messages to %s: %v (have %d)", want, user, err, len(s.fake.Delivered(user)))
	}
	return msgs
}

func texts(msgs []linetest.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.Type == "flex" {
			b.WriteString("[flex] " + m.AltText + "\n")
			continue
		}
		b.WriteString(m.Text)
		for _, a := range m.QuickReply {
			b.WriteString(" [" + a.Label + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// quick returns the postback data of the quick-reply button labelled label.
func quick(t *testing.T, msgs []linetest.Message, label string) string {
	t.Helper()
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, a := range msgs[i].QuickReply {
			if a.Label == label {
				return a.Data
			}
		}
	}
	t.Fatalf("no quick reply %q in:\n%s", label, texts(msgs))
	return ""
}

func TestServeLineDiagnosis(t *testing.T) {
	tests := []struct {
		name     string
		language string // the customer's LINE profile language
		first    string
		choice   string
		device   string
		want     []string
	}{
		{name: "japanese", language: "ja", first: "アマゾンギフト券が使えません", choice: "登録方法を知りたい", device: "スマホ",
			want: []string{"ギフト券の登録方法(スマホ)", "解決しましたか?"}},
		{name: "english", language: "en", first: "my amazon gift card doesnt work", choice: "How to register", device: "Smartphone",
			want: []string{"Did that solve it?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := linetest.New(t, linetest.Config{})
			s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
			user := "U" + strings.Repeat("a", 31) + "1"
			fake.SetProfile(user, linetest.Profile{DisplayName: "山田花子", Language: tt.language})

			msgs := s.say(user, s.textEvent(user, tt.first), 2)
			msgs = s.say(user, s.postbackEvent(user, quick(t, msgs, tt.choice)), len(msgs)+1)
			msgs = s.say(user, s.textEvent(user, tt.device), len(msgs)+2)
			all := texts(msgs)
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("conversation lacks %q:\n%s", w, all)
				}
			}
			if last := msgs[len(msgs)-2]; last.Type != "flex" {
				t.Errorf("advice was sent as %q, want a flex bubble:\n%s", last.Type, all)
			}
			s.say(user, s.postbackEvent(user, quick(t, msgs, map[string]string{"ja": "はい、解決しました", "en": "Yes, solved"}[tt.language])), len(msgs)+1)
			for _, r := range fake.Replies() {
				if r.Status != http.StatusOK {
					t.Errorf("reply answered %d", r.Status)
				}
			}
			if n := len(fake.Pushes()); n != 0 {
				t.Errorf("%d pushes, want every answer as a reply", n)
			}
			if len(fake.Errors()) > 0 {
				t.Errorf("invalid requests: %+v", fake.Errors())
			}
		})
	}
}

func TestServeLineRedeliveredOnce(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	user := "U" + strings.Repeat("b", 32)
	ev := s.textEvent(user, "こんにちは")
	for i := 0; i < 5; i++ {
		if code := s.post(ev); code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, code)
		}
	}
	var wg sync.WaitGroup
	ev2 := s.textEvent(user, "期限切れかも")
	for i := 0; i < 5; i++ {
		wg.Go(func() {
			if code := s.post(ev2); code != http.StatusOK {
				t.Errorf("concurrent delivery: status %d", code)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Replies()) >= 2 }); err != nil {
		t.Fatal(err)
	}
	// Every event answered and delivered: a wrongly duplicated answer would be out.
	s.waitDrained()
	if n := accepted(fake); n != 2 {
		t.Errorf("%d answers to 2 distinct events delivered 5 times each, want 2", n)
	}
}

func TestServeLineStaleTokenPushes(t *testing.T) {
	fake := linetest.New(t, linetest.Config{ReplyTokenTTL: time.Millisecond})
	s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	user := "U" + strings.Repeat("c", 32)
	msgs := s.say(user, s.textEvent(user, "hello"), 2)
	pushes := fake.Pushes()
	if len(pushes) != 1 || pushes[0].RetryKey == "" || pushes[0].To != user {
		t.Fatalf("pushes = %+v, want one push to %s with a retry key", pushes, user)
	}
	if !strings.Contains(texts(msgs), "What is happening?") {
		t.Errorf("pushed:\n%s", texts(msgs))
	}
}

func TestServeLineRejects(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	user := "U" + strings.Repeat("d", 32)
	good, _ := json.Marshal(map[string]any{"events": []event{s.textEvent(user, "hi")}})
	big := bytes.Repeat([]byte(" "), 2<<20)
	tests := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{name: "missing signature", body: good, sig: "", want: http.StatusUnauthorized},
		{name: "wrong signature", body: good, sig: linetest.Sign(testSecret, []byte("other")), want: http.StatusUnauthorized},
		{name: "garbage signature", body: good, sig: "!!!", want: http.StatusUnauthorized},
		{name: "2 MB body", body: big, sig: linetest.Sign(testSecret, big), want: http.StatusRequestEntityTooLarge},
		{name: "malformed JSON", body: []byte(`{"events": [`), sig: linetest.Sign(testSecret, []byte(`{"events": [`)), want: http.StatusOK},
		{name: "empty events", body: []byte(`{"events": []}`), sig: linetest.Sign(testSecret, []byte(`{"events": []}`)), want: http.StatusOK},
		{name: "unknown event type", body: unknownEvent(), sig: linetest.Sign(testSecret, unknownEvent()), want: http.StatusOK},
		{name: "standby mode", body: standbyEvent(user), sig: linetest.Sign(testSecret, standbyEvent(user)), want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.postRaw(tt.body, tt.sig); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	s.waitDrained()
	if n := accepted(fake); n != 0 {
		t.Errorf("%d messages sent for rejected or ignored webhooks", n)
	}
	// The channel still works afterwards.
	s.say(user, s.textEvent(user, "hi"), 2)
}

func unknownEvent() []byte {
	return []byte(`{"events":[{"type":"somethingNew","mode":"active","timestamp":1,"webhookEventId":"01HUNKNOWN","source":{"type":"user","userId":"U1"}}]}`)
}

func standbyEvent(user string) []byte {
	return []byte(`{"events":[{"type":"message","mode":"standby","timestamp":1,"webhookEventId":"01HSTANDBY","source":{"type":"user","userId":"` + user + `"},"message":{"type":"text","id":"1","text":"hi","quoteToken":"q"}}]}`)
}
