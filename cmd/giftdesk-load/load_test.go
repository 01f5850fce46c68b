package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// TestMain lets the test binary stand in for giftdesk-load when the load test starts the
// bare handler: it re-executes itself as "<test binary> bare --addr … --secret …".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bare:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// buildGiftdesk builds ./cmd/giftdesk into a temporary directory, or skips the test.
func buildGiftdesk(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs giftdesk serve; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH: cannot build ./cmd/giftdesk for the smoke test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := giftdeskBinary(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestSmoke plays the demo and a one-second load against giftdesk serve. It asserts that
// everything acknowledged was answered and that giftdesk sent nothing LINE would reject;
// it makes no timing assertions.
func TestSmoke(t *testing.T) {
	bin := buildGiftdesk(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("demo", func(t *testing.T) {
		var out bytes.Buffer
		if err := demo(ctx, bin, t.TempDir(), &out); err != nil {
			t.Fatalf("demo: %v\n%s", err, out.String())
		}
		for _, want := range []string{"はい、解決しました", "Yes, solved", "[Flex bubble", "0 validation errors"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("demo output lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("run", func(t *testing.T) {
		_, validate := linetest.SpecPath()
		if !validate {
			t.Log("LINE OpenAPI spec not found: the load runs without request validation")
		}
		cfg := loadConfig{
			Bin: bin, Self: []string{os.Args[0]}, Dir: t.TempDir(),
			Duration: time.Second, Conns: 4, Users: 20, Redeliver: 0.1, DB: "sqlite",
			Drain: time.Minute, Seed: 1, Validate: validate, Progress: io.Discard,
		}
		rep, err := measure(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var table bytes.Buffer
		printReport(&table, rep)
		t.Logf("\n%s", table.String())
		if err := rep.problems(); err != nil {
			t.Error(err)
		}
		for _, tr := range []*targetResult{rep.Bare, rep.Giftdesk} {
			if tr.Acked == 0 || tr.Processed != tr.Acked-tr.Redelivered {
				t.Errorf("%s: %d acknowledged (%d redelivered), %d processed; want every distinct acknowledged event processed",
					tr.Target, tr.Acked, tr.Redelivered, tr.Processed)
			}
		}
	})
}

// TestBareHandler checks the bare handler's answers: it must do the work it stands for.
func TestBareHandler(t *testing.T) {
	h := bareHandler(loadSecret)
	r := rand.New(rand.NewPCG(1, 2))
	c := newCustomers(r, 1)[0]
	good := encodeWebhook(makeEvent(newIDSource(r), c, say("ギフト券が使えません"), randomToken(), time.Now()))
	tests := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{name: "signed event", body: good, sig: signBody(loadSecret, good), want: http.StatusOK},
		{name: "wrong signature", body: good, sig: signBody("other", good), want: http.StatusUnauthorized},
		{name: "no signature", body: good, want: http.StatusUnauthorized},
		{name: "signed garbage", body: []byte("{"), sig: signBody(loadSecret, []byte("{")), want: http.StatusBadRequest},
		{name: "too large", body: make([]byte, maxWebhookBody+1), sig: "x", want: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/line/webhook", bytes.NewReader(tt.body))
			if tt.sig != "" {
				req.Header.Set("X-Line-Signature", tt.sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

// TestTracker checks how answers are matched to events: a reply by its token, a push to
// the user's oldest unanswered event.
func TestTracker(t *testing.T) {
	tr := newTracker()
	tr.sent("e1", "U1", "t1")
	tr.sent("e2", "U1", "t2")
	tr.sent("e3", "U2", "t3")
	for _, id := range []string{"e1", "e2", "e3"} {
		tr.ack(id)
	}
	reply := func(token string, status int) linetest.Call {
		return linetest.Call{Route: linetest.PathReply, Status: status, JSON: map[string]any{"replyToken": token}}
	}
	push := func(to string, status int) linetest.Call {
		return linetest.Call{Route: linetest.PathPush, Status: status, JSON: map[string]any{"to": to}}
	}
	tr.onCall(reply("t2", http.StatusOK))
	tr.onCall(reply("t1", http.StatusBadRequest)) // stale token: not an answer
	tr.onCall(push("U1", http.StatusOK))          // answers e1, U1's oldest unanswered
	tr.onCall(push("U1", http.StatusConflict))    // a retried push: not an answer
	st := tr.stats()
	if st.Answered != 2 || st.AckedAnswered != 2 || st.Replies != 1 || st.Pushes != 1 || st.Refused != 1 {
		t.Errorf("stats = %+v, want 2 answered (1 reply, 1 push), 1 refused", st)
	}
	if tr.drain(context.Background(), time.Millisecond) {
		t.Error("drain reported done with e3 unanswered")
	}
	tr.onCall(reply("t3", http.StatusOK))
	tr.onCall(reply("t3", http.StatusOK)) // the fake never accepts a token twice; if it did, it is no new answer
	if !tr.drain(context.Background(), time.Second) {
		t.Errorf("drain not done: %+v", tr.stats())
	}
	if st := tr.stats(); st.Answered != 3 || st.Extra != 1 {
		t.Errorf("stats = %+v, want 3 answered and 1 extra", st)
	}
}

// TestCustomersFollowScripts checks that the simulated customers send what their scripts
// say, in order, with placeholders filled in.
func TestCustomersFollowScripts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range newCustomers(r, 50) {
		c.follow, c.first = false, false
		script := scripts[c.lang][c.script]
		for i, want := range script {
			got := c.next(r)
			if got.kind() != want.kind() || want.postback != "" && got.postback != want.postback {
				t.Fatalf("%s step %d = %+v, want %+v", c.id, i, got, want)
			}
			if strings.Contains(got.text, "{") {
				t.Errorf("%s step %d: placeholder left in %q", c.id, i, got.text)
			}
		}
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("1234 (giftdesk serve) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0\n")
	if cpu, err := parseStatCPU(stat); err != nil || cpu != 3*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 3s", cpu, err)
	}
	status := []byte("Name:\tgiftdesk\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\n")
	if n, err := parseStatusKB(status, "VmHWM"); err != nil || n != 40<<20 {
		t.Errorf("parseStatusKB(VmHWM) = %d, %v; want 40 MiB", n, err)
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil {
		t.Error("parseStatusKB(VmSwap): want an error")
	}
}
