//go:build !unix

package flows_test

import "time"

// processCPU cannot read the process's CPU time here: it reports none.
func processCPU() time.Duration { return 0 }
