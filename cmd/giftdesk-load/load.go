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
	"runtime/pprof"
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
	// DB is the value of --db, a comma-separated list of targets (see parseTargets), and
	// Postgres the value of --postgres; check parses them into Targets.
	DB       string
	Postgres string
	Targets  []targetSpec // measured one after another, after the bare handler
	Drain    time.Duration
	Seed     uint64
	// Validate turns on the fake LINE API's validation of every request against the
	// OpenAPI document: slow, for smoke tests.
	Validate bool
	Progress io.Writer // a line per phase; io.Discard for none
}

// targetResult is what one target did: the bare handler, or giftdesk serve in one or
// more replicas on one database. Rates are per second of the window they name.
type targetResult struct {
	Target string `json:"target"`
	// Database is sqlite or postgres (empty for the bare handler); PostgresServer the
	// server of the scratch database, its password hidden.
	Database       string `json:"database,omitempty"`
	PostgresServer string `json:"postgres_server,omitempty"`
	Replicas       int    `json:"replicas"` // processes behind the target
	// Requests is how many webhooks were sent, redeliveries included; Acked how many were
	// answered 200; Failed how many were not (errors or other statuses, by reason).
	Requests    int            `json:"requests"`
	Acked       int            `json:"acked"`
	Redelivered int            `json:"redelivered"`
	Failed      map[string]int `json:"failed,omitempty"`
	// RequestsPerReplica counts the requests each replica received, redeliveries included
	// (giftdesk with more than one replica only).
	RequestsPerReplica []int `json:"requests_per_replica,omitempty"`
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
	// CPUPerEventUs is the user+system CPU time of the target's processes, summed over
	// them, during the window, per processed event, in microseconds; CPUSeconds the sum.
	CPUPerEventUs float64 `json:"cpu_per_event_us"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	// MaxPeakRSSMB is the largest peak RSS (VmHWM) among the target's processes;
	// SumPeakRSSMB their sum, an upper bound on what they held at once.
	MaxPeakRSSMB float64 `json:"max_peak_rss_mb"`
	SumPeakRSSMB float64 `json:"sum_peak_rss_mb"`
	// DriverCPUSeconds is the CPU this process (load generator and, for giftdesk, the fake
	// LINE API) used meanwhile on the same machine.
	DriverCPUSeconds float64 `json:"driver_cpu_seconds"`
	// Giftdesk only: how the answers arrived. ExtraAnswers counts accepted answers that
	// matched no unanswered event (an event answered twice, say).
	Replies          int `json:"replies,omitempty"`
	Pushes           int `json:"pushes,omitempty"`
	Refused          int `json:"refused,omitempty"`
	ExtraAnswers     int `json:"extra_answers,omitempty"`
	ValidationErrors int `json:"validation_errors"`
	// EventsByKind counts the distinct acknowledged events by kind: text, postback, follow.
	EventsByKind map[string]int `json:"events_by_kind"`
	// VsBare is the target's figures divided by the bare handler's (giftdesk only).
	VsBare *bareRatios `json:"vs_bare,omitempty"`

	window, processedWindow time.Duration
}

// bareRatios are a target's figures divided by the bare handler's.
type bareRatios struct {
	Acked     float64 `json:"acked_per_sec"`
	Processed float64 `json:"processed_per_sec"`
	P99       float64 `json:"p99"`
	CPU       float64 `json:"cpu_per_event"`
}

// issue7Verdict says whether a single SQLite replica meets issue 7's targets:
// acknowledged ≥ 0.7 × bare with p99 < 25 ms, processed ≥ 0.3 × bare.
type issue7Verdict struct {
	Target    string `json:"target"`
	Acked     bool   `json:"acked_ge_0_7_bare"`
	P99       bool   `json:"p99_lt_25ms"`
	Processed bool   `json:"processed_ge_0_3_bare"`
}

// loadReport is the result of `run`.
type loadReport struct {
	CPUs      int             `json:"cpus"`
	Duration  string          `json:"duration"`
	Conns     int             `json:"conns"`
	Users     int             `json:"users"`
	Redeliver float64         `json:"redeliver"`
	Seed      uint64          `json:"seed"`
	Bare      *targetResult   `json:"bare"`
	Targets   []*targetResult `json:"targets"` // giftdesk serve, in the order of --db
	// Issue7 is the verdict on the first single-replica SQLite target; absent when there
	// is none.
	Issue7 *issue7Verdict `json:"issue7,omitempty"`
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
	db := fs.String("db", "sqlite", "comma-separated targets, measured one after another after the bare handler: sqlite (a fresh file), postgres (a scratch database on the --postgres server) or a postgres:// URL of a server on which a scratch database is created and dropped; Nx before one (2xpostgres) runs N replicas of giftdesk serve on the same database, N from 1 to 8")
	pgServer := fs.String("postgres", "", "PostgreSQL server of the postgres target, on which a scratch database is created and dropped (default $GIFTDESK_TEST_POSTGRES, or else "+defaultPostgres+")")
	drain := fs.Duration("drain", 60*time.Second, "how long to wait for giftdesk to answer what it acknowledged")
	seed := fs.Uint64("seed", 1, "seed of the simulated customers")
	var serveEnv envList
	fs.Var(&serveEnv, "serve-env", "a KEY=VALUE setting for giftdesk serve, such as GIFTDESK_WORKERS=8 (repeatable)")
	validate := fs.Bool("validate", false, "validate giftdesk's requests against LINE's OpenAPI document (slows the fake down)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	keep := fs.Bool("keep", false, "keep the temporary directory (databases, child logs) and print its path")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile (the driver and the fake LINE API) to `file`")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if *pgServer == "" {
		*pgServer = defaultPostgresURL()
	}
	cfg := loadConfig{
		Duration: *duration, Conns: *conns, Users: *users, Redeliver: *redeliver,
		DB: *db, Postgres: *pgServer, Drain: *drain, Seed: *seed, Validate: *validate, Progress: stderr, ServeEnv: serveEnv,
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
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
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

// check validates the configuration and parses DB and Postgres into Targets.
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
	targets, err := parseTargets(c.DB, c.Postgres)
	if err != nil {
		errs = append(errs, err)
	}
	c.Targets = targets
	if c.Drain <= 0 || c.Drain > time.Hour {
		errs = append(errs, fmt.Errorf("--drain=%v: want a duration from 1ms to 1h", c.Drain))
	}
	for _, kv := range c.ServeEnv {
		k, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok || !strings.HasPrefix(k, "GIFTDESK_"):
			errs = append(errs, fmt.Errorf("--serve-env=%q: want GIFTDESK_NAME=value", kv))
		case k == "GIFTDESK_DB" || k == "GIFTDESK_ADDR":
			errs = append(errs, fmt.Errorf("--serve-env=%q: the load test sets %s itself (see --db)", kv, k))
		case k == "GIFTDESK_DEBUG_ADDR":
			for _, t := range targets {
				if t.Replicas > 1 {
					errs = append(errs, fmt.Errorf("--serve-env=%q: the %d replicas of %s cannot all listen on it", kv, t.Replicas, t.Name))
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (l *envList) String() string     { return strings.Join(*l, " ") }
func (l *envList) Set(v string) error { *l = append(*l, v); return nil }

// measure loads the bare handler, then each target in turn, with the same traffic.
func measure(ctx context.Context, cfg loadConfig) (*loadReport, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("no target to measure (see --db)")
	}
	rep := &loadReport{
		CPUs: runtime.NumCPU(), Duration: cfg.Duration.String(), Conns: cfg.Conns, Users: cfg.Users,
		Redeliver: cfg.Redeliver, Seed: cfg.Seed,
	}
	// Fail before any load when a PostgreSQL server cannot be reached.
	pinged := map[string]bool{}
	for _, t := range cfg.Targets {
		if t.Kind != "postgres" || pinged[t.Server] {
			continue
		}
		if err := pingPostgres(ctx, t.Server); err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		pinged[t.Server] = true
	}
	var err error
	fmt.Fprintf(cfg.Progress, "bare handler: %v, %d connections, %d users\n", cfg.Duration, cfg.Conns, cfg.Users)
	if rep.Bare, err = measureBare(ctx, cfg); err != nil {
		return nil, fmt.Errorf("bare handler: %w", err)
	}
	for i, spec := range cfg.Targets {
		fmt.Fprintf(cfg.Progress, "%s (target %d of %d): %s; %v, %d connections, %d users\n",
			spec.Name, i+1, len(cfg.Targets), spec.describe(), cfg.Duration, cfg.Conns, cfg.Users)
		t, err := measureServe(ctx, cfg, spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.Name, err)
		}
		b := rep.Bare
		t.VsBare = &bareRatios{
			Acked:     ratio(t.AckedPerSec, b.AckedPerSec),
			Processed: ratio(t.ProcessedPerSec, b.ProcessedPerSec),
			P99:       ratio(t.P99Ms, b.P99Ms),
			CPU:       ratio(t.CPUPerEventUs, b.CPUPerEventUs),
		}
		rep.Targets = append(rep.Targets, t)
		if rep.Issue7 == nil && spec.Kind == "sqlite" && spec.Replicas == 1 {
			rep.Issue7 = &issue7Verdict{
				Target:    t.Target,
				Acked:     t.VsBare.Acked >= 0.7,
				P99:       t.P99Ms < 25,
				Processed: t.VsBare.Processed >= 0.3,
			}
		}
	}
	return rep, nil
}

// describe says in words what the target runs, for progress lines.
func (t targetSpec) describe() string {
	procs := "giftdesk serve"
	if t.Replicas > 1 {
		procs = fmt.Sprintf("%d giftdesk serve replicas", t.Replicas)
	}
	if t.Kind == "sqlite" {
		return procs + " on a fresh SQLite file"
	}
	return procs + " on a scratch PostgreSQL database"
}

// problems returns an error when a target left acknowledged events unanswered, sent an
// invalid request, or a request failed.
func (r *loadReport) problems() error {
	var errs []error
	for _, t := range append([]*targetResult{r.Bare}, r.Targets...) {
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
		URLs: []string{c.url}, Secret: loadSecret, Conns: cfg.Conns, Duration: cfg.Duration,
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
	if err := t.childStats([]*child{c}, cpu1-cpu0); err != nil {
		return nil, err
	}
	if err := c.stop(10 * time.Second); err != nil {
		return nil, err
	}
	return t, nil
}

// measureServe loads a target, giftdesk serve in spec.Replicas child processes on one
// database against the fake LINE API in this one, and waits until it has answered
// everything it acknowledged.
func measureServe(ctx context.Context, cfg loadConfig, spec targetSpec) (*targetResult, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, 0))
	customers := newCustomers(r, cfg.Users)
	tr := newTracker()
	fake, err := newLoadFake(customers, tr, cfg.Validate)
	if err != nil {
		return nil, err
	}
	defer fake.Close()
	var db string
	if spec.Kind == "sqlite" {
		db = filepath.Join(cfg.Dir, spec.fileName()+".db")
	} else {
		url, drop, err := scratchPostgres(ctx, spec.Server)
		if err != nil {
			return nil, err
		}
		defer drop() // after the children have stopped: deferred calls run last first
		db = url
	}
	var children []*child
	defer func() {
		for _, c := range children {
			_ = c.stop(30 * time.Second) // already stopped, unless an error cut the run short
		}
	}()
	// One at a time: each replica migrates the database, if need be, before it is ready.
	for i := range spec.Replicas {
		name := "giftdesk serve"
		if spec.Replicas > 1 {
			name = fmt.Sprintf("giftdesk serve replica %d of %d", i+1, spec.Replicas)
		}
		logName := fmt.Sprintf("serve-%s-%d.log", spec.fileName(), i+1)
		c, err := startServe(ctx, name, cfg.Bin, cfg.Dir, logName, db, loadSecret, fake.Token(), fake.URL(), cfg.ServeEnv...)
		if err != nil {
			return nil, err
		}
		children = append(children, c)
	}
	urls := make([]string, len(children))
	for i, c := range children {
		urls[i] = c.url
	}
	dc := driveConfig{
		URLs: urls, Secret: loadSecret, Conns: cfg.Conns, Duration: cfg.Duration,
		Customers: customers, Redeliver: cfg.Redeliver, Seed: cfg.Seed, IDs: newIDSource(r),
		Token: fake.IssueReplyToken, Sent: tr.sent, Acked: tr.ack,
	}
	cpu0, err := sumCPU(children)
	if err != nil {
		return nil, err
	}
	self0 := selfCPU()
	res, err := drive(ctx, dc)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "  sent for %v; waiting up to %v for the answers\n", res.window().Round(time.Millisecond), cfg.Drain)
	drained := tr.drain(ctx, cfg.Drain)
	cpu1, err := sumCPU(children)
	if err != nil {
		return nil, err
	}
	t := newTargetResult(spec.Name, res)
	t.Database, t.Replicas = spec.Kind, spec.Replicas
	if spec.Kind == "postgres" {
		t.PostgresServer = redactURL(spec.Server)
	}
	if spec.Replicas > 1 {
		t.RequestsPerReplica = res.PerURL
	}
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
	t.Replies, t.Pushes, t.Refused, t.ExtraAnswers = st.Replies, st.Pushes, st.Refused, st.Extra
	t.ValidationErrors = len(fake.Errors())
	if drained {
		fmt.Fprintf(cfg.Progress, "  all %d answered %.1fs after sending stopped\n", t.Processed, (t.processedWindow - t.window).Seconds())
	} else {
		fmt.Fprintf(cfg.Progress, "  %d acknowledged events still unanswered after %v\n", t.Unanswered, cfg.Drain)
	}
	if err := t.childStats(children, cpu1-cpu0); err != nil {
		return nil, err
	}
	var errs []error
	for _, c := range children {
		errs = append(errs, c.stop(30*time.Second))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// sumCPU returns the user and system CPU time of the children so far, summed.
func sumCPU(children []*child) (time.Duration, error) {
	var sum time.Duration
	for _, c := range children {
		cpu, err := c.cpu()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", c.name, err)
		}
		sum += cpu
	}
	return sum, nil
}

// newLoadFake starts the fake LINE API for load: no history (count with tr), a profile for
// every customer, and unless validate, no validation (it would cost more than giftdesk).
func newLoadFake(customers []*customer, tr *tracker, validate bool) (*linetest.Server, error) {
	profiles := make(map[string]linetest.Profile, len(customers))
	for i, c := range customers {
		profiles[c.id] = linetest.Profile{DisplayName: fmt.Sprintf("Customer %d", i+1), Language: c.lang}
	}
	return linetest.Start(linetest.Config{SkipValidation: !validate, NoHistory: true, OnCall: tr.onCall, Profiles: profiles})
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

// childStats fills in the CPU per processed event of the target's processes, cpu being
// their CPU time over the window summed, and their peak RSS: the largest and the sum.
func (t *targetResult) childStats(children []*child, cpu time.Duration) error {
	t.CPUSeconds = cpu.Seconds()
	if t.Processed > 0 {
		t.CPUPerEventUs = float64(cpu.Microseconds()) / float64(t.Processed)
	}
	t.Replicas = len(children)
	for _, c := range children {
		rss, err := c.peakRSS()
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		mb := float64(rss) / (1 << 20)
		t.MaxPeakRSSMB = max(t.MaxPeakRSSMB, mb)
		t.SumPeakRSSMB += mb
	}
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

// printReport writes the tables: one row per target, then each giftdesk target's
// figures divided by the bare handler's.
func printReport(w io.Writer, r *loadReport) {
	fmt.Fprintf(w, "giftdesk-load run: %s per target, %d connections, %d users, %.0f%% redelivered, seed %d, %d CPUs, loopback\n",
		r.Duration, r.Conns, r.Users, 100*r.Redeliver, r.Seed, r.CPUs)
	servers := map[string]bool{}
	for _, t := range r.Targets {
		if t.PostgresServer != "" && !servers[t.PostgresServer] {
			servers[t.PostgresServer] = true
			fmt.Fprintf(w, "PostgreSQL targets: a scratch database on %s\n", t.PostgresServer)
		}
	}
	const row = "%-14s %9s %12s %7s %7s %13s %16s %8s %12s %10s %13s\n"
	fmt.Fprintf(w, "\n"+row, "target", "acked/s", "processed/s", "p50 ms", "p99 ms", "CPU µs/event", "max peak RSS MB",
		"acked", "redelivered", "processed", "driver CPU s")
	for _, t := range append([]*targetResult{r.Bare}, r.Targets...) {
		fmt.Fprintf(w, row, t.Target, f0(t.AckedPerSec), f0(t.ProcessedPerSec), f2(t.P50Ms), f2(t.P99Ms),
			f0(t.CPUPerEventUs), f1(t.MaxPeakRSSMB), d(t.Acked), d(t.Redelivered), d(t.Processed), f1(t.DriverCPUSeconds))
	}
	const ratioRow = "%-14s %9s %12s %7s %13s\n"
	fmt.Fprintf(w, "\n"+ratioRow, "target ÷ bare", "acked/s", "processed/s", "p99 ms", "CPU µs/event")
	for _, t := range r.Targets {
		fmt.Fprintf(w, ratioRow, t.Target, f2(t.VsBare.Acked), f2(t.VsBare.Processed), f2(t.VsBare.P99), f2(t.VsBare.CPU))
	}
	fmt.Fprintln(w)
	for _, t := range r.Targets {
		fmt.Fprintf(w, "%s: %d replies, %d pushes, %d refused, %d extra; %d unanswered; %d validation errors; drained %.1fs after sending stopped",
			t.Target, t.Replies, t.Pushes, t.Refused, t.ExtraAnswers, t.Unanswered, t.ValidationErrors, (t.processedWindow - t.window).Seconds())
		if len(t.RequestsPerReplica) > 0 {
			fmt.Fprintf(w, "; requests per replica %s", joinInts(t.RequestsPerReplica, " / "))
		}
		if t.Replicas > 1 {
			fmt.Fprintf(w, "; peak RSS summed %.1f MB", t.SumPeakRSSMB)
		}
		fmt.Fprintln(w)
	}
	if v := r.Issue7; v != nil {
		var t *targetResult
		for _, x := range r.Targets {
			if x.Target == v.Target {
				t = x
			}
		}
		fmt.Fprintf(w, "issue 7 targets (%s): acked/s ≥ 0.7×bare %s (%.2f), p99 < 25 ms %s (%.2f ms), processed/s ≥ 0.3×bare %s (%.2f)\n",
			v.Target, verdict(v.Acked), t.VsBare.Acked, verdict(v.P99), t.P99Ms, verdict(v.Processed), t.VsBare.Processed)
	}
}

// joinInts writes ns in decimal, separated by sep.
func joinInts(ns []int, sep string) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
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

// startCPUProfile profiles this process into path until the returned function is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
