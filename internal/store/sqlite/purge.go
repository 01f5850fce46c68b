package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// purgeBatch is how many rows of a table one statement of Purge deletes at most, so that
// a large purge holds the write lock for many short moments instead of one long one.
const purgeBatch = 1000

// purges are the statements Purge runs, each deleting a batch of a table's rows older than
// its first parameter, at most its second parameter of them, through the index the
// statement names. Only processed inbox rows and finished outbox rows have the time they
// compare, so pending and unfinished rows are never deleted.
var purges = []struct{ name, stmt string }{
	{"transcript lines", `DELETE FROM transcripts WHERE id IN
		(SELECT id FROM transcripts WHERE at < ? ORDER BY at LIMIT ?)`}, // transcripts_at
	{"processed events", `DELETE FROM inbox WHERE seq IN
		(SELECT seq FROM inbox WHERE processed_at < ? ORDER BY processed_at LIMIT ?)`}, // inbox_processed
	{"finished outgoing", `DELETE FROM outbox WHERE id IN
		(SELECT id FROM outbox WHERE finished_at < ? ORDER BY finished_at LIMIT ?)`}, // outbox_finished
	{"dead letters", `DELETE FROM dead_letters WHERE id IN
		(SELECT id FROM dead_letters WHERE at < ? ORDER BY at LIMIT ?)`}, // dead_letters_at
	// Conversations (names, ids, answers) untouched since before, with no open ticket,
	// nothing pending in the inbox nor waiting in the outbox. No index on updated_at
	// (every turn would move the row in it): a scan of the table, once an hour.
	{"idle conversations", `DELETE FROM conversations WHERE rowid IN
		(SELECT c.rowid FROM conversations AS c
		 WHERE c.updated_at < ? AND c.ticket IS NULL
		   AND NOT EXISTS (SELECT 1 FROM inbox AS i
			WHERE i.channel = c.channel AND i.user_id = c.user_id AND i.processed_at IS NULL) -- inbox_pending_conversation
		   AND NOT EXISTS (SELECT 1 FROM outbox AS o
			WHERE o.channel = c.channel AND o.user_id = c.user_id AND o.finished_at IS NULL) -- outbox_unfinished
		 LIMIT ?)`},
}

// oldTickets selects a batch of archived tickets closed before its first parameter, at
// most its second parameter of them, in a stable order: the threads of the batch and then
// the batch itself are deleted with it.
const oldTickets = `SELECT id FROM tickets WHERE closed_at < ? ORDER BY closed_at, id LIMIT ?`

// Purge deletes what is older than before (to the millisecond) and returns how many rows
// went: transcript lines by their time, processed inbox events by the time they were
// processed, finished outbox rows by the time they were finished, dead letters by their
// time, conversations by the time they were last saved (unless a ticket is open or an
// event or a message of theirs is still pending), and archived tickets by the time they
// closed, together with their thread links. It never deletes pending events or
// unfinished outbox rows, nor the thread links of tickets that are not archived.
//
// Deleted content is overwritten in the database file (secure_delete). Purge deletes in
// batches, each its own transaction, so other writes go ahead between batches. On error,
// it returns the rows deleted until then with the error.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	const (
		purgeThreads = `DELETE FROM threads WHERE ticket_id IN (` + oldTickets + `)`
		purgeTickets = `DELETE FROM tickets WHERE id IN (` + oldTickets + `)`
	)
	ms := before.UnixMilli()
	total := 0
	for _, p := range purges {
		for {
			n, err := execN(ctx, s.write, p.stmt, ms, purgeBatch)
			if err != nil {
				return total, fmt.Errorf("purge %s: %w", p.name, err)
			}
			total += int(n)
			if n < purgeBatch {
				break
			}
		}
	}
	for {
		var links, tickets int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			if links, err = execN(ctx, tx, purgeThreads, ms, purgeBatch); err != nil {
				return err
			}
			tickets, err = execN(ctx, tx, purgeTickets, ms, purgeBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("purge archived tickets: %w", err)
		}
		total += int(links + tickets)
		if tickets < purgeBatch {
			return total, nil
		}
	}
}

// execN runs statement q on db and returns how many rows it changed.
func execN(ctx context.Context, db execer, q string, args ...any) (int64, error) {
	res, err := db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
