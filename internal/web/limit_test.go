package web

import (
	"strconv"
	"testing"
	"time"
)

// TestLimiterSweepsAmortized: keys that each take a token and never come back (a client
// rotating addresses) keep their buckets from being full; a new key must not sweep the
// whole map every time, and buckets that fill up again are still forgotten.
func TestLimiterSweepsAmortized(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	l := newLimiter(Rate{Burst: 5, Every: time.Second}, func() time.Time { return now })
	const n = 4 * maxBuckets
	for i := range n {
		if _, ok := l.take("k" + strconv.Itoa(i)); !ok {
			t.Fatalf("key %d refused", i)
		}
	}
	if l.sweeps > 3 {
		t.Errorf("%d new keys swept the buckets %d times", n, l.sweeps)
	}
	now = now.Add(time.Second) // every bucket full again
	for i := range 2 * n {
		l.take("later" + strconv.Itoa(i))
	}
	if len(l.buckets) > 2*n {
		t.Errorf("%d buckets kept: the full ones were not forgotten", len(l.buckets))
	}
}
