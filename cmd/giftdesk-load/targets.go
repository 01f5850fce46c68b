package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// maxReplicas bounds the N of an "Nx" target: each replica is a giftdesk serve process.
const maxReplicas = 8

// defaultPostgres is the server of the postgres target when neither --postgres nor
// GIFTDESK_TEST_POSTGRES names one: the local server the tests use.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// targetSpec is one target of `run --db`: giftdesk serve on one database, in one or more
// replicas.
type targetSpec struct {
	// Name is what the report calls the target: sqlite, postgres, 2×postgres. Names are
	// unique within a run: a repeated target gets "#2", "#3".
	Name string
	Kind string // "sqlite" (a fresh file) or "postgres" (a scratch database on Server)
	// Server is, for postgres, the URL of the server on which the scratch database is
	// created (connecting to the database it names, which is left alone).
	Server   string
	Replicas int // giftdesk serve processes on the same database, 1 to maxReplicas
}

// fileName is the target's name as it appears in file names: ASCII, no spaces.
func (t targetSpec) fileName() string {
	return strings.NewReplacer("×", "x", "#", "-").Replace(t.Name)
}

// defaultPostgresURL is the default of --postgres: $GIFTDESK_TEST_POSTGRES, or else the
// local test server.
func defaultPostgresURL() string {
	if v := os.Getenv("GIFTDESK_TEST_POSTGRES"); v != "" {
		return v
	}
	return defaultPostgres
}

// isPostgresURL reports whether s is a postgres:// or postgresql:// URL.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// parseTargets parses the value of --db: a comma-separated list of targets, each sqlite,
// postgres (a scratch database on the server postgresURL, the value of --postgres) or a
// postgres:// URL of a server, optionally prefixed by Nx (or N×), N from 1 to maxReplicas,
// for N replicas on the same database. Errors name the flag and the faulty entry, with
// any password hidden.
func parseTargets(list, postgresURL string) ([]targetSpec, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("--db is empty: want a comma-separated list such as sqlite,postgres,2xpostgres")
	}
	var out []targetSpec
	seen := map[string]int{}
	for i, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		t, err := parseTarget(entry, postgresURL)
		if err != nil {
			return nil, fmt.Errorf("--db: target %d (%q): %w", i+1, redactTarget(entry), err)
		}
		seen[t.Name]++
		if n := seen[t.Name]; n > 1 {
			t.Name += "#" + strconv.Itoa(n)
		}
		out = append(out, t)
	}
	return out, nil
}

// parseTarget parses one entry of --db.
func parseTarget(entry, postgresURL string) (targetSpec, error) {
	const want = "want sqlite, postgres or a postgres:// URL, optionally prefixed by Nx for N replicas (N from 1 to 8), such as 2xpostgres"
	if entry == "" {
		return targetSpec{}, fmt.Errorf("empty target: %s", want)
	}
	t := targetSpec{Replicas: 1}
	rest := entry
	if n, r, ok := cutReplicas(entry); ok {
		if n < 1 || n > maxReplicas {
			return targetSpec{}, fmt.Errorf("%d replicas: want 1 to %d", n, maxReplicas)
		}
		t.Replicas, rest = n, r
	}
	switch {
	case rest == "sqlite":
		t.Kind, t.Name = "sqlite", "sqlite"
	case rest == "postgres":
		if !isPostgresURL(postgresURL) {
			return targetSpec{}, fmt.Errorf("--postgres=%q: want a postgres:// URL of the server for the postgres target", redactURL(postgresURL))
		}
		t.Kind, t.Name, t.Server = "postgres", "postgres", postgresURL
	case isPostgresURL(rest):
		if _, err := url.Parse(rest); err != nil {
			return targetSpec{}, errors.New("unparsable postgres:// URL")
		}
		t.Kind, t.Name, t.Server = "postgres", "postgres", rest
	default:
		return targetSpec{}, fmt.Errorf("unknown target: %s", want)
	}
	if t.Replicas > 1 {
		t.Name = strconv.Itoa(t.Replicas) + "×" + t.Name
	}
	return t, nil
}

// cutReplicas splits "2xpostgres" (or "2×postgres") into 2 and "postgres". It reports
// false when entry does not start with digits followed by x or ×; n is then 0.
func cutReplicas(entry string) (n int, rest string, ok bool) {
	digits := len(entry) - len(strings.TrimLeft(entry, "0123456789"))
	if digits == 0 {
		return 0, entry, false
	}
	for _, sep := range []string{"x", "×"} {
		if r, found := strings.CutPrefix(entry[digits:], sep); found {
			n, err := strconv.Atoi(entry[:digits])
			if err != nil { // too many digits
				n = maxReplicas + 1
			}
			return n, r, true
		}
	}
	return 0, entry, false
}

// redactTarget hides a password in a --db entry that holds a URL.
func redactTarget(entry string) string {
	prefix, rest := "", entry
	if _, r, ok := cutReplicas(entry); ok {
		prefix, rest = entry[:len(entry)-len(r)], r
	}
	if !strings.Contains(rest, "://") {
		return entry
	}
	return prefix + redactURL(rest)
}
