package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// RunWeb is the conformance suite of the web chat's log and key (weblog.Store). newStore
// opens a new, empty store on the clock it is given. Beyond weblog.Store's documentation
// it pins down: times come back in UTC to the millisecond, a zero At is the store's now,
// Data comes back byte for byte, and a cancelled context makes a call fail with an error
// matching context.Canceled, storing nothing.
func RunWeb(t *testing.T, newStore func(t *testing.T, now func() time.Time) weblog.Store) {
	clock := func() func() time.Time {
		at := time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC)
		return func() time.Time { return at }
	}
	rec := func(ref, data string) weblog.Record { return weblog.Record{Ref: ref, Data: []byte(data)} }

	t.Run("AppendRead", func(t *testing.T) {
		s := newStore(t, clock())
		ctx := t.Context()
		seqs, err := s.AppendWeb(ctx, "A", []weblog.Record{rec("c:1", `{"n":1}`), rec("o:1:0", `{"n":"<b>二</b>"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs, []int64{1, 2}) {
			t.Errorf("seqs = %v, want [1 2]", seqs)
		}
		// Another conversation numbers its own log.
		if seqs, err := s.AppendWeb(ctx, "B", []weblog.Record{rec("c:1", `{"n":"b"}`)}); err != nil || !slices.Equal(seqs, []int64{1}) {
			t.Errorf("B: seqs = %v, %v; want [1]", seqs, err)
		}
		at := time.Date(2026, 1, 2, 3, 4, 5, 6_999_999, time.FixedZone("JST", 9*3600))
		if seqs, err := s.AppendWeb(ctx, "A", []weblog.Record{{Ref: "c:2", At: at, Data: []byte(`{"n":3}`)}}); err != nil || !slices.Equal(seqs, []int64{3}) {
			t.Errorf("seqs = %v, %v; want [3]", seqs, err)
		}
		got, err := s.ReadWeb(ctx, "A", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []weblog.Record{
			{Seq: 1, Ref: "c:1", At: time.Date(2026, 12, 3, 9, 0, 0, 123_000_000, time.UTC), Data: []byte(`{"n":1}`)},
			{Seq: 2, Ref: "o:1:0", At: time.Date(2026, 12, 3, 9, 0, 0, 123_000_000, time.UTC), Data: []byte(`{"n":"<b>二</b>"}`)},
			{Seq: 3, Ref: "c:2", At: time.Date(2026, 1, 1, 18, 4, 5, 6_000_000, time.UTC), Data: []byte(`{"n":3}`)},
		}
		checkRecords(t, got, want)
		if got, err := s.ReadWeb(ctx, "A", 1, 1); err != nil {
			t.Fatal(err)
		} else {
			checkRecords(t, got, want[1:2])
		}
		if got, err := s.ReadWeb(ctx, "A", 3, 10); err != nil || got == nil || len(got) != 0 {
			t.Errorf("ReadWeb after the last = %v, %v; want an empty slice", got, err)
		}
		if got, err := s.ReadWeb(ctx, "nobody", 0, 10); err != nil || got == nil || len(got) != 0 {
			t.Errorf("ReadWeb of an unknown log = %v, %v; want an empty slice", got, err)
		}
	})

	t.Run("Dedup", func(t *testing.T) {
		s := newStore(t, clock())
		ctx := t.Context()
		if _, err := s.AppendWeb(ctx, "A", []weblog.Record{rec("c:x", `{"v":1}`), rec("c:y", `{"v":2}`)}); err != nil {
			t.Fatal(err)
		}
		seqs, err := s.AppendWeb(ctx, "A", []weblog.Record{rec("c:y", `{"v":"changed"}`), rec("c:z", `{"v":3}`), rec("c:z", `{"v":4}`)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs, []int64{2, 3, 3}) {
			t.Errorf("seqs = %v, want [2 3 3] (the stored entries' numbers)", seqs)
		}
		got, err := s.ReadWeb(ctx, "A", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var datas []string
		for _, r := range got {
			datas = append(datas, string(r.Data))
		}
		if want := []string{`{"v":1}`, `{"v":2}`, `{"v":3}`}; !slices.Equal(datas, want) {
			t.Errorf("log = %q, want %q", datas, want)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t, clock())
		ctx := t.Context()
		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				// Each append also repeats a ref all of them use: stored once.
				_, err := s.AppendWeb(ctx, "A", []weblog.Record{rec(fmt.Sprintf("c:%d", i), fmt.Sprintf(`{"i":%d}`, i)), rec("shared", `{}`)})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ReadWeb(ctx, "A", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n+1 {
			t.Fatalf("%d entries, want %d", len(got), n+1)
		}
		for i, r := range got {
			if r.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d: want 1..%d without gaps", i, r.Seq, n+1)
			}
		}
	})

	t.Run("Secret", func(t *testing.T) {
		s := newStore(t, clock())
		ctx := t.Context()
		first := bytes.Repeat([]byte{1}, 32)
		var wg sync.WaitGroup
		keys := make([][]byte, 8)
		errs := make([]error, 8)
		for i := range keys {
			wg.Go(func() {
				fresh := first
				if i > 0 {
					fresh = bytes.Repeat([]byte{byte(i + 1)}, 32)
				}
				keys[i], errs[i] = s.WebSecret(ctx, fresh)
			})
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != 32 {
				t.Fatalf("concurrent WebSecret calls returned %x and %x, want one key", keys[0], keys[i])
			}
		}
		again, err := s.WebSecret(ctx, []byte("other"))
		if err != nil || !bytes.Equal(again, keys[0]) {
			t.Errorf("WebSecret later = %x, %v; want the stored %x", again, err, keys[0])
		}
	})

	t.Run("Purge", func(t *testing.T) {
		s := newStore(t, clock())
		ctx := t.Context()
		old := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		before := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		// A: all old, gone. B: one entry new, kept whole. C: newest exactly at before, kept.
		add := func(user string, ats ...time.Time) {
			t.Helper()
			var recs []weblog.Record
			for i, at := range ats {
				recs = append(recs, weblog.Record{Ref: fmt.Sprint(i), At: at, Data: []byte(`{}`)})
			}
			if _, err := s.AppendWeb(ctx, user, recs); err != nil {
				t.Fatal(err)
			}
		}
		add("A", old, old.Add(time.Hour))
		add("B", old, before.Add(time.Millisecond))
		add("C", old, before)
		n, err := s.PurgeWeb(ctx, before)
		if err != nil || n != 2 {
			t.Errorf("PurgeWeb = %d, %v; want 2", n, err)
		}
		for user, want := range map[string]int{"A": 0, "B": 2, "C": 2} {
			if got, err := s.ReadWeb(ctx, user, 0, 10); err != nil || len(got) != want {
				t.Errorf("%s: %d entries (%v), want %d", user, len(got), err, want)
			}
		}
		// A log that starts again after a purge starts from 1: it is a new conversation's.
		if seqs, err := s.AppendWeb(ctx, "B", []weblog.Record{rec("next", `{}`)}); err != nil || !slices.Equal(seqs, []int64{3}) {
			t.Errorf("B after purge: %v, %v; want [3]", seqs, err)
		}
	})

	t.Run("Cancelled", func(t *testing.T) {
		s := newStore(t, clock())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.AppendWeb(ctx, "A", []weblog.Record{rec("c:1", `{}`)}); !errors.Is(err, context.Canceled) {
			t.Errorf("AppendWeb with a cancelled context: %v", err)
		}
		if _, err := s.ReadWeb(ctx, "A", 0, 10); !errors.Is(err, context.Canceled) {
			t.Errorf("ReadWeb with a cancelled context: %v", err)
		}
		if got, err := s.ReadWeb(t.Context(), "A", 0, 10); err != nil || len(got) != 0 {
			t.Errorf("after a cancelled append the log holds %d entries (%v), want none", len(got), err)
		}
	})
}

func checkRecords(t *testing.T, got, want []weblog.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Ref != w.Ref || !g.At.Equal(w.At) || g.At.Location() != time.UTC || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("record %d = {%d %q %v %s}, want {%d %q %v %s}", i, g.Seq, g.Ref, g.At, g.Data, w.Seq, w.Ref, w.At, w.Data)
		}
	}
}
