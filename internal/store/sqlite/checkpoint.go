package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Checkpoints. A commit appends the pages it changed to the WAL; a checkpoint copies them
// back into the database file and syncs it. SQLite runs one inside whichever commit takes
// the WAL past 1000 pages, and under load that commit is the writer's: every write queued
// behind it waits for the copy and the fsync. So the writer connection never checkpoints
// (wal_autocheckpoint=0), and a connection of its own does, in the background: a PASSIVE
// checkpoint every checkpointEvery, which copies what no reader still needs and never
// blocks the writer. The WAL starts over once a checkpoint has copied all of it.
const checkpointEvery = 250 * time.Millisecond

// checkpointer runs the background checkpoints.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer opens a connection to path and checkpoints on it until stopped.
func (s *Store) startCheckpointer(path string, busy time.Duration) error {
	db, err := sql.Open("sqlite", dsn(path, busy))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	s.ckpt = c
	go c.run()
	return nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		var busy, logged, done int
		// An error (the disk, a busy lock held by another process) is tried again at the
		// next tick; the WAL only grows meanwhile.
		_ = c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &done)
	}
}

// stopCheckpointer stops the checkpoints and closes their connection.
func (s *Store) stopCheckpointer() error {
	if s.ckpt == nil {
		return nil
	}
	close(s.ckpt.stop)
	<-s.ckpt.done
	err := s.ckpt.db.Close()
	s.ckpt = nil
	return err
}
