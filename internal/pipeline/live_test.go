package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// leaveLeased stores an event of user on s and commits its turn with an answer leased to
// owner, who then dies with s before delivering it; it returns the answer's row id.
func leaveLeased(t *testing.T, s *sqlite.Store, owner, user string, at time.Time) int64 {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Live(ctx, owner); err != nil {
		t.Fatal(err)
	}
	k := bot.Key{Channel: "line", User: user}
	ev := bot.Event{ID: "e-" + user, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at, Address: user}
	if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
		t.Fatal(err)
	}
	out := &bot.Outgoing{Key: k, EventID: ev.ID, Address: user, EventAt: at, Messages: []bot.Message{{Kind: bot.MsgText, Text: "hi"}}}
	tn := &bot.Turn{Conversation: &bot.Conversation{Key: k}, EventID: ev.ID, Out: []*bot.Outgoing{out},
		Claim: &bot.Claim{Owner: owner, Lease: time.Hour}}
	if err := s.CommitTurn(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if !out.Claimed {
		t.Fatal("the answer was not leased at commit")
	}
	return out.ID
}

// TestPipelineTakesOver checks that a pipeline delivers what dead processes left leased to
// them on its SQLite file: one that died before it started, and one that dies while it
// runs. The clock stands still, so no lease can expire: only the takeover can free them.
func TestPipelineTakesOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	at := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	open := func() *sqlite.Store {
		s, err := sqlite.New(t.Context(), sqlite.Config{Path: path, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	before, during := open(), open()
	early := leaveLeased(t, before, "host/1", "U1", at)
	late := leaveLeased(t, during, "host/2", "U2", at)
	before.Close() // killed before the pipeline starts

	p, err := pipeline.New(pipeline.Config{Store: open(), Stepper: countingStepper{}, Owner: "host/3", Now: now,
		TakeOverEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := recordingSender{got: make(chan bot.Outgoing, 4)}
	if err := p.Add("line", s); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if o := waitFor(t, s.got); o.ID != early || o.Attempts != 1 {
		t.Errorf("first delivery: row %d, attempts %d; want row %d, left by a dead process after 1 attempt", o.ID, o.Attempts, early)
	}
	during.Close() // killed while the pipeline runs
	if o := waitFor(t, s.got); o.ID != late || o.Attempts != 1 {
		t.Errorf("second delivery: row %d, attempts %d; want row %d, left by a dead process after 1 attempt", o.ID, o.Attempts, late)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
