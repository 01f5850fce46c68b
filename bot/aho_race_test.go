//go:build race

package bot

// raceEnabled is whether the race detector is on: the differential test then reads a
// sample of its texts, as it has no goroutines to check and runs several times slower.
const raceEnabled = true
