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
	// Handle is what else the channel keeps about the event to answer it (Slack: who
	// wrote, the message a click came from), opaque to the core: the worker copies it to
	// the event's answer. It is not a credential, but may hold a customer's words: not
	// logged either.
	Handle string `json:"handle,omitempty"`
}

// Outgoing is a batch of messages in the outbox, committed with the conversation's new
// state and then delivered. A turn has one Outgoing to the customer and may have more to
// other channels (a hand-off ticket in Slack, an agent's answer relayed to LINE).
type Outgoing struct {
	ID      int64  `json:"id"`
	Key     Key    `json:"key"` // the conversation it belongs to
	EventID string `json:"event_id"`
	// Seq numbers the Outgoings of one event from 0, so (EventID, Seq) is unique: channels
	// derive idempotency keys from it (LINE's X-Line-Retry-Key).
	Seq int `json:"seq"`
	// Channel is the channel that delivers it; empty means Key.Channel. Outgoings of one
	// conversation are delivered in order per channel.
	Channel    string    `json:"channel,omitempty"`
	Address    string    `json:"address,omitempty"`
	ReplyToken string    `json:"reply_token,omitempty"`
	Handle     string    `json:"handle,omitempty"` // the answered event's Handle, on its channel
	EventAt    time.Time `json:"event_at"`         // when the answered event happened: reply tokens expire
	Messages   []Message `json:"messages"`
	// NotBefore, if set, is when the row becomes due: it waits until then (a timer). Zero
	// means at once.
	NotBefore time.Time `json:"not_before,omitzero"`
	Attempts  int       `json:"attempts"`
	// Failures counts the attempts that ended in RetryOutgoing: they surely delivered
	// nothing. Attempts > Failures means an earlier attempt ended without a word (its
	// deliverer died) and may have delivered.
	Failures  int       `json:"failures"`
	CreatedAt time.Time `json:"created_at"`
	// Parked is set by ClaimOutgoing when the row's last attempt was parked (see
	// Outbox.ParkOutgoing): a fixable error stopped it.
	Parked bool `json:"-"`
	// Replied is set by ClaimOutgoing when an earlier attempt began a call that cannot
	// be repeated safely (MarkReply: a reply, which has no retry key) and never said how
	// it ended: it may have delivered.
	Replied bool `json:"-"`
	// MarkReply, set by the deliverer (internal/pipeline) when its Outbox is a ReplyMarker, records that this
	// attempt is about to make such a call; a Sender calls it just before. Not stored.
	MarkReply func(ctx context.Context) error `json:"-"`
	// Claimed is set by CommitTurn when it leased the row to the turn's Claim owner: the
	// committing process delivers it with no claim of its own, at once or, when earlier
	// rows of its conversation and channel are under that owner's lease too, after them.
	Claimed bool `json:"-"`
}

// Via returns the channel that delivers o.
func (o *Outgoing) Via() string {
	if o.Channel != "" {
		return o.Channel
	}
	return o.Key.Channel
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
	// ClaimKey is ClaimConversation for conversation k only: it leases k to owner if k
	// has pending events and no live lease, and returns them oldest first; ErrNotFound
	// otherwise (nothing pending, or leased). It costs a lookup, where ClaimConversation
	// searches: workers use it for the conversations whose events this process has just
	// stored (see internal/pipeline).
	ClaimKey(ctx context.Context, k Key, owner string, lease time.Duration) ([]Event, error)
	// ReleaseConversation ends owner's lease on k.
	ReleaseConversation(ctx context.Context, k Key, owner string) error
	// CommitTurn atomically saves t.Conversation (compare-and-swap on its revision, as
	// ConversationStore.SaveConversation), marks event t.EventID processed (ErrNotFound if
	// it is no longer pending: another worker did it; a store whose leases are not shared
	// between processes also refuses an event while an older one of the conversation is
	// pending), adds t.Out to the outbox (those
	// with messages; their IDs are set; due at once, or at NotBefore) and appends
	// t.Transcript. With t.Claim, each new row that is due at once is leased to
	// t.Claim.Owner, counting an attempt as ClaimOutgoing would (its Claimed set), when
	// every earlier unfinished row of its conversation and channel is under that owner's
	// live lease (or there is none): a row waiting for a retry or parked, leased by
	// another owner or with an expired lease holds it back. With t.Release, owner's
	// lease on the conversation ends, as ReleaseConversation.
	CommitTurn(ctx context.Context, t *Turn) error
}

// Turn is everything one processed event changes, committed together.
type Turn struct {
	Conversation *Conversation
	EventID      string
	Out          []*Outgoing
	Transcript   []Line
	// Closed is a ticket this turn closed, archived with its conversation's key for
	// reports and review (its rating, outcome, agent).
	Closed *Ticket
	// Claim, if set, leases the turn's outgoing rows that may be delivered now to a
	// deliverer in this process, saving its claim: the worker hands them over directly.
	Claim *Claim
	// Release, if not empty, is the owner whose lease on the conversation ends with the
	// commit: the worker's last claimed event.
	Release string
}

// Claim is a lease on outbox rows: who holds it and for how long.
type Claim struct {
	Owner string
	Lease time.Duration
}

// Purger deletes what is past its retention. Implementations are safe for concurrent use.
type Purger interface {
	// Purge deletes transcript lines, processed inbox events (their ids are the dedup
	// keys: callers keep them at least a day), finished outbox rows, dead letters and
	// archived tickets older than before, and returns how many rows went.
	Purge(ctx context.Context, before time.Time) (int, error)
}

// Line is one entry of a conversation's transcript: who said what, codes masked.
type Line struct {
	At   time.Time `json:"at"`
	Role Role      `json:"role"`
	Name string    `json:"name,omitempty"` // the agent's or customer's name, when known
	Text string    `json:"text"`
	// Node is the flow node the conversation was at after the line (bot lines), for the
	// funnel report; Miss marks a customer line the bot did not understand.
	Node string `json:"node,omitempty"`
	Miss bool   `json:"miss,omitempty"`
}

// Role says who wrote a transcript line.
type Role string

// Transcript roles.
const (
	RoleCustomer Role = "customer"
	RoleBot      Role = "bot"
	RoleAgent    Role = "agent"
	RoleNote     Role = "note"   // an agent's internal note, never shown to the customer
	RoleSystem   Role = "system" // hand-off lifecycle: claimed, resolved, …
)

// Outbox hands committed outgoing messages to deliverers. Implementations are safe for
// concurrent use, also across processes.
type Outbox interface {
	// ClaimOutgoing leases to owner up to n rows that are due, at most one per
	// conversation and delivering channel (the oldest undelivered, so messages keep their
	// order). Each claim counts as an attempt: Attempts is the number of earlier claims,
	// so a row whose deliverer died is not retried forever.
	ClaimOutgoing(ctx context.Context, owner string, n int, lease time.Duration) ([]Outgoing, error)
	// FinishOutgoing records the final outcome of row id ("reply", "push", "failed") if
	// owner still holds its lease (ErrConflict otherwise).
	FinishOutgoing(ctx context.Context, id int64, owner, outcome string) error
	// RetryOutgoing releases row id for another attempt at or after at, if owner still
	// holds its lease (ErrConflict otherwise).
	RetryOutgoing(ctx context.Context, id int64, owner string, at time.Time) error
	// ParkOutgoing is RetryOutgoing for an attempt that a fixable error stopped (see
	// DeliveryError.Fixable): the attempt is not counted (it delivered nothing, and
	// parking must not spend the row's attempts) and the row is marked parked until its
	// next attempt, for WakeOutgoing.
	ParkOutgoing(ctx context.Context, id int64, owner string, at time.Time) error
	// WakeOutgoing makes the parked rows delivered by channel via due at once, and
	// returns how many it woke.
	WakeOutgoing(ctx context.Context, via string) (int, error)
}

// ReplyMarker is an optional capability of an Outbox: recording, before the call, that an
// attempt makes a call that cannot be repeated safely, so that the attempt after a crash
// knows it may have delivered (Outgoing.Replied).
type ReplyMarker interface {
	// MarkReplying records it for row id, if owner holds its lease (ErrConflict
	// otherwise). RetryOutgoing and ParkOutgoing clear it: those attempts surely failed.
	MarkReplying(ctx context.Context, id int64, owner string) error
}

// OutboxCounts counts outbox rows, for operators.
type OutboxCounts struct {
	// Waiting counts the unfinished rows: answers waiting for delivery, parked included.
	Waiting int
	// Parked counts the unfinished rows that a fixable error stopped.
	Parked int
	// Failed and Uncertain count the rows finished as "failed" and as OutcomeUncertain
	// at or after the time asked: messages that never reached, or may not have reached,
	// their recipient.
	Failed, Uncertain int
}

// OutboxCounter is an optional capability of an Outbox: counting its rows. The deliverer
// uses it to report the backlog without a query per metrics scrape.
type OutboxCounter interface {
	// CountOutgoing counts the unfinished rows, and the rows finished as failed or
	// uncertain at or after since.
	CountOutgoing(ctx context.Context, since time.Time) (OutboxCounts, error)
}

// OutcomeUncertain is the outcome a Sender returns for a row that an earlier attempt,
// lost when its process died, may have delivered, when sending it again could show it
// twice: it is recorded, and reported to the operator, instead of sent.
const OutcomeUncertain = "uncertain"

// Sender delivers outgoing messages on one channel.
type Sender interface {
	// Send delivers out and returns how ("reply", "push", OutcomeUncertain). A
	// *DeliveryError says whether a failure may be retried.
	Send(ctx context.Context, out Outgoing) (outcome string, err error)
}

// DeliveryError is a failed delivery.
type DeliveryError struct {
	// Permanent means retrying cannot help (for an HTTP API, see PermanentStatus).
	Permanent bool
	// Fixable means the message cannot go out until an operator fixes the cause: a
	// rotated or revoked token, a bot not invited to the channel. The message is parked,
	// not given up: retried with a capped backoff, and at once when a delivery on the same
	// channel succeeds again.
	Fixable bool
	// RetryAfter is the wait the platform asked for, if any.
	RetryAfter time.Duration
	Err        error
}

func (e *DeliveryError) Error() string {
	kind := "temporary"
	switch {
	case e.Fixable:
		kind = "fixable"
	case e.Permanent:
		kind = "permanent"
	}
	return fmt.Sprintf("%s delivery error: %v", kind, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// PermanentStatus reports whether an HTTP API's answer with status code means that
// retrying cannot help: a 4xx other than 429 Too Many Requests. Every channel's sender
// classifies statuses with it.
func PermanentStatus(code int) bool {
	return code/100 == 4 && code != 429
}

// IsPermanent reports whether err is, or wraps, a permanent *DeliveryError.
func IsPermanent(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Permanent
}

// IsFixable reports whether err is a fixable delivery error.
func IsFixable(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Fixable
}

// RetryAfter returns the wait a delivery error asked for.
func RetryAfter(err error) time.Duration {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}
