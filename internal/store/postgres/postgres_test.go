package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/store/row"
	"github.com/giftdesk/giftdesk/internal/store/storetest"
)

// envURL names the environment variable with the server the tests use. Each test works in
// a schema of its own, created for it and dropped after it, so tests run in parallel and
// leave nothing behind; the database must exist and the user may create schemas.
const envURL = "GIFTDESK_TEST_POSTGRES"

// serverURL returns the test server's URL, or skips the test if there is none.
func serverURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		tb.Skipf("no PostgreSQL server: set %s to run these tests, for example\n\t%s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./internal/store/postgres/",
			envURL, envURL)
	}
	return u
}

// newSchema creates an empty schema on the test server, dropped when the test ends, and
// returns the server's URL with search_path set to it (pgx sends parameters it does not
// know to the server as run-time settings, RuntimeParams).
func newSchema(tb testing.TB) string {
	tb.Helper()
	base := serverURL(tb)
	b := make([]byte, 8)
	rand.Read(b)
	name := "giftdesk_test_" + hex.EncodeToString(b)
	admin(tb, base, "CREATE SCHEMA "+name)
	tb.Cleanup(func() { admin(tb, base, "DROP SCHEMA "+name+" CASCADE") })

	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s is not a URL: %v", envURL, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs stmt on a connection of its own. It does not use the test's context, which is
// done when cleanups run.
func admin(tb testing.TB, url, stmt string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		tb.Fatalf("%s: %v", stmt, err)
	}
}

// open opens a Store on a new schema, closed when the test ends.
func open(tb testing.TB, now func() time.Time) *Store {
	tb.Helper()
	return openURL(tb, newSchema(tb), now)
}

// openURL opens a Store at url, closed when the test ends.
func openURL(tb testing.TB, url string, now func() time.Time) *Store {
	tb.Helper()
	s, err := New(tb.Context(), Config{URL: url, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	serverURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return inspected{open(t, now)}
	})
}

func TestStoreLive(t *testing.T) {
	serverURL(t)
	t.Parallel()
	storetest.RunLive(t, func(t *testing.T, now func() time.Time) func() storetest.LiveStore {
		url := newSchema(t)
		return func() storetest.LiveStore { return inspected{openURL(t, url, now)} }
	})
}

// inspected is a Store with what the conformance suite needs to see beyond the bot's
// interfaces (storetest.Inspector), read from the tables.
type inspected struct{ *Store }

func (s inspected) EventPayload(ctx context.Context, id string) ([]byte, error) {
	var event []byte
	err := s.pool.QueryRow(ctx, `SELECT event FROM inbox WHERE id = $1`, id).Scan(&event)
	if err != nil {
		return nil, translate(err)
	}
	return event, nil
}

func (s inspected) OutgoingPayload(ctx context.Context, id int64) ([]byte, error) {
	var payload []byte
	err := s.pool.QueryRow(ctx, `SELECT payload FROM outbox WHERE id = $1`, id).Scan(&payload)
	if err != nil {
		return nil, translate(err)
	}
	return payload, nil
}

func (s inspected) ArchivedTicket(ctx context.Context, id string) (bot.Key, *bot.Ticket, error) {
	var (
		k      bot.Key
		ticket []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT channel, user_id, ticket FROM tickets WHERE id = $1`, id).Scan(&k.Channel, &k.User, &ticket)
	if err != nil {
		return bot.Key{}, nil, translate(err)
	}
	t, err := row.DecodeTicket(ticket)
	return k, t, err
}

// TestConcurrentOpen opens stores on one new schema from several goroutines at once, as
// replicas starting together would: each must succeed, and each migration be applied once
// (a second application of a file would fail, its tables existing already).
func TestConcurrentOpen(t *testing.T) {
	url := newSchema(t)
	t.Parallel()
	const n = 4
	stores := make([]*Store, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := New(t.Context(), Config{URL: url})
			if err != nil {
				t.Errorf("open %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	close(start)
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		return
	}
	if got, want := appliedVersions(t, stores[0].pool), schemaVersions(t); got != want {
		t.Errorf("applied versions %s, want %s", got, want)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	url := newSchema(t)
	t.Parallel()
	for i := range 3 {
		s, err := New(t.Context(), Config{URL: url})
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		if got, want := appliedVersions(t, s.pool), schemaVersions(t); got != want {
			t.Errorf("open %d: applied versions %s, want %s", i+1, got, want)
		}
		s.Close()
	}
}

func TestMigrate(t *testing.T) {
	serverURL(t)
	t.Parallel()
	// A migration that counts how often it runs; it would succeed twice.
	counting := fstest.MapFS{
		"0001_count.sql": {Data: []byte(`CREATE TABLE IF NOT EXISTS runs (n integer); INSERT INTO runs VALUES (1);`)},
	}
	tests := []struct {
		name       string
		files      fstest.MapFS
		concurrent int      // how many migrate at once; 1 if zero
		wantErr    string   // empty for success
		tables     []string // tables with one column afterwards
		absent     []string // tables that must not exist afterwards
		runs       int      // rows in runs afterwards, if the table exists
	}{
		{
			name: "in order",
			files: fstest.MapFS{
				"0002_b.sql": {Data: []byte(`CREATE TABLE b (x integer REFERENCES a (x));`)},
				"0001_a.sql": {Data: []byte(`CREATE TABLE a (x integer PRIMARY KEY); INSERT INTO a VALUES (1);`)},
				"README":     {Data: []byte(`not a migration`)},
			},
			tables: []string{"a", "b"},
		},
		{
			name: "failure rolls back the file",
			files: fstest.MapFS{
				"0001_a.sql": {Data: []byte(`CREATE TABLE a (x integer);`)},
				"0002_b.sql": {Data: []byte(`CREATE TABLE b (x integer); CREATE TABLE a (y integer);`)},
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
		{name: "once", files: counting, runs: 1},
		{name: "once when concurrent", files: counting, concurrent: 4, runs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := newSchema(t)
			ms, err := row.LoadMigrations(tt.files)
			if err == nil {
				err = migrateConcurrently(t, url, ms, max(tt.concurrent, 1))
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("migrate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("migrate: err = %v, want one mentioning %q", err, tt.wantErr)
			}
			pool := newPool(t, url)
			for _, name := range tt.tables {
				var n int
				err := pool.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.columns
					WHERE table_schema = current_schema() AND table_name = $1`, name).Scan(&n)
				if err != nil {
					t.Fatal(err)
				}
				if n != 1 {
					t.Errorf("table %s has %d columns, want 1", name, n)
				}
			}
			for _, name := range tt.absent {
				var exists bool
				if err := pool.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
					t.Fatal(err)
				}
				if exists {
					t.Errorf("table %s exists after its migration failed", name)
				}
			}
			if tt.runs > 0 {
				var n int
				if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM runs`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != tt.runs {
					t.Errorf("migration ran %d times, want %d", n, tt.runs)
				}
			}
			if tt.wantErr != "" {
				return
			}
			// Again: nothing to do.
			if err := migrate(t.Context(), pool, ms); err != nil {
				t.Errorf("second migrate: %v", err)
			}
		})
	}
}

// migrateConcurrently runs migrate with ms from n pools at once and returns the first
// error.
func migrateConcurrently(t *testing.T, url string, ms []row.Migration, n int) error {
	t.Helper()
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = newPool(t, url)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, pool := range pools {
		wg.Go(func() {
			<-start
			errs[i] = migrate(t.Context(), pool, ms)
		})
	}
	close(start)
	wg.Wait()
	return errors.Join(errs...)
}

// newPool returns a pool of connections to url, closed when the test ends.
func newPool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func TestNewerSchema(t *testing.T) {
	url := newSchema(t)
	t.Parallel()
	s := openURL(t, url, nil)
	if _, err := s.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err := New(t.Context(), Config{URL: url})
	if err == nil {
		s.Close()
		t.Fatal("New opened a database with a newer schema")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("err = %v, want one naming version 9999", err)
	}
}

// TestNewErrors checks that New fails with a useful error, which never shows the
// password.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	const password = "s3cr3t-pw"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "empty URL", cfg: Config{}, want: "empty URL"},
		{name: "negative MaxConns", cfg: Config{URL: "postgres://localhost/test", MaxConns: -1}, want: "MaxConns"},
		{name: "bad sslmode", cfg: Config{URL: "postgres://giftdesk:" + password + "@localhost/test?sslmode=bogus"}, want: "postgres://giftdesk:xxxxx@localhost/test?sslmode=bogus: invalid connection string: failed to configure TLS (sslmode is invalid)"},
		{name: "not a URL", cfg: Config{URL: "postgres://giftdesk:" + password + "@localhost:port/test"}, want: "(connection string)"},
		{name: "bad setting", cfg: Config{URL: "postgres://giftdesk:" + password + "@localhost/test?connect_timeout=soon"}, want: "invalid connect_timeout"},
		{name: "password parameter", cfg: Config{URL: "postgres://localhost/test?connect_timeout=soon&password=" + password}, want: "password=xxxxx"},
		{name: "key=value", cfg: Config{URL: "host=localhost password=" + password + " connect_timeout=soon"}, want: "open postgres (connection string): invalid connection string"},
		// Nothing listens on port 1.
		{name: "unreachable", cfg: Config{URL: "postgres://giftdesk:" + password + "@127.0.0.1:1/test?connect_timeout=5"}, want: "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(t.Context(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			t.Logf("err = %v", err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("err = %v shows the password", err)
			}
		})
	}
}

func TestPing(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	s.Close()
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping after Close succeeded")
	}
}

// TestProbeWrite: the write probe fails while the database refuses writes (here a trigger
// on the table it updates) though pings succeed, and succeeds again after.
func TestProbeWrite(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	ctx := t.Context()
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe on a healthy database: %v", err)
	}
	if _, err := s.pool.Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
		CREATE TRIGGER refuse BEFORE UPDATE ON schema_migrations FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := s.ProbeWrite(ctx); err == nil {
		t.Fatal("probe succeeded while writes fail")
	}
	if _, err := s.pool.Exec(ctx, `DROP TRIGGER refuse ON schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe after writes work again: %v", err)
	}
}

// TestTwoStores runs workers on two stores sharing one schema, as two replicas: while
// events keep arriving, each claims conversations, checks that no other worker holds the
// one it got, commits a turn per event and releases it. Every event must be committed
// exactly once, and no conversation be held by two workers at once.
func TestTwoStores(t *testing.T) {
	url := newSchema(t)
	t.Parallel()
	const (
		workersPerStore = 4
		conversations   = 12
		eventsPerConv   = 8
		lease           = time.Minute
	)
	stores := []*Store{openURL(t, url, nil), openURL(t, url, nil)}
	ctx := t.Context()

	var (
		mu        sync.Mutex
		holder    = make(map[bot.Key]string) // who holds a conversation now
		committed = make(map[string]int)     // commits per event
		added     = make(chan struct{})      // closed once every event is stored
		commits   int                        // turns committed so far
		changed   = make(chan struct{})      // closed and replaced when there may be work
		wg        sync.WaitGroup
	)
	// mayHaveWork wakes the workers waiting for work: events were added or a conversation
	// released.
	mayHaveWork := func() {
		mu.Lock()
		defer mu.Unlock()
		close(changed)
		changed = make(chan struct{})
	}
	// Events arrive while the workers run, from both stores, in waves: each after the
	// workers committed a turn since the one before.
	wg.Go(func() {
		defer close(added)
		at := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
		for e := range eventsPerConv {
			var evs []bot.Event
			for c := range conversations {
				k := bot.Key{Channel: "line", User: fmt.Sprintf("U%02d", c)}
				evs = append(evs, bot.Event{ID: fmt.Sprintf("%s-e%d", k.User, e), Key: k,
					In: bot.Inbound{Kind: bot.InText, Text: "hello"}, At: at.Add(time.Duration(e) * time.Second)})
			}
			mu.Lock()
			before := commits
			mu.Unlock()
			if _, err := stores[e%2].AddEvents(ctx, evs); err != nil {
				t.Errorf("AddEvents: %v", err)
				return
			}
			mayHaveWork()
			wait, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := settle.Until(wait, func() (bool, error) {
				mu.Lock()
				defer mu.Unlock()
				return commits > before, nil
			})
			cancel()
			if err != nil {
				t.Errorf("no turn committed after wave %d: %v", e, err)
				return
			}
		}
	})
	for i := range 2 * workersPerStore {
		s, owner := stores[i%2], fmt.Sprintf("store%d-worker%d", i%2, i)
		wg.Go(func() {
			done := false
			for {
				select {
				case <-added:
					done = true
				default:
				}
				mu.Lock()
				wake := changed
				mu.Unlock()
				k, evs, err := s.ClaimConversation(ctx, owner, lease)
				if errors.Is(err, bot.ErrNotFound) {
					// Once every event is stored, a worker that finds nothing is done: the
					// workers holding conversations look again after releasing them.
					if done {
						return
					}
					select {
					case <-wake:
					case <-added:
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: ClaimConversation: %v", owner, err)
					return
				}
				mu.Lock()
				if other, ok := holder[k]; ok {
					t.Errorf("%s claimed %s while %s held it", owner, k, other)
				}
				holder[k] = owner
				mu.Unlock()
				for _, ev := range evs {
					c, err := s.Conversation(ctx, k)
					if errors.Is(err, bot.ErrNotFound) {
						c = &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start", Vars: map[string]string{}}
					} else if err != nil {
						t.Errorf("%s: Conversation: %v", owner, err)
						return
					}
					c.Path = append(c.Path, ev.ID)
					out := &bot.Outgoing{Key: k, EventID: ev.ID, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hi"}}}
					if err := s.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out}}); err != nil {
						t.Errorf("%s: CommitTurn %s: %v", owner, ev.ID, err)
						return
					}
					mu.Lock()
					committed[ev.ID]++
					commits++
					mu.Unlock()
				}
				mu.Lock()
				delete(holder, k)
				mu.Unlock()
				if err := s.ReleaseConversation(ctx, k, owner); err != nil {
					t.Errorf("%s: ReleaseConversation: %v", owner, err)
					return
				}
				mayHaveWork()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for c := range conversations {
		k := bot.Key{Channel: "line", User: fmt.Sprintf("U%02d", c)}
		for e := range eventsPerConv {
			if id := fmt.Sprintf("%s-e%d", k.User, e); committed[id] != 1 {
				t.Errorf("event %s committed %d times, want once", id, committed[id])
			}
		}
		// Each conversation's turns were committed in the order of its events.
		conv, err := stores[0].Conversation(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		for e, id := range conv.Path {
			if want := fmt.Sprintf("%s-e%d", k.User, e); id != want {
				t.Errorf("conversation %s: step %d was %s, want %s", k, e, id, want)
				break
			}
		}
	}
}

// TestArrivalOrder checks that events of the same millisecond come in the order they
// arrived within a batch, although AddEvents inserts a batch in the order of id.
func TestArrivalOrder(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	k := bot.Key{Channel: "line", User: "U1"}
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	ids := []string{"e-z", "e-m", "e-a", "e-q"} // not in the order of id
	var evs []bot.Event
	for _, id := range ids {
		evs = append(evs, bot.Event{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText}, At: at})
	}
	if _, err := s.AddEvents(t.Context(), evs[:3]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvents(t.Context(), evs[3:]); err != nil {
		t.Fatal(err)
	}
	_, got, err := s.ClaimConversation(t.Context(), "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, ev := range got {
		gotIDs = append(gotIDs, ev.ID)
	}
	if g, w := strings.Join(gotIDs, ","), strings.Join(ids, ","); g != w {
		t.Errorf("claimed events %s, want %s", g, w)
	}
}

// TestOverlappingBatches stores large batches sharing their events, each in another order,
// at once, as when webhooks are redelivered while the first delivery is being stored.
// Inserting in the order the batches come would make them wait for each other in a
// cycle, which PostgreSQL breaks by failing one with "deadlock detected".
func TestOverlappingBatches(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	const (
		goroutines = 6
		events     = 300
		rounds     = 3
	)
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	for r := range rounds {
		var evs []bot.Event
		for i := range events {
			k := bot.Key{Channel: "line", User: fmt.Sprintf("U%d", i%7)}
			evs = append(evs, bot.Event{ID: fmt.Sprintf("r%d-e%03d", r, i), Key: k, In: bot.Inbound{Kind: bot.InText}, At: at})
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			fresh = make(map[string]int)
			start = make(chan struct{})
		)
		for g := range goroutines {
			mine := slices.Clone(evs)
			mrand.New(mrand.NewPCG(uint64(r), uint64(g))).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			wg.Go(func() {
				<-start
				got, err := s.AddEvents(t.Context(), mine)
				if err != nil {
					t.Errorf("round %d, goroutine %d: AddEvents: %v", r, g, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for i, f := range got {
					if f {
						fresh[mine[i].ID]++
					}
				}
			})
		}
		close(start)
		wg.Wait()
		for _, ev := range evs {
			if n := fresh[ev.ID]; n != 1 {
				t.Fatalf("round %d: event %s reported fresh %d times, want once", r, ev.ID, n)
			}
		}
	}
}

// TestText checks that text PostgreSQL cannot store (NUL, invalid UTF-8) coming from
// customers does not make a write fail, so that no conversation gets stuck on it.
func TestText(t *testing.T) {
	s := inspected{open(t, nil)}
	t.Parallel()
	ctx := t.Context()
	const bad = "nul\x00 and \xff invalid"
	const want = "nul\uFFFD and \uFFFD invalid"
	k := bot.Key{Channel: "line", User: "U1"}
	ev := bot.Event{ID: "line:e1", Key: k, In: bot.Inbound{Kind: bot.InText, Text: bad}, At: time.Now()}
	if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
		t.Fatalf("AddEvents: %v", err)
	}
	_, evs, err := s.ClaimConversation(ctx, "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := evs[0].In.Text; got != "nul\x00 and \uFFFD invalid" { // JSON keeps NUL
		t.Errorf("event text = %q", got)
	}
	c := &bot.Conversation{Key: k, Name: bad, Status: bot.StatusActive, Node: "start"}
	tn := &bot.Turn{Conversation: c, EventID: ev.ID,
		Out:        []*bot.Outgoing{{Key: k, Messages: []bot.Message{{Kind: bot.MsgText, Text: bad}}}},
		Transcript: []bot.Line{{At: ev.At, Role: bot.RoleCustomer, Name: bad, Text: bad}},
		Closed:     &bot.Ticket{ID: "T1", State: bot.TicketClosed, Reason: bad, AgentName: bad}}
	if err := s.CommitTurn(ctx, tn); err != nil {
		t.Fatalf("CommitTurn: %v", err)
	}
	lines, err := s.Transcript(ctx, k, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Text != want || lines[0].Name != want {
		t.Errorf("transcript = %+v, want text and name %q", lines, want)
	}
	got, err := s.Conversation(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != want {
		t.Errorf("Name = %q, want %q", got.Name, want)
	}
	if _, tk, err := s.ArchivedTicket(ctx, "T1"); err != nil || tk.Reason != "nul\x00 and \uFFFD invalid" {
		t.Errorf("archived ticket = %+v, %v", tk, err)
	}
	if err := s.AddDeadLetter(ctx, bot.DeadLetter{Channel: "line", Reason: bad, Body: []byte(bad)}); err != nil {
		t.Errorf("AddDeadLetter: %v", err)
	}
}

// TestDeadLetters checks what AddDeadLetter stores, which the conformance suite cannot see.
func TestDeadLetters(t *testing.T) {
	now := time.Date(2025, time.April, 2, 10, 0, 0, 0, time.UTC)
	s := open(t, func() time.Time { return now })
	t.Parallel()
	letters := []bot.DeadLetter{
		{Channel: "line", Reason: "event 0: no source", Body: []byte{'{', 0, 0xff, '}'}, At: now.Add(-time.Minute)},
		{Channel: "slack", Reason: "empty"}, // nil body, zero time
	}
	for _, d := range letters {
		if err := s.AddDeadLetter(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.pool.Query(t.Context(), `SELECT channel, reason, body, at FROM dead_letters ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bot.DeadLetter, error) {
		var d bot.DeadLetter
		err := row.Scan(&d.Channel, &d.Reason, &d.Body, &d.At)
		return d, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(letters) {
		t.Fatalf("%d dead letters stored, want %d", len(got), len(letters))
	}
	for i, want := range letters {
		if want.At.IsZero() {
			want.At = now
		}
		if want.Body == nil {
			want.Body = []byte{}
		}
		g := got[i]
		if g.Channel != want.Channel || g.Reason != want.Reason || string(g.Body) != string(want.Body) || !g.At.Equal(want.At) {
			t.Errorf("dead letter %d = %q %q %q at %s, want %q %q %q at %s",
				i, g.Channel, g.Reason, g.Body, g.At, want.Channel, want.Reason, want.Body, want.At)
		}
	}
}

// TestPipelineTimes checks the times the store records from its clock.
func TestPipelineTimes(t *testing.T) {
	now := time.Date(2025, time.April, 2, 10, 0, 0, 0, time.UTC)
	s := open(t, func() time.Time { return now })
	t.Parallel()
	ctx := t.Context()
	k := bot.Key{Channel: "line", User: "U1"}
	ev := bot.Event{ID: "line:e1", Key: k, In: bot.Inbound{Kind: bot.InText, Text: "hi"}, At: now.Add(-time.Second)}
	if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	c := &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}
	out := &bot.Outgoing{Key: k, EventID: ev.ID, EventAt: ev.At, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hello"}}}
	if err := s.CommitTurn(ctx, &bot.Turn{Conversation: c, EventID: ev.ID, Out: []*bot.Outgoing{out}}); err != nil {
		t.Fatal(err)
	}
	if !out.CreatedAt.Equal(now) {
		t.Errorf("out.CreatedAt = %s, want now, %s", out.CreatedAt, now)
	}
	if _, err := s.ClaimOutgoing(ctx, "d1", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if err := s.FinishOutgoing(ctx, out.ID, "d1", "reply"); err != nil {
		t.Fatal(err)
	}

	var at, received, processed, created, finished time.Time
	var outcome string
	err := s.pool.QueryRow(ctx, `SELECT i.at, i.received_at, i.processed_at, o.created_at, o.finished_at, o.outcome
		FROM inbox AS i JOIN outbox AS o ON o.event_id = i.id`).Scan(&at, &received, &processed, &created, &finished, &outcome)
	if err != nil {
		t.Fatal(err)
	}
	start := now.Add(-2 * time.Second)
	got := []time.Time{at, received, processed, created, finished}
	want := []time.Time{start.Add(-time.Second), start, start.Add(time.Second), start.Add(time.Second), start.Add(2 * time.Second)}
	for i := range got {
		if !got[i].Equal(want[i]) {
			t.Errorf("at, received_at, processed_at, created_at, finished_at = %v, want %v", got, want)
			break
		}
	}
	if outcome != "reply" {
		t.Errorf("outcome = %q, want reply", outcome)
	}
}

// TestPurgeBatches checks that Purge deletes tables larger than a batch whole, and only
// the old rows.
func TestPurgeBatches(t *testing.T) {
	s := open(t, nil)
	t.Parallel()
	ctx := t.Context()
	const n = 2*purgeBatch + 1
	fillBacklog(t, s, n) // rows at times 1 to n ms, processed and finished at 2 to n+1
	if _, err := s.pool.Exec(ctx, `INSERT INTO threads (ticket_id, address, channel, user_id)
		SELECT id, 'C0/' || id, channel, user_id FROM tickets`); err != nil {
		t.Fatal(err)
	}
	count := func() (total int) {
		t.Helper()
		for _, table := range []string{"inbox", "outbox", "transcripts", "tickets", "threads", "conversations"} {
			var c int
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&c); err != nil {
				t.Fatal(err)
			}
			total += c
		}
		return total
	}
	before := count()

	// Rows at times below n+1: all transcript lines, tickets and threads, all inbox and
	// outbox rows but the last (processed and finished at n+1).
	got, err := s.Purge(ctx, time.UnixMilli(n+1))
	if err != nil {
		t.Fatal(err)
	}
	if want := 5*n - 2; got != want {
		t.Errorf("Purge = %d, want %d", got, want)
	}
	if after := count(); after != before-got {
		t.Errorf("%d rows left of %d after purging %d", after, before, got)
	}
	if got, err := s.Purge(ctx, time.UnixMilli(n+2)); err != nil || got != 2 {
		t.Errorf("second Purge = %d, %v; want 2", got, err)
	}
	if left := count(); left != n { // the conversations
		t.Errorf("%d rows left, want the %d conversations", left, n)
	}
}

// fillBacklog adds n processed inbox events, n delivered outbox rows, n transcript lines,
// n waiting tickets whose customers were told, and n archived tickets, over 1000
// conversations, all at times 1 to n milliseconds after the epoch.
func fillBacklog(tb testing.TB, s *Store, n int) {
	tb.Helper()
	if n == 0 {
		return
	}
	const (
		fill = `INSERT INTO %s SELECT %s FROM generate_series(1, $1) AS i`
		at   = `to_timestamp(i / 1000.0)`
		at1  = `to_timestamp((i + 1) / 1000.0)`
	)
	stmts := []string{
		fmt.Sprintf(fill, "inbox (id, channel, user_id, event, at, received_at, processed_at)",
			"'old:' || i, 'line', 'U' || (i % 1000), NULL, "+at+", "+at+", "+at1),
		fmt.Sprintf(fill, "outbox (channel, user_id, via, event_id, seq, payload, created_at, next_attempt_at, finished_at, outcome)",
			"'line', 'U' || (i % 1000), 'line', 'old:' || i, 0, '{}', "+at+", "+at+", "+at1+", 'reply'"),
		fmt.Sprintf(fill, "transcripts (channel, user_id, at, role, text)",
			"'line', 'U' || (i % 1000), "+at+", 'bot', 'hello'"),
		fmt.Sprintf(fill, "conversations (channel, user_id, lang, status, node, ticket, ticket_state, ticket_since, ticket_waited, flow_version, revision, created_at, updated_at)",
			"'old', 'U' || i, 'ja', 'handoff', 'handoff', '{}', 'waiting', "+at+", true, '1', 1, "+at+", "+at),
		fmt.Sprintf(fill, "tickets (id, channel, user_id, state, created_at, closed_at, ticket)",
			"'T' || i, 'line', 'U' || (i % 1000), 'closed', "+at+", "+at+", '{}'"),
		`INSERT INTO leases (channel, user_id) SELECT DISTINCT channel, user_id FROM inbox ON CONFLICT DO NOTHING`,
		`ANALYZE`,
	}
	for _, q := range stmts {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, n)
		}
		if _, err := s.pool.Exec(tb.Context(), q, args...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

func appliedVersions(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var got string
	err := pool.QueryRow(t.Context(), `SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '') FROM schema_migrations`).Scan(&got)
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

// TestUnstorableEvents checks that events PostgreSQL cannot hold (a NUL or invalid UTF-8
// in an id or key, a time JSON cannot encode) become dead letters, without their text,
// and that the rest of the batch is stored.
func TestUnstorableEvents(t *testing.T) {
	now := time.Date(2025, time.April, 2, 10, 0, 0, 0, time.UTC)
	s := open(t, func() time.Time { return now })
	t.Parallel()
	ctx := t.Context()
	ev := func(id, user string, at time.Time) bot.Event {
		return bot.Event{ID: id, Key: bot.Key{Channel: "line", User: user}, At: at,
			In: bot.Inbound{Kind: bot.InText, Text: "secret text"}}
	}
	evs := []bot.Event{
		ev("line:good", "U1", now),
		ev("line:nul", "U\x00evil", now),
		ev("line:bad-utf8", "U\xff", now),
		ev("line:\x00id", "U2", now),
		ev("line:year", "U3", time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)),
	}
	fresh, err := s.AddEvents(ctx, evs)
	if err != nil {
		t.Fatalf("AddEvents: %v", err)
	}
	if want := []bool{true, false, false, false, false}; fmt.Sprint(fresh) != fmt.Sprint(want) {
		t.Errorf("fresh = %v, want %v", fresh, want)
	}
	var n int
	var bodies string
	err = s.pool.QueryRow(ctx, `SELECT count(*), coalesce(string_agg(convert_from(body, 'UTF8'), ' '), '') FROM dead_letters`).Scan(&n, &bodies)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d dead letters, want 4", n)
	}
	if strings.Contains(bodies, "secret text") {
		t.Errorf("a dead letter holds the event's text: %s", bodies)
	}
}
