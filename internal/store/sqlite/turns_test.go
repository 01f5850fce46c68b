package sqlite

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/storetest"
)

// TestCommitTurns checks that a batch of a conversation's turns is committed whole or not
// at all: the conversation saved once, every event processed in order, and with a Claim
// every answer leased to the committing deliverer, the later ones chained behind the
// first; and that a stale revision, an event out of order or one not pending stores
// nothing.
func TestCommitTurns(t *testing.T) {
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	// Three events of one conversation (BenchEvent spreads users over 1,000).
	evs := []bot.Event{storetest.BenchEvent(1, at), storetest.BenchEvent(1001, at), storetest.BenchEvent(2001, at)}
	tests := []struct {
		name     string
		ids      []string // the events the batch commits
		revision int64    // the revision the turns start from; 0 means the stored one
		want     error
	}{
		{name: "all three", ids: []string{evs[0].ID, evs[1].ID, evs[2].ID}},
		{name: "the first two", ids: []string{evs[0].ID, evs[1].ID}},
		{name: "out of order", ids: []string{evs[1].ID, evs[0].ID}, want: bot.ErrNotFound},
		{name: "one not pending", ids: []string{evs[0].ID, "line:unknown"}, want: bot.ErrNotFound},
		{name: "stale revision", ids: []string{evs[0].ID, evs[1].ID}, revision: 1, want: bot.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := open(t, filepath.Join(t.TempDir(), "giftdesk.db"))
			if _, err := s.AddEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			c := &bot.Conversation{Key: evs[0].Key, Lang: bot.Japanese, Status: bot.StatusActive, Node: "start",
				FlowVersion: "v1", CreatedAt: at, UpdatedAt: at}
			if err := s.SaveConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			c.Revision = tt.revision
			if tt.revision == 0 {
				c.Revision = 1
			} else if err := s.SaveConversation(ctx, &bot.Conversation{Key: c.Key, Lang: bot.Japanese, Status: bot.StatusActive,
				Node: "elsewhere", FlowVersion: "v1", CreatedAt: at, UpdatedAt: at, Revision: 1}); err != nil {
				t.Fatal(err)
			}
			c.Node = "batched"
			var turns []*bot.Turn
			for i, id := range tt.ids {
				turns = append(turns, &bot.Turn{Conversation: c, EventID: id, Claim: &bot.Claim{Owner: "d", Lease: time.Minute},
					Transcript: []bot.Line{{At: at, Role: bot.RoleBot, Text: "answer"}},
					Out: []*bot.Outgoing{{Key: c.Key, EventID: id, Address: c.Key.User, EventAt: at,
						Messages: []bot.Message{{Kind: bot.MsgText, Text: string(rune('1' + i))}}}}})
			}
			err := s.CommitTurns(ctx, turns)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("CommitTurns: err = %v, want %v", err, tt.want)
				}
				var pending, rows, lines int
				_ = s.read.QueryRowContext(ctx, `SELECT count(*) FROM inbox WHERE processed_at IS NULL`).Scan(&pending)
				_ = s.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&rows)
				_ = s.read.QueryRowContext(ctx, `SELECT count(*) FROM transcripts`).Scan(&lines)
				got, err := s.Conversation(ctx, c.Key)
				if err != nil {
					t.Fatal(err)
				}
				if pending != 3 || rows != 0 || lines != 0 || got.Node == "batched" {
					t.Errorf("after a failed batch: %d pending, %d rows, %d lines, node %q; want nothing stored", pending, rows, lines, got.Node)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Conversation(ctx, c.Key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Node != "batched" || got.Revision != 2 || c.Revision != 2 {
				t.Errorf("conversation node %q, revision %d (turns' %d); want batched, 2: saved once", got.Node, got.Revision, c.Revision)
			}
			for i, turn := range turns {
				if o := turn.Out[0]; o.ID == 0 || !o.Claimed {
					t.Errorf("turn %d: outgoing id %d, claimed %v; want stored and leased", i, o.ID, o.Claimed)
				}
			}
			// Leased to d, none claimable by another deliverer.
			outs, err := s.ClaimOutgoing(ctx, "other", 10, time.Minute)
			if err != nil || len(outs) != 0 {
				t.Errorf("ClaimOutgoing by another = %d rows, %v; want none", len(outs), err)
			}
			var pending int
			_ = s.read.QueryRowContext(ctx, `SELECT count(*) FROM inbox WHERE processed_at IS NULL`).Scan(&pending)
			if pending != 3-len(tt.ids) {
				t.Errorf("%d events pending, want %d", pending, 3-len(tt.ids))
			}
		})
	}
}
