package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Event is one inbound platform event as stored in the inbox, before the bot has answered
// it. Channels build Events from webhooks; the worker steps them in order per conversation.
type Event struct {
	// ID is the platform's event id (LINE webhookEventId, Slack event_id), prefixed by the
	// channel. The inbox stores each ID once, so a redelivered event has no second effect.
	ID  string    `json:"id"`
	Key Key       `json:"key"`
	In  Inbound   `json:"in"`
	At  time.Time `json:"at"` // when the platform says it happened: the processing order
	// Address is where the channel pushes messages for this event's conversation (a LINE
	// user, group or room id; a Slack channel and thread).
	Address string `json:"address,omitempty"`
	// ReplyToken is the channel's one-time handle to answer this event, if any. It is a
	// credential: never logged.
	ReplyToken string `json:"reply_token,omitempty"`
}

// Outgoing is one turn's messages in the outbox, committed with the conversation's new
// state and then delivered.
type Outgoing struct {
	ID         int64     `json:"id"`
	Key        Key       `json:"key"`
	EventID    string    `json:"event_id"`
	Address    string    `json:"address,omitempty"`
	ReplyToken string    `json:"reply_token,omitempty"`
	EventAt    time.Time `json:"event_at"` // when the answered event happened: reply tokens expire
	Messages   []Message `json:"messages"`
	Attempts   int       `json:"attempts"`
	CreatedAt  time.Time `json:"created_at"`
}

// DeadLetter is an inbound request that was authentic but could not be understood, kept for
// inspection instead of being lost or redelivered forever. Body must already be redacted.
type DeadLetter struct {
	Channel string
	Reason  string
	Body    []byte
	At      time.Time
}

// Inbox stores inbound events durably; a webhook is acknowledged only once its events are
// stored. Implementations are safe for concurrent use.
type Inbox interface {
	// AddEvents stores evs in one transaction, skipping those whose ID is already stored.
	// fresh[i] reports whether evs[i] was new.
	AddEvents(ctx context.Context, evs []Event) (fresh []bool, err error)
	// AddDeadLetter stores an authentic request that could not be parsed.
	AddDeadLetter(ctx context.Context, d DeadLetter) error
}

// Queue hands pending inbox events to workers, one conversation to one worker at a time,
// and commits each turn. Implementations are safe for concurrent use, also across
// processes sharing one database.
type Queue interface {
	// ClaimConversation leases to owner, until lease has passed, a conversation that has
	// pending events and no live lease, and returns its pending events oldest first.
	// It returns ErrNotFound when there is none.
	ClaimConversation(ctx context.Context, owner string, lease time.Duration) (Key, []Event, error)
	// ReleaseConversation ends owner's lease on k.
	ReleaseConversation(ctx context.Context, k Key, owner string) error
	// CommitTurn atomically saves c (compare-and-swap on its revision, as
	// ConversationStore.SaveConversation), marks event eventID processed, and adds out to
	// the outbox unless it has no messages. out.ID is set.
	CommitTurn(ctx context.Context, c *Conversation, eventID string, out *Outgoing) error
}

// Outbox hands committed outgoing messages to deliverers. Implementations are safe for
// concurrent use, also across processes.
type Outbox interface {
	// ClaimOutgoing leases to owner up to n rows that are due, at most one per
	// conversation (the oldest undelivered, so a conversation's messages keep their order).
	ClaimOutgoing(ctx context.Context, owner string, n int, lease time.Duration) ([]Outgoing, error)
	// FinishOutgoing records the final outcome of row id ("reply", "push", "failed").
	FinishOutgoing(ctx context.Context, id int64, outcome string) error
	// RetryOutgoing releases row id for another attempt at or after at.
	RetryOutgoing(ctx context.Context, id int64, at time.Time) error
}

// Sender delivers outgoing messages on one channel.
type Sender interface {
	// Send delivers out and returns how ("reply", "push"). A *DeliveryError says whether a
	// failure may be retried.
	Send(ctx context.Context, out Outgoing) (outcome string, err error)
}

// DeliveryError is a failed delivery.
type DeliveryError struct {
	// Permanent means retrying cannot help (a 4xx other than 429).
	Permanent bool
	// RetryAfter is the wait the platform asked for, if any.
	RetryAfter time.Duration
	Err        error
}

func (e *DeliveryError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s delivery error: %v", kind, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// isPermanent reports whether err is a permanent delivery error.
func isPermanent(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Permanent
}

// retryAfter returns the wait a delivery error asked for.
func retryAfter(err error) time.Duration {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}
