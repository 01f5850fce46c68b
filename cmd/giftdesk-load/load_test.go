package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
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
		rep := smokeLoad(ctx, t, bin, "sqlite", "", true)
		if rep.SQLite == nil || rep.SQLite.Target != "sqlite" {
			t.Errorf("SQLite thresholds verdict = %+v, want one for the sqlite target", rep.SQLite)
		}
	})
}

// smokeLoad runs `run` for one second with 4 connections and 20 users on the targets db
// names, and checks that every distinct acknowledged event was answered exactly once and
// that giftdesk sent nothing LINE would reject. It makes no timing assertions.
func smokeLoad(ctx context.Context, t *testing.T, bin, db, postgres string, validate bool) *loadReport {
	t.Helper()
	cfg := loadConfig{
		Bin: bin, Self: []string{os.Args[0]}, Dir: t.TempDir(),
		Duration: time.Second, Conns: 4, Users: 20, Redeliver: 0.1, DB: db, Postgres: postgres,
		Drain: time.Minute, Seed: 1, Validate: validate, Progress: io.Discard,
	}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
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
	if len(rep.Targets) != len(cfg.Targets) {
		t.Fatalf("%d targets measured, want %d", len(rep.Targets), len(cfg.Targets))
	}
	for _, tr := range append([]*targetResult{rep.Bare}, rep.Targets...) {
		if tr.Acked == 0 || tr.Processed != tr.Acked-tr.Redelivered {
			t.Errorf("%s: %d acknowledged (%d redelivered), %d processed; want every distinct acknowledged event processed",
				tr.Target, tr.Acked, tr.Redelivered, tr.Processed)
		}
		if tr.ExtraAnswers != 0 || tr.Unanswered != 0 {
			t.Errorf("%s: %d extra answers, %d unanswered; want every acknowledged event answered exactly once",
				tr.Target, tr.ExtraAnswers, tr.Unanswered)
		}
	}
	return rep
}

// TestSmokePostgresReplicas loads two giftdesk serve replicas on one scratch PostgreSQL
// database for a second, connections spread over both and redeliveries crossing them. It
// needs a server: GIFTDESK_TEST_POSTGRES, as for internal/store/postgres.
func TestSmokePostgresReplicas(t *testing.T) {
	server := os.Getenv("GIFTDESK_TEST_POSTGRES")
	if server == "" {
		t.Skip("GIFTDESK_TEST_POSTGRES is not set (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable): no PostgreSQL server for the 2xpostgres smoke test")
	}
	bin := buildGiftdesk(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep := smokeLoad(ctx, t, bin, "2xpostgres", server, false)
	g := rep.Targets[0]
	if g.Target != "2×postgres" || g.Replicas != 2 {
		t.Errorf("target %q with %d replicas, want 2×postgres with 2", g.Target, g.Replicas)
	}
	if len(g.RequestsPerReplica) != 2 || g.RequestsPerReplica[0] == 0 || g.RequestsPerReplica[1] == 0 ||
		g.RequestsPerReplica[0]+g.RequestsPerReplica[1] != g.Requests {
		t.Errorf("requests per replica %v of %d, want both replicas to receive some and all counted", g.RequestsPerReplica, g.Requests)
	}
	if rep.SQLite != nil {
		t.Errorf("SQLite thresholds verdict %+v without a single-replica sqlite target", rep.SQLite)
	}
}

// TestDriveSpreadsOverReplicas drives two stand-in replicas and checks that connections
// are spread over both and that every redelivery reaches the other replica than its
// first delivery, as LINE's would through a load balancer.
func TestDriveSpreadsOverReplicas(t *testing.T) {
	type delivery struct {
		replica    int
		redelivery bool
	}
	var (
		mu   sync.Mutex
		seen = map[string][]delivery{} // by event id
	)
	var urls []string
	for i := range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body linetest.Webhook
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Events) != 1 {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			ev := body.Events[0]
			mu.Lock()
			seen[ev.WebhookEventID] = append(seen[ev.WebhookEventID], delivery{i, ev.DeliveryContext.IsRedelivery})
			mu.Unlock()
		}))
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	r := rand.New(rand.NewPCG(1, 0))
	res, err := drive(context.Background(), driveConfig{
		URLs: urls, Secret: loadSecret, Conns: 4, Duration: 100 * time.Millisecond,
		Customers: newCustomers(r, 8), Redeliver: 1, Seed: 1, IDs: newIDSource(r),
		Token: func(string) string { return randomToken() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Redelivered == 0 || res.PerURL[0] == 0 || res.PerURL[1] == 0 || res.PerURL[0]+res.PerURL[1] != res.Requests {
		t.Fatalf("%d requests, %d redelivered, per replica %v: want redeliveries and both replicas used", res.Requests, res.Redelivered, res.PerURL)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, ds := range seen {
		if ds[0].redelivery {
			t.Errorf("event %s: first delivery marked as a redelivery", id)
		}
		for _, d := range ds[1:] {
			if !d.redelivery || d.replica == ds[0].replica {
				t.Errorf("event %s: deliveries %+v, want redeliveries on the other replica", id, ds)
			}
		}
	}
}

// TestParseTargets checks the --db list: good targets, their names and replicas, and
// errors that name the flag.
func TestParseTargets(t *testing.T) {
	const server = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	good := []struct {
		in   string
		want []targetSpec
	}{
		{"sqlite", []targetSpec{{Name: "sqlite", Kind: "sqlite", Replicas: 1}}},
		{"sqlite,postgres,2xpostgres", []targetSpec{
			{Name: "sqlite", Kind: "sqlite", Replicas: 1},
			{Name: "postgres", Kind: "postgres", Server: server, Replicas: 1},
			{Name: "2×postgres", Kind: "postgres", Server: server, Replicas: 2},
		}},
		{" 1xsqlite , 8×postgres ", []targetSpec{
			{Name: "sqlite", Kind: "sqlite", Replicas: 1},
			{Name: "8×postgres", Kind: "postgres", Server: server, Replicas: 8},
		}},
		{"2xsqlite,sqlite,sqlite", []targetSpec{
			{Name: "2×sqlite", Kind: "sqlite", Replicas: 2},
			{Name: "sqlite", Kind: "sqlite", Replicas: 1},
			{Name: "sqlite#2", Kind: "sqlite", Replicas: 1},
		}},
		{"postgresql://u:pw@db.example:5433/x,3xpostgres://h/db", []targetSpec{
			{Name: "postgres", Kind: "postgres", Server: "postgresql://u:pw@db.example:5433/x", Replicas: 1},
			{Name: "3×postgres", Kind: "postgres", Server: "postgres://h/db", Replicas: 3},
		}},
	}
	for _, tt := range good {
		got, err := parseTargets(tt.in, server)
		if err != nil {
			t.Errorf("parseTargets(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("parseTargets(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if got := (targetSpec{Name: "2×sqlite#2"}).fileName(); got != "2xsqlite-2" {
		t.Errorf("fileName = %q, want 2xsqlite-2", got)
	}

	bad := []struct{ in, pgServer, want string }{
		{"", server, "--db is empty"},
		{"sqlite,", server, "target 2"},
		{"mysql", server, "unknown target"},
		{"xpostgres", server, "unknown target"},
		{"0xpostgres", server, "0 replicas: want 1 to 8"},
		{"9xsqlite", server, "9 replicas: want 1 to 8"},
		{"99999999999999999999xsqlite", server, "replicas: want 1 to 8"},
		{"2x", server, "unknown target"},
		{"2xpostgres", "mysql://h", "--postgres="},
		{"postgres", "", "--postgres="},
		{"2xpostgres://u:secret@h:5432/db%zz", server, "unparsable"},
	}
	for _, tt := range bad {
		_, err := parseTargets(tt.in, tt.pgServer)
		if err == nil {
			t.Errorf("parseTargets(%q): no error, want one with %q", tt.in, tt.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "--db") || !strings.Contains(msg, tt.want) || strings.Contains(msg, "secret") {
			t.Errorf("parseTargets(%q) = %q, want an error naming --db with %q and no password", tt.in, msg, tt.want)
		}
	}
}

// TestCheckServeEnv checks the --serve-env settings that collide with the load test's own.
func TestCheckServeEnv(t *testing.T) {
	base := loadConfig{Duration: time.Second, Conns: 1, Users: 1, Drain: time.Second, DB: "sqlite", Postgres: "postgres://h/db"}
	tests := []struct {
		db, env, want string // want "" means no error
	}{
		{"sqlite", "GIFTDESK_WORKERS=8", ""},
		{"sqlite", "GIFTDESK_DEBUG_ADDR=127.0.0.1:6060", ""},
		{"sqlite,2xpostgres", "GIFTDESK_DEBUG_ADDR=127.0.0.1:6060", "replicas of 2×postgres"},
		{"sqlite", "GIFTDESK_DB=x.db", "sets GIFTDESK_DB itself"},
		{"sqlite", "PATH=/bin", "want GIFTDESK_NAME=value"},
	}
	for _, tt := range tests {
		cfg := base
		cfg.DB, cfg.ServeEnv = tt.db, []string{tt.env}
		err := cfg.check()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("--db %s --serve-env %s: %v", tt.db, tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("--db %s --serve-env %s: error %v, want one with %q", tt.db, tt.env, err, tt.want)
		}
	}
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
		{name: "signed event", body: good, sig: linetest.Sign(loadSecret, good), want: http.StatusOK},
		{name: "wrong signature", body: good, sig: linetest.Sign("other", good), want: http.StatusUnauthorized},
		{name: "no signature", body: good, want: http.StatusUnauthorized},
		{name: "signed garbage", body: []byte("{"), sig: linetest.Sign(loadSecret, []byte("{")), want: http.StatusBadRequest},
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
