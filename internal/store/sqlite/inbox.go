package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// AddEvents stores evs in one transaction, skipping those whose ID is stored already,
// including those whose ID comes earlier in evs. fresh[i] reports whether evs[i] was new;
// len(fresh) == len(evs). On error nothing is stored. An event with an empty ID is an
// error. The events are stored whole, reply tokens included, as JSON. An event that
// cannot be encoded (a time past year 9999) is kept as a dead letter instead, in the same
// transaction, and reported not fresh: the others are stored.
func (s *Store) AddEvents(ctx context.Context, evs []bot.Event) (fresh []bool, err error) {
	const insert = `INSERT INTO inbox (id, channel, user_id, event, at, received_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`
	if len(evs) == 0 {
		return []bool{}, nil
	}
	// Encode before taking the write lock.
	bodies := make([]string, len(evs))
	var dead []bot.DeadLetter
	for i, ev := range evs {
		if ev.ID == "" {
			return nil, fmt.Errorf("add events: event %d of %d has no ID", i, len(evs))
		}
		b, err := row.EncodeEvent(ev)
		if err != nil {
			dead = append(dead, row.Unstorable(ev, err, s.now()))
			continue
		}
		bodies[i] = b // text, not a BLOB
	}
	fresh = make([]bool, len(evs))
	err = s.inTxUrgent(ctx, func(tx *sql.Tx) error {
		q := s.writeq(tx)
		for _, d := range dead {
			if _, err := q.ExecContext(ctx, insertDeadLetter, d.Channel, d.Reason, d.Body, d.At.UnixMilli()); err != nil {
				return fmt.Errorf("dead letter: %w", err)
			}
		}
		received := s.now().UnixMilli()
		stmt, err := q.stmt(ctx, insert)
		if err != nil {
			return err
		}
		for i, ev := range evs {
			if bodies[i] == "" {
				continue // kept as a dead letter
			}
			res, err := stmt.ExecContext(ctx, ev.ID, ev.Key.Channel, ev.Key.User, bodies[i], ev.At.UnixMilli(), received)
			if err != nil {
				return fmt.Errorf("event %s: %w", ev.ID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("event %s: %w", ev.ID, err)
			}
			fresh[i] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add %d events: %w", len(evs), err)
	}
	return fresh, nil
}

const insertDeadLetter = `INSERT INTO dead_letters (channel, reason, body, at) VALUES (?, ?, ?, ?)`

// AddDeadLetter stores d. A zero d.At means now. Dead letters are not deduplicated.
func (s *Store) AddDeadLetter(ctx context.Context, d bot.DeadLetter) error {
	at := d.At
	if at.IsZero() {
		at = s.now()
	}
	body := d.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL
	}
	if err := s.inTxUrgent(ctx, func(tx *sql.Tx) error {
		_, err := s.writeq(tx).ExecContext(ctx, insertDeadLetter, d.Channel, d.Reason, body, at.UnixMilli())
		return err
	}); err != nil {
		return fmt.Errorf("add dead letter from %s: %w", d.Channel, err)
	}
	return nil
}

// countPending counts the pending events and finds the earliest arrival among them.
const countPending = `SELECT count(*), min(received_at) FROM inbox WHERE processed_at IS NULL`

// PendingEvents returns how many stored events wait to be processed and when the one that
// has waited longest arrived, by the store's clock; oldest is zero when none waits. It
// reads the partial index of pending events only.
func (s *Store) PendingEvents(ctx context.Context) (n int, oldest time.Time, err error) {
	var received sql.NullInt64
	if err := s.readq().QueryRowContext(ctx, countPending).Scan(&n, &received); err != nil {
		return 0, time.Time{}, fmt.Errorf("count pending events: %w", err)
	}
	if received.Valid {
		oldest = time.UnixMilli(received.Int64).UTC()
	}
	return n, oldest, nil
}

// CountConversations returns how many conversations are stored, whatever their state.
func (s *Store) CountConversations(ctx context.Context) (int, error) {
	var n int
	if err := s.readq().QueryRowContext(ctx, `SELECT count(*) FROM conversations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	return n, nil
}
