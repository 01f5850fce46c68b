//go:build !unix

package sqlite

import "os"

func lockOwnerFile(string) (*os.File, error) { return nil, errLiveUnsupported }

func tryLockOwnerFile(string) (*os.File, error) { return nil, errLiveUnsupported }
