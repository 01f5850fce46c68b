//go:build !unix

package sqlite

import (
	"errors"
	"os"
)

// errLiveUnsupported is Live's error where flock(2) is missing.
var errLiveUnsupported = errors.New("liveness needs flock(2), which this system lacks")

func lockOwnerFile(string) (*os.File, error) { return nil, errLiveUnsupported }

func tryLockOwnerFile(string) (*os.File, error) { return nil, errLiveUnsupported }
