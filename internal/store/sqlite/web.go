package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

var _ weblog.Store = (*Store)(nil)

// AppendWeb appends recs to user's web chat log (weblog.Store). The writer runs one write
// at a time, so numbering by the log's largest Seq is safe.
func (s *Store) AppendWeb(ctx context.Context, user string, recs []weblog.Record) ([]int64, error) {
	const (
		insert = `INSERT INTO web_log (conv, seq, ref, at, data)
			SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4 FROM web_log WHERE conv = ?1
			ON CONFLICT (conv, ref) DO NOTHING RETURNING seq`
		existing = `SELECT seq FROM web_log WHERE conv = ? AND ref = ?`
	)
	seqs := make([]int64, len(recs))
	err := s.inTxUrgent(ctx, func(tx *sql.Tx) error {
		for i, r := range recs {
			at := r.At
			if at.IsZero() {
				at = s.now()
			}
			err := tx.QueryRowContext(ctx, insert, user, r.Ref, at.UnixMilli(), string(r.Data)).Scan(&seqs[i])
			if errors.Is(err, sql.ErrNoRows) {
				err = tx.QueryRowContext(ctx, existing, user, r.Ref).Scan(&seqs[i])
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("append to web log: %w", err)
	}
	return seqs, nil
}

// ReadWeb returns entries of user's web chat log after the given Seq (weblog.Store).
func (s *Store) ReadWeb(ctx context.Context, user string, after int64, limit int) ([]weblog.Record, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT seq, ref, at, data FROM web_log WHERE conv = ? AND seq > ? ORDER BY seq LIMIT ?`, user, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read web log: %w", err)
	}
	defer rows.Close()
	recs := []weblog.Record{}
	for rows.Next() {
		var (
			r    weblog.Record
			at   int64
			data string
		)
		if err := rows.Scan(&r.Seq, &r.Ref, &at, &data); err != nil {
			return nil, fmt.Errorf("read web log: %w", err)
		}
		r.At, r.Data = time.UnixMilli(at).UTC(), []byte(data)
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read web log: %w", err)
	}
	return recs, nil
}

// WebSecret returns the web chat's key, storing fresh first if there is none
// (weblog.Store).
func (s *Store) WebSecret(ctx context.Context, fresh []byte) ([]byte, error) {
	var key []byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO web_secret (id, secret) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT secret FROM web_secret WHERE id = 1`).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("web secret: %w", err)
	}
	return key, nil
}

// PurgeWeb deletes the web chat logs whose newest entry is older than before
// (weblog.Store), in batches of purgeBatch conversations.
func (s *Store) PurgeWeb(ctx context.Context, before time.Time) (int, error) {
	const purge = `DELETE FROM web_log WHERE conv IN (
		SELECT conv FROM web_log GROUP BY conv HAVING max(at) < ? LIMIT ?)`
	total := 0
	for {
		var n int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, purge, before.UnixMilli(), purgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("purge web log: %w", err)
		}
		total += int(n)
		if n == 0 {
			return total, nil
		}
	}
}
