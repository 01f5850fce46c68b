package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/metrics"
)

type inbox struct{}

func (inbox) PendingEvents(context.Context) (int, time.Time, error) {
	return 3, time.Now().Add(-90 * time.Second), nil
}

func TestExposition(t *testing.T) {
	m := metrics.New(inbox{}, nil)
	m.Webhook("line", "accepted", 2, 1, 3*time.Millisecond)
	m.Webhook("line", "bad_signature", 0, 0, time.Millisecond)
	c := &bot.Conversation{Node: "advice_register_pc"}
	m.Turn(bot.Event{Key: bot.Key{Channel: "line"}}, c, []bot.Message{{Kind: bot.MsgSteps}, {Kind: bot.MsgQuestion}})
	m.Handoff("started", 0)
	m.Handoff("rated", 4)
	m.Delivered("line", "push", 40*time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	out := string(b)
	for _, want := range []string{
		`giftdesk_webhooks_total{channel="line",outcome="accepted"} 1`,
		`giftdesk_webhooks_total{channel="line",outcome="bad_signature"} 1`,
		`giftdesk_webhook_events_total{channel="line",result="new"} 2`,
		`giftdesk_webhook_events_total{channel="line",result="duplicate"} 1`,
		`giftdesk_webhook_ack_seconds_count{channel="line"} 1`,
		`giftdesk_turns_total{channel="line",node="advice_register_pc"} 1`,
		`giftdesk_advice_total{node="advice_register_pc"} 1`,
		`giftdesk_handoffs_total{stage="started"} 1`,
		`giftdesk_ratings_total{rating="4"} 1`,
		`giftdesk_deliveries_total{channel="line",outcome="push"} 1`,
		`giftdesk_inbox_pending_events 3`,
		`giftdesk_inbox_oldest_pending_seconds 9`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
