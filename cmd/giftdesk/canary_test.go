package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/line"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/server"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// canaryCode returns a random gift-card code (15 characters, at least two digits).
func canaryCode(rng *rand.Rand) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 15)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	b[3], b[9] = '7', '4'
	return string(b)
}

// typings are the ways customers type a code.
func typings(code string) []string {
	grouped := code[:4] + "-" + code[4:10] + "-" + code[10:]
	full := strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r + 0xFEE0
		case r == '-':
			return '－'
		}
		return r
	}, grouped)
	return []string{grouped, full, strings.ToLower(code[:4] + " " + code[4:10] + " " + code[10:]), code}
}

// leaks reports where any canary appears in text, in any form a customer may have typed a
// code (folded as the code checker reads it).
func leaks(text string, codes, secrets []string) []string {
	var found []string
	folded := flows.NormalizeCode(text)
	for _, c := range codes {
		if strings.Contains(folded, c) {
			found = append(found, "code "+flows.MaskCode(c))
		}
		// A code cut in two by masking is still masked; half of one is not a leak.
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			found = append(found, "secret "+s[:4]+"…")
		}
	}
	return found
}

// TestCanary pushes random gift-card codes and secret values through giftdesk's normal
// paths and its failures — a code typed at a question, at the code prompt and while waiting
// for a person, a bad signature, an oversized body, malformed JSON, LINE answering 500, the
// database failing, a panicking handler — and searches everything written for them: logs,
// HTTP bodies, the transcript, and every message sent to LINE.
func TestCanary(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var codes []string
	for range 6 {
		codes = append(codes, canaryCode(rng))
	}
	secret := fmt.Sprintf("linesecret%016x", rng.Uint64())
	token := fmt.Sprintf("linetoken%024x", rng.Uint64())
	slackToken := fmt.Sprintf("xoxb-%016x", rng.Uint64())
	secrets := []string{secret, token, slackToken}

	fake := linetest.New(t, linetest.Config{Token: token})
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	env := map[string]string{
		"GIFTDESK_DB": db, "LINE_CHANNEL_SECRET": secret, "LINE_CHANNEL_ACCESS_TOKEN": token,
		"LINE_API_BASE_URL": fake.URL(), "GIFTDESK_LOG_LEVEL": "debug",
	}
	var logs syncBuffer
	var bodies bytes.Buffer
	s := startServeWith(t, fake, env, &logs)
	s.secret = secret
	user := "U" + strings.Repeat("c", 32)

	// Normal paths.
	// A code in the first message is read as a fact: its format advice comes at once.
	msgs := s.say(user, s.textEvent(user, "コードは "+typings(codes[0])[0]+" です。使えません"), 4)
	msgs = s.say(user, s.textEvent(user, "最初から"), len(msgs)+1)
	msgs = s.say(user, s.postbackEvent(user, quick(t, msgs, "番号が無効と出る")), len(msgs)+1)
	s.say(user, s.textEvent(user, typings(codes[1])[1]), len(msgs)+2)
	msgs = fake.Delivered(user)
	msgs = s.say(user, s.textEvent(user, "担当者と話したい"), len(msgs)+1)
	s.say(user, s.textEvent(user, "念のため "+typings(codes[2])[2]+" も送ります"), len(msgs)+1)

	// Failures: bad signature, oversized, malformed JSON, LINE failing.
	body := []byte(`{"events":[{"type":"message","message":{"type":"text","text":"` + codes[3] + `"}}]}`)
	s.postCapture(body, linetest.Sign("wrong-secret", body), &bodies)
	big := append(bytes.Repeat([]byte(" "), 2<<20), []byte(codes[3])...)
	s.postCapture(big, linetest.Sign(secret, big), &bodies)
	bad := []byte(`{"events":[{"type":"message","text":"` + typings(codes[4])[0] + `"`)
	s.postCapture(bad, linetest.Sign(secret, bad), &bodies)
	fake.FailNext(linetest.PathReply, http.StatusInternalServerError, 3)
	other := "U" + strings.Repeat("d", 32)
	s.say(other, s.textEvent(other, "番号は "+typings(codes[5])[0]), 2)

	// The database failing under the webhook, and a panicking handler, with the serve logger.
	serveLog := newLogger(&logs, "json", -4, secrets...)
	failing := &failingInbox{err: errors.New("disk I/O error")}
	ch, err := line.New(line.Config{ChannelSecret: secret, AccessToken: token, APIBaseURL: fake.URL(),
		Inbox: failing, Redact: flows.RedactCodes, Logger: serveLog})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Logger: serveLog, Routes: map[string]http.Handler{
		"POST /line/webhook": ch,
		"POST /panic": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("cannot handle code " + typings(codes[3])[1] + " with token " + token)
		}),
	}})
	ev := s.textEvent(user, "code "+typings(codes[4])[0])
	evBody, _ := json.Marshal(map[string]any{"events": []event{ev}})
	for _, req := range []*http.Request{
		signedRequest("/line/webhook", evBody, linetest.Sign(secret, evBody)),
		signedRequest("/panic", evBody, ""),
	} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("%s answered %d, want 500", req.URL.Path, rec.Code)
		}
		bodies.Write(rec.Body.Bytes())
	}

	// Stop the server, then read what it wrote to the database.
	s.stop()
	st, err := sqlite.New(context.Background(), sqlite.Config{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lines, err := st.Transcript(context.Background(), bot.Key{Channel: "line", User: user}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var transcript strings.Builder
	for _, l := range lines {
		transcript.WriteString(string(l.Role) + ": " + l.Text + "\n")
	}
	if !strings.Contains(transcript.String(), "****-") {
		t.Errorf("the transcript shows no masked code; was the code typed at all?\n%s", transcript.String())
	}
	var sent strings.Builder
	for _, u := range []string{user, other} {
		sent.WriteString(texts(fake.Delivered(u)))
	}
	for _, c := range fake.Calls() {
		sent.Write(c.Body)
	}

	for name, text := range map[string]string{
		"logs": logs.String(), "HTTP bodies": bodies.String(), "transcript": transcript.String(), "messages sent to LINE": sent.String(),
	} {
		if found := leaks(text, codes, secrets); len(found) > 0 {
			t.Errorf("%s leak %v", name, found)
		}
	}
	if !strings.Contains(logs.String(), "handler panicked") || !strings.Contains(logs.String(), "store events") {
		t.Errorf("the failures were not logged at all:\n%s", logs.String())
	}
	// Customer text cannot forge log lines.
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.HasPrefix(l, "{") && !strings.HasPrefix(l, "time=") {
			t.Errorf("a log line that giftdesk did not write: %q", l)
		}
	}
}

type failingInbox struct{ err error }

func (f *failingInbox) AddEvents(context.Context, []bot.Event) ([]bool, error) { return nil, f.err }
func (f *failingInbox) AddDeadLetter(context.Context, bot.DeadLetter) error    { return f.err }

func signedRequest(path string, body []byte, sig string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Line-Signature", sig)
	}
	return req
}

func (s *lineServer) postCapture(body []byte, signature string, into io.Writer) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/line/webhook", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("X-Line-Signature", signature)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(into, res.Body)
}
