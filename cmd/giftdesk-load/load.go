// `giftdesk-load run`: its flags, the targets measured one after another, and what makes
// a run fail. Measuring one target is in loadtarget.go, the report in loadreport.go.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
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

func (l *envList) String() string { return strings.Join(*l, " ") }

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
		if rep.SQLite == nil && spec.Kind == "sqlite" && spec.Replicas == 1 {
			rep.SQLite = &sqliteVerdict{
				Target:    t.Target,
				Acked:     t.VsBare.Acked >= minAckedVsBare,
				P99:       t.P99Ms < maxAckP99Ms,
				Processed: t.VsBare.Processed >= minProcessedVsBare,
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
