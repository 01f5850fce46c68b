package pipeline

import (
	"context"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// Loader is an optional capability of a channel's Sender: showing a customer that an
// answer is on its way (LINE's loading animation). ShowLoading must return at once,
// whatever happens to the request, and never fails a turn or a delivery; it decides
// itself where an indicator makes no sense (a group chat).
type Loader interface {
	ShowLoading(ctx context.Context, k bot.Key, address string)
}

// BacklogAfter is how long ago an event may have happened when its turn starts before
// the customer is shown that the answer is coming: longer, and it waited in a backlog.
const BacklogAfter = time.Second

// showBacklog shows the loading indicator to the customer of evs, the pending events of
// one conversation, when the answer will not be immediate: several are waiting, or the
// first waited longer than BacklogAfter.
func (w *Worker) showBacklog(ctx context.Context, evs []bot.Event) {
	for _, ev := range evs {
		if !waitsForAnswer(ev) {
			continue
		}
		if len(evs) > 1 || w.cfg.Now().Sub(ev.At) > BacklogAfter {
			w.showLoading(ctx, ev)
		}
		return
	}
}

// showHandoff shows the loading indicator when a customer's message goes to the agent of
// an open ticket: the answer comes from a person.
func (w *Worker) showHandoff(ctx context.Context, c *bot.Conversation, ev bot.Event) {
	if c.Ticket != nil && c.Ticket.State != bot.TicketResolved && c.Ticket.State != bot.TicketClosed &&
		(ev.In.Kind == bot.InText || ev.In.Kind == bot.InPostback) {
		w.showLoading(ctx, ev)
	}
}

func (w *Worker) showLoading(ctx context.Context, ev bot.Event) {
	if l, ok := w.cfg.Loaders[ev.Key.Channel]; ok && ev.Address != "" {
		l.ShowLoading(ctx, ev.Key, ev.Address)
	}
}

// waitsForAnswer reports whether the customer who sent ev waits for an answer to it.
func waitsForAnswer(ev bot.Event) bool {
	switch ev.In.Kind {
	case bot.InText, bot.InPostback, bot.InFollow:
		return true
	}
	return false
}
