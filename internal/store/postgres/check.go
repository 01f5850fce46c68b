package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNoDatabase means that the server answered but the schema a URL selects holds no
// giftdesk database: the schema does not exist, or New never created the tables in it.
var ErrNoDatabase = errors.New("no giftdesk database")

// hasStore reads the schema that new tables go to (NULL when no schema of the search path
// exists) and whether it holds the migrations table that New creates first.
const hasStore = `SELECT current_schema(), EXISTS (SELECT 1 FROM pg_catalog.pg_tables
	WHERE schemaname = current_schema() AND tablename = 'schema_migrations')`

// Check connects to the database at url, a URL as Config.URL, and checks, changing
// nothing, that the schema it selects holds a giftdesk database. Commands that only read
// (a report) call it before New, which would create an empty one where a URL is mistyped.
// It returns an error wrapping ErrNoDatabase when the schema does not exist or has no
// giftdesk tables, and another when the URL is invalid or the server cannot be reached or
// refuses the connection. The errors name url without its password. ctx bounds the whole
// check, connecting included.
func Check(ctx context.Context, url string) error {
	name := redact(url)
	// pgxpool's parser, as New's: it takes the pool's own parameters (pool_max_conns) off
	// the URL, which pgx's alone would send to the server as unknown settings.
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("open postgres %s: %s", name, parseProblem(url, err))
	}
	conn, err := pgx.ConnectConfig(ctx, pcfg.ConnConfig)
	if err != nil {
		return fmt.Errorf("open postgres %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var (
		schema *string
		found  bool
	)
	if err := conn.QueryRow(ctx, hasStore).Scan(&schema, &found); err != nil {
		return fmt.Errorf("check postgres %s: %w", name, err)
	}
	switch {
	case schema == nil:
		return fmt.Errorf("postgres %s: %w: no schema of its search_path exists", name, ErrNoDatabase)
	case !found:
		return fmt.Errorf("postgres %s: %w in schema %q", name, ErrNoDatabase, *schema)
	}
	return nil
}
