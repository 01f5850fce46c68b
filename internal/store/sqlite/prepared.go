package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the store's statements prepared, one *sql.Stmt per pool and query, so
// that SQLite parses each query once per connection instead of at every call (parsing was
// a tenth of serve's CPU under load). It is safe for concurrent use.
type stmtCache struct {
	m sync.Map // stmtKey → *sql.Stmt
	// wanted are queries first run inside a transaction: preparing them on the pool then
	// would wait for the connection the transaction holds (the writer has one), so they
	// are prepared after it, by flush.
	wanted sync.Map // stmtKey → struct{}
}

type stmtKey struct {
	db *sql.DB
	q  string
}

// get returns the statement for q on db, preparing it if needed. The caller must hold no
// connection of db.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	k := stmtKey{db, q}
	if st, ok := c.m.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if old, loaded := c.m.LoadOrStore(k, st); loaded {
		st.Close()
		return old.(*sql.Stmt), nil
	}
	return st, nil
}

// flush prepares the queries transactions asked for. The caller must hold no connection.
func (c *stmtCache) flush(ctx context.Context) {
	c.wanted.Range(func(k, _ any) bool {
		c.wanted.Delete(k)
		key := k.(stmtKey)
		_, _ = c.get(ctx, key.db, key.q) // an error shows again when the query runs
		return true
	})
}

func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

// querier runs queries with cached statements on db, or on tx when it is not nil (tx must
// belong to db).
type querier struct {
	c  *stmtCache
	db *sql.DB
	tx *sql.Tx
}

// readq runs queries on the readers; writeq on the writer within tx.
func (s *Store) readq() querier            { return querier{c: &s.stmts, db: s.read} }
func (s *Store) writeq(tx *sql.Tx) querier { return querier{c: &s.stmts, db: s.write, tx: tx} }

func (q querier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if q.tx == nil {
		return q.c.get(ctx, q.db, query)
	}
	if st, ok := q.c.m.Load(stmtKey{q.db, query}); ok {
		return q.tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	q.c.wanted.Store(stmtKey{q.db, query}, struct{}{})
	return q.tx.PrepareContext(ctx, query)
}

func (q querier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (q querier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext is as (*sql.DB).QueryRowContext; a statement that does not prepare
// reports its error through Scan.
func (q querier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := q.stmt(ctx, query)
	if err != nil {
		if q.tx != nil {
			return q.tx.QueryRowContext(ctx, query, args...)
		}
		return q.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
