package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var outboxTests = []test{
	{"Empty", testOutboxEmpty},
	{"RoundTrip", testOutboxRoundTrip},
	{"OrderPerConversation", testOutboxOrderPerConversation},
	{"Retry", testOutboxRetry},
	{"LeaseExpiry", testOutboxLeaseExpiry},
	{"Limit", testOutboxLimit},
	{"ConcurrentClaims", testOutboxConcurrentClaims},
	{"FinishedOrMissing", testOutboxFinishedOrMissing},
	{"CancelledContext", testOutboxCancelledContext},
}

func testOutboxEmpty(t *testing.T, s Store, _ *clock) {
	claimOut(t, s, "d1", 10)
	k := bot.Key{Channel: "line", User: "U1"}
	turn(t, s, k, "e1", t0) // no messages
	claimOut(t, s, "d1", 10)
}

// testOutboxRoundTrip checks that a row comes back from ClaimOutgoing as CommitTurn stored
// it.
func testOutboxRoundTrip(t *testing.T, s Store, _ *clock) {
	tokyo := time.FixedZone("JST", 9*60*60)
	k := bot.Key{Channel: "line", User: "U4af4980629f9f2e3b0cd1a3c8e2f5b71"}
	ev := event(k, "line:01HZX", time.Date(2025, time.April, 1, 18, 30, 15, 123_456_789, tokyo))
	addEvents(t, s, ev)
	want := &bot.Outgoing{
		Key: k, EventID: ev.ID, Address: "C0123456789abcdef", ReplyToken: "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
		EventAt: ev.At,
		Messages: []bot.Message{
			{Kind: bot.MsgText, Text: "こんにちは 🎁 \"quoted\" \\ 'single'\n改行"},
			{Kind: bot.MsgQuestion, Text: "Which card?", Choices: []bot.Choice{
				{Label: "Amazon", Data: `{"node":"card_type","option":"amazon"}`}, {Label: "Apple", Data: "apple"},
			}},
			{Kind: bot.MsgSteps, Title: "Try this", Steps: []string{"one", "two"}, Note: "note"},
			{Kind: bot.MsgHandoff, Text: "A person will answer.", Reason: "asked"},
		},
		CreatedAt: time.Date(2025, time.April, 1, 18, 30, 16, 987_654_321, tokyo),
	}
	out := *want
	c := current(t, s, k)
	if err := s.CommitTurn(t.Context(), c, ev.ID, &out); err != nil {
		t.Fatalf("CommitTurn: %v", err)
	}
	got := claimOut(t, s, "d1", 10, &out)[0]
	if got.ID != out.ID || got.Key != want.Key || got.EventID != want.EventID || got.Address != want.Address ||
		got.ReplyToken != want.ReplyToken || got.Attempts != 0 {
		t.Errorf("claimed row = %+v\nwant          %+v", got, out)
	}
	if !reflect.DeepEqual(got.Messages, want.Messages) {
		t.Errorf("Messages = %#v\nwant       %#v", got.Messages, want.Messages)
	}
	checkTime(t, "EventAt", got.EventAt, want.EventAt)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
}

// testOutboxOrderPerConversation checks that a conversation's rows are claimable one at a
// time, in order, while other conversations' rows go ahead.
func testOutboxOrderPerConversation(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	b1 := turn(t, s, b, "b1", t0.Add(time.Second), "b1")
	a2 := turn(t, s, a, "a2", t0.Add(2*time.Second), "a2")
	b2 := turn(t, s, b, "b2", t0.Add(3*time.Second), "b2")
	if !(a1.ID < b1.ID && b1.ID < a2.ID && a2.ID < b2.ID) {
		t.Fatalf("row IDs %d, %d, %d, %d do not grow in commit order", a1.ID, b1.ID, a2.ID, b2.ID)
	}

	claimOut(t, s, "d1", 10, a1, b1)
	claimOut(t, s, "d2", 10) // a2 and b2 wait for a1 and b1
	finishOut(t, s, b1.ID, "reply")
	claimOut(t, s, "d2", 10, b2)
	claimOut(t, s, "d2", 10) // a2 still waits for a1
	finishOut(t, s, a1.ID, "push")
	claimOut(t, s, "d2", 10, a2)
	finishOut(t, s, a2.ID, "failed") // a failure also lets the next row go
	finishOut(t, s, b2.ID, "reply")
	claimOut(t, s, "d2", 10)
}

// testOutboxRetry checks that a retried row waits for its next attempt time, holds up its
// conversation's later rows meanwhile, and counts its attempts.
func testOutboxRetry(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	a2 := turn(t, s, a, "a2", t0.Add(time.Second), "a2")

	if got := claimOut(t, s, "d1", 10, a1); got[0].Attempts != 0 {
		t.Errorf("first claim: Attempts = %d, want 0", got[0].Attempts)
	}
	retryOut(t, s, a1.ID, clk.Now().Add(10*time.Second))
	b1 := turn(t, s, b, "b1", t0.Add(2*time.Second), "b1")
	claimOut(t, s, "d1", 10, b1) // neither a1, not due, nor a2 behind it
	clk.Advance(10*time.Second - time.Millisecond)
	claimOut(t, s, "d1", 10)
	clk.Advance(time.Millisecond)
	if got := claimOut(t, s, "d1", 10, a1); got[0].Attempts != 1 {
		t.Errorf("after one retry: Attempts = %d, want 1", got[0].Attempts)
	}

	// A retry time already past is due at once.
	retryOut(t, s, a1.ID, clk.Now().Add(-time.Minute))
	if got := claimOut(t, s, "d2", 10, a1); got[0].Attempts != 2 {
		t.Errorf("after two retries: Attempts = %d, want 2", got[0].Attempts)
	}
	finishOut(t, s, a1.ID, "push")
	if got := claimOut(t, s, "d2", 10, a2); got[0].Attempts != 0 {
		t.Errorf("next row: Attempts = %d, want 0", got[0].Attempts)
	}
}

// testOutboxLeaseExpiry checks that a claimed row is claimable again once its lease
// expires, as when a deliverer crashes, without that counting as an attempt.
func testOutboxLeaseExpiry(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	a2 := turn(t, s, a, "a2", t0.Add(time.Second), "a2")
	claimOut(t, s, "d1", 10, a1)
	clk.Advance(lease - time.Millisecond)
	claimOut(t, s, "d2", 10)
	clk.Advance(time.Millisecond)
	if got := claimOut(t, s, "d2", 10, a1); got[0].Attempts != 0 {
		t.Errorf("after an expired lease: Attempts = %d, want 0", got[0].Attempts)
	}
	claimOut(t, s, "d3", 10) // d2's lease now
	finishOut(t, s, a1.ID, "reply")
	claimOut(t, s, "d3", 10, a2)
}

// testOutboxLimit checks that ClaimOutgoing returns at most n rows, oldest first.
func testOutboxLimit(t *testing.T, s Store, _ *clock) {
	var outs []*bot.Outgoing
	for i, k := range keys(5) {
		outs = append(outs, turn(t, s, k, k.User+"-e1", t0.Add(time.Duration(i)*time.Second), "hello"))
	}
	claimOut(t, s, "d1", 2, outs[0], outs[1])
	claimOut(t, s, "d1", 2, outs[2], outs[3])
	claimOut(t, s, "d1", 2, outs[4])
	claimOut(t, s, "d1", 2)
}

// testOutboxConcurrentClaims has deliverers claim concurrently until nothing is left: each
// row must go to exactly one of them.
func testOutboxConcurrentClaims(t *testing.T, s Store, _ *clock) {
	const (
		owners        = 8
		conversations = 40
	)
	want := make(map[int64]bool)
	for i, k := range keys(conversations) {
		want[turn(t, s, k, k.User+"-e1", t0.Add(time.Duration(i)*time.Millisecond), "hello").ID] = true
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = make(map[int64][]string) // owners
		start   = make(chan struct{})
	)
	for o := range owners {
		owner := fmt.Sprintf("d%d", o)
		wg.Go(func() {
			<-start
			for range conversations + 1 {
				rows, err := s.ClaimOutgoing(t.Context(), owner, 3, lease)
				if err != nil {
					t.Errorf("ClaimOutgoing by %s: %v", owner, err)
					return
				}
				if len(rows) == 0 {
					return
				}
				if len(rows) > 3 {
					t.Errorf("ClaimOutgoing by %s of at most 3 rows returned %d", owner, len(rows))
				}
				mu.Lock()
				for _, o := range rows {
					claimed[o.ID] = append(claimed[o.ID], owner)
				}
				mu.Unlock()
			}
			t.Errorf("%s claimed more than the %d rows there are", owner, conversations)
		})
	}
	close(start)
	wg.Wait()
	for id := range want {
		if len(claimed[id]) != 1 {
			t.Errorf("row %d claimed by %v, want exactly one owner", id, claimed[id])
		}
	}
	if len(claimed) != len(want) {
		t.Errorf("%d rows claimed, want %d", len(claimed), len(want))
	}
}

// testOutboxFinishedOrMissing checks the errors of FinishOutgoing and RetryOutgoing for a
// row that is finished or does not exist, and that a finished row stays finished.
func testOutboxFinishedOrMissing(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	claimOut(t, s, "d1", 10, a1)
	finishOut(t, s, a1.ID, "reply")
	missing := a1.ID + 1000

	tests := []struct {
		name string
		call func(ctx context.Context) error
		want error
	}{
		{name: "finish finished", call: func(ctx context.Context) error { return s.FinishOutgoing(ctx, a1.ID, "push") }, want: bot.ErrConflict},
		{name: "retry finished", call: func(ctx context.Context) error { return s.RetryOutgoing(ctx, a1.ID, t0) }, want: bot.ErrConflict},
		{name: "finish missing", call: func(ctx context.Context) error { return s.FinishOutgoing(ctx, missing, "push") }, want: bot.ErrNotFound},
		{name: "retry missing", call: func(ctx context.Context) error { return s.RetryOutgoing(ctx, missing, t0) }, want: bot.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(t.Context()); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			claimOut(t, s, "d2", 10) // a1 stays finished
		})
	}
}

func testOutboxCancelledContext(t *testing.T, s Store, _ *clock) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := bot.Key{Channel: "line", User: "A"}
	a1 := turn(t, s, a, "a1", t0, "a1")

	if _, err := s.ClaimOutgoing(ctx, "d1", 10, lease); !errors.Is(err, context.Canceled) {
		t.Errorf("ClaimOutgoing with a cancelled context: err = %v, want context.Canceled", err)
	}
	claimOut(t, s, "d2", 10, a1) // d1 got no lease
	if err := s.RetryOutgoing(ctx, a1.ID, t0); !errors.Is(err, context.Canceled) {
		t.Errorf("RetryOutgoing with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := s.FinishOutgoing(ctx, a1.ID, "reply"); !errors.Is(err, context.Canceled) {
		t.Errorf("FinishOutgoing with a cancelled context: err = %v, want context.Canceled", err)
	}
	claimOut(t, s, "d3", 10) // still d2's
	finishOut(t, s, a1.ID, "reply")
}
