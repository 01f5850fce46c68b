package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

var outboxTests = []test{
	{"Empty", testOutboxEmpty},
	{"RoundTrip", testOutboxRoundTrip},
	{"OrderPerConversation", testOutboxOrderPerConversation},
	{"OrderPerChannel", testOutboxOrderPerChannel},
	{"Retry", testOutboxRetry},
	{"LeaseExpiry", testOutboxLeaseExpiry},
	{"StaleOwner", testOutboxStaleOwner},
	{"Limit", testOutboxLimit},
	{"ConcurrentClaims", testOutboxConcurrentClaims},
	{"FinishedOrMissing", testOutboxFinishedOrMissing},
	{"CancelledContext", testOutboxCancelledContext},
	{"CommitClaim", testOutboxCommitClaim},
	{"CommitClaimBehind", testOutboxCommitClaimBehind},
	{"CommitClaimExpiry", testOutboxCommitClaimExpiry},
	{"Park", testOutboxPark},
	{"NotBefore", testOutboxNotBefore},
	{"ReplyMark", testOutboxReplyMark},
}

// testOutboxReplyMark checks that a reply recorded by MarkReplying shows as Replied when
// the row is claimed after its lease expired, until an attempt ends in RetryOutgoing; and
// that only the lease's owner may record it.
func testOutboxReplyMark(t *testing.T, s Store, clk *clock) {
	ctx := t.Context()
	a := bot.Key{Channel: "line", User: "A"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	if got := claimOut(t, s, "d1", 10, a1); got[0].Replied {
		t.Errorf("first claim: Replied = true, want false")
	}
	if err := s.MarkReplying(ctx, a1.ID, "d2"); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("MarkReplying by another owner: err = %v, want bot.ErrConflict", err)
	}
	if err := s.MarkReplying(ctx, a1.ID, "d1"); err != nil {
		t.Fatalf("MarkReplying: %v", err)
	}
	clk.Advance(lease) // d1 died
	if got := claimOut(t, s, "d2", 10, a1); !got[0].Replied || got[0].Parked || got[0].Attempts != 1 {
		t.Errorf("after a lost reply: Replied %v, Parked %v, Attempts %d; want true, false, 1", got[0].Replied, got[0].Parked, got[0].Attempts)
	}
	retryOut(t, s, a1.ID, "d2", clk.Now())
	if got := claimOut(t, s, "d3", 10, a1); got[0].Replied {
		t.Errorf("after a retry: Replied = true, want false")
	}
	finishOut(t, s, a1.ID, "d3", "push")
}

// testOutboxNotBefore checks that a row with NotBefore (a timer) is neither claimed at
// commit nor claimable until then, and holds up no other channel's rows.
func testOutboxNotBefore(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	timer := outgoing(event(a, "x", t0), "timer")
	timer.Channel, timer.NotBefore = "timer", clk.Now().Add(time.Minute)
	now := outgoing(event(a, "x", t0), "now")
	outs := claimTurn(t, s, a, "a1", t0, "w1", timer, now)
	if outs[0].Claimed || !outs[1].Claimed {
		t.Fatalf("Claimed = %v, %v; want false (a timer), true", outs[0].Claimed, outs[1].Claimed)
	}
	claimOut(t, s, "d1", 10)
	finishOut(t, s, outs[1].ID, "w1", "push")
	clk.Advance(time.Minute - time.Millisecond)
	claimOut(t, s, "d1", 10)
	clk.Advance(time.Millisecond)
	claimOut(t, s, "d1", 10, outs[0])
}

// claimTurn stores event id of conversation k and commits its turn with outs, claiming
// the rows that may be delivered now for owner, and returns outs.
func claimTurn(t *testing.T, s Store, k bot.Key, id string, at time.Time, owner string, outs ...*bot.Outgoing) []*bot.Outgoing {
	t.Helper()
	ev := event(k, id, at)
	addEvents(t, s, ev)
	for i, o := range outs {
		o.Key, o.EventID, o.Seq = ev.Key, ev.ID, i
	}
	commitTurn(t, s, ev, &bot.Turn{Out: outs, Claim: &bot.Claim{Owner: owner, Lease: lease}})
	return outs
}

// testOutboxCommitClaim checks CommitTurn with a Claim: a row is leased to the claim's
// owner, as if it had claimed it, when every earlier unfinished row of its conversation
// and channel is under that owner's live lease, or there is none; the owner finishes them
// in order, and a row held back comes from ClaimOutgoing once those before it are done.
func testOutboxCommitClaim(t *testing.T, s Store, _ *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	mk := func(via, text string) *bot.Outgoing {
		o := outgoing(event(a, "x", t0), text)
		o.Channel = via
		return o
	}
	// Two rows for LINE and one for Slack in one turn: all leased, the second LINE row
	// behind the first.
	outs := claimTurn(t, s, a, "a1", t0, "w1", mk("line", "one"), mk("line", "two"), mk("slack", "ticket"))
	if got := []bool{outs[0].Claimed, outs[1].Claimed, outs[2].Claimed}; !reflect.DeepEqual(got, []bool{true, true, true}) {
		t.Fatalf("Claimed = %v, want [true true true]", got)
	}
	claimOut(t, s, "d2", 10) // leased to w1
	// A later turn's row behind rows that w1 holds is leased to w1 too.
	next := claimTurn(t, s, a, "a2", t0.Add(time.Second), "w1", mk("line", "three"))
	if !next[0].Claimed {
		t.Fatal("a row behind rows leased to its claim's owner was not claimed")
	}
	// Another owner's (the conversation moved to another process) is held back, and so
	// is a row behind that one, whoever commits it.
	other := claimTurn(t, s, a, "a3", t0.Add(2*time.Second), "w2", mk("line", "four"))
	if other[0].Claimed {
		t.Fatal("a row behind rows leased to another owner was claimed")
	}
	after := claimTurn(t, s, a, "a4", t0.Add(3*time.Second), "w1", mk("line", "five"))
	if after[0].Claimed {
		t.Fatal("a row behind one not leased was claimed")
	}
	claimOut(t, s, "d2", 10)
	// The claim's owner finishes as if it had claimed; then the rows come in order.
	finishOut(t, s, outs[0].ID, "w1", "reply")
	finishOut(t, s, outs[1].ID, "w1", "push")
	finishOut(t, s, outs[2].ID, "w1", "push")
	finishOut(t, s, next[0].ID, "w1", "push")
	if err := s.FinishOutgoing(t.Context(), other[0].ID, "w2", "push"); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("FinishOutgoing of a row not claimed: err = %v, want bot.ErrConflict", err)
	}
	got := claimOut(t, s, "d2", 10, other[0])
	if got[0].Attempts != 0 {
		t.Errorf("unclaimed row: Attempts = %d, want 0", got[0].Attempts)
	}
	finishOut(t, s, other[0].ID, "d2", "push")
	claimOut(t, s, "d2", 10, after[0])
	finishOut(t, s, after[0].ID, "d2", "push")

	// Without a Claim nothing is leased; with every earlier row finished, a new one is.
	plain := turn(t, s, a, "a5", t0.Add(4*time.Second), "six")
	if plain.Claimed {
		t.Error("a row committed without Claim has Claimed set")
	}
	finishOut(t, s, claimOut(t, s, "d2", 10, plain)[0].ID, "d2", "reply")
	if last := claimTurn(t, s, a, "a6", t0.Add(5*time.Second), "w1", mk("line", "seven")); !last[0].Claimed {
		t.Error("a row with every earlier one finished was not claimed")
	}
}

// testOutboxCommitClaimBehind checks which earlier rows of a conversation and channel let
// CommitTurn lease a new row to its Claim's owner: only rows under that owner's live
// lease, however it got it. Each case has a conversation of its own; the cases share the
// store and its clock, and a case that moves the clock is done with by the next.
func testOutboxCommitClaimBehind(t *testing.T, s Store, clk *clock) {
	ctx := t.Context()
	// claimed claims due rows for owner and fails unless o is among them.
	claimed := func(t *testing.T, owner string, o *bot.Outgoing) {
		t.Helper()
		got, err := s.ClaimOutgoing(ctx, owner, 100, lease)
		if err != nil {
			t.Fatalf("ClaimOutgoing by %s: %v", owner, err)
		}
		if !slices.ContainsFunc(got, func(g bot.Outgoing) bool { return g.ID == o.ID }) {
			t.Fatalf("ClaimOutgoing by %s = rows %s, want row %d among them", owner, outIDs(got), o.ID)
		}
	}
	// A case's before commits the conversation's earlier rows in the state it names.
	type earlier struct {
		t    *testing.T
		k    bot.Key
		turn int
	}
	next := func(e *earlier) (string, time.Time) {
		e.turn++
		return fmt.Sprintf("%s-%d", e.k.User, e.turn), t0.Add(time.Duration(e.turn) * time.Second)
	}
	// claimTurn and turn, for the case's conversation.
	byOwner := func(e *earlier, owner, via string) *bot.Outgoing {
		id, at := next(e)
		o := outgoing(event(e.k, id, at), id)
		o.Channel = via
		return claimTurn(e.t, s, e.k, id, at, owner, o)[0]
	}
	plain := func(e *earlier) *bot.Outgoing {
		id, at := next(e)
		return turn(e.t, s, e.k, id, at, id)
	}
	cases := []struct {
		name   string
		before func(e *earlier)
		want   bool
	}{
		{"none", func(e *earlier) {}, true},
		{"leased to the owner at commit", func(e *earlier) { byOwner(e, "w1", "line") }, true},
		{"two leased to the owner", func(e *earlier) { byOwner(e, "w1", "line"); byOwner(e, "w1", "line") }, true},
		{"leased to the owner by ClaimOutgoing", func(e *earlier) { claimed(e.t, "w1", plain(e)) }, true},
		{"the owner's lease in its last millisecond", func(e *earlier) {
			byOwner(e, "w1", "line")
			clk.Advance(lease - time.Millisecond)
		}, true},
		{"finished", func(e *earlier) { finishOut(e.t, s, byOwner(e, "w2", "line").ID, "w2", "push") }, true},
		{"on another channel, leased to another owner", func(e *earlier) { byOwner(e, "w2", "slack") }, true},
		{"leased to another owner at commit", func(e *earlier) { byOwner(e, "w2", "line") }, false},
		{"claimed by another owner", func(e *earlier) { claimed(e.t, "d1", plain(e)) }, false},
		{"not leased", func(e *earlier) { plain(e) }, false},
		{"one of two leased to the owner", func(e *earlier) { byOwner(e, "w1", "line"); plain(e) }, false},
		{"the owner's lease expired", func(e *earlier) {
			byOwner(e, "w1", "line")
			clk.Advance(lease)
		}, false},
		{"waiting for a retry", func(e *earlier) {
			retryOut(e.t, s, byOwner(e, "w1", "line").ID, "w1", clk.Now().Add(time.Minute))
		}, false},
		{"due for a retry", func(e *earlier) { retryOut(e.t, s, byOwner(e, "w1", "line").ID, "w1", clk.Now()) }, false},
		{"parked", func(e *earlier) {
			if err := s.ParkOutgoing(ctx, byOwner(e, "w1", "line").ID, "w1", clk.Now().Add(time.Minute)); err != nil {
				e.t.Fatalf("ParkOutgoing: %v", err)
			}
		}, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &earlier{t: t, k: bot.Key{Channel: "line", User: fmt.Sprintf("U%d", i)}}
			c.before(e)
			if got := byOwner(e, "w1", "line"); got.Claimed != c.want {
				t.Errorf("Claimed = %v, want %v", got.Claimed, c.want)
			}
		})
	}
}

// testOutboxCommitClaimExpiry checks that a row claimed at commit whose owner died is
// claimed again once the lease expires, with that claim counted as an attempt.
func testOutboxCommitClaimExpiry(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	outs := claimTurn(t, s, a, "a1", t0, "w1", outgoing(event(a, "x", t0), "one"))
	if !outs[0].Claimed {
		t.Fatal("Claimed = false, want true")
	}
	clk.Advance(lease - time.Millisecond)
	claimOut(t, s, "d2", 10)
	clk.Advance(time.Millisecond)
	if got := claimOut(t, s, "d2", 10, outs[0]); got[0].Attempts != 1 || got[0].Failures != 0 {
		t.Errorf("after the commit's lease expired: Attempts = %d, Failures = %d; want 1 and 0", got[0].Attempts, got[0].Failures)
	}
	if err := s.FinishOutgoing(t.Context(), outs[0].ID, "w1", "reply"); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("FinishOutgoing by the lapsed owner: err = %v, want bot.ErrConflict", err)
	}
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
		Key: k, EventID: ev.ID, Seq: 3, Channel: "line", Address: "C0123456789abcdef", ReplyToken: "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
		Handle: `{"u":"U1","b":[{"type":"section"}]}`, EventAt: ev.At,
		Messages: []bot.Message{
			{Kind: bot.MsgText, Text: "こんにちは 🎁 \"quoted\" \\ 'single'\n改行"},
			{Kind: bot.MsgQuestion, Text: "Which card?", Choices: []bot.Choice{
				{Label: "Amazon", Data: `{"node":"card_type","option":"amazon"}`}, {Label: "Apple", Data: "apple"},
			}},
			{Kind: bot.MsgSteps, Title: "Try this", Steps: []string{"one", "two"}, Note: "note"},
			{Kind: bot.MsgHandoff, Text: "A person will answer.", Reason: "asked"},
			{Kind: bot.MsgText, Text: "relayed", From: "山田"},
			{Kind: bot.MsgTicketUpdate, Ticket: &bot.TicketCard{ID: "T1", State: bot.TicketClaimed, Customer: "U1",
				Channel: "line", Lang: bot.English, Reason: "asked", Since: t0, Agent: "U0AGENT", Staff: true,
				Path: []string{"start → cannot use"}, Diagnosis: "rejected",
				Recent:     []bot.Line{{At: t0, Role: bot.RoleCustomer, Name: "山田", Text: "help"}},
				OutOfHours: "2025-04-02 09:00 JST", Note: "cancelled", Rating: 4}},
		},
		CreatedAt: time.Date(2025, time.April, 1, 18, 30, 16, 987_654_321, tokyo),
	}
	out := *want
	out.Attempts = 7 // ignored
	commitTurn(t, s, ev, &bot.Turn{Out: []*bot.Outgoing{&out}})
	got := claimOut(t, s, "d1", 10, &out)[0]
	if got.ID != out.ID || got.Key != want.Key || got.EventID != want.EventID || got.Seq != want.Seq ||
		got.Channel != want.Channel || got.Address != want.Address || got.ReplyToken != want.ReplyToken || got.Handle != want.Handle || got.Attempts != 0 {
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
	finishOut(t, s, b1.ID, "d1", "reply")
	claimOut(t, s, "d2", 10, b2)
	claimOut(t, s, "d2", 10) // a2 still waits for a1
	finishOut(t, s, a1.ID, "d1", "push")
	claimOut(t, s, "d2", 10, a2)
	finishOut(t, s, a2.ID, "d2", "failed") // a failure also lets the next row go
	finishOut(t, s, b2.ID, "d2", "reply")
	claimOut(t, s, "d2", 10)
}

// testOutboxOrderPerChannel checks that a conversation's rows are ordered per delivering
// channel: a row stuck on one channel holds up the conversation's later rows on that
// channel only.
func testOutboxOrderPerChannel(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	// Turn 1: an answer to the customer and a ticket for agents in Slack.
	e1 := event(a, "a1", t0)
	addEvents(t, s, e1)
	line1, slack1 := outgoing(e1, "we will answer"), relay(e1, 1, "slack", "C0TICKETS", "ticket")
	commitTurn(t, s, e1, &bot.Turn{Out: []*bot.Outgoing{line1, slack1}})
	// Turn 2: the customer writes again; relayed to the thread, acknowledged on LINE.
	e2 := event(a, "a2", t0.Add(time.Second))
	addEvents(t, s, e2)
	line2, slack2 := outgoing(e2, "noted"), relay(e2, 1, "slack", "C0TICKETS/1.2", "relay")
	commitTurn(t, s, e2, &bot.Turn{Out: []*bot.Outgoing{slack2, line2}})
	// Another conversation's Slack row is not held up either.
	e3 := event(b, "b1", t0.Add(2*time.Second))
	addEvents(t, s, e3)
	slack3 := relay(e3, 0, "slack", "C0TICKETS", "ticket of B")
	commitTurn(t, s, e3, &bot.Turn{Out: []*bot.Outgoing{slack3}})

	claimOut(t, s, "d1", 10, line1, slack1, slack3)
	// Slack fails: its row waits for a retry, the LINE rows go on.
	retryOut(t, s, slack1.ID, "d1", clk.Now().Add(time.Hour))
	finishOut(t, s, line1.ID, "d1", "reply")
	claimOut(t, s, "d2", 10, line2) // not slack2: slack1 is first on Slack
	finishOut(t, s, line2.ID, "d2", "push")
	finishOut(t, s, slack3.ID, "d1", "push")
	claimOut(t, s, "d2", 10)

	clk.Advance(time.Hour)
	claimOut(t, s, "d3", 10, slack1)
	finishOut(t, s, slack1.ID, "d3", "push")
	claimOut(t, s, "d3", 10, slack2)

	// And the other way round: a LINE row stuck holds up LINE only.
	e4 := event(a, "a4", t0.Add(3*time.Second))
	addEvents(t, s, e4)
	line4, slack4 := outgoing(e4, "answer"), relay(e4, 1, "slack", "C0TICKETS/1.2", "relay")
	e5 := event(a, "a5", t0.Add(4*time.Second))
	addEvents(t, s, e5)
	commitTurn(t, s, e4, &bot.Turn{Out: []*bot.Outgoing{line4, slack4}})
	line5 := outgoing(e5, "answer 2")
	commitTurn(t, s, e5, &bot.Turn{Out: []*bot.Outgoing{line5}})
	claimOut(t, s, "d4", 10, line4) // slack4 waits for slack2, still d3's
	finishOut(t, s, slack2.ID, "d3", "push")
	claimOut(t, s, "d4", 10, slack4)
	retryOut(t, s, line4.ID, "d4", clk.Now().Add(time.Hour))
	claimOut(t, s, "d4", 10) // line5 waits for line4
	finishOut(t, s, slack4.ID, "d4", "push")
	claimOut(t, s, "d4", 10)
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
	retryOut(t, s, a1.ID, "d1", clk.Now().Add(10*time.Second))
	b1 := turn(t, s, b, "b1", t0.Add(2*time.Second), "b1")
	claimOut(t, s, "d1", 10, b1) // neither a1, not due, nor a2 behind it
	clk.Advance(10*time.Second - time.Millisecond)
	claimOut(t, s, "d1", 10)
	clk.Advance(time.Millisecond)
	if got := claimOut(t, s, "d1", 10, a1); got[0].Attempts != 1 {
		t.Errorf("second claim: Attempts = %d, want 1", got[0].Attempts)
	}

	// A retry time already past is due at once.
	retryOut(t, s, a1.ID, "d1", clk.Now().Add(-time.Minute))
	if got := claimOut(t, s, "d2", 10, a1); got[0].Attempts != 2 || got[0].Failures != 2 {
		t.Errorf("third claim: Attempts = %d, Failures = %d; want 2 and 2 (both earlier attempts were retried)", got[0].Attempts, got[0].Failures)
	}
	finishOut(t, s, a1.ID, "d2", "push")
	if got := claimOut(t, s, "d2", 10, a2); got[0].Attempts != 0 {
		t.Errorf("next row: Attempts = %d, want 0", got[0].Attempts)
	}
}

// testOutboxLeaseExpiry checks that a claimed row is claimable again once its lease
// expires, as when a deliverer crashes, and that the lost claim counts as an attempt.
func testOutboxLeaseExpiry(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	a2 := turn(t, s, a, "a2", t0.Add(time.Second), "a2")
	claimOut(t, s, "d1", 10, a1)
	clk.Advance(lease - time.Millisecond)
	claimOut(t, s, "d2", 10)
	clk.Advance(time.Millisecond)
	if got := claimOut(t, s, "d2", 10, a1); got[0].Attempts != 1 {
		t.Errorf("after an expired lease: Attempts = %d, want 1", got[0].Attempts)
	}
	claimOut(t, s, "d3", 10) // d2's lease now
	clk.Advance(lease)
	if got := claimOut(t, s, "d3", 10, a1); got[0].Attempts != 2 || got[0].Failures != 0 {
		t.Errorf("after two expired leases: Attempts = %d, Failures = %d; want 2 and 0", got[0].Attempts, got[0].Failures)
	}
	finishOut(t, s, a1.ID, "d3", "reply")
	if got := claimOut(t, s, "d3", 10, a2); got[0].Attempts != 0 {
		t.Errorf("next row: Attempts = %d, want 0", got[0].Attempts)
	}
}

// testOutboxStaleOwner checks that only the deliverer that last claimed a row may finish
// or retry it: one whose lease expired and was taken over must not, as it may have
// stalled while the new owner delivers.
func testOutboxStaleOwner(t *testing.T, s Store, clk *clock) {
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	b1 := turn(t, s, b, "b1", t0.Add(time.Second), "b1")
	claimOut(t, s, "d1", 10, a1, b1)
	clk.Advance(lease)
	claimOut(t, s, "d2", 1, a1) // b1's lease expired too, but d1 still has it by name

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "finish by the old owner", call: func(ctx context.Context) error { return s.FinishOutgoing(ctx, a1.ID, "d1", "reply") }},
		{name: "retry by the old owner", call: func(ctx context.Context) error { return s.RetryOutgoing(ctx, a1.ID, "d1", t0) }},
		{name: "finish by a stranger", call: func(ctx context.Context) error { return s.FinishOutgoing(ctx, a1.ID, "d9", "reply") }},
		{name: "finish without owner", call: func(ctx context.Context) error { return s.FinishOutgoing(ctx, a1.ID, "", "reply") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(t.Context()); !errors.Is(err, bot.ErrConflict) {
				t.Fatalf("err = %v, want bot.ErrConflict", err)
			}
		})
	}
	claimOut(t, s, "d3", 10, b1) // not a1: d2's lease on it is live; b1's lapsed

	// The leases expire, but nobody takes them over: their owners may still finish.
	clk.Advance(lease)
	finishOut(t, s, a1.ID, "d2", "reply")
	if err := s.FinishOutgoing(t.Context(), a1.ID, "d2", "reply"); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("second FinishOutgoing: err = %v, want bot.ErrConflict", err)
	}
	// A retry releases the row: the owner's lease is over.
	retryOut(t, s, b1.ID, "d3", clk.Now())
	if err := s.RetryOutgoing(t.Context(), b1.ID, "d3", clk.Now()); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("second RetryOutgoing: err = %v, want bot.ErrConflict", err)
	}
	if err := s.FinishOutgoing(t.Context(), b1.ID, "d3", "reply"); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("FinishOutgoing after RetryOutgoing: err = %v, want bot.ErrConflict", err)
	}
	// A row never claimed has no owner.
	a2 := turn(t, s, a, "a2", t0.Add(2*time.Second), "a2")
	if err := s.FinishOutgoing(t.Context(), a2.ID, "d2", "reply"); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("FinishOutgoing of an unclaimed row: err = %v, want bot.ErrConflict", err)
	}
	claimOut(t, s, "d4", 10, b1, a2)
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
	finishOut(t, s, a1.ID, "d1", "reply")
	missing := a1.ID + 1000

	tests := []struct {
		name string
		call func(ctx context.Context) error
		want error
	}{
		{name: "finish finished", call: func(ctx context.Context) error { return s.FinishOutgoing(ctx, a1.ID, "d1", "push") }, want: bot.ErrConflict},
		{name: "retry finished", call: func(ctx context.Context) error { return s.RetryOutgoing(ctx, a1.ID, "d1", t0) }, want: bot.ErrConflict},
		{name: "finish missing", call: func(ctx context.Context) error { return s.FinishOutgoing(ctx, missing, "d1", "push") }, want: bot.ErrNotFound},
		{name: "retry missing", call: func(ctx context.Context) error { return s.RetryOutgoing(ctx, missing, "d1", t0) }, want: bot.ErrNotFound},
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
	if err := s.RetryOutgoing(ctx, a1.ID, "d2", t0); !errors.Is(err, context.Canceled) {
		t.Errorf("RetryOutgoing with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := s.FinishOutgoing(ctx, a1.ID, "d2", "reply"); !errors.Is(err, context.Canceled) {
		t.Errorf("FinishOutgoing with a cancelled context: err = %v, want context.Canceled", err)
	}
	claimOut(t, s, "d3", 10) // still d2's
	finishOut(t, s, a1.ID, "d2", "reply")
}

// testOutboxPark checks that a parked row waits for its time or a WakeOutgoing of its
// delivering channel, holds up its conversation's later rows, comes back Parked with the
// parked attempt not counted, and stops being parked after a retry.
func testOutboxPark(t *testing.T, s Store, clk *clock) {
	ctx := t.Context()
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	a1 := turn(t, s, a, "a1", t0, "a1")
	a2 := turn(t, s, a, "a2", t0.Add(time.Second), "a2")
	b1 := turn(t, s, b, "b1", t0.Add(2*time.Second), "b1")
	claimOut(t, s, "d1", 1, a1)
	if err := s.ParkOutgoing(ctx, a1.ID, "d1", clk.Now().Add(time.Hour)); err != nil {
		t.Fatalf("ParkOutgoing: %v", err)
	}
	if err := s.ParkOutgoing(ctx, a1.ID, "d1", clk.Now()); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("ParkOutgoing of a row not leased: err = %v, want bot.ErrConflict", err)
	}
	if got := claimOut(t, s, "d1", 10, b1); got[0].Parked {
		t.Errorf("a row never parked came back Parked")
	}
	finishOut(t, s, b1.ID, "d1", "push")
	claimOut(t, s, "d1", 10) // a1 parked, a2 behind it

	if n, err := s.WakeOutgoing(ctx, "slack"); err != nil || n != 0 {
		t.Errorf("WakeOutgoing of another channel = %d, %v; want 0, nil", n, err)
	}
	claimOut(t, s, "d1", 10)
	if n, err := s.WakeOutgoing(ctx, "line"); err != nil || n != 1 {
		t.Fatalf("WakeOutgoing = %d, %v; want 1, nil", n, err)
	}
	got := claimOut(t, s, "d2", 10, a1)
	if !got[0].Parked || got[0].Attempts != 0 || got[0].Failures != 0 {
		t.Errorf("woken row: Parked %v, Attempts %d, Failures %d; want true, 0, 0 (a parked attempt is not counted)",
			got[0].Parked, got[0].Attempts, got[0].Failures)
	}
	if n, err := s.WakeOutgoing(ctx, "line"); err != nil || n != 0 {
		t.Errorf("WakeOutgoing of a leased row = %d, %v; want 0, nil", n, err)
	}
	retryOut(t, s, a1.ID, "d2", clk.Now())
	if got := claimOut(t, s, "d3", 10, a1); got[0].Parked || got[0].Attempts != 1 || got[0].Failures != 1 {
		t.Errorf("after a retry: Parked %v, Attempts %d, Failures %d; want false, 1, 1", got[0].Parked, got[0].Attempts, got[0].Failures)
	}
	finishOut(t, s, a1.ID, "d3", "push")
	claimOut(t, s, "d3", 10, a2)
}
