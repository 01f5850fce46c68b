package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// loadSecret is the channel secret of the load test; the fake's token is its default.
const loadSecret = "giftdesk-load-channel-secret"

// loadConfig is what `run` measures with.
type loadConfig struct {
	Bin       string        // giftdesk binary
	ServeEnv  []string      // extra KEY=VALUE settings for giftdesk serve (GIFTDESK_WORKERS=8)
	Self      []string      // command that starts the bare handler: the program and leading args
	Dir       string        // scratch directory: databases and child logs
	Duration  time.Duration // per target
	Conns     int
	Users     int
	Redeliver float64
	DB        string // "sqlite" or a postgres:// URL
	Drain     time.Duration
	Seed      uint64
	// Validate turns on the fake LINE API's validation of every request against the
	// OpenAPI document: slow, for smoke tests.
	Validate bool
	Progress io.Writer // a line per phase; io.Discard for none
}

// targetResult is what one target did. Rates are per second of the window they name.
type targetResult struct {
	Target string `json:"target"`
	// Requests is how many webhooks were sent, redeliveries included; Acked how many were
	// answered 200; Failed how many were not (errors or other statuses, by reason).
	Requests    int            `json:"requests"`
	Acked       int            `json:"acked"`
	Redelivered int            `json:"redelivered"`
	Failed      map[string]int `json:"failed,omitempty"`
	// AckedPerSec is Acked over the sending window.
	AckedPerSec float64 `json:"acked_per_sec"`
	// Processed is how many distinct events were fully processed: for giftdesk, answered
	// on the fake LINE API (reply or push); for the bare handler, acknowledged.
	Processed int `json:"processed"`
	// ProcessedPerSec is Processed over the time from the first request to the last
	// answer (or to the drain timeout, when not everything acknowledged was answered).
	ProcessedPerSec float64 `json:"processed_per_sec"`
	Unanswered      int     `json:"unanswered"` // acknowledged events never answered
	P50Ms           float64 `json:"p50_ms"`
	P99Ms           float64 `json:"p99_ms"`
	MaxMs           float64 `json:"max_ms"`
	// CPUPerEventUs is the child's user+system CPU time over the window, per processed
	// event, in microseconds.
	CPUPerEventUs float64 `json:"cpu_per_event_us"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	PeakRSSMB     float64 `json:"peak_rss_mb"` // the child's VmHWM
	// DriverCPUSeconds is the CPU this process (load generator and, for giftdesk, the fake
	// LINE API) used meanwhile on the same machine.
	DriverCPUSeconds float64 `json:"driver_cpu_seconds"`
	// Giftdesk only: how the answers arrived.
	Replies          int `json:"replies,omitempty"`
	Pushes           int `json:"pushes,omitempty"`
	Refused          int `json:"refused,omitempty"`
	ValidationErrors int `json:"validation_errors"`
	// EventsByKind counts the distinct acknowledged events by kind: text, postback, follow.
	EventsByKind map[string]int `json:"events_by_kind"`

	window, processedWindow time.Duration
}

// loadReport is the result of `run`.
type loadReport struct {
	CPUs      int           `json:"cpus"`
	Duration  string        `json:"duration"`
	Conns     int           `json:"conns"`
	Users     int           `json:"users"`
	Redeliver float64       `json:"redeliver"`
	DB        string        `json:"db"`
	Bare      *targetResult `json:"bare"`
	Giftdesk  *targetResult `json:"giftdesk"`
	Ratios    struct {
		Acked     float64 `json:"acked"`
		Processed float64 `json:"processed"`
		P99       float64 `json:"p99"`
		CPU       float64 `json:"cpu_per_event"`
		RSS       float64 `json:"peak_rss"`
	} `json:"ratios"`
	// Targets are issue 7's: acknowledged ≥ 0.7 × bare with p99 < 25 ms, processed ≥
	// 0.3 × bare.
	Targets struct {
		Acked     bool `json:"acked_ge_0_7_bare"`
		P99       bool `json:"p99_lt_25ms"`
		Processed bool `json:"processed_ge_0_3_bare"`
	} `json:"targets"`
}

// runLoad is `giftdesk-load run`.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "giftdesk binary (default: go build ./cmd/giftdesk)")
	duration := fs.Duration("duration", 10*time.Second, "how long each target is loaded")
	conns := fs.Int("conns", 32, "concurrent connections")
	users := fs.Int("users", 5000, "distinct LINE users")
	redeliver := fs.Float64("redeliver", 0.1, "fraction of acknowledged events sent again as redeliveries")
	db := fs.String("db", "sqlite", "giftdesk's database: sqlite (a fresh file) or a postgres:// URL of a server on which a scratch database is created and dropped")
	drain := fs.Duration("drain", 60*time.Second, "how long to wait for giftdesk to answer what it acknowledged")
	seed := fs.Uint64("seed", 1, "seed of the simulated customers")
	var serveEnv envList
	fs.Var(&serveEnv, "serve-env", "a KEY=VALUE setting for giftdesk serve, such as GIFTDESK_WORKERS=8 (repeatable)")
	validate := fs.Bool("validate", false, "validate giftdesk's requests against LINE's OpenAPI document (slows the fake down)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	keep := fs.Bool("keep", false, "keep the temporary directory (databases, child logs) and print its path")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	cfg := loadConfig{
		Duration: *duration, Conns: *conns, Users: *users, Redeliver: *redeliver,
		DB: *db, Drain: *drain, Seed: *seed, Validate: *validate, Progress: stderr, ServeEnv: serveEnv,
	}
	if err := cfg.check(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "giftdesk-load-")
	if err != nil {
		return err
	}
	defer removeUnless(*keep, dir, stderr)
	cfg.Dir = dir
	if cfg.Bin, err = giftdeskBinary(ctx, *bin, dir); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Self = []string{self}
	rep, err := measure(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep)
	}
	return rep.problems()
}

func (c *loadConfig) check() error {
	var errs []error
	if c.Duration <= 0 || c.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("--duration=%v: want a duration from 1ms to 1h", c.Duration))
	}
	if c.Conns < 1 || c.Conns > 1024 {
		errs = append(errs, fmt.Errorf("--conns=%d: want 1 to 1024", c.Conns))
	}
	if c.Users < c.Conns || c.Users > 10_000_000 {
		errs = append(errs, fmt.Errorf("--users=%d: want at least --conns (%d) and at most 10,000,000", c.Users, c.Conns))
	}
	if c.Redeliver < 0 || c.Redeliver > 1 {
		errs = append(errs, fmt.Errorf("--redeliver=%v: want a fraction from 0 to 1", c.Redeliver))
	}
	if c.DB != "sqlite" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		errs = append(errs, fmt.Errorf("--db=%q: want sqlite or a postgres:// URL", redactURL(c.DB)))
	}
	if c.Drain <= 0 || c.Drain > time.Hour {
		errs = append(errs, fmt.Errorf("--drain=%v: want a duration from 1ms to 1h", c.Drain))
	}
	for _, kv := range c.ServeEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || !strings.HasPrefix(k, "GIFTDESK_") {
			errs = append(errs, fmt.Errorf("--serve-env=%q: want GIFTDESK_NAME=value", kv))
		}
	}
	return errors.Join(errs...)
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (l *envList) String() string     { return strings.Join(*l, " ") }
func (l *envList) Set(v string) error { *l = append(*l, v); return nil }

// measure loads the bare handler, then giftdesk serve, with the same traffic.
func measure(ctx context.Context, cfg loadConfig) (*loadReport, error) {
	rep := &loadReport{
		CPUs: runtime.NumCPU(), Duration: cfg.Duration.String(), Conns: cfg.Conns, Users: cfg.Users,
		Redeliver: cfg.Redeliver, DB: dbName(cfg.DB),
	}
	var err error
	fmt.Fprintf(cfg.Progress, "bare handler: %v, %d connections, %d users\n", cfg.Duration, cfg.Conns, cfg.Users)
	if rep.Bare, err = measureBare(ctx, cfg); err != nil {
		return nil, fmt.Errorf("bare handler: %w", err)
	}
	fmt.Fprintf(cfg.Progress, "giftdesk serve (%s): %v, %d connections, %d users\n", rep.DB, cfg.Duration, cfg.Conns, cfg.Users)
	if rep.Giftdesk, err = measureServe(ctx, cfg); err != nil {
		return nil, fmt.Errorf("giftdesk serve: %w", err)
	}
	b, g := rep.Bare, rep.Giftdesk
	rep.Ratios.Acked = ratio(g.AckedPerSec, b.AckedPerSec)
	rep.Ratios.Processed = ratio(g.ProcessedPerSec, b.ProcessedPerSec)
	rep.Ratios.P99 = ratio(g.P99Ms, b.P99Ms)
	rep.Ratios.CPU = ratio(g.CPUPerEventUs, b.CPUPerEventUs)
	rep.Ratios.RSS = ratio(g.PeakRSSMB, b.PeakRSSMB)
	rep.Targets.Acked = rep.Ratios.Acked >= 0.7
	rep.Targets.P99 = g.P99Ms < 25
	rep.Targets.Processed = rep.Ratios.Processed >= 0.3
	return rep, nil
}

// problems returns an error when giftdesk left acknowledged events unanswered, sent an
// invalid request, or a request failed.
func (r *loadReport) problems() error {
	var errs []error
	for _, t := range []*targetResult{r.Bare, r.Giftdesk} {
		if n := t.Unanswered; n > 0 {
			errs = append(errs, fmt.Errorf("%s: %d acknowledged events never answered", t.Target, n))
		}
		if n := t.ValidationErrors; n > 0 {
			errs = append(errs, fmt.Errorf("%s: %d requests rejected by the fake LINE API", t.Target, n))
		}
		if len(t.Failed) > 0 {
			errs = append(errs, fmt.Errorf("%s: webhooks not acknowledged: %v", t.Target, t.Failed))
		}
	}
	return errors.Join(errs...)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func dbName(db string) string {
	if db == "sqlite" {
		return "SQLite"
	}
	return "PostgreSQL"
}

// measureBare loads the bare handler in a child process.
func measureBare(ctx context.Context, cfg loadConfig) (*targetResult, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append(append([]string(nil), cfg.Self[1:]...), "bare", "--addr", addr, "--secret", loadSecret)
	c, err := startChild("bare handler", cfg.Self[0], args, nil, addr, filepath.Join(cfg.Dir, "bare.log"))
	if err != nil {
		return nil, err
	}
	defer c.stop(10 * time.Second)
	if err := c.waitReady(ctx, "/readyz", 10*time.Second); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0))
	dc := driveConfig{
		URL: c.url, Secret: loadSecret, Conns: cfg.Conns, Duration: cfg.Duration,
		Customers: newCustomers(r, cfg.Users), Redeliver: cfg.Redeliver, Seed: cfg.Seed,
		IDs: newIDSource(r), Token: func(string) string { return randomToken() },
	}
	cpu0, err := c.cpu()
	if err != nil {
		return nil, err
	}
	self0 := selfCPU()
	res, err := drive(ctx, dc)
	if err != nil {
		return nil, err
	}
	cpu1, err := c.cpu()
	if err != nil {
		return nil, err
	}
	t := newTargetResult("bare", res)
	t.DriverCPUSeconds = (selfCPU() - self0).Seconds()
	t.Processed = res.Distinct
	t.processedWindow = res.window()
	t.ProcessedPerSec = perSec(t.Processed, t.processedWindow)
	if err := t.childStats(c, cpu1-cpu0); err != nil {
		return nil, err
	}
	if err := c.stop(10 * time.Second); err != nil {
		return nil, err
	}
	return t, nil
}

// measureServe loads giftdesk serve in a child process, against the fake LINE API in this
// one, and waits until it has answered everything it acknowledged.
func measureServe(ctx context.Context, cfg loadConfig) (*targetResult, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, 0))
	customers := newCustomers(r, cfg.Users)
	tr := newTracker()
	fake, err := newLoadFake(customers, tr, cfg.Validate)
	if err != nil {
		return nil, err
	}
	defer fake.Close()
	db := cfg.DB
	if db == "sqlite" {
		db = filepath.Join(cfg.Dir, "giftdesk.db")
	} else {
		url, drop, err := scratchPostgres(ctx, cfg.DB)
		if err != nil {
			return nil, err
		}
		defer drop()
		db = url
	}
	c, err := startServe(ctx, cfg.Bin, cfg.Dir, "serve.log", db, loadSecret, fake.Token(), fake.URL(), cfg.ServeEnv...)
	if err != nil {
		return nil, err
	}
	defer c.stop(30 * time.Second)
	dc := driveConfig{
		URL: c.url, Secret: loadSecret, Conns: cfg.Conns, Duration: cfg.Duration,
		Customers: customers, Redeliver: cfg.Redeliver, Seed: cfg.Seed, IDs: newIDSource(r),
		Token: fake.IssueReplyToken, Sent: tr.sent, Acked: tr.ack,
	}
	cpu0, err := c.cpu()
	if err != nil {
		return nil, err
	}
	self0 := selfCPU()
	res, err := drive(ctx, dc)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "  sent for %v; waiting for the answers\n", res.window().Round(time.Millisecond))
	drained := tr.drain(ctx, cfg.Drain)
	cpu1, err := c.cpu()
	if err != nil {
		return nil, err
	}
	t := newTargetResult("giftdesk", res)
	t.DriverCPUSeconds = (selfCPU() - self0).Seconds()
	st := tr.stats()
	end := st.Last
	if !drained {
		end = time.Now()
	}
	t.Processed = st.Answered
	t.processedWindow = end.Sub(res.Start)
	t.ProcessedPerSec = perSec(t.Processed, t.processedWindow)
	t.Unanswered = st.Acked - st.AckedAnswered
	t.Replies, t.Pushes, t.Refused = st.Replies, st.Pushes, st.Refused
	t.ValidationErrors = len(fake.Errors())
	if err := t.childStats(c, cpu1-cpu0); err != nil {
		return nil, err
	}
	if err := c.stop(30 * time.Second); err != nil {
		return nil, err
	}
	return t, nil
}

// newLoadFake starts the fake LINE API for load: no history (count with tr), a profile for
// every customer, and unless validate, no validation (it would cost more than giftdesk).
func newLoadFake(customers []*customer, tr *tracker, validate bool) (*linetest.Server, error) {
	profiles := make(map[string]linetest.Profile, len(customers))
	for i, c := range customers {
		profiles[c.id] = linetest.Profile{DisplayName: fmt.Sprintf("Customer %d", i+1), Language: c.lang}
	}
	cfg := linetest.Config{SkipValidation: !validate, NoHistory: true, OnCall: tr.onCall, Profiles: profiles}
	if validate {
		path, ok := linetest.SpecPath()
		if !ok {
			return nil, fmt.Errorf("LINE OpenAPI spec not found at %q", path)
		}
		spec, err := linetest.LoadSpec(path)
		if err != nil {
			return nil, err
		}
		cfg.Spec = spec
	}
	return linetest.New(nil, cfg), nil
}

func newTargetResult(name string, res *driveResult) *targetResult {
	t := &targetResult{
		Target: name, Requests: res.Requests, Acked: res.Acked, Redelivered: res.Redelivered,
		window: res.window(),
		P50Ms:  ms(res.percentile(50)), P99Ms: ms(res.percentile(99)), MaxMs: ms(res.percentile(100)),
	}
	if len(res.Failed) > 0 {
		t.Failed = res.Failed
	}
	t.EventsByKind = res.Kinds
	t.AckedPerSec = perSec(t.Acked, t.window)
	return t
}

// childStats fills in the child's CPU per processed event and its peak RSS.
func (t *targetResult) childStats(c *child, cpu time.Duration) error {
	t.CPUSeconds = cpu.Seconds()
	if t.Processed > 0 {
		t.CPUPerEventUs = float64(cpu.Microseconds()) / float64(t.Processed)
	}
	rss, err := c.peakRSS()
	if err != nil {
		return err
	}
	t.PeakRSSMB = float64(rss) / (1 << 20)
	return nil
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// selfCPU returns this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// printReport writes the table.
func printReport(w io.Writer, r *loadReport) {
	fmt.Fprintf(w, "giftdesk-load run: %s per target, %d connections, %d users, %.0f%% redelivered, %s, %d CPUs, loopback\n\n",
		r.Duration, r.Conns, r.Users, 100*r.Redeliver, r.DB, r.CPUs)
	const row = "%-14s %9s %12s %7s %7s %13s %12s %8s %12s %10s %13s\n"
	fmt.Fprintf(w, row, "target", "acked/s", "processed/s", "p50 ms", "p99 ms", "CPU µs/event", "peak RSS MB",
		"acked", "redelivered", "processed", "driver CPU s")
	for _, t := range []*targetResult{r.Bare, r.Giftdesk} {
		fmt.Fprintf(w, row, t.Target, f0(t.AckedPerSec), f0(t.ProcessedPerSec), f2(t.P50Ms), f2(t.P99Ms),
			f0(t.CPUPerEventUs), f1(t.PeakRSSMB), d(t.Acked), d(t.Redelivered), d(t.Processed), f1(t.DriverCPUSeconds))
	}
	fmt.Fprintf(w, row, "giftdesk/bare", f2(r.Ratios.Acked), f2(r.Ratios.Processed), "", f2(r.Ratios.P99),
		f2(r.Ratios.CPU), f2(r.Ratios.RSS), "", "", "", "")
	g := r.Giftdesk
	fmt.Fprintf(w, "\ngiftdesk answers: %d replies, %d pushes, %d refused; %d unanswered; %d validation errors; drained %.1fs after sending stopped\n",
		g.Replies, g.Pushes, g.Refused, g.Unanswered, g.ValidationErrors, (g.processedWindow - g.window).Seconds())
	fmt.Fprintf(w, "issue 7 targets: acked/s ≥ 0.7×bare %s (%.2f), p99 < 25 ms %s (%.2f ms), processed/s ≥ 0.3×bare %s (%.2f)\n",
		verdict(r.Targets.Acked), r.Ratios.Acked, verdict(r.Targets.P99), g.P99Ms, verdict(r.Targets.Processed), r.Ratios.Processed)
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func d(n int) string      { return strconv.Itoa(n) }

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
