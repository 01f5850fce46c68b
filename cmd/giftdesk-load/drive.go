package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// requestTimeout bounds one webhook request.
const requestTimeout = 10 * time.Second

// driveConfig says how to load one target.
type driveConfig struct {
	// URLs are the base URLs of the target's replicas, http://127.0.0.1:port, spread as a
	// load balancer would: connection k sends new events to URLs[k % len(URLs)] and, with
	// more than one replica, redeliveries to the next replica, so that a redelivery never
	// reaches the replica that acknowledged the first delivery.
	URLs   []string
	Secret string // channel secret that signs the bodies
	Conns  int    // concurrent keep-alive connections, each sending one request at a time
	// Duration is how long new events are sent. With Once, it is an upper bound.
	Duration time.Duration
	// Once sends one event per customer and stops (seeding); otherwise customers go
	// round and round until Duration is over.
	Once      bool
	Customers []*customer // customer i is driven by connection i % Conns
	Redeliver float64     // fraction of acknowledged events sent again as redeliveries
	Seed      uint64
	IDs       *idSource
	// Token returns the reply token of a new event for a user.
	Token func(user string) string
	// Sent, if set, is called with every new event before it is first sent.
	Sent func(eventID, user, token string)
	// Acked, if set, is called with every event whose first delivery was answered 200.
	Acked func(eventID string)
}

// driveResult is what the client side saw.
type driveResult struct {
	Start, End  time.Time // first request sent; last answer received
	Requests    int       // requests sent, redeliveries included
	Acked       int       // requests answered 200, redeliveries included
	Distinct    int       // distinct events acknowledged
	Redelivered int       // redeliveries acknowledged
	Failed      map[string]int
	Kinds       map[string]int  // acknowledged new events by kind (text, postback, follow)
	Latencies   []time.Duration // of acknowledged requests, sorted
	// PerURL counts the requests sent to each of driveConfig.URLs, redeliveries included.
	PerURL []int
}

func (r *driveResult) window() time.Duration { return r.End.Sub(r.Start) }

func (r *driveResult) failures() int {
	n := 0
	for _, v := range r.Failed {
		n += v
	}
	return n
}

// percentile returns the p-th percentile (0 < p ≤ 100) of the acknowledgement latency.
func (r *driveResult) percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// pendingRedelivery is an acknowledged event to send again once the connection has sent
// `due` requests.
type pendingRedelivery struct {
	ev  linetest.Event
	due int
}

// drive loads a target and returns what the client side saw. Every loop is bounded by
// cfg.Duration (and each request by requestTimeout).
func drive(ctx context.Context, cfg driveConfig) (*driveResult, error) {
	if cfg.Conns < 1 || len(cfg.Customers) < cfg.Conns {
		return nil, fmt.Errorf("need at least one customer per connection (%d customers, %d connections)", len(cfg.Customers), cfg.Conns)
	}
	if len(cfg.URLs) == 0 {
		return nil, errors.New("no target URL to drive")
	}
	transport := &http.Transport{
		MaxIdleConns:        cfg.Conns * len(cfg.URLs), // a connection may keep one to each replica
		MaxIdleConnsPerHost: cfg.Conns,
		MaxConnsPerHost:     cfg.Conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: requestTimeout}
	endpoints := make([]string, len(cfg.URLs))
	for i, u := range cfg.URLs {
		endpoints[i] = u + "/line/webhook"
	}

	results := make([]*driveResult, cfg.Conns)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for k := range cfg.Conns {
		var mine []*customer
		for i := k; i < len(cfg.Customers); i += cfg.Conns {
			mine = append(mine, cfg.Customers[i])
		}
		res := &driveResult{Failed: map[string]int{}, Kinds: map[string]int{}, PerURL: make([]int, len(endpoints))}
		results[k] = res
		first := k % len(endpoints)
		again := (k + 1) % len(endpoints) // first itself when there is one replica
		wg.Go(func() {
			driveConn(ctx, cfg, client, endpoints, first, again, mine, deadline, rand.New(rand.NewPCG(cfg.Seed, uint64(k))), res)
		})
	}
	wg.Wait()

	total := &driveResult{Start: start, End: start, Failed: map[string]int{}, Kinds: map[string]int{}, PerURL: make([]int, len(endpoints))}
	for _, r := range results {
		for i, n := range r.PerURL {
			total.PerURL[i] += n
		}
		total.Requests += r.Requests
		total.Acked += r.Acked
		total.Distinct += r.Distinct
		total.Redelivered += r.Redelivered
		for k, v := range r.Failed {
			total.Failed[k] += v
		}
		for k, v := range r.Kinds {
			total.Kinds[k] += v
		}
		total.Latencies = append(total.Latencies, r.Latencies...)
		if r.End.After(total.End) {
			total.End = r.End
		}
	}
	slices.Sort(total.Latencies)
	return total, ctx.Err()
}

// driveConn is one connection: it sends one event at a time for its customers in turn to
// endpoints[first], and now and then sends an acknowledged event again as LINE's
// redelivery would, to endpoints[again].
func driveConn(ctx context.Context, cfg driveConfig, client *http.Client, endpoints []string, first, again int, mine []*customer, deadline time.Time, r *rand.Rand, res *driveResult) {
	var pending []pendingRedelivery
	next := 0 // index into mine
	for sent := 0; ; sent++ {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return
		}
		var (
			ev         linetest.Event
			redelivery bool
			kind       string
		)
		switch {
		case len(pending) > 0 && (pending[0].due <= sent || cfg.Once && next == len(mine)):
			ev, redelivery = pending[0].ev, true
			ev.DeliveryContext.IsRedelivery = true
			pending = pending[1:]
		case cfg.Once && next == len(mine):
			return
		default:
			c := mine[next%len(mine)]
			next++
			s := c.next(r)
			kind = s.kind()
			token := cfg.Token(c.id)
			ev = makeEvent(cfg.IDs, c, s, token, time.Now())
			if cfg.Sent != nil {
				cfg.Sent(ev.WebhookEventID, c.id, token)
			}
		}
		to := first
		if redelivery {
			to = again
		}
		body := encodeWebhook(ev)
		t0 := time.Now()
		status, err := post(ctx, client, endpoints[to], body, linetest.Sign(cfg.Secret, body))
		res.End = time.Now()
		res.Requests++
		res.PerURL[to]++
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			res.Failed["error"]++
			continue
		case status != http.StatusOK:
			res.Failed[strconv.Itoa(status)]++
			continue
		}
		res.Acked++
		res.Latencies = append(res.Latencies, res.End.Sub(t0))
		if redelivery {
			res.Redelivered++
			continue
		}
		res.Distinct++
		res.Kinds[kind]++
		if cfg.Acked != nil {
			cfg.Acked(ev.WebhookEventID)
		}
		if cfg.Redeliver > 0 && r.Float64() < cfg.Redeliver {
			pending = append(pending, pendingRedelivery{ev: ev, due: sent + 1 + r.IntN(4)})
		}
	}
}

// post sends one signed webhook and returns the status.
func post(ctx context.Context, client *http.Client, endpoint string, body []byte, signature string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "LineBotWebhook/2.0")
	req.Header.Set("X-Line-Signature", signature)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body) // drain, so the connection is reused
	res.Body.Close()
	return res.StatusCode, nil
}

// tracker follows events from being sent to being answered on the fake LINE API. An
// answer is a reply accepted for the event's reply token or, when the token was stale, an
// accepted push to the user, which answers that user's oldest unanswered event. It is
// safe for concurrent use: the fake calls onCall from its handlers.
type tracker struct {
	mu        sync.Mutex
	byID      map[string]*trackedEvent
	byToken   map[string]*trackedEvent
	waiting   map[string][]*trackedEvent // by user: sent, not yet answered, in order
	acked     int                        // distinct events acknowledged
	answered  int                        // distinct events answered
	ackedDone int                        // acknowledged events that were answered
	replies   int                        // accepted replies
	pushes    int                        // accepted pushes (409 duplicates not included)
	refused   int                        // replies refused (stale token) and other non-2xx
	extra     int                        // accepted answers that matched no waiting event
	last      time.Time                  // when the last event was answered
}

type trackedEvent struct {
	user       string
	acked      bool
	answered   bool
	answeredAt time.Time
}

func newTracker() *tracker {
	return &tracker{
		byID:    map[string]*trackedEvent{},
		byToken: map[string]*trackedEvent{},
		waiting: map[string][]*trackedEvent{},
	}
}

// sent registers an event before it is first sent.
func (t *tracker) sent(id, user, token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &trackedEvent{user: user}
	t.byID[id] = e
	t.byToken[token] = e
	t.waiting[user] = append(t.waiting[user], e)
}

// ack records that an event's first delivery was acknowledged.
func (t *tracker) ack(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byID[id]
	if e == nil || e.acked {
		return
	}
	e.acked = true
	t.acked++
	if e.answered {
		t.ackedDone++
	}
}

// onCall is the fake LINE API's OnCall hook.
func (t *tracker) onCall(c linetest.Call) {
	body, _ := c.JSON.(map[string]any)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case c.Route != linetest.PathReply && c.Route != linetest.PathPush:
		return
	case c.Status != http.StatusOK:
		if c.Status != http.StatusConflict { // 409: a push already accepted, not an answer
			t.refused++
		}
		return
	case c.Route == linetest.PathReply:
		t.replies++
		token, _ := body["replyToken"].(string)
		t.answer(t.byToken[token])
	default:
		t.pushes++
		to, _ := body["to"].(string)
		if q := t.waiting[to]; len(q) > 0 {
			t.answer(q[0])
		} else {
			t.extra++
		}
	}
}

func (t *tracker) answer(e *trackedEvent) {
	if e == nil || e.answered {
		t.extra++
		return
	}
	e.answered = true
	e.answeredAt = time.Now()
	t.answered++
	if e.acked {
		t.ackedDone++
	}
	t.last = time.Now()
	q := t.waiting[e.user]
	if i := slices.Index(q, e); i >= 0 {
		q = slices.Delete(q, i, i+1)
	}
	if len(q) == 0 {
		delete(t.waiting, e.user)
	} else {
		t.waiting[e.user] = q
	}
}

// answeredAfter returns how many acknowledged events of the users that mine selects were
// answered after from, and when the first and the last of them were.
func (t *tracker) answeredAfter(from time.Time, mine func(user string) bool) (n int, first, last time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.byID {
		if !e.acked || !e.answered || !e.answeredAt.After(from) || !mine(e.user) {
			continue
		}
		n++
		if first.IsZero() || e.answeredAt.Before(first) {
			first = e.answeredAt
		}
		if e.answeredAt.After(last) {
			last = e.answeredAt
		}
	}
	return n, first, last
}

// trackerStats is a snapshot of a tracker.
type trackerStats struct {
	Acked, Answered, AckedAnswered, Replies, Pushes, Refused, Extra int
	Last                                                            time.Time
}

func (t *tracker) stats() trackerStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return trackerStats{
		Acked: t.acked, Answered: t.answered, AckedAnswered: t.ackedDone,
		Replies: t.replies, Pushes: t.pushes, Refused: t.refused, Extra: t.extra, Last: t.last,
	}
}

// drain waits until every acknowledged event has been answered, or timeout. It reports
// whether they all were.
func (t *tracker) drain(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		s := t.stats()
		if s.AckedAnswered == s.Acked {
			return true
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
