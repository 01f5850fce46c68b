package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// claimOutgoing leases rows that may be claimed and counts the claim as an attempt. Its
// parameters are the owner, the lease's expiry, now and the limit.
//
// The rows that may be claimed are, oldest first, each the oldest unfinished row of its
// conversation and delivering channel (so that the messages a channel delivers for a
// conversation go out in order, even while the oldest waits for a retry, and a channel
// that fails holds up no other), due, and not under a live lease.
//
// The array subquery finds them without reading the rows that are leased, which under
// load are most unfinished rows (being delivered): a range scan of the partial index
// outbox_claimable (schema/0009_claimable.sql) reads the unfinished rows with no lease or
// an expired one, and for each one probe of outbox_unfinished finds its group's oldest.
// Grouping every unfinished row instead cost 12.5 ms a claim with a few thousand of them.
// The planner cannot tell how few rows the range holds (it has no statistics on the
// expression), so the query leaves it no other plan to choose: the subquery is an array,
// planned on its own (joined, the candidates were found by walking the primary key in id
// order through the finished rows), and the oldest of a group is a scalar subquery, run
// per candidate (as NOT EXISTS, it was hashed from every unfinished row).
//
// The outer SELECT locks the rows it returns and passes over those another claim has
// locked (SKIP LOCKED). A row that changed after this statement's snapshot is re-checked
// once locked against the conditions on the row itself (finished, due, leased), which are
// therefore spelled out again; a row finished meanwhile does not make its successor
// claimable in this statement, which only delays it to the next claim.
const claimOutgoing = `UPDATE outbox SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
	WHERE id IN (
		SELECT o.id FROM outbox AS o
		WHERE o.id = ANY (ARRAY(SELECT c.id FROM outbox AS c
			WHERE c.finished_at IS NULL AND coalesce(c.lease_expires_at, '-infinity') <= $3
			  AND c.next_attempt_at <= $3
			  AND c.id = (SELECT min(e.id) FROM outbox AS e
				WHERE e.channel = c.channel AND e.user_id = c.user_id AND e.via = c.via AND e.finished_at IS NULL)))
		  AND o.finished_at IS NULL
		  AND o.next_attempt_at <= $3
		  AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= $3)
		ORDER BY o.id
		LIMIT $4
		FOR UPDATE SKIP LOCKED
	)
	RETURNING id, channel, user_id, via, event_id, seq, payload, attempts - 1, failures, created_at, coalesce(outcome, '')`

// ClaimOutgoing leases to owner, until lease has passed, up to n outbox rows that are due,
// at most one per conversation and delivering channel: the oldest unfinished one. Each
// claim counts as an attempt; Attempts is the number of claims before this one, 0 at the
// first. A row whose lease expired without FinishOutgoing or RetryOutgoing is claimable
// again. It returns the rows oldest first, each with Channel set to the channel that
// delivers it, and an empty slice when none is due. The caller owns the result.
//
// Of processes claiming at once, each gets other rows; none waits for another's claim.
func (s *Store) ClaimOutgoing(ctx context.Context, owner string, n int, lease time.Duration) ([]bot.Outgoing, error) {
	if owner == "" || n <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim outgoing: need an owner, a positive count and a positive lease, have %q, %d and %s", owner, n, lease)
	}
	now := s.now()
	rows, err := s.pool.Query(ctx, claimOutgoing, owner, ms(now.Add(lease)), ms(now), n)
	if err != nil {
		return nil, fmt.Errorf("claim outgoing: %w", err)
	}
	defer rows.Close()
	outs := []bot.Outgoing{}
	for rows.Next() {
		var (
			o       bot.Outgoing
			payload []byte
			p       row.OutgoingPayload
			mark    string
		)
		err := rows.Scan(&o.ID, &o.Key.Channel, &o.Key.User, &o.Channel, &o.EventID, &o.Seq, &payload, &o.Attempts, &o.Failures, &o.CreatedAt, &mark)
		if err != nil {
			return nil, fmt.Errorf("claim outgoing: %w", err)
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			// The lease lapses and the row is retried, and given up once its attempts are
			// spent; a row that never decodes needs a person, and the error says which.
			return nil, fmt.Errorf("claim outgoing: row %d: decode: %w", o.ID, err)
		}
		o.Address, o.ReplyToken, o.Handle, o.EventAt, o.Messages = p.Address, p.ReplyToken, p.Handle, p.EventAt.UTC(), p.Messages
		o.CreatedAt = utc(o.CreatedAt)
		o.Parked, o.Replied = mark == "parked", mark == "replying"
		outs = append(outs, o)
	}
	if err := rows.Err(); err != nil {
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
	const finish = `UPDATE outbox SET finished_at = $1, outcome = $2, payload = '{}', lease_owner = NULL, lease_expires_at = NULL
		WHERE id = $3 AND finished_at IS NULL AND lease_owner = $4`
	if err := s.updateOutgoing(ctx, s.lazy, id, owner, finish, ms(s.now()), clean(outcome), id, owner); err != nil {
		return fmt.Errorf("finish outgoing %d: %w", id, err)
	}
	return nil
}

// RetryOutgoing ends owner's lease on row id and makes the row due again at at; the
// conversation's later rows on the same channel wait for it. The attempt was counted when
// the row was claimed. owner must hold the lease, as for FinishOutgoing, and the errors
// are FinishOutgoing's.
func (s *Store) RetryOutgoing(ctx context.Context, id int64, owner string, at time.Time) error {
	const retry = `UPDATE outbox SET failures = failures + 1, next_attempt_at = $1, outcome = NULL, lease_owner = NULL, lease_expires_at = NULL
		WHERE id = $2 AND finished_at IS NULL AND lease_owner = $3`
	if err := s.updateOutgoing(ctx, s.pool, id, owner, retry, ms(at), id, owner); err != nil {
		return fmt.Errorf("retry outgoing %d: %w", id, err)
	}
	return nil
}

// ParkOutgoing ends owner's lease on row id, makes the row due again at at and marks it
// parked (its outcome is "parked" while it is unfinished). The claim is not counted as an
// attempt. owner must hold the lease, as for FinishOutgoing, and the errors are
// FinishOutgoing's.
func (s *Store) ParkOutgoing(ctx context.Context, id int64, owner string, at time.Time) error {
	const park = `UPDATE outbox SET attempts = attempts - 1, outcome = 'parked', next_attempt_at = $1,
			lease_owner = NULL, lease_expires_at = NULL
		WHERE id = $2 AND finished_at IS NULL AND lease_owner = $3`
	if err := s.updateOutgoing(ctx, s.pool, id, owner, park, ms(at), id, owner); err != nil {
		return fmt.Errorf("park outgoing %d: %w", id, err)
	}
	return nil
}

// WakeOutgoing makes the parked rows delivered by via due now and returns how many it
// woke.
func (s *Store) WakeOutgoing(ctx context.Context, via string) (int, error) {
	const wake = `UPDATE outbox SET next_attempt_at = $1
		WHERE finished_at IS NULL AND outcome = 'parked' AND via = $2 AND next_attempt_at > $1`
	tag, err := s.pool.Exec(ctx, wake, ms(s.now()), via)
	if err != nil {
		return 0, fmt.Errorf("wake outgoing via %s: %w", via, err)
	}
	return int(tag.RowsAffected()), nil
}

// MarkReplying records that owner's attempt at row id is about to reply (a call with no
// retry key): until RetryOutgoing or ParkOutgoing clears it, ClaimOutgoing returns the
// row with Replied set. owner must hold the lease, as for FinishOutgoing, and the errors
// are FinishOutgoing's. It commits without waiting for the WAL flush, as finishes do: a
// crash of this process finds it; a crash of the database server may lose it.
func (s *Store) MarkReplying(ctx context.Context, id int64, owner string) error {
	const mark = `UPDATE outbox SET outcome = 'replying' WHERE id = $1 AND finished_at IS NULL AND lease_owner = $2`
	if err := s.updateOutgoing(ctx, s.lazy, id, owner, mark, id, owner); err != nil {
		return fmt.Errorf("mark outgoing %d replying: %w", id, err)
	}
	return nil
}

// updateOutgoing runs update, which changes row id if it is unfinished and leased by
// owner, and tells why nothing changed if nothing did.
func (s *Store) updateOutgoing(ctx context.Context, pool *pgxpool.Pool, id int64, owner, update string, args ...any) error {
	var tag pgconn.CommandTag
	var err error
	if pool == s.lazy {
		tag, err = s.lazyExec(ctx, update, args...)
	} else {
		tag, err = pool.Exec(ctx, update, args...)
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var finished bool
	err = s.pool.QueryRow(ctx, `SELECT finished_at IS NOT NULL FROM outbox WHERE id = $1`, id).Scan(&finished)
	switch {
	case err != nil:
		return translate(err)
	case finished:
		return fmt.Errorf("finished already: %w", bot.ErrConflict)
	default:
		return fmt.Errorf("not leased by %s: %w", owner, bot.ErrConflict)
	}
}

// CountOutgoing counts the unfinished rows, and the rows finished as "failed" or
// "uncertain" at or after since.
func (s *Store) CountOutgoing(ctx context.Context, since time.Time) (bot.OutboxCounts, error) {
	// Two scans, each of one index: the partial index of unfinished rows, and the index
	// of finished rows from since on.
	const count = `SELECT u.waiting, u.parked, f.failed, f.uncertain
		FROM (SELECT count(*) AS waiting, count(*) FILTER (WHERE outcome = 'parked') AS parked
			FROM outbox WHERE finished_at IS NULL) AS u,
		     (SELECT count(*) FILTER (WHERE outcome = 'failed') AS failed, count(*) FILTER (WHERE outcome = $2) AS uncertain
			FROM outbox WHERE finished_at >= $1) AS f`
	var c bot.OutboxCounts
	if err := s.pool.QueryRow(ctx, count, ms(since), bot.OutcomeUncertain).Scan(&c.Waiting, &c.Parked, &c.Failed, &c.Uncertain); err != nil {
		return c, fmt.Errorf("count outgoing: %w", err)
	}
	return c, nil
}
