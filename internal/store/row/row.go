// Package row holds what the SQLite and PostgreSQL stores write and read alike: the JSON
// forms of outbox payloads and tickets, the checks a turn's deliveries must pass before
// they are stored, and the embedded schema files.
package row

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// OutgoingPayload is what an outbox row keeps of a bot.Outgoing besides its key, channel,
// event, sequence and bookkeeping columns.
type OutgoingPayload struct {
	Address    string        `json:"address,omitempty"`
	ReplyToken string        `json:"reply_token,omitempty"`
	Handle     string        `json:"handle,omitempty"`
	EventAt    time.Time     `json:"event_at"`
	Messages   []bot.Message `json:"messages"`
}

// Outgoings returns the Outgoings of t that go into the outbox, those with messages, and
// their payloads as JSON text. It checks that they belong to t: the conversation's key,
// t's event (or none), and a Seq of their own; and that t.Claim, if set, has an owner and
// a positive lease.
func Outgoings(t *bot.Turn) ([]*bot.Outgoing, []string, error) {
	if c := t.Claim; c != nil && (c.Owner == "" || c.Lease <= 0) {
		return nil, nil, fmt.Errorf("claim needs an owner and a positive lease, have %q and %s", c.Owner, c.Lease)
	}
	var (
		outs     []*bot.Outgoing
		payloads []string
		seqs     = make(map[int]bool)
	)
	for _, o := range t.Out {
		if o == nil || len(o.Messages) == 0 {
			continue
		}
		switch {
		case o.Key != t.Conversation.Key:
			return nil, nil, fmt.Errorf("outgoing %d is for %s", o.Seq, o.Key)
		case o.EventID != "" && o.EventID != t.EventID:
			return nil, nil, fmt.Errorf("outgoing %d answers event %s", o.Seq, o.EventID)
		case seqs[o.Seq]:
			return nil, nil, fmt.Errorf("two outgoings with seq %d", o.Seq)
		}
		seqs[o.Seq] = true
		b, err := json.Marshal(OutgoingPayload{
			Address: o.Address, ReplyToken: o.ReplyToken, Handle: o.Handle, EventAt: o.EventAt, Messages: o.Messages,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("outgoing %d: %w", o.Seq, err)
		}
		outs = append(outs, o)
		payloads = append(payloads, string(b)) // text: SQLite would store []byte as a BLOB
	}
	return outs, payloads, nil
}

// DecodeTicket decodes a ticket stored as JSON, with its times in UTC.
func DecodeTicket(b []byte) (*bot.Ticket, error) {
	var t bot.Ticket
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	for _, at := range []*time.Time{&t.CreatedAt, &t.ClaimedAt, &t.ResolvedAt, &t.ClosedAt} {
		*at = at.UTC()
	}
	return &t, nil
}

// JSONText returns v as JSON text, or empty if isEmpty, so that nil and empty values are
// stored alike (and SQLite's JSON functions never meet a null). It returns a string, not
// []byte, because SQLite would store a []byte as a BLOB.
func JSONText(v any, isEmpty bool, empty string) (string, error) {
	if isEmpty {
		return empty, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Rows is what Events reads: *sql.Rows and pgx.Rows alike.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Events decodes rows of one column, an inbox event stored as JSON, into events with their
// times in UTC. The caller closes rows.
func Events(rows Rows) ([]bot.Event, error) {
	var evs []bot.Event
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var ev bot.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		ev.At = ev.At.UTC()
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}
