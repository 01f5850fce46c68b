package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestCheck checks that Check accepts a schema New has created, reports a missing or empty
// schema as ErrNoDatabase without creating anything in it, and names a bad URL or an
// unreachable server without the password.
func TestCheck(t *testing.T) {
	t.Parallel()
	const password = "s3cr3t-pw"
	store := newSchema(t)
	s, err := New(t.Context(), Config{URL: store})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	empty := newSchema(t)
	u, err := url.Parse(empty)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", q.Get("search_path")+"_typo")
	u.RawQuery = q.Encode()
	typo := u.String()

	tests := []struct {
		name string
		url  string
		noDB bool   // the error wraps ErrNoDatabase
		want string // in the error; "" for none
	}{
		{name: "store", url: store},
		{name: "store, pool settings", url: store + "&pool_max_conns=3"},
		{name: "empty schema", url: empty, noDB: true, want: `no giftdesk database in schema "giftdesk_test_`},
		{name: "no such schema", url: typo, noDB: true, want: "no giftdesk database: no schema of its search_path exists"},
		{name: "bad sslmode", url: "postgres://giftdesk:" + password + "@localhost/test?sslmode=bogus", want: "postgres://giftdesk:xxxxx@localhost/test?sslmode=bogus: invalid connection string"},
		{name: "not a URL", url: "postgres://giftdesk:" + password + "@localhost:port/test", want: "(connection string)"},
		// Nothing listens on port 1.
		{name: "unreachable", url: "postgres://giftdesk:" + password + "@127.0.0.1:1/test", want: "postgres://giftdesk:xxxxx@127.0.0.1:1/test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(t.Context(), tt.url)
			t.Logf("err = %v", err)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			case errors.Is(err, ErrNoDatabase) != tt.noDB:
				t.Errorf("err = %v: errors.Is(err, ErrNoDatabase) = %t, want %t", err, !tt.noDB, tt.noDB)
			case err != nil && strings.Contains(err.Error(), password):
				t.Errorf("err = %v shows the password", err)
			}
		})
	}
	// Check changed nothing: the empty schema is still empty.
	conn, err := pgx.Connect(t.Context(), empty)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("the empty schema has %d tables after Check", tables)
	}
}
