package bot

import (
	"context"
	"errors"
	"fmt"
)

// Bot answers customers: it loads a conversation, steps it through the Engine and saves it.
// It is safe for concurrent use; concurrent turns of one conversation are serialised by the
// store's compare-and-swap (the loser retries on the fresh state).
type Bot struct {
	engine *Engine
	store  ConversationStore
}

// New returns a Bot over engine and store.
func New(engine *Engine, store ConversationStore) *Bot {
	return &Bot{engine: engine, store: store}
}

// Engine returns the bot's engine.
func (b *Bot) Engine() *Engine { return b.engine }

// maxAttempts bounds the compare-and-swap retries of one turn.
const maxAttempts = 5

// Handle applies one inbound event to the conversation with key k and returns the messages
// to send, after the new state is saved.
func (b *Bot) Handle(ctx context.Context, k Key, in Inbound) ([]Message, error) {
	for attempt := 1; ; attempt++ {
		c, err := b.load(ctx, k)
		if err != nil {
			return nil, err
		}
		out, err := b.engine.Step(ctx, c, in)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", k, err)
		}
		err = b.store.SaveConversation(ctx, c)
		if errors.Is(err, ErrConflict) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("save %s: %w", k, err)
		}
		return out, nil
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
	if b.engine.now().Sub(c.UpdatedAt) > b.engine.idle {
		return c, nil, false, nil
	}
	out = b.engine.Prompt(c)
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
