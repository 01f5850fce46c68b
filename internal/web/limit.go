package web

import (
	"sync"
	"time"
)

// limiter is a token bucket per key (a conversation, a client address). It is safe for
// concurrent use. Buckets that have filled up again are forgotten when there are many.
type limiter struct {
	rate    Rate
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
	// sweepAt is the number of buckets at which the next new one first forgets the full
	// ones: at least maxBuckets, and twice what a sweep left, so that many buckets still
	// filling up (one new key per request) cost a sweep now and then, not on every request.
	sweepAt int
	sweeps  int // sweeps done, for tests
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets is how many buckets a limiter keeps before it forgets the full ones.
const maxBuckets = 10000

func newLimiter(r Rate, now func() time.Time) *limiter {
	if r.Every <= 0 {
		r.Every = time.Second
	}
	return &limiter{rate: r, now: now, buckets: map[string]*bucket{}, sweepAt: maxBuckets}
}

// take takes a token of key's bucket; when there is none, ok is false and wait says when
// there will be one.
func (l *limiter) take(key string) (wait time.Duration, ok bool) {
	if l.rate.Burst < 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.sweepAt {
			l.forgetFullLocked(now)
			l.sweepAt = max(maxBuckets, 2*len(l.buckets))
		}
		b = &bucket{tokens: float64(l.rate.Burst), at: now}
		l.buckets[key] = b
	}
	b.fill(l.rate, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) * float64(l.rate.Every)), false
}

func (b *bucket) fill(r Rate, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(r.Burst), b.tokens+float64(d)/float64(r.Every))
		b.at = now
	}
}

// forgetFullLocked drops the buckets that are full again: a new one is the same.
func (l *limiter) forgetFullLocked(now time.Time) {
	l.sweeps++
	for k, b := range l.buckets {
		b.fill(l.rate, now)
		if b.tokens >= float64(l.rate.Burst) {
			delete(l.buckets, k)
		}
	}
}

// streams counts the open event streams per conversation and per client address, so
// that neither one customer nor one address can hold open connections (each a goroutine,
// and a read of the log every Poll) without bound. It is safe for concurrent use.
type streams struct {
	perConv, perAddr int // the most open at once; negative: no limit
	mu               sync.Mutex
	convs, addrs     map[string]int
}

func newStreams(perConv, perAddr int) *streams {
	return &streams{perConv: perConv, perAddr: perAddr, convs: map[string]int{}, addrs: map[string]int{}}
}

// open counts a stream of conv from addr; ok is false, and nothing counted, when either
// has its most already. release uncounts it.
func (s *streams) open(conv, addr string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perConv >= 0 && s.convs[conv] >= s.perConv || s.perAddr >= 0 && s.addrs[addr] >= s.perAddr {
		return nil, false
	}
	s.convs[conv]++
	s.addrs[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.convs[conv]--; s.convs[conv] <= 0 {
				delete(s.convs, conv)
			}
			if s.addrs[addr]--; s.addrs[addr] <= 0 {
				delete(s.addrs, addr)
			}
		})
	}, true
}
