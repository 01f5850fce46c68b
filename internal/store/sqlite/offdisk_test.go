package sqlite

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// TestProcessedEventOffDisk checks that once an event is processed its text is gone from
// the database file, not just from what queries return: the freed bytes are overwritten
// (secure_delete) and, once the WAL is checkpointed, no copy is left in either file.
func TestProcessedEventOffDisk(t *testing.T) {
	const code = "GIFT-7K3Q-PX9M-2ZLW"
	path := filepath.Join(t.TempDir(), "giftdesk.db")
	s := open(t, path)
	ctx := t.Context()
	k := bot.Key{Channel: "line", User: "U1"}
	at := time.Date(2025, time.April, 1, 9, 30, 0, 0, time.UTC)
	ev := bot.Event{ID: "line:e1", Key: k, In: bot.Inbound{Kind: bot.InText, Text: "my code is " + code}, At: at,
		ReplyToken: "reply-token"}
	if _, err := s.AddEvents(ctx, []bot.Event{ev}); err != nil {
		t.Fatal(err)
	}
	checkpoint := func(mode string) {
		t.Helper()
		var busy, logged, done int
		if err := s.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logged, &done); err != nil {
			t.Fatal(err)
		}
		if busy != 0 {
			t.Fatalf("checkpoint blocked")
		}
	}
	holds := func() bool {
		t.Helper()
		found := false
		for _, name := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(name)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			found = found || bytes.Contains(b, []byte(code))
		}
		return found
	}
	if !holds() {
		t.Fatal("the pending event's text is not in the database file: the test looks in the wrong place")
	}

	tn := &bot.Turn{Conversation: conversation(k), EventID: ev.ID, Transcript: []bot.Line{
		{At: at, Role: bot.RoleCustomer, Text: "my code is ****-****-****-2ZLW"},
	}}
	if err := s.CommitTurn(ctx, tn); err != nil {
		t.Fatal(err)
	}
	// As SQLite's automatic checkpoints do: a passive checkpoint, and the next write
	// starts the WAL over.
	checkpoint("PASSIVE")
	if err := s.AddDeadLetter(ctx, bot.DeadLetter{Channel: "line", Reason: "next write"}); err != nil {
		t.Fatal(err)
	}
	if holds() {
		t.Error("the processed event's text is still in the database files")
	}
}
