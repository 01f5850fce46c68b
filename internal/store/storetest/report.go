package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// Reports is what the report package (internal/report.Source) reads from every store:
// transcript lines and tickets since a time, streamed to a callback.
type Reports interface {
	LinesSince(ctx context.Context, since time.Time, fn func(bot.Key, bot.Line) error) error
	TicketsSince(ctx context.Context, since time.Time, fn func(bot.Key, bot.Ticket) error) error
}

var reportTests = []test{
	{"LinesSince", testReportLinesSince},
	{"TicketsSince", testReportTicketsSince},
	{"StopEarly", testReportStopEarly},
	{"CancelledContext", testReportCancelledContext},
}

// keyedLine is a transcript line with its conversation's key.
type keyedLine struct {
	k bot.Key
	l bot.Line
}

// linesSince returns what LinesSince(since) calls its function with.
func linesSince(t *testing.T, s Store, since time.Time) []keyedLine {
	t.Helper()
	var got []keyedLine
	err := s.LinesSince(t.Context(), since, func(k bot.Key, l bot.Line) error {
		got = append(got, keyedLine{k, l})
		return nil
	})
	if err != nil {
		t.Fatalf("LinesSince(%s): %v", since.Format(time.RFC3339Nano), err)
	}
	return got
}

// testReportLinesSince checks which lines LinesSince returns, compared with since to the
// millisecond, and that they come in the order they were appended, every field kept.
func testReportLinesSince(t *testing.T, s Store, _ *clock) {
	since := t0.Add(time.Hour)
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "slack", User: "A"} // the same user id on another channel
	tokyo := time.FixedZone("JST", 9*60*60)
	if got := linesSince(t, s, t0); len(got) != 0 {
		t.Errorf("LinesSince of an empty store = %v, want no lines", got)
	}
	turns := []struct {
		k     bot.Key
		lines []bot.Line
	}{
		{a, []bot.Line{
			{At: since.Add(-time.Millisecond), Role: bot.RoleCustomer, Text: "just before"},
			{At: since, Role: bot.RoleBot, Text: "What is happening? [A | B]", Node: "start"},
		}},
		{b, []bot.Line{
			{At: since.Add(time.Minute), Role: bot.RoleCustomer, Name: "山田 'Taro'", Text: "ギフト券 🎁 \"quoted\" \\ ****-****\n改行", Miss: true},
		}},
		{a, nil}, // a turn without lines
		{a, []bot.Line{
			// Out of time order, and one before since among them.
			{At: since.Add(2 * time.Hour), Role: bot.RoleSystem, Text: "ticket T1 opened: asked"},
			{At: t0, Role: bot.RoleNote, Name: "Sato", Text: "too early"},
			{At: time.Date(2025, time.April, 1, 19, 30, 15, 987_654_321, tokyo), Role: bot.RoleAgent, Name: "Sato", Text: "Hello"},
			{At: since.Add(30 * time.Second), Role: bot.RoleBot, Text: "We're connecting you", Node: "handoff"},
		}},
	}
	for i, tn := range turns {
		ev := event(tn.k, fmt.Sprintf("e%d", i), t0.Add(time.Duration(i)*time.Second))
		addEvents(t, s, ev)
		commitTurn(t, s, ev, &bot.Turn{Transcript: tn.lines})
	}
	want := []keyedLine{
		{a, turns[0].lines[1]}, {b, turns[1].lines[0]},
		{a, turns[3].lines[0]}, {a, turns[3].lines[2]}, {a, turns[3].lines[3]},
	}
	checkLines(t, since, linesSince(t, s, since), want)
	// Since in the middle of a millisecond: the line of that millisecond is in.
	checkLines(t, since.Add(999_999), linesSince(t, s, since.Add(999_999)), want)
	checkLines(t, since.Add(time.Millisecond), linesSince(t, s, since.Add(time.Millisecond)), want[1:])
	checkLines(t, since.Add(24*time.Hour), linesSince(t, s, since.Add(24*time.Hour)), nil)
}

// checkLines reports how got differs from want.
func checkLines(t *testing.T, since time.Time, got, want []keyedLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("LinesSince(%s) = %d lines %v, want %d %v", since.Format(time.RFC3339Nano), len(got), got, len(want), want)
	}
	for i, g := range got {
		w := want[i]
		if g.k != w.k || g.l.Role != w.l.Role || g.l.Name != w.l.Name || g.l.Text != w.l.Text ||
			g.l.Node != w.l.Node || g.l.Miss != w.l.Miss {
			t.Errorf("LinesSince(%s)[%d] = %v %+v, want %v %+v", since.Format(time.RFC3339Nano), i, g.k, g.l, w.k, w.l)
		}
		checkTime(t, fmt.Sprintf("LinesSince[%d].At", i), g.l.At, w.l.At)
	}
}

// keyedTicket is a ticket with its conversation's key.
type keyedTicket struct {
	k bot.Key
	t bot.Ticket
}

// testReportTicketsSince checks that TicketsSince returns the tickets archived since a
// time, in the order they closed, then every open ticket, oldest first.
func testReportTicketsSince(t *testing.T, s Store, clk *clock) {
	since := t0.Add(time.Hour)
	a := bot.Key{Channel: "line", User: "A"}
	b := bot.Key{Channel: "line", User: "B"}
	closed := func(id string, at time.Time) *bot.Ticket {
		return &bot.Ticket{ID: id, State: bot.TicketClosed, Reason: "asked", CreatedAt: t0, ClosedAt: at, Outcome: "resolved"}
	}
	full := &bot.Ticket{
		ID: "T-at", State: bot.TicketClosed, Reason: "code_rejected 'コード' \"🎁\"", Staff: true,
		Agent: "U0AGENT", AgentName: "佐藤 'Sato'", CreatedAt: t0,
		ClaimedAt: t0.Add(time.Minute), ResolvedAt: t0.Add(30 * time.Minute), ClosedAt: since,
		Outcome: "resolved", Waited: true, Rating: 5,
	}
	// ClosedAt zero: archived as closed at the commit's now.
	unset := &bot.Ticket{ID: "T-unset", State: bot.TicketClosed, CreatedAt: t0, Outcome: "self_help"}
	archived := []struct {
		k bot.Key
		t *bot.Ticket
	}{
		{a, closed("T-before", since.Add(-time.Millisecond))},
		{b, closed("T-tie-b", since.Add(3*time.Hour))},
		{a, unset},
		{a, full},
		{b, closed("T-tie-a", since.Add(3*time.Hour))},
		{a, closed("T-later", since.Add(2*time.Hour))},
	}
	for i, x := range archived {
		ev := event(x.k, fmt.Sprintf("e%d", i), t0)
		addEvents(t, s, ev)
		commitTurn(t, s, ev, &bot.Turn{Closed: x.t})
	}
	withUnset := *unset
	withUnset.ClosedAt = clk.Now()

	// Open tickets, whatever their age; and a conversation without one.
	old := bot.Key{Channel: "line", User: "old"}
	newer := bot.Key{Channel: "slack", User: "C1/1.0"}
	oldTicket := &bot.Ticket{ID: "T-open-old", State: bot.TicketWaiting, Reason: "asked", CreatedAt: t0.Add(-48 * time.Hour)}
	newerTicket := &bot.Ticket{ID: "T-open-new", State: bot.TicketClaimed, Reason: "asked", CreatedAt: t0.Add(10 * time.Minute),
		Agent: "U0AGENT", ClaimedAt: t0.Add(11 * time.Minute)}
	withTicket(t, s, newer, newerTicket)
	withTicket(t, s, old, oldTicket)
	withTicket(t, s, bot.Key{Channel: "line", User: "none"}, nil)

	checkTickets(t, s, since, []keyedTicket{
		{a, *full}, {a, *archived[5].t}, {b, *archived[4].t}, {b, *archived[1].t}, {a, withUnset},
		{old, *oldTicket}, {newer, *newerTicket},
	})
	checkTickets(t, s, clk.Now().Add(time.Millisecond), []keyedTicket{{old, *oldTicket}, {newer, *newerTicket}})
}

// checkTickets checks that TicketsSince(since) returns want, in that order.
func checkTickets(t *testing.T, s Store, since time.Time, want []keyedTicket) {
	t.Helper()
	var got []keyedTicket
	err := s.TicketsSince(t.Context(), since, func(k bot.Key, tk bot.Ticket) error {
		got = append(got, keyedTicket{k, tk})
		return nil
	})
	if err != nil {
		t.Fatalf("TicketsSince(%s): %v", since.Format(time.RFC3339Nano), err)
	}
	if len(got) != len(want) {
		t.Fatalf("TicketsSince(%s) = %d tickets %v, want %d %v", since.Format(time.RFC3339Nano), len(got), got, len(want), want)
	}
	for i, g := range got {
		w := want[i]
		if g.k != w.k {
			t.Errorf("TicketsSince[%d] (%s) of %v, want %s of %v", i, g.t.ID, g.k, w.t.ID, w.k)
		}
		if d := diffTicket(&g.t, &w.t); d != "" {
			// The store keeps milliseconds: compare the times that way.
			trunc := func(tk bot.Ticket) bot.Ticket {
				for _, at := range []*time.Time{&tk.CreatedAt, &tk.ClaimedAt, &tk.ResolvedAt, &tk.ClosedAt} {
					*at = at.Truncate(time.Millisecond)
				}
				return tk
			}
			gt, wt := trunc(g.t), trunc(w.t)
			if d := diffTicket(&gt, &wt); d != "" {
				t.Errorf("TicketsSince[%d] = %s", i, d)
			}
		}
		for _, at := range []time.Time{g.t.CreatedAt, g.t.ClaimedAt, g.t.ResolvedAt, g.t.ClosedAt} {
			if !at.IsZero() && at.Location() != time.UTC {
				t.Errorf("TicketsSince[%d] (%s): time %s is not in UTC", i, g.t.ID, at)
			}
		}
	}
}

// testReportStopEarly checks that an error from the callback stops the reading and comes
// back.
func testReportStopEarly(t *testing.T, s Store, _ *clock) {
	k := bot.Key{Channel: "line", User: "A"}
	ev := event(k, "e1", t0)
	addEvents(t, s, ev)
	commitTurn(t, s, ev, &bot.Turn{
		Transcript: []bot.Line{{At: t0, Role: bot.RoleBot, Text: "one"}, {At: t0, Role: bot.RoleBot, Text: "two"}},
		Closed:     &bot.Ticket{ID: "T1", State: bot.TicketClosed, CreatedAt: t0, ClosedAt: t0},
	})
	withTicket(t, s, bot.Key{Channel: "line", User: "B"}, &bot.Ticket{ID: "T2", State: bot.TicketWaiting, CreatedAt: t0})

	stop := errors.New("enough")
	calls := 0
	err := s.LinesSince(t.Context(), t0, func(bot.Key, bot.Line) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("LinesSince with a failing callback: err = %v after %d calls, want the callback's error after 1", err, calls)
	}
	calls = 0
	err = s.TicketsSince(t.Context(), t0, func(bot.Key, bot.Ticket) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("TicketsSince with a failing callback: err = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func testReportCancelledContext(t *testing.T, s Store, _ *clock) {
	k := bot.Key{Channel: "line", User: "A"}
	ev := event(k, "e1", t0)
	addEvents(t, s, ev)
	commitTurn(t, s, ev, &bot.Turn{
		Transcript: []bot.Line{{At: t0, Role: bot.RoleBot, Text: "one"}},
		Closed:     &bot.Ticket{ID: "T1", State: bot.TicketClosed, CreatedAt: t0, ClosedAt: t0},
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	never := func(what string) {
		t.Errorf("%s with a cancelled context called its function", what)
	}
	if err := s.LinesSince(ctx, t0, func(bot.Key, bot.Line) error { never("LinesSince"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("LinesSince with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := s.TicketsSince(ctx, t0, func(bot.Key, bot.Ticket) error { never("TicketsSince"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("TicketsSince with a cancelled context: err = %v, want context.Canceled", err)
	}
}
