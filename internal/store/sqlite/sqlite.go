// Package sqlite stores the bot's state in a SQLite database file through the pure-Go
// driver modernc.org/sqlite, so giftdesk runs locally, and in small deployments, with no
// outside service.
//
// # Connections
//
// SQLite lets many connections read a database at once but only one write at a time, and a
// writer that finds the lock taken fails with SQLITE_BUSY once busy_timeout runs out. A
// Store therefore keeps two connection pools on the same file:
//
//   - The writer: a *sql.DB limited to one connection. Every write goes through it, so the
//     writes of this process queue inside database/sql, where waiting honours the context,
//     instead of racing for SQLite's lock. Its transactions begin IMMEDIATE, taking the
//     write lock up front, so a transaction that reads and then writes cannot fail midway
//     when it tries to upgrade its lock.
//   - The readers: a pool of several query_only connections. In WAL mode readers neither
//     wait for the writer nor hold it up, and each read sees every write committed before
//     it started.
//
// busy_timeout covers what remains: another process on the same file (a second giftdesk
// while a deploy overlaps, the sqlite3 shell) and WAL checkpoints. The one lock SQLite
// does not wait for, the exclusive lock that switches a new file to WAL, New retries.
// SaveConversation is a single compare-and-swap statement, so it needs no transaction and
// no retry loop.
//
// Every connection of both pools gets its pragmas from the DSN's _pragma parameters
// (busy_timeout, foreign_keys=ON, journal_mode=WAL, synchronous=NORMAL, secure_delete=ON,
// journal_size_limit=0) because database/sql opens connections lazily and replaces them at
// will: a PRAGMA run once with Exec would configure only whichever connection happened to
// run it. synchronous=NORMAL in WAL mode keeps the database consistent after a crash; a
// power loss may lose the last few commits.
//
// # Pipeline
//
// The Store is also the bot's message pipeline (bot.Inbox, bot.Queue, bot.Outbox), so that
// everything a turn changes is committed in one transaction (CommitTurn): the
// conversation's new state, its event marked processed, its outgoing messages, its
// transcript lines and the ticket it closed; none can be had without the others. Webhook
// events go into the inbox table, deduplicated by event id; a worker leases a conversation
// with pending events. That lease is kept in the Store's memory, not in the file (it cost
// two page writes per turn): it keeps the workers of one process from stepping the same
// conversation at once. Processes sharing the file (a deploy that overlaps) do not see each
// other's leases; should two step one conversation, CommitTurn lets only one commit, as it
// requires the conversation's revision unchanged and the event still pending and the
// conversation's oldest pending one. A turn adds an outbox row per bot.Outgoing, for the
// customer and for other channels (a ticket posted to agents in Slack), each with the
// channel that delivers it (via); the row may be leased to the committing process at once
// (bot.Turn.Claim). Deliverers lease outbox rows, the oldest unfinished one of each
// conversation and channel, so that a channel that fails holds up no other; each claim
// counts as an attempt, so that a row whose deliverer keeps dying is given up; only the
// deliverer that claimed a row last may finish or retry it. Outbox leases are rows: claims
// run in one UPDATE ... RETURNING statement, so two processes on the same file cannot
// claim the same row. A process that dies leaves its outbox leases in the file; those of
// an owner that recorded itself alive (Live, which internal/pipeline calls) are taken
// over as soon as its lock file can be locked, that is at once (see live.go): more than
// one process on one file stays supported, each with a lock of its own. Idle polls look on a reader first and take the write lock only when there is
// something to claim. The queries that poll read the pending rows only, through partial
// indexes, so they stay fast however many processed rows accumulate. Leases and due times
// are compared with Config.Now.
//
// # Hand-off and retention
//
// The Store also keeps what the hand-off to agents needs (bot.Tickets, bot.Threads): a
// conversation's open ticket is stored with it as JSON, and its state, creation time and
// Waited flag are copied into columns that a partial index on the waiting tickets covers;
// transcripts are a table of lines; closed tickets go into an archive table, the fields
// that reports select as columns and the whole ticket as JSON; threads link tickets to
// the threads where agents handle them.
//
// A processed event is blanked in the same transaction that marks it processed: the
// customer's text may hold a gift-card code, and only the event id (which drops
// redeliveries) and its times stay. secure_delete overwrites the freed bytes in the
// database file, and journal_size_limit=0 truncates the WAL whenever SQLite starts it over
// after a checkpoint, so that old page images there do not outlive the next checkpoint
// either. Copies outside the database's files (backups, the file system's own) are beyond
// the store's reach. Purge (bot.Purger) deletes what is past its retention in batches of
// purgeBatch rows, each batch its own write, so that a large purge does not keep other
// writers waiting.
//
// The path ":memory:" is a private in-memory database. It lives in one connection, which
// then serves both reads and writes, and disappears on Close; it is for tests and trials.
//
// # Schema
//
// The schema lives in schema/NNNN_name.sql, embedded in the binary. New applies the files
// not yet recorded in the schema_migrations table in order of NNNN, each in its own
// IMMEDIATE transaction together with its record, so processes opening the same file at
// once apply each file exactly once. A file must not contain BEGIN or COMMIT. Files are
// never edited once released; a change is a new file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"time"

	driver "modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// Memory is the Config.Path of a private in-memory database.
const Memory = ":memory:"

//go:embed schema/*.sql
var schemaFS embed.FS

// Config configures a Store. A zero field means the default.
type Config struct {
	// Path is the database file, created if it does not exist, or Memory.
	Path string
	// BusyTimeout is how long a statement waits for a lock held by another process before
	// failing. The default is 5s.
	BusyTimeout time.Duration
	// Now is the clock for leases, due times and the times the store records itself (when
	// an event arrived, when a row was finished). The default is time.Now.
	Now func() time.Time
}

// Store is a SQLite-backed store. It is safe for concurrent use.
type Store struct {
	stmts  stmtCache
	leases leaseTable
	live   liveness
	ckpt   *checkpointer
	w      *writer
	read   *sql.DB // query_only connections; the same as write for Memory
	write  *sql.DB // at most one connection
	now    func() time.Time
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

// New opens the database at cfg.Path, creating it if needed, and brings its schema up to
// date. It returns an error if the file cannot be opened or a migration fails, and if the
// database has a migration newer than this program knows, which means a newer giftdesk
// has used it. The caller must Close the Store.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: empty path (use sqlite.Memory for an in-memory database)")
	}
	busy := cfg.BusyTimeout
	if busy == 0 {
		busy = 5 * time.Second
	}
	if busy < 0 {
		return nil, fmt.Errorf("sqlite: negative busy timeout %s", busy)
	}
	schema, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	migrations, err := row.LoadMigrations(schema)
	if err != nil {
		return nil, err
	}

	s := &Store{now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Path == Memory {
		db, err := sql.Open("sqlite", dsn(cfg.Path, busy, "_txlock", "immediate"))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
		}
		// The connection is the database: never let database/sql close it while idle.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		s.read, s.write = db, db
	} else {
		// database/sql opens connections lazily: a relative path would move with the
		// working directory.
		path, err := filepath.Abs(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
		}
		s.live.dir = liveDir(path)
		// The writer migrates before any reader connects, so readers find the file in WAL
		// mode with its schema complete.
		// The writer never checkpoints: a connection of its own does (see checkpointer).
		s.write, err = sql.Open("sqlite", dsn(path, busy, "_txlock", "immediate", "_pragma", "wal_autocheckpoint(0)"))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
		}
		s.write.SetMaxOpenConns(1)
		s.write.SetMaxIdleConns(1)
		if err := connect(ctx, s.write, busy); err != nil {
			s.write.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
		}

		s.read, err = sql.Open("sqlite", dsn(path, busy, "_query_only", "1"))
		if err != nil {
			s.write.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		s.read.SetMaxOpenConns(n)
		s.read.SetMaxIdleConns(n)
		if err := s.startCheckpointer(path, busy); err != nil {
			s.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
		}
	}

	if err := migrate(ctx, s.write, migrations); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate sqlite %s: %w", cfg.Path, err)
	}
	s.startWriter()
	return s, nil
}

// connect opens db's first connection, retrying for up to timeout while SQLite reports the
// database busy. Switching a new file to WAL takes an exclusive lock that SQLite does not
// wait for under busy_timeout, so processes that open a new file at once can see
// SQLITE_BUSY; once the file is in WAL mode, connections no longer need that lock.
func connect(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout) // real time, as for busy_timeout itself
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var e *driver.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dsn returns the driver's data source name for path: the pragmas every connection needs,
// then the extra key/value pairs.
func dsn(path string, busy time.Duration, extra ...string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if path != Memory {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Add("_pragma", "synchronous(NORMAL)")
	// Processed events may have held gift-card codes: overwrite freed bytes, and drop the
	// WAL's old page images when it starts over (see the package documentation).
	q.Add("_pragma", "secure_delete(1)")
	q.Add("_pragma", "journal_size_limit(0)")
	for i := 0; i+1 < len(extra); i += 2 {
		q.Add(extra[i], extra[i+1])
	}
	if path == Memory {
		return path + "?" + q.Encode()
	}
	// A "file:" URI, with the path escaped, so that a '?' or '#' in a file name is not
	// taken for the start of the parameters. SQLite ignores the driver's _ parameters.
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// Ping checks that a reader and the writer connection answer, for a readiness probe. It
// waits for a write in progress to finish, or for ctx to be done.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	if s.write != s.read {
		if err := s.write.PingContext(ctx); err != nil {
			return fmt.Errorf("ping sqlite writer: %w", err)
		}
	}
	return nil
}

// ProbeWrite writes to the database and commits, changing nothing (the newest
// schema_migrations row is updated to itself), so that a full disk or a read-only file
// shows as an error. It goes through the writer like every other write.
func (s *Store) ProbeWrite(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE schema_migrations SET applied_at = applied_at
			WHERE version = (SELECT max(version) FROM schema_migrations)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("probe sqlite write: %w", err)
	}
	return nil
}

// Close closes the database. Calls in progress finish first; later calls fail.
func (s *Store) Close() error {
	s.closeLive()
	s.stopWriter()
	s.stmts.close()
	errs := []error{s.stopCheckpointer()}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil && s.write != s.read {
		errs = append(errs, s.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}
