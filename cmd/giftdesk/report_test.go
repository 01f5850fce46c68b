package main

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/postgres"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// seedReport stores, through the store's API, two conversations: one solved an hour
// before now, one handed off, resolved and rated 5 three days before now, in the SQLite
// file or the PostgreSQL database db.
func seedReport(t *testing.T, db string, now time.Time) {
	t.Helper()
	var (
		s   storage
		err error
	)
	clock := func() time.Time { return now }
	if isPostgres(db) {
		s, err = postgres.New(t.Context(), postgres.Config{URL: db, Now: clock})
	} else {
		s, err = sqlite.New(t.Context(), sqlite.Config{Path: db, Now: clock})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	turn := func(k bot.Key, id string, at time.Time, closed *bot.Ticket, lines ...bot.Line) {
		t.Helper()
		ev := bot.Event{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "hi"}, At: at}
		if _, err := s.AddEvents(t.Context(), []bot.Event{ev}); err != nil {
			t.Fatal(err)
		}
		c, err := s.Conversation(t.Context(), k)
		if errors.Is(err, bot.ErrNotFound) {
			c, err = &bot.Conversation{Key: k, Lang: bot.English, Status: bot.StatusActive, Node: "start", CreatedAt: at}, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		c.UpdatedAt = at
		for i := range lines {
			lines[i].At = at
		}
		if err := s.CommitTurn(t.Context(), &bot.Turn{Conversation: c, EventID: id, Transcript: lines, Closed: closed}); err != nil {
			t.Fatal(err)
		}
	}
	solved := bot.Key{Channel: "line", User: "U-solved"}
	at := now.Add(-time.Hour)
	turn(solved, "e1", at, nil, bot.Line{Role: bot.RoleBot, Text: "What is happening?", Node: "start"})
	turn(solved, "e2", at, nil,
		bot.Line{Role: bot.RoleCustomer, Text: "<b>zzz</b>", Miss: true},
		bot.Line{Role: bot.RoleBot, Text: "Sorry?", Node: "start"})
	turn(solved, "e3", at, nil,
		bot.Line{Role: bot.RoleCustomer, Text: "[Can't pick gift card]"},
		bot.Line{Role: bot.RoleBot, Text: "Choosing the gift card", Node: "advice_checkout_select"})
	turn(solved, "e4", at, nil,
		bot.Line{Role: bot.RoleCustomer, Text: "[Yes, solved]"},
		bot.Line{Role: bot.RoleBot, Text: "Glad that solved it!", Node: "solved"})

	rated := bot.Key{Channel: "line", User: "U-rated"}
	at = now.Add(-72 * time.Hour)
	turn(rated, "e5", at, nil,
		bot.Line{Role: bot.RoleCustomer, Text: "talk to a person"},
		bot.Line{Role: bot.RoleBot, Text: "Connecting you", Node: "handoff"},
		bot.Line{Role: bot.RoleSystem, Text: "ticket T1 opened: customer_request"})
	turn(rated, "e6", at, &bot.Ticket{ID: "T1", State: bot.TicketClosed, Reason: "customer_request", CreatedAt: at,
		ClosedAt: at, Outcome: "resolved", Rating: 5},
		bot.Line{Role: bot.RoleCustomer, Text: "[★★★★★]"},
		bot.Line{Role: bot.RoleSystem, Text: "ticket T1 closed: resolved"},
		bot.Line{Role: bot.RoleBot, Text: "Thank you for your rating", Node: "handoff"})
}

func TestReport(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testReport(t, filepath.Join(t.TempDir(), "giftdesk.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testReport(t, postgresURL(t))
	})
}

// testReport seeds the store db and checks the reports made from it.
func testReport(t *testing.T, db string) {
	now := time.Date(2026, time.November, 27, 3, 0, 0, 0, time.UTC)
	seedReport(t, db, now)
	tests := []struct {
		name string
		args []string
		want []string // in the output, in this order
		not  []string
	}{
		{name: "default: 7 days as text", args: []string{"--db", db},
			want: []string{"2026-11-20 03:00 UTC – 2026-11-27 03:00 UTC", "conversations         2  line 2",
				"contained             1  50%", "handed off            1  50%", "average rating      5.0  of 1 rated",
				"resolved", "not understood", "1  <b>zzz</b>"}},
		{name: "one day", args: []string{"--db", db, "--since", "24h"},
			want: []string{"2026-11-26 03:00 UTC", "conversations         1", "contained             1  100%",
				"handed off            0", "no rated tickets"}},
		{name: "half an hour", args: []string{"--since", "30m", "--db", db},
			want: []string{"conversations         0", "contained             0  -  reached"}},
		{name: "html", args: []string{"--db", db, "--format", "html", "--lang", "en"},
			want: []string{"<!DOCTYPE html>", "<td>&lt;b&gt;zzz&lt;/b&gt;</td>", `<pre class="mermaid">stateDiagram-v2`,
				"Choosing the gift card at checkout — 1 reached, 0 stopped"},
			not: []string{"<b>zzz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := runReport(t.Context(), tt.args, &stdout, &stderr, func() time.Time { return now }); err != nil {
				t.Fatalf("report %s: %v\n%s", strings.Join(tt.args, " "), err, stderr.String())
			}
			out := stdout.String()
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (after the earlier ones):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output holds %q:\n%s", n, out)
				}
			}
		})
	}
}

// TestReportCommandLine checks that run dispatches to the report and that bad flags stop
// it with a message that names them.
func TestReportCommandLine(t *testing.T) {
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	seedReport(t, db, time.Now())
	missing := filepath.Join(t.TempDir(), "typo.db")
	const password = "s3cr3t-pw"
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for success; "usage" for errUsage
		want    string // in stdout
	}{
		{name: "ok", args: []string{"report", "--db", db, "--since", "2d"}, want: "conversations         1"},
		{name: "days", args: []string{"report", "--db", db, "--since", "30d"}, want: "conversations         2"},
		{name: "bad since", args: []string{"report", "--db", db, "--since", "7x"}, wantErr: `--since "7x": want a duration`},
		{name: "negative since", args: []string{"report", "--db", db, "--since", "-1h"}, wantErr: `--since "-1h": want a positive`},
		{name: "zero days", args: []string{"report", "--db", db, "--since", "0d"}, wantErr: `--since "0d": want a positive`},
		{name: "bad format", args: []string{"report", "--db", db, "--format", "pdf"}, wantErr: `--format "pdf"`},
		{name: "bad lang", args: []string{"report", "--db", db, "--lang", "fr"}, wantErr: `--lang "fr"`},
		{name: "missing db", args: []string{"report", "--db", missing}, wantErr: "no such database"},
		{name: "bad URL", args: []string{"report", "--db", "postgres://giftdesk:" + password + "@localhost/test?sslmode=bogus"},
			wantErr: "--db: open postgres postgres://giftdesk:xxxxx@localhost/test?sslmode=bogus: invalid connection string"},
		// Nothing listens on port 1.
		{name: "unreachable", args: []string{"report", "--db", "postgres://giftdesk:" + password + "@127.0.0.1:1/test"},
			wantErr: "--db: open postgres postgres://giftdesk:xxxxx@127.0.0.1:1/test: failed to connect"},
		{name: "unknown flag", args: []string{"report", "--until", "1d"}, wantErr: "usage"},
		{name: "extra argument", args: []string{"report", "--db", db, "now"}, wantErr: "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run %v: %v\n%s", tt.args, err, stderr.String())
			case tt.wantErr == "usage" && !errors.Is(err, errUsage):
				t.Errorf("run %v: err = %v, want a usage error", tt.args, err)
			case tt.wantErr != "" && tt.wantErr != "usage" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("run %v: err = %v, want one containing %q", tt.args, err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), password):
				t.Errorf("run %v: err = %v shows the password", tt.args, err)
			}
			if !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("run %v: stdout lacks %q:\n%s", tt.args, tt.want, stdout.String())
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("report on a missing database created it (stat: %v)", err)
	}
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"help"}, strings.NewReader(""), &stdout, &stdout); err != nil || !strings.Contains(stdout.String(), "giftdesk report [--since 7d]") {
		t.Errorf("usage lacks the report: %v\n%s", err, stdout.String())
	}
}

// TestReportPostgresNoDatabase checks that a report on a PostgreSQL schema without
// giftdesk's tables, or on one that does not exist, fails and creates nothing, as one on a
// missing SQLite file does.
func TestReportPostgresNoDatabase(t *testing.T) {
	db := postgresURL(t)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", q.Get("search_path")+"_typo")
	u.RawQuery = q.Encode()
	tests := []struct {
		name, db, wantErr string
	}{
		{name: "empty schema", db: db, wantErr: "no giftdesk database in schema"},
		{name: "no such schema", db: u.String(), wantErr: "no giftdesk database: no schema of its search_path exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), []string{"report", "--db", tt.db}, strings.NewReader(""), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("report --db %s: err = %v, want one containing %q\n%s", tt.db, err, tt.wantErr, stdout.String())
			}
		})
	}
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("the report created %d tables in the empty schema", tables)
	}
}
