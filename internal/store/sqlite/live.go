package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Liveness. A process that dies leaves its outbox leases in the file (its leases on
// conversations lived in its memory and died with it). Rather than have them wait for
// their expiry, a live owner holds an exclusive flock(2) on a file of its own in the
// directory <db>-live beside the database, named by the owner's name in hex; the kernel
// releases the lock when the process dies, however it dies. A lock file that can be
// locked is therefore a dead owner's, and its leases are taken over at once: by Live, when
// the next process starts, and by TakeOver, which a live process calls every second or so
// (internal/pipeline) for an owner that dies while it runs.
//
// Several processes may share the file (a deploy that overlaps, as before): each holds
// the lock of its own owner name, and none takes over a live one's leases. An owner that
// never called Live (an older giftdesk, a tool) has no lock file: its leases expire as
// before. Two Stores cannot be live under one owner name at once: the second Live fails.

// liveDir is the directory of the lock files of the database at path.
func liveDir(path string) string { return path + "-live" }

// liveness holds the lock files of this Store's live owners.
type liveness struct {
	mu   sync.Mutex
	dir  string              // empty for Memory: one process only
	mine map[string]*os.File // by owner
}

// Live records owner as alive for as long as this process runs: until leave is called,
// the Store is closed, or the process dies. It first takes over the leases that a
// previous process under the same name left (a restarted container keeps its host name
// and pid), then those of every dead owner, as TakeOver. It fails if another Store holds
// owner's lock. Call it before owner claims anything: leases owner holds already would
// be taken over too. leave ends the record and keeps owner's leases, which its holder
// should have ended first; it is safe to call more than once.
//
// For a Memory database, which only this process can open, Live records nothing and
// takes over nothing.
func (s *Store) Live(ctx context.Context, owner string) (leave func() error, err error) {
	if owner == "" {
		return nil, errors.New("live: empty owner")
	}
	if s.live.dir == "" {
		return func() error { return nil }, nil
	}
	name := hex.EncodeToString([]byte(owner))
	if len(name) > 200 {
		return nil, fmt.Errorf("live %s: owner name too long for a lock file", owner)
	}
	if err := os.MkdirAll(s.live.dir, 0o700); err != nil {
		return nil, fmt.Errorf("live %s: %w", owner, err)
	}
	s.live.mu.Lock()
	if _, ok := s.live.mine[owner]; ok {
		s.live.mu.Unlock()
		return nil, fmt.Errorf("live %s: live already in this store", owner)
	}
	f, err := lockOwnerFile(filepath.Join(s.live.dir, name))
	if err != nil {
		s.live.mu.Unlock()
		return nil, fmt.Errorf("live %s: %w", owner, err)
	}
	if s.live.mine == nil {
		s.live.mine = map[string]*os.File{}
	}
	s.live.mine[owner] = f
	s.live.mu.Unlock()
	if _, err := s.releaseOwner(ctx, owner); err != nil {
		s.leave(owner, f)
		return nil, fmt.Errorf("live %s: take over its earlier leases: %w", owner, err)
	}
	if _, err := s.TakeOver(ctx); err != nil {
		s.leave(owner, f)
		return nil, fmt.Errorf("live %s: %w", owner, err)
	}
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = s.leave(owner, f) })
		return err
	}, nil
}

// leave removes owner's lock file and unlocks it.
func (s *Store) leave(owner string, f *os.File) error {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if s.live.mine[owner] != f {
		return nil // closed with the store
	}
	delete(s.live.mine, owner)
	err := os.Remove(f.Name())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("leave %s: %w", owner, err)
	}
	return nil
}

// TakeOver ends the outbox leases of every owner that recorded itself alive (Live) and has
// died since, and returns how many it ended. Their rows are claimable at once, each claim
// counted as an attempt as before, so the next claimer knows the dead owner may have
// delivered them (bot.Outgoing.Attempts > Failures, Replied). It costs a directory read
// and a try-lock per live owner when nobody died.
func (s *Store) TakeOver(ctx context.Context) (int, error) {
	if s.live.dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(s.live.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("take over: %w", err)
	}
	total := 0
	for _, e := range entries {
		b, err := hex.DecodeString(e.Name())
		if err != nil || e.IsDir() {
			continue // not a lock file
		}
		owner := string(b)
		s.live.mu.Lock()
		_, mine := s.live.mine[owner]
		s.live.mu.Unlock()
		if mine {
			continue
		}
		path := filepath.Join(s.live.dir, e.Name())
		f, err := tryLockOwnerFile(path)
		if err != nil {
			return total, fmt.Errorf("take over %s: %w", owner, err)
		}
		if f == nil {
			continue // alive, or gone meanwhile
		}
		n, err := s.releaseOwner(ctx, owner)
		if err == nil {
			// Removed while locked: a process that opens the old file now locks an
			// unlinked one, which lockOwnerFile detects.
			err = os.Remove(path)
		}
		f.Close()
		total += n
		if err != nil {
			return total, fmt.Errorf("take over %s: %w", owner, err)
		}
	}
	return total, nil
}

// releaseOwner ends owner's leases on outbox rows, keeping owner as the last claimer (so
// that the claim stays counted), and returns how many it ended.
func (s *Store) releaseOwner(ctx context.Context, owner string) (int, error) {
	const release = `UPDATE outbox SET lease_expires_at = ?1
		WHERE finished_at IS NULL AND lease_owner = ?2 AND lease_expires_at > ?1`
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = execN(ctx, s.writeq(tx), release, s.now().UnixMilli(), owner)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("end leases of %s: %w", owner, err)
	}
	return int(n), nil
}

// closeLive closes the lock files without removing them: to the other processes, this
// Store's owners are dead, as after a crash.
func (s *Store) closeLive() {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	for owner, f := range s.live.mine {
		f.Close()
		delete(s.live.mine, owner)
	}
}
