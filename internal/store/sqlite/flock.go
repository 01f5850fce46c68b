//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockOwnerFile creates the lock file at path, if needed, and locks it: the caller's owner
// is then live until the file is closed. It fails if another open file holds the lock.
func lockOwnerFile(path string) (*os.File, error) {
	for range 3 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, errors.New("live already in another process (its lock file is locked)")
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if current(f, path) {
			return f, nil
		}
		// A takeover removed the file between our open and our lock: try the new one.
		f.Close()
	}
	return nil, fmt.Errorf("lock %s: removed under us three times", path)
}

// tryLockOwnerFile locks the existing lock file at path, if no one else holds it, and
// returns it open and locked; nil if it is locked or gone.
func tryLockOwnerFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, nil
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !current(f, path) {
		f.Close() // taken over and removed by another process meanwhile
		return nil, nil
	}
	return f, nil
}

// current reports whether f is still the file at path.
func current(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}
