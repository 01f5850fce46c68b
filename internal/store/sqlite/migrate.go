package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/internal/store/row"
)

// migrate applies the migrations that db has not recorded yet, in order. db's transactions
// must begin IMMEDIATE: then the check that a migration is missing and its application
// happen under the write lock, and concurrent migrate calls on one file apply it once.
func migrate(ctx context.Context, db *sql.DB, ms []row.Migration) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL -- unix milliseconds
	) STRICT`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var newest int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if known := latest(ms); newest > known {
		return fmt.Errorf("database is at schema version %d, newer than this program's %d", newest, known)
	}
	for _, m := range ms {
		if m.Version <= newest {
			continue // applied; saves a transaction per file on every start
		}
		if err := apply(ctx, db, m); err != nil {
			return err
		}
	}
	return nil
}

// apply applies m in one transaction unless it was applied already.
func apply(ctx context.Context, db *sql.DB, m row.Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply %s: %w", m.Name, err)
	}
	defer tx.Rollback() // no-op after Commit

	var applied bool
	err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.Version).Scan(&applied)
	if err != nil {
		return fmt.Errorf("apply %s: %w", m.Name, err)
	}
	if applied {
		return nil // by another process since migrate looked
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("apply %s: %w", m.Name, err)
	}
	// The time is informational; the store's clock does not matter here.
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("apply %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply %s: commit: %w", m.Name, err)
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
