//go:build unix

package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/pipeline"
)

// walFrameSize is the size of a WAL frame: a 24-byte header and a page.
const walFrameSize = 24 + 4096

// BenchmarkPipelineWAL runs events through the real pipeline (webhooks' group commit,
// workers, the deliverer) on a SQLite file with a stepper and a sender that do next to
// nothing, over 2,000 customers, 1,000 events an iteration. It reports the WAL frames (pages written at commit) per event, counted
// with checkpoints off so that the WAL only grows, and the CPU time of the process per event.
func BenchmarkPipelineWAL(b *testing.B) {
	// webhooks: 32 callers, one event each at a time, as under load; backlog: the
	// iteration's 1,000 events stored at once, eight of each of 125 customers, then worked
	// off, as after a burst.
	b.Run("webhooks", func(b *testing.B) { benchPipelineWAL(b, 32, 1, 1) })
	b.Run("backlog", func(b *testing.B) { benchPipelineWAL(b, 1, 1000, 8) })
}

func benchPipelineWAL(b *testing.B, callers, per, spread int64) {
	path := filepath.Join(b.TempDir(), "giftdesk.db")
	s := open(b, path)
	if err := s.stopCheckpointer(); err != nil {
		b.Fatal(err)
	}
	send := &countingSender{done: make(chan struct{}, 1)}
	p, err := pipeline.New(pipeline.Config{Store: s, Stepper: walStepper{}, Owner: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Add("line", send); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	const users = 2000
	at := time.Now()
	sent := int64(0)
	run := func(n int64) {
		var next atomic.Int64
		next.Store(sent)
		sent = n
		var cw sync.WaitGroup
		for range callers {
			cw.Go(func() {
				for {
					last := next.Add(per)
					first := last - per + 1
					if first > n {
						return
					}
					var evs []bot.Event
					for i := first; i <= min(last, n); i++ {
						u := fmt.Sprintf("U4af4980629f9f2e3b0cd1a3c8e%05d", i/spread%users)
						evs = append(evs, bot.Event{ID: fmt.Sprintf("line:01JQ%022d", i), Key: bot.Key{Channel: "line", User: u},
							In: bot.Inbound{Kind: bot.InText, Text: "ギフトカードが使えません"}, At: at.Add(time.Duration(i) * time.Microsecond),
							Address: u, ReplyToken: "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"})
					}
					if _, err := p.Inbox().AddEvents(ctx, evs); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		cw.Wait()
		for send.n.Load() < n {
			select {
			case <-send.done:
			case <-time.After(10 * time.Second):
				b.Fatalf("%d of %d events answered", send.n.Load(), n)
			}
		}
	}
	// Every customer's conversation exists before the measurement.
	run(users)
	start, cpu0 := walSize(b, path), cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		run(sent + 1000)
	}
	b.StopTimer()
	events := float64(sent - users)
	if events == 0 {
		return
	}
	b.ReportMetric(float64(walSize(b, path)-start)/walFrameSize/events, "walpages/event")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/events, "cpu-µs/event")
}

func walSize(tb testing.TB, path string) int64 {
	tb.Helper()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// walStepper answers every event with one message and two transcript lines.
type walStepper struct{}

func (walStepper) Step(_ context.Context, c *bot.Conversation, ev bot.Event) (bot.Result, error) {
	if c.Lang == "" {
		c.Lang, c.Status, c.FlowVersion, c.CreatedAt = bot.Japanese, bot.StatusActive, "1", ev.At
	}
	c.Node = "card_type"
	c.Path = append(c.Path[:min(len(c.Path), 10)], "card_type")
	c.UpdatedAt = ev.At
	return bot.Result{
		Messages: []bot.Message{{Kind: bot.MsgQuestion, Text: "どのカードですか?", Choices: []bot.Choice{
			{Label: "Amazon", Data: "amazon"}, {Label: "Apple", Data: "apple"}, {Label: "Google Play", Data: "google"}}}},
		Transcript: []bot.Line{
			{At: ev.At, Role: bot.RoleCustomer, Text: ev.In.Text},
			{At: ev.At, Role: bot.RoleBot, Text: "どのカードですか?", Node: "card_type"},
		},
	}, nil
}

// countingSender replies to everything, as LINE's sender does: it records the reply
// attempt first.
type countingSender struct {
	n    atomic.Int64
	done chan struct{}
}

func (s *countingSender) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	if out.MarkReply != nil {
		if err := out.MarkReply(ctx); err != nil {
			return "", &bot.DeliveryError{Err: err}
		}
	}
	s.n.Add(1)
	select {
	case s.done <- struct{}{}:
	default:
	}
	return "reply", nil
}
