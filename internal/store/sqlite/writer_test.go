package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestWebhookWriteJoinsBatch checks that a webhook's write (inTxUrgent) queued while the
// writer runs a batch joins that batch's transaction instead of waiting for a commit of
// its own, and that an operation of the batch that fails afterwards is undone alone.
func TestWebhookWriteJoinsBatch(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "w.db"))
	ctx := context.Background()
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE scratch (x TEXT NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	committed := func(x string) bool {
		var n int
		if err := s.read.QueryRow(`SELECT count(*) FROM scratch WHERE x = ?`, x).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}

	// The first operation writes "a" and holds the writer until the webhook's operation
	// is queued; a second one fails after the webhook's ran.
	queued, running := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO scratch VALUES ('a')`); err != nil {
				return err
			}
			close(running)
			<-queued
			deadline := time.Now().Add(10 * time.Second)
			for len(s.w.urgent) == 0 {
				if time.Now().After(deadline) {
					return errors.New("the webhook's write never queued")
				}
				time.Sleep(time.Millisecond) // polls a condition; nothing else to wait on
			}
			return nil
		})
	}()
	failing := make(chan error, 1)
	var sawA, aCommitted bool
	webhook := make(chan error, 1)
	// Queue the failing operation behind the first (it is in the writer's queue before
	// the first releases the writer), then the webhook's.
	<-running
	go func() {
		failing <- s.inTx(ctx, func(tx *sql.Tx) error { return errors.New("boom") })
	}()
	for len(s.w.ops) == 0 {
		time.Sleep(time.Millisecond)
	}
	go func() {
		webhook <- s.inTxUrgent(ctx, func(tx *sql.Tx) error {
			// In the batch's transaction, "a" is there but not committed yet.
			if err := tx.QueryRow(`SELECT count(*) > 0 FROM scratch WHERE x = 'a'`).Scan(&sawA); err != nil {
				return err
			}
			aCommitted = committed("a")
			_, err := tx.Exec(`INSERT INTO scratch VALUES ('w')`)
			return err
		})
	}()
	close(queued)
	if err := <-first; err != nil {
		t.Fatalf("first operation: %v", err)
	}
	if err := <-webhook; err != nil {
		t.Fatalf("webhook's operation: %v", err)
	}
	if err := <-failing; err == nil || err.Error() != "boom" {
		t.Fatalf("failing operation: %v, want boom", err)
	}
	if !sawA || aCommitted {
		t.Errorf("the webhook's write saw a: %v, a committed then: %v; want it inside the batch's transaction (true, false)", sawA, aCommitted)
	}
	if !committed("a") || !committed("w") {
		t.Errorf("committed a: %v, w: %v; want both", committed("a"), committed("w"))
	}
}
