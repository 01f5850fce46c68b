package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// pickConversation finds the conversation whose oldest pending event is the oldest of all
// (by event time, then arrival) among those without a live lease. It walks the partial
// index inbox_pending, so it reads pending rows only, and stops at the first one whose
// conversation is free.
const pickConversation = `SELECT i.channel, i.user_id FROM inbox AS i
	WHERE i.processed_at IS NULL
	  AND NOT EXISTS (SELECT 1 FROM leases AS l
		WHERE l.channel = i.channel AND l.user_id = i.user_id AND l.expires_at > ?)
	ORDER BY i.at, i.seq
	LIMIT 1`

// pendingEvents selects a conversation's pending events in order, from the partial index
// inbox_pending_conversation.
const pendingEvents = `SELECT event FROM inbox
	WHERE channel = ? AND user_id = ? AND processed_at IS NULL
	ORDER BY at, seq`

// ClaimConversation leases to owner, until lease has passed, the conversation whose oldest
// pending event is the oldest among those with no live lease, and returns its pending
// events ordered by event time, then arrival. A lease is live until the store's clock
// reaches its expiry; an expired one is taken over. It returns an error matching
// bot.ErrNotFound when no conversation can be claimed. The caller owns the events.
func (s *Store) ClaimConversation(ctx context.Context, owner string, lease time.Duration) (bot.Key, []bot.Event, error) {
	const upsert = `INSERT INTO leases (channel, user_id, owner, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (channel, user_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`
	if owner == "" || lease <= 0 {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: need an owner and a positive lease, have %q and %s", owner, lease)
	}
	// Idle workers poll: look on a reader first, so that finding nothing to do does not
	// queue for the writer behind webhooks storing events. A miss here is safe: an event
	// stored after this read is found by the next poll.
	var k bot.Key
	err := s.read.QueryRowContext(ctx, pickConversation, s.now().UnixMilli()).Scan(&k.Channel, &k.User)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", bot.ErrNotFound)
	}
	if err != nil {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
	}

	var evs []bot.Event
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Again under the write lock: another worker may have claimed it meanwhile.
		now := s.now()
		err := tx.QueryRowContext(ctx, pickConversation, now.UnixMilli()).Scan(&k.Channel, &k.User)
		if errors.Is(err, sql.ErrNoRows) {
			return bot.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, upsert, k.Channel, k.User, owner, now.Add(lease).UnixMilli()); err != nil {
			return fmt.Errorf("lease %s: %w", k, err)
		}
		rows, err := tx.QueryContext(ctx, pendingEvents, k.Channel, k.User)
		if err != nil {
			return fmt.Errorf("events of %s: %w", k, err)
		}
		defer rows.Close()
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&body); err != nil {
				return fmt.Errorf("events of %s: %w", k, err)
			}
			var ev bot.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				return fmt.Errorf("events of %s: decode: %w", k, err)
			}
			ev.At = ev.At.UTC()
			evs = append(evs, ev)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("events of %s: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
	}
	return k, evs, nil
}

// ReleaseConversation ends owner's lease on k, so that k's pending events, if any, can be
// claimed at once. It does nothing if owner does not hold the lease (any more).
func (s *Store) ReleaseConversation(ctx context.Context, k bot.Key, owner string) error {
	const release = `DELETE FROM leases WHERE channel = ? AND user_id = ? AND owner = ?`
	if _, err := s.write.ExecContext(ctx, release, k.Channel, k.User, owner); err != nil {
		return fmt.Errorf("release conversation %s: %w", k, err)
	}
	return nil
}

// outgoingPayload is what an outbox row keeps of a bot.Outgoing besides its key, ids,
// attempts and times.
type outgoingPayload struct {
	Address    string        `json:"address,omitempty"`
	ReplyToken string        `json:"reply_token,omitempty"`
	EventAt    time.Time     `json:"event_at"`
	Messages   []bot.Message `json:"messages"`
}

// CommitTurn does in one transaction what a turn of a conversation changes: it saves c
// with a compare-and-swap on its revision exactly as SaveConversation does, marks event
// eventID of c's conversation processed, and adds out to the outbox if it has messages
// (out may be nil when it has none). On success it increments c.Revision, sets out.ID,
// and sets out.CreatedAt to now if it was zero.
//
// On any error nothing is stored and c and out are left alone. The error matches
// bot.ErrConflict if c's revision is stale, and bot.ErrNotFound if eventID is not a
// pending event of c's conversation: another worker committed it (its lease on the
// conversation lapsed), or it was never stored. An out whose Key differs from c.Key is an
// error.
func (s *Store) CommitTurn(ctx context.Context, c *bot.Conversation, eventID string, out *bot.Outgoing) error {
	const (
		processed = `UPDATE inbox SET processed_at = ?
			WHERE id = ? AND channel = ? AND user_id = ? AND processed_at IS NULL`
		insert = `INSERT INTO outbox (channel, user_id, event_id, payload, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?)
			RETURNING id`
	)
	send := out != nil && len(out.Messages) > 0
	var payload string
	if send {
		if out.Key != c.Key {
			return fmt.Errorf("commit turn %s of %s: outgoing is for %s", eventID, c.Key, out.Key)
		}
		b, err := json.Marshal(outgoingPayload{
			Address: out.Address, ReplyToken: out.ReplyToken, EventAt: out.EventAt, Messages: out.Messages,
		})
		if err != nil {
			return fmt.Errorf("commit turn %s of %s: %w", eventID, c.Key, err)
		}
		payload = string(b)
	}
	var (
		id      int64
		created time.Time
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveConversation(ctx, tx, c); err != nil {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, processed, now.UnixMilli(), eventID, c.Key.Channel, c.Key.User)
		if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("no pending event: %w", bot.ErrNotFound)
		}
		if !send {
			return nil
		}
		created = out.CreatedAt
		if created.IsZero() {
			created = now
		}
		// Due at once by the store's clock, whatever the caller's says.
		err = tx.QueryRowContext(ctx, insert,
			c.Key.Channel, c.Key.User, eventID, payload, created.UnixMilli(), now.UnixMilli()).Scan(&id)
		if err != nil {
			return fmt.Errorf("add outgoing: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit turn %s of %s: %w", eventID, c.Key, err)
	}
	c.Revision++
	if send {
		out.ID = id
		out.CreatedAt = created
	}
	return nil
}
