package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// purgeBatch is how many rows of a table one statement of Purge deletes at most, so that
// a large purge is many short transactions instead of one long one.
const purgeBatch = 1000

// purges are the statements Purge runs, each deleting a batch of a table's rows older than
// its first parameter, at most its second parameter of them, through the index the
// statement names, passing over rows that another purge has locked. Only processed inbox
// rows and finished outbox rows have the time they compare, so pending and unfinished rows
// are never deleted.
var purges = []struct{ name, stmt string }{
	{"transcript lines", `DELETE FROM transcripts WHERE id IN
		(SELECT id FROM transcripts WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`}, // transcripts_at
	{"processed events", `DELETE FROM inbox WHERE seq IN
		(SELECT seq FROM inbox WHERE processed_at < $1 ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)`}, // inbox_processed
	{"finished outgoing", `DELETE FROM outbox WHERE id IN
		(SELECT id FROM outbox WHERE finished_at < $1 ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`}, // outbox_finished
	{"dead letters", `DELETE FROM dead_letters WHERE id IN
		(SELECT id FROM dead_letters WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`}, // dead_letters_at
	// Conversations (names, ids, answers) untouched since before, with no open ticket,
	// nothing pending in the inbox nor waiting in the outbox; one a turn holds is passed
	// over. No index on updated_at (every turn would move the row in it): a scan of the
	// table, once an hour.
	{"idle conversations", `DELETE FROM conversations WHERE (channel, user_id) IN
		(SELECT c.channel, c.user_id FROM conversations AS c
		 WHERE c.updated_at < $1 AND c.ticket IS NULL
		   AND NOT EXISTS (SELECT 1 FROM inbox AS i
			WHERE i.channel = c.channel AND i.user_id = c.user_id AND i.processed_at IS NULL) -- inbox_pending_conversation
		   AND NOT EXISTS (SELECT 1 FROM outbox AS o
			WHERE o.channel = c.channel AND o.user_id = c.user_id AND o.finished_at IS NULL) -- outbox_unfinished
		 LIMIT $2 FOR UPDATE SKIP LOCKED)`},
}

// purgeTickets deletes a batch of archived tickets closed before its first parameter, at
// most its second parameter of them, and their thread links, in one statement, and
// returns how many links and tickets went.
const purgeTickets = `WITH old AS (
		SELECT id FROM tickets WHERE closed_at < $1 ORDER BY closed_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
	), links AS (
		DELETE FROM threads WHERE ticket_id IN (SELECT id FROM old) RETURNING 1
	), gone AS (
		DELETE FROM tickets WHERE id IN (SELECT id FROM old) RETURNING 1
	)
	SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM gone)`

// Purge deletes what is older than before (to the millisecond) and returns how many rows
// went: transcript lines by their time, processed inbox events by the time they were
// processed, finished outbox rows by the time they were finished, dead letters by their
// time, conversations by the time they were last saved (unless a ticket is open or an
// event or a message of theirs is still pending), and archived tickets by the time they
// closed, together with their thread links. It never deletes pending events or
// unfinished outbox rows, nor the thread links of tickets that are not archived.
//
// The lease rows of conversations gone or idle since before, unleased and with nothing
// pending, go too, uncounted (see purgeLeases).
//
// Purge deletes in batches, each its own transaction, so other writes go ahead between
// batches; replicas purging at once share the work. On error, it returns the rows deleted
// until then with the error. Deleted rows stay on disk until VACUUM reclaims them.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	at := ms(before)
	total := 0
	for _, p := range purges {
		for {
			tag, err := s.pool.Exec(ctx, p.stmt, at, purgeBatch)
			if err != nil {
				return total, fmt.Errorf("purge %s: %w", p.name, err)
			}
			n := tag.RowsAffected()
			total += int(n)
			if n < purgeBatch {
				break
			}
		}
	}
	for {
		var links, tickets int64
		if err := s.pool.QueryRow(ctx, purgeTickets, at, purgeBatch).Scan(&links, &tickets); err != nil {
			return total, fmt.Errorf("purge archived tickets: %w", err)
		}
		total += int(links + tickets)
		if tickets < purgeBatch {
			break
		}
	}
	if err := s.purgeLeases(ctx, at); err != nil {
		return total, fmt.Errorf("purge leases: %w", err)
	}
	return total, nil
}

// purgeLeases is a batch of purgeLeases' deletes: the lease rows of conversations gone or
// not saved since $1, neither leased at $2 nor with a pending event, at most $3 of them.
const purgeLeases = `DELETE FROM leases WHERE (channel, user_id) IN
	(SELECT l.channel, l.user_id FROM leases AS l
	 WHERE l.expires_at <= $2
	   AND NOT EXISTS (SELECT 1 FROM conversations AS c
		WHERE c.channel = l.channel AND c.user_id = l.user_id AND c.updated_at >= $1)
	   AND NOT EXISTS (SELECT 1 FROM inbox AS i
		WHERE i.channel = l.channel AND i.user_id = l.user_id AND i.processed_at IS NULL) -- inbox_pending_conversation
	 LIMIT $3)`

// leaseLockTimeout bounds how long purgeLeases waits for its lock on leases before it
// leaves the rows to the next Purge.
const leaseLockTimeout = "1s"

// purgeLeases deletes the rows of leases that no conversation needs: those of
// conversations gone or idle since before, unleased and with nothing pending. They are
// bookkeeping and not counted in Purge's total. AddEvents adds the row again with a
// conversation's next event.
//
// A row must never go while an event of its conversation is being stored: AddEvents
// inserts the row ON CONFLICT DO NOTHING, which locks no row, so a purge that did not
// see the uncommitted event could delete the row AddEvents found, and the event would
// never be claimed. So each batch holds the table in SHARE ROW EXCLUSIVE mode, which
// waits for the statements writing leases under way (AddEvents, claims, releases) to
// commit and holds back new ones until the batch commits: a few milliseconds, once per
// Purge. If the lock is not granted within leaseLockTimeout (a long transaction writes
// leases), the rows are left to the next Purge rather than holding back the writes queued
// behind the purge.
func (s *Store) purgeLeases(ctx context.Context, before time.Time) error {
	now := ms(s.now())
	for {
		var n int64
		err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+leaseLockTimeout+"'"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "LOCK TABLE leases IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, purgeLeases, before, now, purgeBatch)
			n = tag.RowsAffected()
			return err
		})
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == lockNotAvailable {
			return nil
		}
		if err != nil || n < purgeBatch {
			return err
		}
	}
}

// lockNotAvailable is PostgreSQL's SQLSTATE for a lock not granted within lock_timeout.
const lockNotAvailable = "55P03"
