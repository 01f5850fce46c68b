package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group commit. SQLite has one writer, and under load most of a write's cost is its
// COMMIT: appending every page it changed to the WAL, two write(2) calls per page. So all
// writes of the store go through one goroutine that runs the operations queued meanwhile
// in one transaction, each in a SAVEPOINT of its own so that a failing one is rolled back
// alone: the inbox rows of many webhooks, the turns of several workers, the deliverer's
// claims and finishes share one BEGIN/COMMIT, and pages they share are written once.
// Operations run in arrival order, which also ends database/sql handing the one
// connection to a random waiter (webhooks waited behind the workers' writes).
const (
	// maxWriteBatch bounds the operations committed together.
	maxWriteBatch = 64
	// writeGather is how long the writer waits for more operations when the last batch
	// was shared (under load): a commit costs about as much for one as for many.
	writeGather = 500 * time.Microsecond
)

var errClosed = errors.New("sqlite: store closed")

// writeOp is one write operation waiting for the writer.
type writeOp struct {
	ctx  context.Context
	f    func(tx *sql.Tx) error
	err  error
	done chan struct{}
}

// writer is the goroutine that runs every write.
type writer struct {
	ops     chan *writeOp
	urgent  chan *writeOp // inTxUrgent's
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func (s *Store) startWriter() {
	s.w = &writer{ops: make(chan *writeOp, 1024), urgent: make(chan *writeOp, 1024), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.runWriter()
}

// stopWriter fails what is queued and waits for the batch under way.
func (s *Store) stopWriter() {
	if s.w == nil {
		return
	}
	s.w.once.Do(func() { close(s.w.stop) })
	<-s.w.stopped
}

// inTx runs f in a write transaction that it may share with other operations, and returns
// once that transaction has committed, or f's error (f's changes rolled back, the others'
// kept). f must use tx only, not s.write, and must not keep tx.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return s.queueTx(ctx, s.w.ops, f)
}

// inTxUrgent is inTx for the writes a webhook waits for before it can answer: they go
// before the others (see runWriter).
func (s *Store) inTxUrgent(ctx context.Context, f func(tx *sql.Tx) error) error {
	return s.queueTx(ctx, s.w.urgent, f)
}

func (s *Store) queueTx(ctx context.Context, q chan *writeOp, f func(tx *sql.Tx) error) error {
	op := &writeOp{ctx: ctx, f: f, done: make(chan struct{})}
	select {
	case q <- op:
	case <-s.w.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the operation runs or fails: wait for that even if ctx ends, so that
	// nobody reports as undone what was committed. An operation queued while the store
	// closes, after the writer's last look at the queues (the select above may pick the
	// queue's free buffer over a closed stop), is never run: closed.
	select {
	case <-op.done:
		return op.err
	case <-s.w.stopped:
		select {
		case <-op.done: // run or failed before the writer ended
			return op.err
		default:
			return errClosed
		}
	}
}

func (s *Store) runWriter() {
	defer close(s.w.stopped)
	busy := false
	for {
		// Webhooks wait for their events to be stored before they answer, and an answer
		// that is late makes the platform send again: their writes go first, in batches
		// of their own, committed without waiting for more. The others (turns,
		// deliveries) take the writer whenever no webhook waits.
		if urgent := drain(s.w.urgent, nil, maxWriteBatch); len(urgent) > 0 {
			s.writeBatch(urgent)
			continue
		}
		var first *writeOp
		select {
		case <-s.w.stop:
			for {
				select {
				case op := <-s.w.ops:
					op.err = errClosed
					close(op.done)
				case op := <-s.w.urgent:
					op.err = errClosed
					close(op.done)
				default:
					return
				}
			}
		case op := <-s.w.urgent:
			s.writeBatch([]*writeOp{op})
			continue
		case first = <-s.w.ops:
		}
		batch := drain(s.w.ops, []*writeOp{first}, maxWriteBatch-1)
		if busy && len(batch) < maxWriteBatch {
			t := time.NewTimer(writeGather)
		gather:
			for len(batch) < maxWriteBatch {
				select {
				case op := <-s.w.ops:
					batch = append(batch, op)
				case op := <-s.w.urgent: // a webhook waits: no more gathering
					batch = append(batch, op)
					break gather
				case <-t.C:
					break gather
				}
			}
			t.Stop()
		}
		busy = len(batch) > 1
		s.writeBatch(batch)
	}
}

// drain appends to batch the operations waiting in q, up to max of them.
func drain(q chan *writeOp, batch []*writeOp, max int) []*writeOp {
	for range max {
		select {
		case op := <-q:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

// writeBatch runs batch in one transaction and reports to every operation. It first runs
// the operations one after the other with no savepoints, which nearly always succeeds;
// only when one fails does it roll back and run them again, each in a savepoint of its
// own, so that the failing one is undone alone. Operations must therefore be safe to run
// twice: each sets its results afresh.
//
// Webhook writes that arrive while the batch runs join it (see writeOptimistic), so
// batch may grow.
func (s *Store) writeBatch(batch []*writeOp) {
	batch, ok := s.writeOptimistic(batch)
	if !ok {
		s.writeCareful(batch)
	}
}

// maxUrgentJoin bounds the webhook writes that join a batch under way.
const maxUrgentJoin = maxWriteBatch

// writeOptimistic runs batch in one transaction without savepoints. Before each of
// batch's operations it takes the webhook writes queued meanwhile (inTxUrgent's) into the
// transaction too, so that a webhook waits for the end of the batch under way and no
// commit of its own: one commit less, and pages the two share written once. It returns
// the batch with what joined it and whether it reported to everybody: not when an
// operation of a batch of several failed; then the transaction is rolled back and nobody
// told (writeCareful runs them again). A batch of one that fails is reported at once.
func (s *Store) writeOptimistic(batch []*writeOp) ([]*writeOp, bool) {
	ctx := context.Background()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return batch, false // writeCareful tells everybody
	}
	ran, joined := 0, 0
	for i := 0; ; i++ {
		if joined < maxUrgentJoin { // also after the last: before the commit
			n := len(batch)
			batch = drain(s.w.urgent, batch, maxUrgentJoin-joined)
			joined += len(batch) - n
		}
		if i == len(batch) {
			break
		}
		op := batch[i]
		if op.err = op.ctx.Err(); op.err != nil {
			continue
		}
		if err := op.f(tx); err != nil {
			_ = tx.Rollback()
			if len(batch) == 1 {
				op.err = err
				s.finishBatch(batch, nil)
				return batch, true
			}
			for _, op := range batch {
				op.err = nil
			}
			return batch, false
		}
		ran++
	}
	if ran == 0 {
		_ = tx.Rollback()
		s.finishBatch(batch, nil)
	} else if err := tx.Commit(); err != nil {
		s.finishBatch(batch, fmt.Errorf("commit: %w", err))
	} else {
		s.finishBatch(batch, nil)
	}
	return batch, true
}

// finishBatch reports to every operation of batch: its own error, or else err.
func (s *Store) finishBatch(batch []*writeOp, err error) {
	for _, op := range batch {
		if err != nil && op.err == nil {
			op.err = err
		}
		close(op.done)
	}
	s.stmts.flush(context.Background())
}

// writeCareful runs batch in one transaction, each operation in a savepoint of its own
// when there are several, and reports to every operation.
func (s *Store) writeCareful(batch []*writeOp) {
	ctx := context.Background()
	finish := func(err error) { s.finishBatch(batch, err) }
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		finish(err)
		return
	}
	q := s.writeq(tx)
	abort := func(err error) {
		_ = tx.Rollback()
		finish(err)
	}
	ran := 0
	for _, op := range batch {
		if op.err = op.ctx.Err(); op.err != nil {
			continue
		}
		if len(batch) == 1 { // no savepoint needed: a failure rolls the transaction back
			if op.err = op.f(tx); op.err == nil {
				ran++
			}
			continue
		}
		if _, err := q.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			abort(err)
			return
		}
		if op.err = op.f(tx); op.err != nil {
			if _, err := q.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
				// SQLite rolled the whole transaction back (an I/O error, a full disk):
				// nothing of the batch is stored.
				abort(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		} else {
			ran++
		}
		if _, err := q.ExecContext(ctx, "RELEASE op"); err != nil {
			abort(err)
			return
		}
	}
	if ran == 0 {
		abort(nil)
		return
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("commit: %w", err))
		return
	}
	finish(nil)
}
