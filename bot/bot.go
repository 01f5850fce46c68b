package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
)

// Store is what a synchronous Bot needs: conversations, the inbox (every event is recorded
// there, so the turn commits as the worker's do) and the queue's CommitTurn.
type Store interface {
	ConversationStore
	Inbox
	Queue
}

// Bot answers one channel synchronously, as the terminal chat does: each event is stored,
// stepped through the Desk and committed with its transcript in one transaction, and the
// answer is returned to the caller instead of going through the outbox. It is safe for
// concurrent use; concurrent turns of one conversation are serialised by the store's
// compare-and-swap (the loser retries on the fresh state).
type Bot struct {
	desk  *Desk
	store Store
	seq   atomic.Int64
}

// New returns a Bot over desk and store.
func New(desk *Desk, store Store) *Bot {
	return &Bot{desk: desk, store: store}
}

// maxAttempts bounds the compare-and-swap retries of one turn.
const maxAttempts = 5

// Handle applies one inbound event to the conversation with key k and returns the messages
// to send, after the turn is committed.
func (b *Bot) Handle(ctx context.Context, k Key, in Inbound) ([]Message, error) {
	now := b.desk.cfg.Now()
	ev := Event{ID: k.String() + "/" + strconv.FormatInt(now.UnixNano(), 36) + "." + strconv.FormatInt(b.seq.Add(1), 36),
		Key: k, In: in, At: now}
	if _, err := b.store.AddEvents(ctx, []Event{ev}); err != nil {
		return nil, fmt.Errorf("store event of %s: %w", k, err)
	}
	for attempt := 1; ; attempt++ {
		c, err := b.load(ctx, k)
		if err != nil {
			return nil, err
		}
		res, err := b.desk.Step(ctx, c, ev)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", k, err)
		}
		// Deliveries to other channels (tickets) have nobody to deliver them here.
		err = b.store.CommitTurn(ctx, &Turn{Conversation: c, EventID: ev.ID, Transcript: res.Transcript, Closed: res.Closed})
		if errors.Is(err, ErrConflict) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", k, err)
		}
		return res.Messages, nil
	}
}

// Resume returns the stored conversation with key k and the messages that ask its current
// question again; ok is false when there is nothing to resume (no conversation, or one
// that has ended or gone idle).
func (b *Bot) Resume(ctx context.Context, k Key) (c *Conversation, out []Message, ok bool, err error) {
	c, err = b.store.Conversation(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("load %s: %w", k, err)
	}
	e := b.desk.e
	if e.now().Sub(c.UpdatedAt) > e.idle {
		return c, nil, false, nil
	}
	out = e.Prompt(c)
	return c, out, len(out) > 0, nil
}

func (b *Bot) load(ctx context.Context, k Key) (*Conversation, error) {
	c, err := b.store.Conversation(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return &Conversation{Key: k}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", k, err)
	}
	return c, nil
}
