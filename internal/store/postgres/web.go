package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

var _ weblog.Store = (*Store)(nil)

// webLockClass is the first key of the advisory lock that serializes appends to one web
// chat log; the second is a hash of the conversation ("we" in ASCII).
const webLockClass = 0x7765

// AppendWeb appends recs to user's web chat log (weblog.Store). Appends to one log take
// a transaction-scoped advisory lock on it first, so that each numbers after the last
// one committed, and no entry becomes visible before one with a smaller Seq.
func (s *Store) AppendWeb(ctx context.Context, user string, recs []weblog.Record) ([]int64, error) {
	const (
		insert = `INSERT INTO web_log (conv, seq, ref, at, data)
			SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM web_log WHERE conv = $1
			ON CONFLICT (conv, ref) DO NOTHING RETURNING seq`
		existing = `SELECT seq FROM web_log WHERE conv = $1 AND ref = $2`
	)
	seqs := make([]int64, len(recs))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, hashtext($2))`, webLockClass, user); err != nil {
			return err
		}
		for i, r := range recs {
			at := r.At
			if at.IsZero() {
				at = s.now()
			}
			err := tx.QueryRow(ctx, insert, clean(user), clean(r.Ref), ms(at), clean(string(r.Data))).Scan(&seqs[i])
			if errors.Is(err, pgx.ErrNoRows) {
				err = tx.QueryRow(ctx, existing, clean(user), clean(r.Ref)).Scan(&seqs[i])
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
	rows, err := s.pool.Query(ctx,
		`SELECT seq, ref, at, data FROM web_log WHERE conv = $1 AND seq > $2 ORDER BY seq LIMIT $3`, clean(user), after, limit)
	if err != nil {
		return nil, fmt.Errorf("read web log: %w", err)
	}
	defer rows.Close()
	recs := []weblog.Record{}
	for rows.Next() {
		var (
			r    weblog.Record
			data string
		)
		if err := rows.Scan(&r.Seq, &r.Ref, &r.At, &data); err != nil {
			return nil, fmt.Errorf("read web log: %w", err)
		}
		r.At, r.Data = utc(r.At), []byte(data)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO web_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, fresh); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT secret FROM web_secret WHERE id = 1`).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("web secret: %w", err)
	}
	return key, nil
}

// PurgeWeb deletes the web chat logs whose newest entry is older than before
// (weblog.Store), a batch of conversations at a time.
func (s *Store) PurgeWeb(ctx context.Context, before time.Time) (int, error) {
	const purge = `DELETE FROM web_log WHERE conv IN (
		SELECT conv FROM web_log GROUP BY conv HAVING max(at) < $1 LIMIT $2)`
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, purge, ms(before), webPurgeBatch)
		if err != nil {
			return total, fmt.Errorf("purge web log: %w", err)
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() == 0 {
			return total, nil
		}
	}
}

// webPurgeBatch bounds the conversations whose logs one statement of PurgeWeb deletes.
const webPurgeBatch = 1000
