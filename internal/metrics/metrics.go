// Package metrics exposes giftdesk's Prometheus metrics: webhooks, the inbox, turns through
// the flow, hand-offs, ratings and deliveries. Metrics are registered on a registry of
// their own (no global state) and served by Handler.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/giftdesk/giftdesk/bot"
)

// Inbox reports the inbox's backlog; the stores implement it.
type Inbox interface {
	// PendingEvents returns how many events wait to be processed and when the oldest of
	// them arrived (zero when none).
	PendingEvents(ctx context.Context) (n int, oldest time.Time, err error)
}

// Metrics holds giftdesk's metrics. Its methods are safe for concurrent use.
type Metrics struct {
	reg             *prometheus.Registry
	webhooks        *prometheus.CounterVec
	webhookEvents   *prometheus.CounterVec
	webhookLatency  *prometheus.HistogramVec
	turns           *prometheus.CounterVec
	advice          *prometheus.CounterVec
	handoffs        *prometheus.CounterVec
	ratings         *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	deliveryLatency *prometheus.HistogramVec
	outboxWaiting   prometheus.Gauge
	outboxParked    prometheus.Gauge
}

// New registers the metrics, including the inbox backlog read from inbox at each scrape
// (inbox may be nil), and the Go runtime and process collectors.
func New(inbox Inbox, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "giftdesk_webhooks_total",
			Help: "Webhook requests by channel and outcome (accepted, bad_signature, too_large, malformed, store_error, foreign (another Slack workspace or app), …).",
		}, []string{"channel", "outcome"}),
		webhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "giftdesk_webhook_events_total",
			Help: "Events received in webhooks by channel, new or duplicate (a redelivery of a stored event).",
		}, []string{"channel", "result"}),
		webhookLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "giftdesk_webhook_ack_seconds",
			Help:    "Time from receiving a webhook to answering it (events on disk).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"channel"}),
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "giftdesk_turns_total",
			Help: "Conversation turns processed, by channel and the node the turn ended at.",
		}, []string{"channel", "node"}),
		advice: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "giftdesk_advice_total",
			Help: "Advice shown to customers, by advice node.",
		}, []string{"node"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "giftdesk_handoffs_total",
			Help: "Hand-offs to a person by stage: started, claimed, resolved, cancelled.",
		}, []string{"stage"}),
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "giftdesk_ratings_total",
			Help: "Ratings (1–5) customers gave after a hand-off.",
		}, []string{"rating"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "giftdesk_deliveries_total",
			Help: "Delivery attempts by channel and outcome: reply, push (incl. fallback), retry (temporary failure), failed.",
		}, []string{"channel", "outcome"}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "giftdesk_delivery_seconds",
			Help:    "Duration of delivery attempts by channel and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"channel", "outcome"}),
		outboxWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "giftdesk_outbox_waiting",
			Help: "Answers and other messages committed but not yet delivered (parked included), as the deliverer last counted.",
		}),
		outboxParked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "giftdesk_outbox_parked",
			Help: "Messages held back by an error an operator must fix (a revoked token, a bot not in the channel).",
		}),
	}
	m.reg.MustRegister(m.outboxWaiting, m.outboxParked)
	m.reg.MustRegister(m.webhooks, m.webhookEvents, m.webhookLatency, m.turns, m.advice, m.handoffs,
		m.ratings, m.deliveries, m.deliveryLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if inbox != nil {
		m.reg.MustRegister(&inboxCollector{inbox: inbox, log: log, now: time.Now})
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Webhook records one webhook request of channel.
func (m *Metrics) Webhook(channel, outcome string, fresh, duplicate int, d time.Duration) {
	m.webhooks.WithLabelValues(channel, outcome).Inc()
	if fresh > 0 {
		m.webhookEvents.WithLabelValues(channel, "new").Add(float64(fresh))
	}
	if duplicate > 0 {
		m.webhookEvents.WithLabelValues(channel, "duplicate").Add(float64(duplicate))
	}
	if outcome == "accepted" {
		m.webhookLatency.WithLabelValues(channel).Observe(d.Seconds())
	}
}

// Turn records a processed turn: the node it ended at and the advice shown.
func (m *Metrics) Turn(ev bot.Event, c *bot.Conversation, msgs []bot.Message) {
	m.turns.WithLabelValues(ev.Key.Channel, c.Node).Inc()
	for _, msg := range msgs {
		switch msg.Kind {
		case bot.MsgSteps:
			m.advice.WithLabelValues(c.Node).Inc()
		}
	}
}

// Handoff records a hand-off stage (started, claimed, resolved, returned, cancelled,
// closed) or, for stage "rated", a customer's rating.
func (m *Metrics) Handoff(stage string, rating int) {
	if stage == "rated" {
		m.ratings.WithLabelValues(strconv.Itoa(rating)).Inc()
		return
	}
	m.handoffs.WithLabelValues(stage).Inc()
}

// Delivered records a delivery attempt.
func (m *Metrics) Delivered(channel, outcome string, d time.Duration) {
	m.deliveries.WithLabelValues(channel, outcome).Inc()
	m.deliveryLatency.WithLabelValues(channel, outcome).Observe(d.Seconds())
}

// Backlog records the outbox's unfinished rows, as the deliverer counted them.
func (m *Metrics) Backlog(c bot.OutboxCounts) {
	m.outboxWaiting.Set(float64(c.Waiting))
	m.outboxParked.Set(float64(c.Parked))
}

// inboxTTL is how long the inbox backlog read by one scrape serves the next ones: a scrape
// costs the database at most one query per inboxTTL, however often /metrics is asked.
const inboxTTL = 5 * time.Second

// inboxCollector reads the inbox backlog at scrape time, at most once per inboxTTL.
type inboxCollector struct {
	inbox Inbox
	log   *slog.Logger
	now   func() time.Time

	mu     sync.Mutex // held while reading, so concurrent scrapes share one query
	readAt time.Time  // zero before the first successful read
	n      int
	oldest time.Time
}

var (
	pendingDesc = prometheus.NewDesc("giftdesk_inbox_pending_events",
		"Events stored but not yet processed (read at most every 5s).", nil, nil)
	oldestDesc = prometheus.NewDesc("giftdesk_inbox_oldest_pending_seconds",
		"Age of the oldest unprocessed event (0 when none).", nil, nil)
)

func (c *inboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- oldestDesc
}

func (c *inboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.readAt.IsZero() || now.Sub(c.readAt) >= inboxTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, oldest, err := c.inbox.PendingEvents(ctx)
		cancel()
		if err != nil {
			c.log.Warn("inbox metrics", "err", err)
			return
		}
		c.readAt, c.n, c.oldest = now, n, oldest
	}
	age := 0.0
	if !c.oldest.IsZero() {
		age = c.now().Sub(c.oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(c.n))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
