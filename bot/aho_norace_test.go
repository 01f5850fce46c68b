//go:build !race

package bot

// raceEnabled is whether the race detector is on (see aho_race_test.go).
const raceEnabled = false
