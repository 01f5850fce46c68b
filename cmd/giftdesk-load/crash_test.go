package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// TestSmokeCrash runs the crash mode on a small burst: SQLite (killed after the burst and
// restarted) and, with GIFTDESK_TEST_POSTGRES, two PostgreSQL replicas (one killed
// half-way). Every acknowledged event must be answered exactly once, by the process that
// acknowledged it or after the kill. It makes no timing assertions.
func TestSmokeCrash(t *testing.T) {
	bin := buildGiftdesk(t)
	db := "sqlite"
	if server := os.Getenv("GIFTDESK_TEST_POSTGRES"); server != "" {
		db += ",2xpostgres"
	}
	targets, err := parseTargets(db, os.Getenv("GIFTDESK_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := crashConfig{Bin: bin, Dir: t.TempDir(), Users: 40, Conns: 4, Targets: targets, Drain: time.Minute, Seed: 1,
		Progress: io.Discard}
	var results []*crashResult
	for _, spec := range targets {
		r, err := measureCrash(ctx, cfg, spec)
		if err != nil {
			t.Fatalf("%s: %v", spec.Name, err)
		}
		results = append(results, r)
		if r.Acked == 0 || r.Unanswered != 0 || r.Duplicates != 0 {
			t.Errorf("%s: %d acknowledged, %d unanswered, %d answered twice; want every acknowledged event answered once",
				r.Target, r.Acked, r.Unanswered, r.Duplicates)
		}
		if after := r.Replies + r.Pushes; after < r.Acked-r.AnsweredBeforeKill {
			t.Errorf("%s: %d answers after the kill, want at least the %d not answered before", r.Target, after, r.Acked-r.AnsweredBeforeKill)
		}
	}
	var table bytes.Buffer
	printCrash(&table, results)
	t.Logf("\n%s", table.String())
}
