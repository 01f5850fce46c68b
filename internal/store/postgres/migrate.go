package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/giftdesk/giftdesk/internal/store/row"
)

// lockClass is the first key of the advisory lock that migrations hold; the second is a
// hash of the schema they apply to, so that stores of different schemas in one database
// do not wait for each other. The value is arbitrary ("gd" in ASCII).
const lockClass = 0x6764

// lock takes the migration lock of the current schema until tx ends.
const lock = `SELECT pg_advisory_xact_lock($1::int4, hashtext(coalesce(current_schema(), '')))`

// migrate applies the migrations that the database has not recorded yet, in order, each in
// its own transaction under the migration lock, after checking that it is still missing:
// so concurrent migrate calls on one schema apply each migration once.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []row.Migration) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL
	)`
	var newest int
	err := inTx(ctx, pool, func(tx pgx.Tx) error {
		// CREATE TABLE IF NOT EXISTS is not safe against itself running concurrently: the
		// lock first.
		if _, err := tx.Exec(ctx, lock, lockClass); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, create); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if known := latest(ms); newest > known {
		return fmt.Errorf("database is at schema version %d, newer than this program's %d", newest, known)
	}
	for _, m := range ms {
		if m.Version <= newest {
			continue // applied; saves a transaction per file on every start
		}
		if err := apply(ctx, pool, m); err != nil {
			return err
		}
	}
	return nil
}

// apply applies m in one transaction unless it was applied already.
func apply(ctx context.Context, pool *pgxpool.Pool, m row.Migration) error {
	err := inTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lock, lockClass); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var applied bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&applied)
		if err != nil {
			return err
		}
		if applied {
			return nil // by another process since migrate looked
		}
		// Without arguments pgx sends the file with the simple protocol, which runs
		// several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		// The time is informational; the store's clock does not matter here.
		_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now())
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply %s: %w", m.Name, err)
	}
	return nil
}

// latest returns the highest version in ms, or 0.
func latest(ms []row.Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// inTx runs f in a transaction of pool and commits it if f returns nil; otherwise it rolls
// it back and returns f's error.
func inTx(ctx context.Context, pool *pgxpool.Pool, f func(tx pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	// After Commit a no-op. If ctx is done, pgx closes the connection instead, which ends
	// the transaction as well.
	defer tx.Rollback(ctx)
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
