package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit. A commit that must survive a crash of the server waits for its WAL to
// reach the disk, and under load most of a turn's time was that wait: with each worker's
// turn and each webhook's events a transaction of their own, every one of them paid for a
// flush, and the server's CPU went into as many BEGINs and COMMITs. So the writes of the
// hot path go through lanes, goroutines that run the operations queued meanwhile
// together: the turns of several workers in one transaction (Store.turns), the events of
// several webhooks in one statement (Store.inbox), the deliveries' ends and the leases'
// ends in one pipelined batch (Store.stmts, which waits for no flush). One WAL flush then
// covers many, and one round trip many.
//
// Nothing waits to gather a batch: a lane takes what is queued when it is free, so a lone
// operation costs what it did before, and under load operations queue while the lanes
// commit. Each kind has laneCount lanes, so that one gathers and executes while another
// waits for its flush.
const (
	// laneCount is how many lanes of each kind run at once.
	laneCount = 2
	// maxTurnBatch bounds the turns committed together.
	maxTurnBatch = 32
	// maxEventBatch bounds the events of one inbox statement.
	maxEventBatch = 512
)

// errClosed is the error of an operation queued on a closed store.
var errClosed = errors.New("postgres: store closed")

// groupOp is an operation waiting for a lane.
type groupOp[W any] struct {
	ctx  context.Context
	work W
	err  error
	done chan struct{}
}

// group runs operations of one kind in lanes; run executes a batch of them and reports to
// each by setting its err (it must not close done).
type group[W any] struct {
	ops     chan *groupOp[W]
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	full    func(batch []*groupOp[W]) bool // reports whether batch is full
	run     func(ctx context.Context, batch []*groupOp[W])
	stopped chan struct{}
}

func newGroup[W any](full func([]*groupOp[W]) bool, run func(context.Context, []*groupOp[W])) *group[W] {
	g := &group[W]{ops: make(chan *groupOp[W], 1024), stop: make(chan struct{}), stopped: make(chan struct{}),
		full: full, run: run}
	for range laneCount {
		g.wg.Go(g.lane)
	}
	go func() {
		g.wg.Wait()
		close(g.stopped)
	}()
	return g
}

// do queues w and waits until a lane has run it; it returns w's error. Once queued an
// operation runs or fails, and do waits for that even if ctx ends, so that nobody reports
// as undone what was committed.
func (g *group[W]) do(ctx context.Context, w W) error {
	op := &groupOp[W]{ctx: ctx, work: w, done: make(chan struct{})}
	select {
	case <-g.stop:
		return errClosed
	default:
	}
	select {
	case g.ops <- op:
	case <-g.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-op.done:
		return op.err
	case <-g.stopped:
		select {
		case <-op.done: // run before the lanes ended
			return op.err
		default:
			return errClosed // queued after the lanes' last look
		}
	}
}

// close stops the lanes after the batches under way and fails what is queued.
func (g *group[W]) close() {
	g.once.Do(func() { close(g.stop) })
	<-g.stopped
}

func (g *group[W]) lane() {
	for {
		var first *groupOp[W]
		select {
		case <-g.stop:
			for {
				select {
				case op := <-g.ops:
					op.err = errClosed
					close(op.done)
				default:
					return
				}
			}
		case first = <-g.ops:
		}
		batch := []*groupOp[W]{first}
	fill:
		for !g.full(batch) {
			select {
			case op := <-g.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		// Operations whose caller gave up before they ran are not run.
		live := batch[:0:0]
		for _, op := range batch {
			if op.err = op.ctx.Err(); op.err == nil {
				live = append(live, op)
			}
		}
		if len(live) > 0 {
			g.run(context.Background(), live)
		}
		for _, op := range batch {
			close(op.done)
		}
	}
}

// txWork is one operation of a shared transaction: the statements it queues, and how it
// reads their results. read must read the results of its statements in order and return
// an error when one of them failed. A check that must keep the operation from being
// committed must fail its statement on the server (giftdesk_expect), not only in read:
// the batch's transaction commits unless a statement fails. read may be called more than
// once, each time on a fresh execution, and must set its results afresh each time. The operation's results are valid once its
// transaction has committed.
type txWork struct {
	batch *pgx.Batch
	read  func(br pgx.BatchResults) error
}

// runTx runs batch in one transaction on pool and sets each operation's err. It first
// sends all their statements as one pipelined batch, which nearly always succeeds; when
// an operation fails, it rolls back and runs them again, each in a savepoint of its own,
// so that the failing one is undone alone and the others are committed. An operation
// alone runs with its own context, as it would without lanes.
func runTx(ctx context.Context, pool *pgxpool.Pool, batch []*groupOp[txWork]) {
	if len(batch) == 1 {
		ctx = batch[0].ctx
	}
	opErr, err := runOptimistic(ctx, pool, batch)
	switch {
	case opErr == nil:
		for _, op := range batch {
			op.err = err
		}
	case len(batch) == 1:
		batch[0].err = opErr
	default:
		runCareful(ctx, pool, batch)
	}
}

// runOptimistic runs batch in one transaction, all statements in one pipelined batch that
// the server runs as one implicit transaction, committed at its end: one round trip. The
// operations' checks fail their statements (giftdesk_expect), so a failing check rolls
// the transaction back. When an operation fails it returns that operation's error, opErr,
// and nothing is committed. Otherwise err is the outcome of the transaction, for all of
// them.
func runOptimistic(ctx context.Context, pool *pgxpool.Pool, batch []*groupOp[txWork]) (opErr, err error) {
	var all pgx.Batch
	for _, op := range batch {
		all.QueuedQueries = appendFresh(all.QueuedQueries, op.work.batch)
	}
	br := pool.SendBatch(ctx, &all)
	for _, op := range batch {
		if opErr = op.work.read(br); opErr != nil {
			br.Close() // the server rolls the implicit transaction back
			return opErr, nil
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return nil, nil
}

// runCareful runs batch in one transaction, each operation in a savepoint of its own,
// and commits what succeeded.
func runCareful(ctx context.Context, pool *pgxpool.Pool, batch []*groupOp[txWork]) {
	abort := func(err error) {
		for _, op := range batch {
			if op.err == nil {
				op.err = err
			}
		}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		abort(err)
		return
	}
	defer tx.Rollback(ctx) // after Commit, a no-op
	ran := 0
	for _, op := range batch {
		var b pgx.Batch
		b.Queue("SAVEPOINT op")
		b.QueuedQueries = appendFresh(b.QueuedQueries, op.work.batch)
		br := tx.SendBatch(ctx, &b)
		_, err := br.Exec()
		if err != nil {
			br.Close()
			abort(fmt.Errorf("savepoint: %w", err))
			return
		}
		if op.err = op.work.read(br); op.err == nil {
			op.err = br.Close()
		} else {
			br.Close()
		}
		if op.err == nil {
			ran++
			continue
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT op"); err != nil {
			abort(fmt.Errorf("rollback to savepoint: %w", err))
			return
		}
	}
	if ran == 0 {
		return
	}
	if err := tx.Commit(ctx); err != nil {
		abort(fmt.Errorf("commit: %w", err))
	}
}

// appendFresh appends copies of b's queries to qs. pgx records in a queued query the
// statement it prepared for it on the connection that sent it; a query sent again, maybe
// on another connection, must not carry that.
func appendFresh(qs []*pgx.QueuedQuery, b *pgx.Batch) []*pgx.QueuedQuery {
	for _, q := range b.QueuedQueries {
		qs = append(qs, &pgx.QueuedQuery{SQL: q.SQL, Arguments: q.Arguments})
	}
	return qs
}

// stmtWork is a statement for the lazy lane, and its outcome.
type stmtWork struct {
	sql  string
	args []any
	tag  pgconn.CommandTag
}

// maxStmtBatch bounds the statements the lazy lane sends together.
const maxStmtBatch = 64

// lazyExec runs sql on the lazy pool (no wait for the WAL flush) through the lazy lane:
// the small writes of many deliveries and workers (a delivery's end, a lease's end) that
// are queued meanwhile go to the server as one pipelined batch, one round trip and one
// commit.
func (s *Store) lazyExec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	w := &stmtWork{sql: sql, args: args}
	err := s.stmts.do(ctx, w)
	return w.tag, err
}

// runLazy runs batch's statements on the lazy pool. Several are sent as one pipelined
// batch, which the server runs as one implicit transaction; if one of them fails, which
// rolls the others back, each is run again on its own. The statements must each be a
// write that changes nothing when its check fails, not an error, so that a check failing
// takes nothing else with it.
func (s *Store) runLazy(ctx context.Context, batch []*groupOp[*stmtWork]) {
	if len(batch) == 1 {
		op := batch[0]
		op.work.tag, op.err = s.lazy.Exec(op.ctx, op.work.sql, op.work.args...)
		return
	}
	var b pgx.Batch
	for _, op := range batch {
		b.Queue(op.work.sql, op.work.args...)
	}
	br := s.lazy.SendBatch(ctx, &b)
	var err error
	for _, op := range batch {
		if op.work.tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		return
	}
	for _, op := range batch {
		op.work.tag, op.err = s.lazy.Exec(ctx, op.work.sql, op.work.args...)
	}
}
