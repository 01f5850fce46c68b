package pipeline

import (
	"context"
	"fmt"
	"strconv"

	"github.com/giftdesk/giftdesk/bot"
)

// timers is the Sender of bot.TimerChannel: delivering a timer row stores a
// bot.InDeskTimer event for the row's conversation, which the worker steps like any other.
// It is safe for concurrent use.
type timers struct {
	inbox bot.Inbox // one that wakes the worker
}

var _ bot.Sender = (*timers)(nil)

// Send stores the timer's event. The event's ID derives from the row's, so a timer
// delivered twice goes off once.
func (t *timers) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	id, _ := bot.TicketID(out.Address)
	at := out.NotBefore
	if at.IsZero() {
		at = out.CreatedAt
	}
	ev := bot.Event{ID: "timer:" + out.EventID + ":" + strconv.Itoa(out.Seq), Key: out.Key, At: at,
		In: bot.Inbound{Kind: bot.InDeskTimer, Ticket: id}}
	if _, err := t.inbox.AddEvents(ctx, []bot.Event{ev}); err != nil {
		return "", &bot.DeliveryError{Err: fmt.Errorf("store timer event: %w", err)}
	}
	return "timer", nil
}
