package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// Send delivers one batch of messages to the customer's page: it appends them to the
// conversation's log, where the page's event stream (open now or on the next visit) finds
// them, and wakes this process's streams of the conversation. Each message's entry is
// keyed by the batch's event and number (unique, see bot.Outgoing.Seq) and its position,
// so a retried delivery appends nothing twice.
// Gift-card codes in the agents' messages are masked (Config.Redact) before they are logged.
// Messages that are not for a customer (tickets, receipts) are skipped; a batch without
// any is "none". A failure to append is a temporary *bot.DeliveryError.
func (c *Channel) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &bot.DeliveryError{Err: fmt.Errorf("deliver to the web log: %w", err)}
	}
	conv := out.Address
	if conv == "" && out.Key.Channel == Name {
		conv = out.Key.User
	}
	if conv == "" {
		return "", &bot.DeliveryError{Permanent: true, Err: fmt.Errorf("outgoing %d: no web conversation to deliver to", out.ID)}
	}
	now := c.cfg.Now()
	var recs []weblog.Record
	for i, m := range out.Messages {
		e, ok := botEntry(m, now, c.cfg.MediaLinks, c.cfg.Redact)
		if !ok {
			continue
		}
		data, err := json.Marshal(e)
		if err != nil {
			return "", &bot.DeliveryError{Permanent: true, Err: fmt.Errorf("outgoing %d: encode message %d: %w", out.ID, i, err)}
		}
		recs = append(recs, weblog.Record{Ref: "o:" + out.EventID + ":" + strconv.Itoa(out.Seq) + ":" + strconv.Itoa(i), At: now, Data: data})
	}
	if len(recs) == 0 {
		c.hub.answered(conv, out.EventID)
		return "none", nil
	}
	if _, err := c.cfg.Log.AppendWeb(ctx, conv, recs); err != nil {
		return "", &bot.DeliveryError{Err: fmt.Errorf("deliver to the web log: %w", err)}
	}
	c.hub.answered(conv, out.EventID)
	c.hub.notify(conv)
	return "push", nil
}
