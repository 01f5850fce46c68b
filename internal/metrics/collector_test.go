package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// countingInbox counts the backlog reads.
type countingInbox struct{ reads atomic.Int64 }

func (c *countingInbox) PendingEvents(context.Context) (int, time.Time, error) {
	c.reads.Add(1)
	return 7, time.Time{}, nil
}

// TestInboxCollectorCached checks that scrapes within inboxTTL of a read, concurrent or
// not, cost no further query, and that the next scrape after it reads again.
func TestInboxCollectorCached(t *testing.T) {
	in := &countingInbox{}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	c := &inboxCollector{inbox: in, log: nil, now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	scrape := func() {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "giftdesk_inbox_pending_events" && mf.GetMetric()[0].GetGauge().GetValue() != 7 {
				t.Errorf("pending events %v, want 7", mf.GetMetric()[0].GetGauge().GetValue())
			}
		}
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(scrape)
	}
	wg.Wait()
	if got := in.reads.Load(); got != 1 {
		t.Fatalf("50 scrapes within the TTL read the inbox %d times, want 1", got)
	}
	clock.Lock()
	now = now.Add(inboxTTL)
	clock.Unlock()
	scrape()
	if got := in.reads.Load(); got != 2 {
		t.Fatalf("a scrape after the TTL: %d reads in all, want 2", got)
	}
}
