// Measuring one target of `giftdesk-load run`: the bare handler, or giftdesk serve in one
// or more replicas, each driven through the fake LINE API.

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

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
