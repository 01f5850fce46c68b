package settle_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

func TestUntil(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		trueAt  int   // the call that reports true; 0 never
		err     error // returned by every call
		timeout time.Duration
		wantErr error
		wantN   int
	}{
		{name: "at once", trueAt: 1, timeout: time.Second, wantN: 1},
		{name: "after a few looks", trueAt: 5, timeout: time.Second, wantN: 5},
		{name: "error ends it", err: boom, timeout: time.Second, wantErr: boom, wantN: 1},
		{name: "never", timeout: 50 * time.Millisecond, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			n := 0
			err := settle.Until(ctx, func() (bool, error) {
				n++
				return n == tt.trueAt, tt.err
			})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantN > 0 && n != tt.wantN {
				t.Errorf("cond called %d times, want %d", n, tt.wantN)
			}
		})
	}
}

// TestDrained runs Drained against a real store: it waits while an event is pending and
// while its answer is unfinished, and returns once both are done.
func TestDrained(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := settle.Drained(ctx, st); err != nil {
		t.Fatalf("an empty store: %v", err)
	}
	k := bot.Key{Channel: "line", User: "U1"}
	ev := bot.Event{ID: "e1", Key: k, In: bot.Inbound{Kind: bot.InText, Text: "hi"}, At: time.Now()}
	if _, err := st.AddEvents(ctx, []bot.Event{ev}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := settle.Drained(short, st); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with an event pending: %v, want a deadline error", err)
	}

	done := make(chan error, 1)
	go func() { done <- settle.Drained(ctx, st) }()
	_, evs, err := st.ClaimConversation(ctx, "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	conv := &bot.Conversation{Key: k, Node: "start"}
	turn := &bot.Turn{Conversation: conv, EventID: evs[0].ID, Out: []*bot.Outgoing{{Key: k, EventID: ev.ID, Address: k.User,
		Messages: []bot.Message{{Kind: bot.MsgText, Text: "hello"}}}}}
	if err := st.CommitTurn(ctx, turn); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Drained returned %v with an outgoing row unfinished", err)
	default:
	}
	outs, err := st.ClaimOutgoing(ctx, "d", 1, time.Minute)
	if err != nil || len(outs) != 1 {
		t.Fatalf("ClaimOutgoing = %v, %v", outs, err)
	}
	if err := st.FinishOutgoing(ctx, outs[0].ID, "d", "push"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Drained after the answer was delivered: %v", err)
	}
}
