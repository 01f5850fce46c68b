// `giftdesk-load crash`: how long a crash delays the answers. SQLite: giftdesk serve
// acknowledges a burst and is killed (SIGKILL) right after; a new process starts on the
// same file; measured from the restart until every acknowledged event is answered.
// PostgreSQL: N replicas share the burst and one is killed half-way through; measured from
// the kill until the survivors have answered everything acknowledged.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// crashConfig is what `crash` measures with.
type crashConfig struct {
	Bin      string
	ServeEnv []string
	Dir      string
	Users    int // the burst: one event per user
	Conns    int
	Targets  []targetSpec
	Drain    time.Duration
	Seed     uint64
	Progress io.Writer
}

// crashResult is one target's recovery.
type crashResult struct {
	Target   string `json:"target"`
	Replicas int    `json:"replicas"`
	// Sent and Acked count the burst's events; Acked only those acknowledged (a
	// replica's webhooks fail once it is killed). Failed counts the rest, by reason.
	Sent   int            `json:"sent"`
	Acked  int            `json:"acked"`
	Failed map[string]int `json:"failed,omitempty"`
	// AnsweredBeforeKill is how many acknowledged events were answered before the kill.
	AnsweredBeforeKill int `json:"answered_before_kill"`
	// RecoverySeconds is the time from the restart (SQLite) or the kill (PostgreSQL)
	// until the last acknowledged event was answered; ReadySeconds, SQLite only, the part
	// of it the new process took to be ready.
	RecoverySeconds float64 `json:"recovery_seconds"`
	ReadySeconds    float64 `json:"ready_seconds,omitempty"`
	// Victim's share: VictimAnswered acknowledged events of the users whose webhooks
	// went to the killed process were answered after the kill (SQLite: all of them),
	// the first VictimFirstSeconds and the last VictimLastSeconds after the kill. For
	// PostgreSQL, the first is the takeover's latency.
	VictimAnswered     int     `json:"victim_answered_after_kill"`
	VictimFirstSeconds float64 `json:"victim_first_seconds"`
	VictimLastSeconds  float64 `json:"victim_last_seconds"`
	// Replies and Pushes are the answers accepted after the kill.
	Replies int `json:"replies_after_kill"`
	Pushes  int `json:"pushes_after_kill"`
	// Unanswered counts acknowledged events never answered (or recorded uncertain);
	// Duplicates, answers that matched no unanswered event: both must be 0 for exactly
	// once.
	Unanswered int `json:"unanswered"`
	Duplicates int `json:"duplicates"`
}

// runCrash is `giftdesk-load crash`.
func runCrash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "giftdesk binary (default: go build ./cmd/giftdesk)")
	users := fs.Int("users", 2000, "the burst: one event from each of this many LINE users")
	conns := fs.Int("conns", 32, "concurrent connections")
	db := fs.String("db", "sqlite,2xpostgres", "comma-separated targets as for run: sqlite (killed after the burst, restarted) or Nxpostgres, N ≥ 2 (one of the N replicas killed half-way through the burst)")
	pgServer := fs.String("postgres", "", "PostgreSQL server of the postgres targets (default $GIFTDESK_TEST_POSTGRES, or else "+defaultPostgres+")")
	drain := fs.Duration("drain", 120*time.Second, "how long to wait for every acknowledged event to be answered")
	seed := fs.Uint64("seed", 1, "seed of the simulated customers")
	var serveEnv envList
	fs.Var(&serveEnv, "serve-env", "a KEY=VALUE setting for giftdesk serve, such as GIFTDESK_LEASE=30s (repeatable)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	keep := fs.Bool("keep", false, "keep the temporary directory (databases, child logs) and print its path")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if *pgServer == "" {
		*pgServer = defaultPostgresURL()
	}
	targets, err := parseTargets(*db, *pgServer)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, t := range targets {
		if t.Kind == "sqlite" && t.Replicas != 1 {
			errs = append(errs, fmt.Errorf("--db: %s: the crash of SQLite is measured with one process", t.Name))
		}
		if t.Kind == "postgres" && t.Replicas < 2 {
			errs = append(errs, fmt.Errorf("--db: %s: want 2 or more replicas (2xpostgres): one is killed, the others answer", t.Name))
		}
	}
	if *conns < 1 || *conns > 1024 || *users < *conns {
		errs = append(errs, fmt.Errorf("--conns=%d, --users=%d: want 1 to 1024 connections and at least as many users", *conns, *users))
	}
	if *drain <= 0 {
		errs = append(errs, fmt.Errorf("--drain=%v: want a positive duration", *drain))
	}
	for _, kv := range serveEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || !strings.HasPrefix(k, "GIFTDESK_") || k == "GIFTDESK_DB" || k == "GIFTDESK_ADDR" {
			errs = append(errs, fmt.Errorf("--serve-env=%q: want GIFTDESK_NAME=value, not GIFTDESK_DB or GIFTDESK_ADDR", kv))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "giftdesk-crash-")
	if err != nil {
		return err
	}
	defer removeUnless(*keep, dir, stderr)
	cfg := crashConfig{ServeEnv: serveEnv, Dir: dir, Users: *users, Conns: *conns, Targets: targets, Drain: *drain,
		Seed: *seed, Progress: stderr}
	if cfg.Bin, err = giftdeskBinary(ctx, *bin, dir); err != nil {
		return err
	}
	var results []*crashResult
	for _, spec := range targets {
		fmt.Fprintf(stderr, "%s: a burst of %d events on %d connections\n", spec.Name, cfg.Users, cfg.Conns)
		r, err := measureCrash(ctx, cfg, spec)
		if err != nil {
			return fmt.Errorf("%s: %w", spec.Name, err)
		}
		results = append(results, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		printCrash(stdout, results)
	}
	for _, r := range results {
		if r.Unanswered > 0 || r.Duplicates > 0 {
			errs = append(errs, fmt.Errorf("%s: %d acknowledged events unanswered, %d answered twice", r.Target, r.Unanswered, r.Duplicates))
		}
	}
	return errors.Join(errs...)
}

// measureCrash runs one target's crash and recovery.
func measureCrash(ctx context.Context, cfg crashConfig, spec targetSpec) (*crashResult, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, 0))
	customers := newCustomers(r, cfg.Users)
	tr := newTracker()
	fake, err := newLoadFake(customers, tr, false)
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
		defer drop()
		db = url
	}
	var children []*child
	defer func() {
		for _, c := range children {
			_ = c.stop(30 * time.Second)
		}
	}()
	start := func(name, logName string) (*child, error) {
		c, err := startServe(ctx, name, cfg.Bin, cfg.Dir, logName, db, loadSecret, fake.Token(), fake.URL(), cfg.ServeEnv...)
		if err == nil {
			children = append(children, c)
		}
		return c, err
	}
	for i := range spec.Replicas {
		name := "giftdesk serve"
		if spec.Replicas > 1 {
			name = fmt.Sprintf("giftdesk serve replica %d of %d", i+1, spec.Replicas)
		}
		if _, err := start(name, fmt.Sprintf("serve-%s-%d.log", spec.fileName(), i+1)); err != nil {
			return nil, err
		}
	}
	victim := children[0]
	var (
		killOnce sync.Once
		killedAt time.Time
		before   trackerStats
	)
	kill := func() {
		killOnce.Do(func() {
			_ = victim.cmd.Process.Kill() // SIGKILL
			<-victim.exited
			killedAt = time.Now()
			before = tr.stats()
		})
	}
	urls := make([]string, len(children))
	for i, c := range children {
		urls[i] = c.url
	}
	acked := 0
	var ackMu sync.Mutex
	dc := driveConfig{
		URLs: urls, Secret: loadSecret, Conns: cfg.Conns, Duration: time.Hour, Once: true,
		Customers: customers, Seed: cfg.Seed, IDs: newIDSource(r),
		Token: fake.IssueReplyToken, Sent: tr.sent,
		Acked: func(id string) {
			tr.ack(id)
			if spec.Replicas < 2 {
				return
			}
			ackMu.Lock()
			acked++
			half := acked == cfg.Users/2
			ackMu.Unlock()
			if half {
				go kill() // half-way through the burst
			}
		},
	}
	res, err := drive(ctx, dc)
	if err != nil {
		return nil, err
	}
	kill() // SQLite: right after the last acknowledgement
	out := &crashResult{Target: spec.Name, Replicas: spec.Replicas, Sent: res.Requests, Acked: res.Distinct,
		AnsweredBeforeKill: before.AckedAnswered}
	if len(res.Failed) > 0 {
		out.Failed = res.Failed
	}
	from := killedAt
	if spec.Kind == "sqlite" {
		from = time.Now()
		if _, err := start("giftdesk serve (restarted)", "serve-"+spec.fileName()+"-restarted.log"); err != nil {
			return nil, err
		}
		out.ReadySeconds = time.Since(from).Seconds()
	}
	fmt.Fprintf(cfg.Progress, "  %d acknowledged, %d answered before the kill; waiting up to %v for the rest\n",
		out.Acked, out.AnsweredBeforeKill, cfg.Drain)
	drained := tr.drain(ctx, cfg.Drain)
	st := tr.stats()
	out.Unanswered = st.Acked - st.AckedAnswered
	out.Duplicates = st.Extra
	out.Replies, out.Pushes = st.Replies-before.Replies, st.Pushes-before.Pushes
	switch {
	case !drained:
		out.RecoverySeconds = time.Since(from).Seconds()
	case st.Last.After(from):
		out.RecoverySeconds = st.Last.Sub(from).Seconds()
	}
	// Customer i is driven by connection i % Conns, which sends to URLs[(i % Conns) %
	// len(URLs)] (see driveConfig.URLs): the victim's are those of URLs[0].
	victims := map[string]bool{}
	for i, c := range customers {
		if (i%cfg.Conns)%len(urls) == 0 {
			victims[c.id] = true
		}
	}
	var first, last time.Time
	out.VictimAnswered, first, last = tr.answeredAfter(killedAt, func(u string) bool { return victims[u] })
	if out.VictimAnswered > 0 {
		out.VictimFirstSeconds, out.VictimLastSeconds = first.Sub(killedAt).Seconds(), last.Sub(killedAt).Seconds()
	}
	var errs []error
	for _, c := range children {
		if c != victim {
			errs = append(errs, c.stop(30*time.Second))
		}
	}
	return out, errors.Join(errs...)
}

func printCrash(w io.Writer, results []*crashResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tprocesses\tacked\tanswered before kill\trecovery s\tof which ready s\tvictim's answered after\tfirst s\tlast s\treplies after\tpushes after\tunanswered\tduplicates\t")
	for _, r := range results {
		ready := "-"
		if r.ReadySeconds > 0 {
			ready = fmt.Sprintf("%.2f", r.ReadySeconds)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%s\t%d\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t\n", r.Target, r.Replicas, r.Acked,
			r.AnsweredBeforeKill, r.RecoverySeconds, ready, r.VictimAnswered, r.VictimFirstSeconds, r.VictimLastSeconds,
			r.Replies, r.Pushes, r.Unanswered, r.Duplicates)
	}
	tw.Flush()
	fmt.Fprintln(w, "recovery: from the restart (sqlite: killed right after acknowledging the burst) or from the kill of")
	fmt.Fprintln(w, "replica 1 half-way through the burst (postgres) until every acknowledged event was answered;")
	fmt.Fprintln(w, "victim's: the events the killed process acknowledged and had not answered, first and last answer after the kill")
}
