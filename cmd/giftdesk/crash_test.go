package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// giftdeskBinary builds this command once per test run.
func giftdeskBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found: cannot build giftdesk for the crash test")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "giftdesk-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "giftdesk")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// process is a giftdesk serve child process.
type process struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	url  string
}

func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(giftdeskBinary(t), "serve")
	cmd.Env = append(os.Environ(), "GIFTDESK_ADDR="+addr, "GIFTDESK_LOG_FORMAT=text")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, logs: &syncBuffer{}, url: "http://" + addr}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("giftdesk log:\n%s", p.logs.String())
		}
	})
	waitReady(t, p.url)
	return p
}

// TestCrashAfterAcknowledging kills giftdesk with SIGKILL after it acknowledged a batch of
// events but before it could answer them (LINE fails every call meanwhile), restarts it on
// the same database, and checks that every acknowledged event is answered exactly once — by
// push, since the reply tokens are stale by then — except one whose reply was in flight
// at the kill: that one may have been delivered, and is reported uncertain, not pushed.
func TestCrashAfterAcknowledging(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// The fake's clock runs ahead once the first process is dead, so that every reply
	// token it issued has expired.
	var ahead atomic.Int64
	fake := linetest.New(t, linetest.Config{ReplyTokenTTL: 300 * time.Millisecond,
		Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
	env := map[string]string{
		"GIFTDESK_DB":               filepath.Join(t.TempDir(), "giftdesk.db"),
		"LINE_CHANNEL_SECRET":       testSecret,
		"LINE_CHANNEL_ACCESS_TOKEN": fake.Token(),
		"LINE_API_BASE_URL":         fake.URL(),
		// No lease expires during the test: the second process takes over what the first
		// left because the first is dead (liveness), not because its leases ran out.
		"GIFTDESK_LEASE":    "1h",
		"LINE_REPLY_WINDOW": "200ms", // shorter than the fake's token lifetime, as 50s is shorter than LINE's
	}
	fake.FailNext(linetest.PathReply, http.StatusInternalServerError, 1000)
	fake.FailNext(linetest.PathPush, http.StatusInternalServerError, 1000)
	first := startProcess(t, env)

	const n = 20
	s := &lineServer{t: t, fake: fake, url: first.url, secret: testSecret}
	users := make([]string, n)
	var wg sync.WaitGroup
	for i := range users {
		users[i] = fmt.Sprintf("U%032x", i+1)
		ev := s.textEvent(users[i], "ギフト券が使えません")
		wg.Go(func() {
			if code := s.post(ev); code != http.StatusOK {
				t.Errorf("webhook answered %d", code)
			}
		})
	}
	wg.Wait()
	// Let it try (and fail) to answer some, then kill it mid-way.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, func() bool { return fake.Attempts(linetest.PathReply) >= 3 }); err != nil {
		t.Fatalf("no delivery attempted: %v", err)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	if got := accepted(fake); got != 0 {
		t.Fatalf("%d answers delivered before the crash, want 0", got)
	}

	// The reply tokens expire, at the fake and for the second process, whose reply window
	// is over for every event the first one acknowledged.
	ahead.Store(int64(time.Minute))
	env["LINE_REPLY_WINDOW"] = "1ms"
	fake.ClearFaults()
	second := startProcess(t, env)
	// A reply in flight when the process died may have been delivered, for all the
	// restart can tell: past the reply window it is recorded as uncertain, not pushed
	// (README, How a message flows). Every other event is answered.
	uncertain := map[string]bool{}
	for _, u := range users {
		tick := time.NewTicker(20 * time.Millisecond)
		for len(fake.Delivered(u)) < 2 && !uncertain[u] {
			select {
			case <-ctx.Done():
				t.Fatalf("user %s: neither answered nor reported uncertain (delivered %d)", u, len(fake.Delivered(u)))
			case <-tick.C:
			}
			uncertain[u] = reportedUncertain(second.logs.String(), u)
		}
		tick.Stop()
	}
	waitDrained(t, env["GIFTDESK_DB"]) // a wrong second answer would be out by then
	for _, u := range users {
		msgs := fake.Delivered(u)
		switch {
		case uncertain[u] && len(msgs) != 0:
			t.Errorf("user %s reported uncertain but sent %d messages", u, len(msgs))
		case !uncertain[u] && (len(msgs) != 2 || !strings.Contains(texts(msgs), "どのような状況ですか")):
			t.Errorf("user %s saw %d messages, want the greeting and the first question once:\n%s", u, len(msgs), texts(msgs))
		}
	}
	if len(uncertain) > 0 {
		t.Logf("%d of %d answers in flight at the crash were recorded as uncertain", countTrue(uncertain), n)
	}
	for _, r := range fake.Replies() {
		if r.Status == http.StatusOK {
			t.Errorf("a reply with a stale token was accepted")
		}
	}
	pushed := 0
	for _, p := range fake.Pushes() {
		if p.RetryKey == "" {
			t.Errorf("push to %s without a retry key", p.To)
		}
		if p.Status == http.StatusOK {
			pushed++
		}
	}
	if want := n - countTrue(uncertain); pushed != want {
		t.Errorf("%d pushes accepted, want %d (one per event not uncertain)", pushed, want)
	}
}

// reportedUncertain reports whether logs have the deliverer's line saying that user's
// delivery is uncertain.
func reportedUncertain(logs, user string) bool {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "delivery uncertain") && strings.Contains(l, "conversation=line:"+user+" ") {
			return true
		}
	}
	return false
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// accepted counts the replies and pushes the fake accepted.
func accepted(fake *linetest.Server) int {
	n := 0
	for _, r := range fake.Replies() {
		if r.Status == http.StatusOK {
			n++
		}
	}
	for _, p := range fake.Pushes() {
		if p.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// TestGracefulShutdown sends SIGTERM while events are being processed: giftdesk stops
// accepting, finishes what is in flight and exits 0 within the grace period; whatever it
// acknowledged is answered exactly once (by it, or by the next process).
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	fake := linetest.New(t, linetest.Config{})
	fake.SetLatency(20 * time.Millisecond)
	env := map[string]string{
		"GIFTDESK_DB":               filepath.Join(t.TempDir(), "giftdesk.db"),
		"LINE_CHANNEL_SECRET":       testSecret,
		"LINE_CHANNEL_ACCESS_TOKEN": fake.Token(),
		"LINE_API_BASE_URL":         fake.URL(),
		"GIFTDESK_SHUTDOWN_GRACE":   "5s",
	}
	p := startProcess(t, env)
	s := &lineServer{t: t, fake: fake, url: p.url, secret: testSecret}
	var users []string
	for i := range 10 {
		u := fmt.Sprintf("U%032x", 0x500+i)
		users = append(users, u)
		if code := s.post(s.textEvent(u, "ギフト券が使えません")); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("giftdesk exited with %v after SIGTERM", err)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("shutdown took %s, grace is 5s", took)
	}
	if !strings.Contains(p.logs.String(), "giftdesk stopped") {
		t.Errorf("no orderly stop in the log")
	}
	startProcess(t, env) // answers what the first one left
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, u := range users {
		if _, err := fake.WaitDelivered(ctx, u, 2); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	waitDrained(t, env["GIFTDESK_DB"])
	for _, u := range users {
		if n := len(fake.Delivered(u)); n != 2 {
			t.Errorf("%s saw %d messages, want 2", u, n)
		}
	}
}
