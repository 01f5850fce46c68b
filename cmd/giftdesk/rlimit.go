package main

import "syscall"

// openFilesLimit returns the process's soft limit on open files, or 1024 when it cannot be
// read.
func openFilesLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	return int(min(l.Cur, 1<<30))
}
