package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
	"github.com/giftdesk/giftdesk/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return inspected{openConfig(t, Config{Path: filepath.Join(t.TempDir(), "giftdesk.db"), Now: now})}
	})
}

func TestStoreLive(t *testing.T) {
	storetest.RunLive(t, func(t *testing.T, now func() time.Time) func() storetest.LiveStore {
		path := filepath.Join(t.TempDir(), "giftdesk.db")
		return func() storetest.LiveStore { return inspected{openConfig(t, Config{Path: path, Now: now})} }
	})
}

func TestStoreMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return inspected{openConfig(t, Config{Path: Memory, Now: now})}
	})
}

// inspected is a Store with what the conformance suite needs to see beyond the bot's
// interfaces (storetest.Inspector), read from the tables.
type inspected struct{ *Store }

func (s inspected) EventPayload(ctx context.Context, id string) ([]byte, error) {
	var event sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT event FROM inbox WHERE id = ?`, id).Scan(&event)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return []byte(event.String), nil
}

func (s inspected) OutgoingPayload(ctx context.Context, id int64) ([]byte, error) {
	var payload string
	err := s.read.QueryRowContext(ctx, `SELECT payload FROM outbox WHERE id = ?`, id).Scan(&payload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.ErrNotFound
	}
	return []byte(payload), err
}

func (s inspected) ArchivedTicket(ctx context.Context, id string) (bot.Key, *bot.Ticket, error) {
	var (
		k      bot.Key
		ticket []byte
	)
	err := s.read.QueryRowContext(ctx, `SELECT channel, user_id, ticket FROM tickets WHERE id = ?`, id).Scan(&k.Channel, &k.User, &ticket)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.Key{}, nil, bot.ErrNotFound
	}
	if err != nil {
		return bot.Key{}, nil, err
	}
	t, err := row.DecodeTicket(ticket)
	return k, t, err
}

// open opens a Store at path, closed when the test ends.
func open(tb testing.TB, path string) *Store {
	tb.Helper()
	return openConfig(tb, Config{Path: path})
}

// openConfig opens a Store with cfg, closed when the test ends.
func openConfig(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	s, err := New(tb.Context(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func conversation(k bot.Key) *bot.Conversation {
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	return &bot.Conversation{
		Key: k, Lang: bot.Japanese, Status: bot.StatusActive, Node: "card_type",
		Path:        []string{"start", "card_type"},
		Answers:     []bot.Answer{{Node: "start", Option: "cannot_use", At: at.Add(time.Second)}},
		Vars:        map[string]string{"store": "amazon"},
		FlowVersion: "1", CreatedAt: at, UpdatedAt: at.Add(time.Second),
	}
}

// TestReopen checks that a conversation outlives the process, as when the terminal chat is
// restarted in the middle of a diagnosis.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	k := bot.Key{Channel: "term", User: "local"}

	s, err := New(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveConversation(ctx, conversation(k)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	c, err := s.Conversation(ctx, k)
	if err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if c.Revision != 1 || c.Node != "card_type" || len(c.Path) != 2 || c.Vars["store"] != "amazon" {
		t.Errorf("after reopening: %+v", c)
	}
	c.Node = "ask_code"
	if err := s.SaveConversation(ctx, c); err != nil {
		t.Fatalf("save after reopening: %v", err)
	}
	if c.Revision != 2 {
		t.Errorf("Revision = %d, want 2", c.Revision)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	for i := range 3 {
		s := open(t, path)
		if got, want := appliedVersions(t, s), schemaVersions(t); got != want {
			t.Errorf("open %d: applied versions %s, want %s", i+1, got, want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentOpen opens one new file from many goroutines at once, as processes
// starting together would: each migration must be applied once and every open succeed.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	const n = 8
	stores := make([]*Store, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := New(t.Context(), Config{Path: path})
			if err != nil {
				t.Errorf("open %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		return
	}
	if got, want := appliedVersions(t, stores[0]), schemaVersions(t); got != want {
		t.Errorf("applied versions %s, want %s", got, want)
	}
}

func TestMigrate(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantErr string   // empty for success
		tables  []string // tables with one column afterwards
		absent  []string // tables that must not exist afterwards
	}{
		{
			name: "in order",
			files: fstest.MapFS{
				"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER REFERENCES a (x));`)},
				"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER PRIMARY KEY); INSERT INTO a VALUES (1);`)},
				"README":     {Data: []byte(`not a migration`)},
			},
			tables: []string{"a", "b"},
		},
		{
			name: "failure rolls back the file",
			files: fstest.MapFS{
				"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
				"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER); CREATE TABLE a (y INTEGER);`)},
			},
			wantErr: "apply 0002_b.sql",
			tables:  []string{"a"},
			absent:  []string{"b"},
		},
		{
			name:    "bad name",
			files:   fstest.MapFS{"a.sql": {Data: []byte(`SELECT 1;`)}},
			wantErr: "a.sql",
		},
		{
			name: "duplicate version",
			files: fstest.MapFS{
				"0001_a.sql": {Data: []byte(`SELECT 1;`)},
				"1_b.sql":    {Data: []byte(`SELECT 1;`)},
			},
			wantErr: "1_b.sql",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "test.db"), time.Second, "_txlock", "immediate"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ms, err := row.LoadMigrations(tt.files)
			if err == nil {
				err = migrate(t.Context(), db, ms)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("migrate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("migrate: err = %v, want one mentioning %q", err, tt.wantErr)
			}
			for _, name := range tt.tables {
				var n int
				if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info(?)`, name).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 1 {
					t.Errorf("table %s has %d columns, want 1", name, n)
				}
			}
			for _, name := range tt.absent {
				var n int
				if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = ?`, name).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("table %s exists after its migration failed", name)
				}
			}
			if tt.wantErr != "" {
				return
			}
			// Again: nothing to do.
			if err := migrate(t.Context(), db, ms); err != nil {
				t.Errorf("second migrate: %v", err)
			}
		})
	}
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	s := open(t, path)
	if _, err := s.write.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err := New(t.Context(), Config{Path: path})
	if err == nil {
		s.Close()
		t.Fatal("New opened a database with a newer schema")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("err = %v, want one naming version 9999", err)
	}
}

// TestPragmas checks that every pooled connection, not just the first, is configured.
func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "giftdesk.db"))
	ctx := t.Context()

	want := map[string]string{
		"journal_mode":       "wal",
		"busy_timeout":       "5000",
		"foreign_keys":       "1",
		"synchronous":        "1", // NORMAL
		"secure_delete":      "1",
		"journal_size_limit": "0",
	}
	check := func(t *testing.T, conn interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}, wantQueryOnly string) {
		t.Helper()
		for name, want := range want {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s = %s, want %s", name, got, want)
			}
		}
		var got string
		if err := conn.QueryRowContext(ctx, "PRAGMA query_only").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != wantQueryOnly {
			t.Errorf("query_only = %s, want %s", got, wantQueryOnly)
		}
	}

	t.Run("writer", func(t *testing.T) { check(t, s.write, "0") })
	t.Run("readers", func(t *testing.T) {
		// Hold several connections at once so that the pool has to open new ones.
		var conns []*sql.Conn
		for range 3 {
			c, err := s.read.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			t.Run(fmt.Sprint(i), func(t *testing.T) { check(t, c, "1") })
			c.Close()
		}
	})
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "empty path", cfg: Config{}, want: "empty path"},
		{name: "negative busy timeout", cfg: Config{Path: Memory, BusyTimeout: -time.Second}, want: "busy timeout"},
		{name: "missing directory", cfg: Config{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "db")}, want: "sqlite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(t.Context(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestPing(t *testing.T) {
	for _, path := range []string{Memory, filepath.Join(t.TempDir(), "giftdesk.db")} {
		s := open(t, path)
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping %s: %v", path, err)
		}
		s.Close()
		if err := s.Ping(t.Context()); err == nil {
			t.Errorf("Ping %s after Close succeeded", path)
		}
	}
}

// TestPathNeedsEscaping checks that a file name is not read as DSN parameters.
func TestPathNeedsEscaping(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gift desk?mode=ro#100%.db")
	s := open(t, path)
	if err := s.SaveConversation(t.Context(), conversation(bot.Key{Channel: "term", User: "local"})); err != nil {
		t.Fatal(err)
	}
	matches, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 1 || matches[0] != path {
		t.Errorf("database files %q, want [%q]", matches, path)
	}
}

func appliedVersions(t *testing.T, s *Store) string {
	t.Helper()
	var got string
	err := s.read.QueryRowContext(t.Context(), `SELECT coalesce(group_concat(version, ','), '') FROM (SELECT version FROM schema_migrations ORDER BY version)`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func schemaVersions(t *testing.T) string {
	t.Helper()
	sub, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := row.LoadMigrations(sub)
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, m := range ms {
		vs = append(vs, fmt.Sprint(m.Version))
	}
	return strings.Join(vs, ",")
}

// TestProbeWrite: the write probe fails while the database cannot be written, and
// succeeds again after.
func TestProbeWrite(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "giftdesk.db"))
	ctx := t.Context()
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe on a healthy database: %v", err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA query_only = ON`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping while read-only: %v (the probe is what tells)", err)
	}
	if err := s.ProbeWrite(ctx); err == nil {
		t.Fatal("probe on a read-only database succeeded")
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA query_only = OFF`); err != nil {
		t.Fatal(err)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe after writes work again: %v", err)
	}
}

// TestMigrateProfileChecked checks migration 0005 on conversations saved before it: a
// name of "-" (asked, not told) becomes an empty name that was checked, a name one that
// was checked, and no name one that was not.
func TestMigrateProfileChecked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	db, err := sql.Open("sqlite", dsn(path, time.Second, "_txlock", "immediate"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		t.Fatal(err)
	}
	all, err := row.LoadMigrations(schema)
	if err != nil {
		t.Fatal(err)
	}
	var before []row.Migration
	for _, m := range all {
		if m.Version < 5 {
			before = append(before, m)
		}
	}
	if err := migrate(t.Context(), db, before); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"-", "山田", ""} {
		if _, err := db.Exec(`INSERT INTO conversations (channel, user_id, name, lang, status, node, flow_version, revision, created_at, updated_at)
			VALUES ('line', ?, ?, 'ja', 'active', 'start', '1', 1, 0, 0)`, "U"+name, name); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := open(t, path)
	tests := []struct {
		name, user, wantName string
		wantChecked          bool
	}{
		{name: "asked, not told", user: "U-", wantName: "", wantChecked: true},
		{name: "told", user: "U山田", wantName: "山田", wantChecked: true},
		{name: "not asked", user: "U", wantName: "", wantChecked: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.Conversation(t.Context(), bot.Key{Channel: "line", User: tt.user})
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tt.wantName || c.ProfileChecked != tt.wantChecked {
				t.Errorf("Name, ProfileChecked = %q, %v; want %q, %v", c.Name, c.ProfileChecked, tt.wantName, tt.wantChecked)
			}
		})
	}
}
