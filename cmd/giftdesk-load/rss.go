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
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// The threshold `rss` checks (set in issue 7): giftdesk's peak resident memory with a
// large store.
const (
	maxPeakRSSMB     = 150     // peak RSS of giftdesk serve, MB
	rssConversations = 100_000 // conversations stored
)

// rssConfig is what `rss` measures with.
type rssConfig struct {
	Bin           string
	Dir           string
	Conversations int
	Conns         int
	SeedVia       string        // "webhook" or "store"
	SeedTimeout   time.Duration // bound on seeding through the webhook
	Traffic       time.Duration // load on the seeded server before its RSS is read
	Seed          uint64
	Progress      io.Writer
}

// rssPhase is one giftdesk serve process and what it did.
type rssPhase struct {
	Phase         string  `json:"phase"`
	Conversations int     `json:"conversations_stored"` // when the phase ended
	Events        int     `json:"events_answered"`
	Seconds       float64 `json:"seconds"`
	ReadyRSSMB    float64 `json:"ready_rss_mb"` // VmRSS once ready, before any traffic
	PeakRSSMB     float64 `json:"peak_rss_mb"`  // VmHWM at the end
	RSSMB         float64 `json:"rss_mb"`       // VmRSS at the end
}

// rssReport is the result of `rss`.
type rssReport struct {
	SeedVia  string     `json:"seed_via"`
	SeedRate float64    `json:"seed_conversations_per_sec"`
	DBMB     float64    `json:"db_mb"`
	Phases   []rssPhase `json:"phases"`
	// Target says whether the threshold is met: peak RSS under maxPeakRSSMB with
	// rssConversations stored.
	Target bool `json:"peak_rss_lt_150mb"`
}

// runRSS is `giftdesk-load rss`.
func runRSS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rss", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "giftdesk binary (default: go build ./cmd/giftdesk)")
	n := fs.Int("conversations", rssConversations, "conversations to store")
	conns := fs.Int("conns", 32, "concurrent connections")
	seedVia := fs.String("seed-via", "webhook", "how conversations are stored: webhook (one event per user through giftdesk serve) or store (SaveConversation directly)")
	seedTimeout := fs.Duration("seed-timeout", 5*time.Minute, "give up seeding through the webhook after this long")
	traffic := fs.Duration("traffic", 5*time.Second, "load on the seeded server before its RSS is read")
	seed := fs.Uint64("seed", 1, "seed of the simulated customers")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	keep := fs.Bool("keep", false, "keep the temporary directory (databases, child logs) and print its path")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	cfg := rssConfig{Conversations: *n, Conns: *conns, SeedVia: *seedVia, SeedTimeout: *seedTimeout,
		Traffic: *traffic, Seed: *seed, Progress: stderr}
	var errs []error
	if cfg.Conversations < cfg.Conns || cfg.Conversations > 10_000_000 {
		errs = append(errs, fmt.Errorf("--conversations=%d: want at least --conns and at most 10,000,000", cfg.Conversations))
	}
	if cfg.Conns < 1 || cfg.Conns > 1024 {
		errs = append(errs, fmt.Errorf("--conns=%d: want 1 to 1024", cfg.Conns))
	}
	if cfg.SeedVia != "webhook" && cfg.SeedVia != "store" {
		errs = append(errs, fmt.Errorf("--seed-via=%q: want webhook or store", cfg.SeedVia))
	}
	if cfg.SeedTimeout <= 0 || cfg.Traffic <= 0 || cfg.Traffic > time.Hour {
		errs = append(errs, errors.New("--seed-timeout and --traffic: want positive durations (traffic at most 1h)"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "giftdesk-rss-")
	if err != nil {
		return err
	}
	defer removeUnless(*keep, dir, stderr)
	cfg.Dir = dir
	if cfg.Bin, err = giftdeskBinary(ctx, *bin, dir); err != nil {
		return err
	}
	rep, err := measureRSS(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printRSS(stdout, cfg, rep)
	return nil
}

// measureRSS runs giftdesk serve three times: on an empty database with a little traffic
// (the baseline), while storing cfg.Conversations conversations (unless they are written
// directly to the store), and on the full database with the same little traffic.
func measureRSS(ctx context.Context, cfg rssConfig) (*rssReport, error) {
	rep := &rssReport{SeedVia: cfg.SeedVia}
	r := rand.New(rand.NewPCG(cfg.Seed, 0))
	ids := newIDSource(r)

	// Baseline: the same traffic against an empty database.
	fmt.Fprintf(cfg.Progress, "baseline: empty database, %v of traffic\n", cfg.Traffic)
	base := newCustomers(rand.New(rand.NewPCG(cfg.Seed+1, 0)), cfg.Conversations)
	ph, err := rssRun(ctx, cfg, "empty database + traffic", filepath.Join(cfg.Dir, "empty.db"), base, ids, false)
	if err != nil {
		return nil, err
	}
	rep.Phases = append(rep.Phases, *ph)

	db := filepath.Join(cfg.Dir, "giftdesk.db")
	customers := newCustomers(r, cfg.Conversations)
	start := time.Now()
	if cfg.SeedVia == "store" {
		fmt.Fprintf(cfg.Progress, "seeding %d conversations with SaveConversation\n", cfg.Conversations)
		if err := seedStore(ctx, db, customers); err != nil {
			return nil, err
		}
		for _, c := range customers {
			c.first, c.step = false, 1 // as if the first words had been answered
		}
	} else {
		fmt.Fprintf(cfg.Progress, "seeding %d conversations through the webhook, %d connections\n", cfg.Conversations, cfg.Conns)
		ph, err := rssRun(ctx, cfg, "seeding through the webhook", db, customers, ids, true)
		if err != nil {
			return nil, err
		}
		rep.Phases = append(rep.Phases, *ph)
	}
	rep.SeedRate = perSec(cfg.Conversations, time.Since(start))
	fmt.Fprintf(cfg.Progress, "  %d conversations in %v\n", cfg.Conversations, time.Since(start).Round(time.Second))

	fmt.Fprintf(cfg.Progress, "restart on the full database, %v of traffic\n", cfg.Traffic)
	ph, err = rssRun(ctx, cfg, "full database + traffic", db, customers, ids, false)
	if err != nil {
		return nil, err
	}
	rep.Phases = append(rep.Phases, *ph)
	if st, err := os.Stat(db); err == nil {
		rep.DBMB = float64(st.Size()) / (1 << 20)
	}
	rep.Target = ph.PeakRSSMB < maxPeakRSSMB && ph.Conversations >= rssConversations
	return rep, nil
}

// rssRun starts giftdesk serve on db and sends either one event per customer (seed) or
// cfg.Traffic of conversation, waits for the answers, and reads its memory.
func rssRun(ctx context.Context, cfg rssConfig, name, db string, customers []*customer, ids *idSource, seed bool) (*rssPhase, error) {
	tr := newTracker()
	fake, err := newLoadFake(customers, tr, false)
	if err != nil {
		return nil, err
	}
	defer fake.Close()
	c, err := startServe(ctx, "giftdesk serve", cfg.Bin, cfg.Dir, strings.ReplaceAll(name, " ", "-")+".log", db, loadSecret, fake.Token(), fake.URL())
	if err != nil {
		return nil, err
	}
	defer c.stop(30 * time.Second)
	ph := &rssPhase{Phase: name}
	ready, err := c.rss()
	if err != nil {
		return nil, err
	}
	ph.ReadyRSSMB = float64(ready) / (1 << 20)
	dc := driveConfig{
		URLs: []string{c.url}, Secret: loadSecret, Conns: cfg.Conns, Duration: cfg.Traffic, Once: seed,
		Customers: customers, Seed: cfg.Seed, IDs: ids,
		Token: fake.IssueReplyToken, Sent: tr.sent, Acked: tr.ack,
	}
	if seed {
		dc.Duration = cfg.SeedTimeout
	}
	start := time.Now()
	res, err := drive(ctx, dc)
	if err != nil {
		return nil, err
	}
	if n := res.failures(); n > 0 {
		return nil, fmt.Errorf("%s: %d webhooks not acknowledged: %v", name, n, res.Failed)
	}
	if !tr.drain(ctx, max(time.Minute, cfg.SeedTimeout-time.Since(start))) {
		st := tr.stats()
		return nil, fmt.Errorf("%s: %d of %d acknowledged events never answered", name, st.Acked-st.AckedAnswered, st.Acked)
	}
	ph.Seconds = time.Since(start).Seconds()
	ph.Events = tr.stats().Answered
	peak, err := c.peakRSS()
	if err != nil {
		return nil, err
	}
	now, err := c.rss()
	if err != nil {
		return nil, err
	}
	ph.PeakRSSMB, ph.RSSMB = float64(peak)/(1<<20), float64(now)/(1<<20)
	if err := c.stop(30 * time.Second); err != nil {
		return nil, err
	}
	if ph.Conversations, err = countConversations(ctx, db); err != nil {
		return nil, err
	}
	return ph, nil
}

// seedStore writes one conversation per customer, waiting at the first question, straight
// into the SQLite store: what giftdesk would have stored after the first words.
func seedStore(ctx context.Context, path string, customers []*customer) error {
	st, err := sqlite.New(ctx, sqlite.Config{Path: path})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	for i, c := range customers {
		conv := &bot.Conversation{
			Key:    bot.Key{Channel: "line", User: c.id},
			Lang:   bot.Lang(c.lang),
			Name:   fmt.Sprintf("Customer %d", i+1),
			Status: bot.StatusActive,
			Node:   "start",
			Path:   []string{"start"},
			Vars:   map[string]string{},
			// The flow version is not known here; giftdesk starts such a conversation over
			// at its next message, which is still one load and one save.
			FlowVersion: "seeded",
			CreatedAt:   now, UpdatedAt: now,
		}
		if err := st.SaveConversation(ctx, conv); err != nil {
			return fmt.Errorf("seed conversation %d: %w", i, err)
		}
	}
	return nil
}

// countConversations counts the conversations stored in the SQLite file at path.
func countConversations(ctx context.Context, path string) (int, error) {
	st, err := sqlite.New(ctx, sqlite.Config{Path: path})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.CountConversations(ctx)
}

func printRSS(w io.Writer, cfg rssConfig, r *rssReport) {
	fmt.Fprintf(w, "giftdesk-load rss: %d conversations seeded via %s (%.0f/s), database %.1f MB, %v of traffic per measurement\n\n",
		cfg.Conversations, r.SeedVia, r.SeedRate, r.DBMB, cfg.Traffic)
	fmt.Fprintf(w, "%-30s %14s %8s %8s %14s %12s %8s\n", "phase", "conversations", "events", "seconds", "ready RSS MB", "peak RSS MB", "RSS MB")
	for _, p := range r.Phases {
		fmt.Fprintf(w, "%-30s %14d %8d %8.1f %14.1f %12.1f %8.1f\n", p.Phase, p.Conversations, p.Events, p.Seconds, p.ReadyRSSMB, p.PeakRSSMB, p.RSSMB)
	}
	last := r.Phases[len(r.Phases)-1]
	fmt.Fprintf(w, "\nthreshold: peak RSS < %d MB with %d stored conversations: %s (%.1f MB with %d)\n",
		maxPeakRSSMB, rssConversations, verdict(r.Target), last.PeakRSSMB, last.Conversations)
}
