// Package postgres stores the bot's state in PostgreSQL through pgx (github.com/jackc/pgx/v5),
// so that several giftdesk processes can share one database and behave as one. It
// implements the same interfaces as package sqlite, with the same semantics, and passes the
// same conformance suite (storetest); this documentation says where PostgreSQL needs
// something different.
//
// # Connections and the clock
//
// A Store is a pgxpool.Pool. Every statement is its own transaction unless said otherwise,
// at PostgreSQL's default isolation, READ COMMITTED: the statements below are written so
// that what one checks and what it changes cannot be separated by another process (a
// compare-and-swap in a WHERE clause, a row lock, a unique index), never by relying on
// SERIALIZABLE and retrying.
//
// The store never asks the server for the time: leases, due times and the times it records
// come from Config.Now and are passed as parameters, as in SQLite, so that tests can use a
// fake clock. A lease one replica takes is judged by the others' clocks, so replicas'
// clocks must agree to well within a lease (NTP does). Times are stored as timestamptz
// truncated to the millisecond, as in SQLite, so both stores order and compare them alike.
//
// # Durability
//
// A commit waits for its WAL to reach the disk (synchronous_commit=on, the default) when
// losing it in a crash of the server would break a promise: an event acknowledged, a turn
// whose answer may already be out, a delivery attempt counted or a failure recorded. Two
// kinds of writes need no such wait and commit on a pool with synchronous_commit=off, so
// that they cost no WAL flush of their own (they reach the disk with the next flush, within
// wal_writer_delay): a lease on a conversation, taken or ended (lost, it only lets another
// worker step the conversation, and the turn's compare-and-swap keeps one of them), and a
// delivery's end (lost, the row is claimed again once its lease expires, as an attempt
// that may have delivered: Attempts > Failures, which the channel checks before sending
// again). On this machine a flush costs more than the rest of a turn; a turn then waits
// for one flush instead of three.
//
// # Group commit
//
// The writes of the hot path go through lanes (group.go): goroutines that run together
// what was queued while they were busy. The turns of several workers commit in one
// transaction, sent as one pipelined batch that the server runs as one implicit
// transaction, one round trip in all (a failing turn makes the lane run the batch again,
// each turn in a savepoint of its own, so it is undone alone); the events of several
// webhooks are inserted by one AddEvents statement; the lazy writes (deliveries' ends,
// replying marks, releases) go as one pipelined batch. Nothing waits to gather a batch;
// under load one WAL flush and one round trip cover many. The semantics of each call are
// unchanged: a call returns once its write is committed, with its own outcome.
//
// # Several processes
//
// Inbox: AddEvents is one INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id statement.
// An insert that meets an id another transaction is inserting waits for it and then
// counts as a duplicate, so of concurrent batches holding the same event exactly one
// reports it fresh; duplicates inside a batch are dropped before the statement, the first
// one kept. The batch is inserted in the order of id, so that batches that overlap lock
// ids in one order and cannot deadlock; the arrival order (seq) is drawn in the order of
// the batch before that sort.
//
// Queue: every conversation that has received an event has a row in leases, added by
// AddEvents in the same statement (Purge deletes the rows of conversations gone or idle,
// and the next event adds it again). ClaimConversation is one statement: it walks the
// pending events oldest first, joins their conversation's lease row, and takes the first
// row that is free and not locked (FOR UPDATE OF leases SKIP LOCKED), then sets its owner
// and expiry. A second claimer skips a locked row without waiting, and one that finds the
// row after the first committed re-checks the new expiry (PostgreSQL re-evaluates the
// WHERE clause for a row that changed since its snapshot), so two processes never lease
// one conversation at once. The events are then read with a later snapshot; if another
// worker processed them all in between, the lease is handed back and the claim tried again.
//
// CommitTurn is one transaction, sent as one pipelined batch: the conversation's
// compare-and-swap (UPDATE ... WHERE revision = $n, or INSERT ... ON CONFLICT DO NOTHING
// for a new one; a concurrent writer waits for the row lock and then fails the check),
// marking the event processed (UPDATE ... WHERE processed_at IS NULL), the outbox rows, the
// transcript lines and the archived ticket. Any check that fails rolls it all back: the
// checks fail their statements (giftdesk_expect, schema/0008_expect.sql, raises SQLSTATE
// GD409 or GD404), so the batch needs no BEGIN and no COMMIT of its own. Such a failure,
// rare (a lease that lapsed), leaves an ERROR line in the server's log.
//
// Outbox: ClaimOutgoing is one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
// RETURNING statement choosing the oldest unfinished row of each conversation and
// delivering channel that is due and not leased. Row ids come from an identity column, and
// a conversation's turns commit one after another (its lease and its revision serialize
// them), so ids grow in commit order per conversation and "oldest unfinished" keeps the
// messages in order. FinishOutgoing and RetryOutgoing are compare-and-swaps on the lease
// owner.
//
// Liveness: each process holds a session-level advisory lock for its owner name on a
// connection of its own and is listed in live_owners; the leases of a listed owner whose
// lock is free (its session ended: it died) are taken over at once by the others (see
// live.go), instead of waiting for their expiry.
//
// Threads and tickets: LinkThread uses INSERT ... ON CONFLICT DO NOTHING and then checks
// what is linked, which PostgreSQL makes wait for a concurrent insert of the same ticket or
// address, so exactly one of concurrent links wins. The store avoids unique violations
// rather than catching them, as they abort a transaction and clutter the server's log; one
// that still happens is returned as bot.ErrConflict.
//
// Reports: LinesSince and TicketsSince stream rows to their callback as the server sends
// them, holding one connection (and one snapshot) until they return.
//
// # Text
//
// PostgreSQL's text cannot hold a NUL character or invalid UTF-8, which SQLite stores as
// given. The free text that the store keeps in text columns (names, transcript lines,
// reasons) has those replaced by U+FFFD, so that a customer's message cannot make a turn
// fail forever. JSON values (events, outgoing messages, answers, vars, tickets) are
// encoded by encoding/json, which escapes NUL and replaces invalid UTF-8, and stored as
// json, which keeps them as encoded. Keys and ids are platform ids and are stored as
// given.
//
// # Retention
//
// A processed event is blanked in the transaction that marks it processed, and Purge
// deletes what is past its retention in batches of purgeBatch rows, each its own
// statement, skipping rows another purge is deleting (SKIP LOCKED), so that replicas
// purging at once neither wait for each other nor count a row twice. Unlike SQLite's
// secure_delete, PostgreSQL keeps a blanked or deleted row's old version on disk until
// VACUUM reclaims it (autovacuum does so in time), and in its write-ahead log and backups
// for as long as those are kept.
//
// # Schema
//
// The schema lives in schema/NNNN_name.sql, embedded in the binary. New applies the files
// not yet recorded in the schema_migrations table in order of NNNN, each in its own
// transaction together with its record, holding a transaction-scoped advisory lock on the
// schema (pg_advisory_xact_lock), so that processes starting together apply each file
// exactly once. A file must not contain BEGIN or COMMIT. Files are never edited once
// released; a change is a new file. The tables live in the first schema of the
// connection's search_path, which a URL can set (postgres://…/giftdesk?search_path=bot).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

//go:embed schema/*.sql
var schemaFS embed.FS

// Config configures a Store. A zero field means the default.
type Config struct {
	// URL is the database to connect to, as a postgres:// URL (or any connection string
	// pgx accepts). Parameters pgx does not know are sent to the server as settings, so
	// ?search_path=name selects the schema the store uses. Required.
	URL string
	// Now is the clock for leases, due times and the times the store records itself (when
	// an event arrived, when a row was finished). The default is time.Now.
	Now func() time.Time
	// MaxConns is the most connections the store's main pool opens; its second pool (see
	// Durability) opens half as many. The default is the URL's pool_max_conns, or else 10:
	// a turn, a webhook's events, a delivery's end each hold one while they wait for the
	// server, and with pgxpool's own default (four) the workers, the webhooks and the
	// deliveries queued for connections rather than for the database. A replica then opens
	// at most 15, so that six fit in PostgreSQL's default max_connections (100).
	MaxConns int32
}

// defaultMaxConns is Config.MaxConns's default.
const defaultMaxConns = 10

// Store is a PostgreSQL-backed store. It is safe for concurrent use, and several Stores,
// in one process or many, may share a database.
type Store struct {
	pool *pgxpool.Pool
	// lazy is a pool whose commits do not wait for the WAL flush (synchronous_commit=off),
	// for the writes whose loss in a server crash is harmless.
	lazy *pgxpool.Pool
	now  func() time.Time
	live liveness
	// turns, inbox and stmts are the lanes of group commit (see group.go): CommitTurn's
	// transactions, AddEvents' statements, and the writes on lazy.
	turns *group[txWork]
	inbox *group[*newEvents]
	stmts *group[*stmtWork]
}

var (
	_ bot.ConversationStore = (*Store)(nil)
	_ bot.Inbox             = (*Store)(nil)
	_ bot.Queue             = (*Store)(nil)
	_ bot.Outbox            = (*Store)(nil)
	_ bot.Tickets           = (*Store)(nil)
	_ bot.Threads           = (*Store)(nil)
	_ bot.Purger            = (*Store)(nil)
)

// New connects to the database at cfg.URL and brings its schema up to date. It returns an
// error if the URL is malformed, the server cannot be reached, a migration fails, or the
// database has a migration newer than this program knows, which means a newer giftdesk has
// used it. Errors show the URL without its password. The caller must Close the Store.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres: empty URL")
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: negative MaxConns %d", cfg.MaxConns)
	}
	name := redact(cfg.URL)
	schema, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	migrations, err := row.LoadMigrations(schema)
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %s", name, parseProblem(cfg.URL, err))
	}
	switch {
	case cfg.MaxConns > 0:
		pcfg.MaxConns = cfg.MaxConns
	case !strings.Contains(cfg.URL, "pool_max_conns"):
		pcfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", name, err)
	}
	// Leases on conversations and finished deliveries commit without waiting for the WAL
	// to reach the disk: see "Durability" above.
	lcfg := pcfg.Copy()
	lcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	lcfg.MaxConns = max(2, pcfg.MaxConns/2)
	lazy, err := pgxpool.NewWithConfig(ctx, lcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", name, err)
	}
	s := &Store{pool: pool, lazy: lazy, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.turns = newGroup(func(b []*groupOp[txWork]) bool { return len(b) >= maxTurnBatch },
		func(ctx context.Context, b []*groupOp[txWork]) { runTx(ctx, s.pool, b) })
	s.inbox = newGroup(fullEvents, s.insertEvents)
	s.stmts = newGroup(func(b []*groupOp[*stmtWork]) bool { return len(b) >= maxStmtBatch }, s.runLazy)
	// The pool connects lazily: connect now, so that a wrong URL fails at start-up.
	if err := pool.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres %s: %w", name, err)
	}
	if err := migrate(ctx, pool, migrations); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate postgres %s: %w", name, err)
	}
	return s, nil
}

// parseProblem returns what is wrong with connString, which pgx could not parse, without
// its password. pgx's ParseConfigError quotes the string with the password masked only at
// best, and the errors it wraps may quote it whole (url.Error does): the reason is kept,
// the string dropped, and any password left in the reason masked.
func parseProblem(connString string, err error) string {
	const invalid = "invalid connection string"
	var ue *url.Error
	if errors.As(err, &ue) {
		return invalid + ": " + ue.Err.Error()
	}
	u, uerr := url.Parse(connString)
	msg := err.Error()
	i := strings.LastIndex(msg, "`: ") // after "cannot parse `<string>`: "
	if uerr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || i < 0 {
		return invalid // a key=value string: no telling where its password is
	}
	msg = msg[i+len("`: "):]
	pw, _ := u.User.Password()
	for _, secret := range []string{pw, u.Query().Get("password")} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "xxxxx")
		}
	}
	return invalid + ": " + msg
}

// redact returns the connection string s fit for errors and logs: a URL without its
// password (in the user information or the password parameter), anything else replaced
// by a placeholder, since a key=value string may hold a password anywhere.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "(connection string)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Ping checks that the database answers, for a readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// ProbeWrite writes to the database and commits on the durable pool, changing nothing
// (the newest schema_migrations row is updated to itself), so that a server that cannot
// write (a full disk, a read-only replica) shows as an error.
func (s *Store) ProbeWrite(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `UPDATE schema_migrations SET version = version
		WHERE version = (SELECT max(version) FROM schema_migrations)`)
	if err != nil {
		return fmt.Errorf("probe postgres write: %w", err)
	}
	return nil
}

// Close closes the store's connections, waiting for those in use to be returned. Later
// calls fail.
func (s *Store) Close() error {
	s.turns.close()
	s.inbox.close()
	s.stmts.close()
	s.closeLive()
	s.pool.Close()
	s.lazy.Close()
	return nil
}

// inTx runs f in a transaction and commits it if f returns nil; otherwise it rolls it back
// and returns f's error.
func (s *Store) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	return inTx(ctx, s.pool, f)
}

// ms returns t in UTC, truncated to the millisecond: the precision the store keeps and
// compares, as SQLite's does.
func ms(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}

// utc returns a time read from the database in UTC (pgx returns local time).
func utc(t time.Time) time.Time { return t.UTC() }

// nullTime returns t to the millisecond, or nil (NULL) if t is zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

// clean returns s fit for a text column: NUL characters and invalid UTF-8, which
// PostgreSQL's text cannot hold, replaced by U+FFFD.
func clean(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// translate maps the driver's errors to the bot's: no rows to bot.ErrNotFound, a unique
// violation to bot.ErrConflict. Other errors are returned as they are.
func translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == uniqueViolation {
		return fmt.Errorf("%w: %s", bot.ErrConflict, pe.ConstraintName)
	}
	return err
}

// uniqueViolation is PostgreSQL's SQLSTATE for a unique index violated.
const uniqueViolation = "23505"
