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
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// dueOutgoing selects, oldest first, the ids of the outbox rows that may be claimed: each
// the oldest unfinished row of its conversation and delivering channel (so that the
// messages a channel delivers for a conversation go out in order, even while the oldest
// waits for a retry, and a channel that fails holds up no other), due, and not under a
// live lease. Its parameters are now and the limit.
//
// It reads no row under a live lease, which under load are most unfinished rows (being
// delivered): a range scan of the partial index outbox_claimable
// (schema/0007_claimable.sql) reads the unfinished rows with no lease or an expired one,
// and for each a probe of outbox_unfinished checks that no unfinished row of its group is
// older. Grouping every unfinished row instead cost 7 ms a claim with 5,000 of them.
// INDEXED BY holds the plan: without statistics (the store runs no ANALYZE) SQLite would
// rather walk the table in id order, through the finished rows, to spare the sort.
const dueOutgoing = `SELECT o.id FROM outbox AS o INDEXED BY outbox_claimable
	WHERE o.finished_at IS NULL AND coalesce(o.lease_expires_at, -9223372036854775808) <= ?1
	  AND o.next_attempt_at <= ?1
	  AND NOT EXISTS (SELECT 1 FROM outbox AS e
		WHERE e.channel = o.channel AND e.user_id = o.user_id AND e.via = o.via
		  AND e.finished_at IS NULL AND e.id < o.id)
	ORDER BY o.id
	LIMIT ?2`

// claimOutgoing leases the rows dueOutgoing selects and counts the claim as an attempt.
// Its parameters are dueOutgoing's, the owner and the lease's expiry.
const claimOutgoing = `UPDATE outbox SET lease_owner = ?3, lease_expires_at = ?4, attempts = attempts + 1
	WHERE id IN (` + dueOutgoing + `)
	RETURNING id, channel, user_id, via, event_id, seq, payload, attempts - 1, failures, created_at, coalesce(outcome, '')`

// ClaimOutgoing leases to owner, until lease has passed, up to n outbox rows that are due,
// at most one per conversation and delivering channel: the oldest unfinished one. Each
// claim counts as an attempt; Attempts is the number of claims before this one, 0 at the
// first. A row whose lease expired without FinishOutgoing or RetryOutgoing is claimable
// again. It returns the rows oldest first, each with Channel set to the channel that
// delivers it, and an empty slice when none is due. The caller owns the result.
func (s *Store) ClaimOutgoing(ctx context.Context, owner string, n int, lease time.Duration) ([]bot.Outgoing, error) {
	if owner == "" || n <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim outgoing: need an owner, a positive count and a positive lease, have %q, %d and %s", owner, n, lease)
	}
	// As ClaimConversation: an idle poll need not wait for the writer.
	now := s.now().UnixMilli()
	var due bool
	if err := s.readq().QueryRowContext(ctx, `SELECT EXISTS (`+dueOutgoing+`)`, now, 1).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim outgoing: %w", err)
	}
	if !due {
		return []bot.Outgoing{}, nil
	}

	now = s.now().UnixMilli()
	var outs []bot.Outgoing
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		outs = []bot.Outgoing{}
		rows, err := s.writeq(tx).QueryContext(ctx, claimOutgoing, now, n, owner, now+lease.Milliseconds())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				o       bot.Outgoing
				payload []byte
				created int64
				p       row.OutgoingPayload
				mark    string
			)
			err := rows.Scan(&o.ID, &o.Key.Channel, &o.Key.User, &o.Channel, &o.EventID, &o.Seq, &payload, &o.Attempts, &o.Failures, &created, &mark)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(payload, &p); err != nil {
				// The lease lapses and the row is retried, and given up once its attempts
				// are spent; a row that never decodes needs a person, and the error says
				// which.
				return fmt.Errorf("row %d: decode: %w", o.ID, err)
			}
			o.Address, o.ReplyToken, o.Handle, o.EventAt, o.Messages = p.Address, p.ReplyToken, p.Handle, p.EventAt.UTC(), p.Messages
			o.CreatedAt = time.UnixMilli(created).UTC()
			o.Parked, o.Replied = mark == markParked, mark == markReplying
			outs = append(outs, o)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim outgoing: %w", err)
	}
	// RETURNING gives rows in no particular order.
	slices.SortFunc(outs, func(a, b bot.Outgoing) int { return cmp.Compare(a.ID, b.ID) })
	return outs, nil
}

// FinishOutgoing records the final outcome of row id and ends owner's lease on it; the
// next row of its conversation and channel becomes claimable. The row's payload (the
// messages, an agent's words as written, the reply token) is dropped: the transcript
// keeps what was said, masked. owner must hold the lease:
// it is the last to have claimed the row, even if the lease has expired since. It returns
// an error matching bot.ErrNotFound if there is no row id, and bot.ErrConflict if the row
// is finished already or owner does not hold its lease; then nothing changes.
func (s *Store) FinishOutgoing(ctx context.Context, id int64, owner, outcome string) error {
	const finish = `UPDATE outbox SET finished_at = ?, outcome = ?, payload = '{}', lease_owner = NULL, lease_expires_at = NULL
		WHERE id = ? AND finished_at IS NULL AND lease_owner = ?`
	if err := s.updateOutgoing(ctx, id, owner, finish, s.now().UnixMilli(), outcome, id, owner); err != nil {
		return fmt.Errorf("finish outgoing %d: %w", id, err)
	}
	return nil
}

// RetryOutgoing ends owner's lease on row id and makes the row due again at at; the
// conversation's later rows on the same channel wait for it. The attempt was counted when
// the row was claimed. owner must hold the lease, as for FinishOutgoing, and the errors
// are FinishOutgoing's.
func (s *Store) RetryOutgoing(ctx context.Context, id int64, owner string, at time.Time) error {
	const retry = `UPDATE outbox SET failures = failures + 1, next_attempt_at = ?, outcome = NULL, lease_owner = NULL, lease_expires_at = NULL
		WHERE id = ? AND finished_at IS NULL AND lease_owner = ?`
	if err := s.updateOutgoing(ctx, id, owner, retry, at.UnixMilli(), id, owner); err != nil {
		return fmt.Errorf("retry outgoing %d: %w", id, err)
	}
	return nil
}

// ParkOutgoing ends owner's lease on row id, makes the row due again at at and marks it
// parked (its outcome is "parked" while it is unfinished). The claim is not counted as an
// attempt. owner must hold the lease, as for FinishOutgoing, and the errors are
// FinishOutgoing's.
func (s *Store) ParkOutgoing(ctx context.Context, id int64, owner string, at time.Time) error {
	const park = `UPDATE outbox SET attempts = attempts - 1, outcome = 'parked', next_attempt_at = ?,
			lease_owner = NULL, lease_expires_at = NULL
		WHERE id = ? AND finished_at IS NULL AND lease_owner = ?`
	if err := s.updateOutgoing(ctx, id, owner, park, at.UnixMilli(), id, owner); err != nil {
		return fmt.Errorf("park outgoing %d: %w", id, err)
	}
	return nil
}

// WakeOutgoing makes the parked rows delivered by via due now and returns how many it
// woke. It reads the partial index of unfinished rows only.
func (s *Store) WakeOutgoing(ctx context.Context, via string) (int, error) {
	const wake = `UPDATE outbox SET next_attempt_at = ?1
		WHERE finished_at IS NULL AND outcome = 'parked' AND via = ?2 AND next_attempt_at > ?1`
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = execN(ctx, s.writeq(tx), wake, s.now().UnixMilli(), via)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("wake outgoing via %s: %w", via, err)
	}
	return int(n), nil
}

// Marks an unfinished row carries in its outcome column.
const (
	markParked   = "parked"   // ParkOutgoing
	markReplying = "replying" // MarkReplying
)

// MarkReplying records that owner's attempt at row id is about to reply (a call with no
// retry key): until RetryOutgoing or ParkOutgoing clears it, ClaimOutgoing returns the
// row with Replied set. owner must hold the lease, as for FinishOutgoing, and the errors
// are FinishOutgoing's.
func (s *Store) MarkReplying(ctx context.Context, id int64, owner string) error {
	const mark = `UPDATE outbox SET outcome = 'replying' WHERE id = ? AND finished_at IS NULL AND lease_owner = ?`
	if err := s.updateOutgoing(ctx, id, owner, mark, id, owner); err != nil {
		return fmt.Errorf("mark outgoing %d replying: %w", id, err)
	}
	return nil
}

// updateOutgoing runs update, which changes row id if it is unfinished and leased by
// owner, and tells why nothing changed if nothing did.
func (s *Store) updateOutgoing(ctx context.Context, id int64, owner, update string, args ...any) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.writeq(tx).ExecContext(ctx, update, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var finished bool
	err = s.readq().QueryRowContext(ctx, `SELECT finished_at IS NOT NULL FROM outbox WHERE id = ?`, id).Scan(&finished)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return bot.ErrNotFound
	case err != nil:
		return err
	case finished:
		return fmt.Errorf("finished already: %w", bot.ErrConflict)
	default:
		return fmt.Errorf("not leased by %s: %w", owner, bot.ErrConflict)
	}
}

// CountOutgoing counts the unfinished rows (from the partial index of unfinished rows and
// their table rows), and the rows finished as "failed" or "uncertain" at or after since
// (from the index of finished rows).
func (s *Store) CountOutgoing(ctx context.Context, since time.Time) (bot.OutboxCounts, error) {
	const (
		unfinished = `SELECT count(*), coalesce(sum(outcome = 'parked'), 0) FROM outbox WHERE finished_at IS NULL`
		finished   = `SELECT coalesce(sum(outcome = 'failed'), 0), coalesce(sum(outcome = ?), 0)
			FROM outbox WHERE finished_at >= ?`
	)
	var c bot.OutboxCounts
	q := s.readq()
	if err := q.QueryRowContext(ctx, unfinished).Scan(&c.Waiting, &c.Parked); err != nil {
		return c, fmt.Errorf("count outgoing: %w", err)
	}
	if err := q.QueryRowContext(ctx, finished, bot.OutcomeUncertain, since.UnixMilli()).Scan(&c.Failed, &c.Uncertain); err != nil {
		return c, fmt.Errorf("count outgoing: %w", err)
	}
	return c, nil
}
