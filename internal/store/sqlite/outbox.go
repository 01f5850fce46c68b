package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// dueOutgoing selects, oldest first, the ids of the outbox rows that may be claimed: each
// the oldest unfinished row of its conversation (so a conversation's messages go out in
// order, even while its oldest waits for a retry), due, and not under a live lease. The
// inner query reads only the partial index outbox_unfinished. Its parameters are now
// (twice) and the limit.
const dueOutgoing = `SELECT o.id FROM outbox AS o
	WHERE o.id IN (SELECT min(id) FROM outbox WHERE finished_at IS NULL GROUP BY channel, user_id)
	  AND o.next_attempt_at <= ?
	  AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= ?)
	ORDER BY o.id
	LIMIT ?`

// claimOutgoing leases the rows dueOutgoing selects. Its parameters are the owner, the
// lease's expiry, and dueOutgoing's.
const claimOutgoing = `UPDATE outbox SET lease_owner = ?, lease_expires_at = ?
	WHERE id IN (` + dueOutgoing + `)
	RETURNING id, channel, user_id, event_id, payload, attempts, created_at`

// ClaimOutgoing leases to owner, until lease has passed, up to n outbox rows that are due,
// at most one per conversation: its oldest unfinished row. It returns them oldest first,
// with Attempts the number of RetryOutgoing calls so far, and an empty slice when none is
// due. A row whose lease expired without FinishOutgoing or RetryOutgoing is claimable again
// and its Attempts unchanged. The caller owns the result.
func (s *Store) ClaimOutgoing(ctx context.Context, owner string, n int, lease time.Duration) ([]bot.Outgoing, error) {
	if owner == "" || n <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim outgoing: need an owner, a positive count and a positive lease, have %q, %d and %s", owner, n, lease)
	}
	// As ClaimConversation: an idle poll need not wait for the writer.
	now := s.now().UnixMilli()
	var due bool
	if err := s.read.QueryRowContext(ctx, `SELECT EXISTS (`+dueOutgoing+`)`, now, now, 1).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim outgoing: %w", err)
	}
	if !due {
		return []bot.Outgoing{}, nil
	}

	// One statement: the choice and the lease are atomic without a transaction.
	now = s.now().UnixMilli()
	rows, err := s.write.QueryContext(ctx, claimOutgoing, owner, now+lease.Milliseconds(), now, now, n)
	if err != nil {
		return nil, fmt.Errorf("claim outgoing: %w", err)
	}
	defer rows.Close()
	outs := []bot.Outgoing{}
	for rows.Next() {
		var (
			o       bot.Outgoing
			payload []byte
			created int64
			p       outgoingPayload
		)
		if err := rows.Scan(&o.ID, &o.Key.Channel, &o.Key.User, &o.EventID, &payload, &o.Attempts, &created); err != nil {
			return nil, fmt.Errorf("claim outgoing: %w", err)
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			// The lease lapses and the row is retried; a row that never decodes needs a
			// person, and the error says which.
			return nil, fmt.Errorf("claim outgoing: row %d: decode: %w", o.ID, err)
		}
		o.Address, o.ReplyToken, o.EventAt, o.Messages = p.Address, p.ReplyToken, p.EventAt.UTC(), p.Messages
		o.CreatedAt = time.UnixMilli(created).UTC()
		outs = append(outs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim outgoing: %w", err)
	}
	// RETURNING gives rows in no particular order.
	slices.SortFunc(outs, func(a, b bot.Outgoing) int { return cmp.Compare(a.ID, b.ID) })
	return outs, nil
}

// FinishOutgoing records the final outcome of row id and ends its lease; the
// conversation's next row becomes claimable. It returns an error matching bot.ErrNotFound
// if there is no row id, and bot.ErrConflict if it is finished already.
func (s *Store) FinishOutgoing(ctx context.Context, id int64, outcome string) error {
	const finish = `UPDATE outbox SET finished_at = ?, outcome = ?, lease_owner = NULL, lease_expires_at = NULL
		WHERE id = ? AND finished_at IS NULL`
	if err := s.updateOutgoing(ctx, id, finish, s.now().UnixMilli(), outcome, id); err != nil {
		return fmt.Errorf("finish outgoing %d: %w", id, err)
	}
	return nil
}

// RetryOutgoing counts a failed attempt of row id, ends its lease and makes it due again
// at at. The conversation's later rows wait for it. It returns an error matching
// bot.ErrNotFound if there is no row id, and bot.ErrConflict if it is finished already.
func (s *Store) RetryOutgoing(ctx context.Context, id int64, at time.Time) error {
	const retry = `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL
		WHERE id = ? AND finished_at IS NULL`
	if err := s.updateOutgoing(ctx, id, retry, at.UnixMilli(), id); err != nil {
		return fmt.Errorf("retry outgoing %d: %w", id, err)
	}
	return nil
}

// updateOutgoing runs update, which changes unfinished row id, and tells why nothing
// changed if nothing did.
func (s *Store) updateOutgoing(ctx context.Context, id int64, update string, args ...any) error {
	res, err := s.write.ExecContext(ctx, update, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var finished bool
	err = s.read.QueryRowContext(ctx, `SELECT finished_at IS NOT NULL FROM outbox WHERE id = ?`, id).Scan(&finished)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return bot.ErrNotFound
	case err != nil:
		return err
	case finished:
		return fmt.Errorf("finished already: %w", bot.ErrConflict)
	default:
		// Not reachable while rows are never unfinished again.
		return fmt.Errorf("row unchanged: %w", bot.ErrConflict)
	}
}
