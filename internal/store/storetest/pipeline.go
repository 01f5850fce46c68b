package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// Helpers for the pipeline tests: inbox, queue and outbox.

// lease is the lease the tests take unless they say otherwise.
const lease = 30 * time.Second

// event returns a text event of conversation k that happened at at.
func event(k bot.Key, id string, at time.Time) bot.Event {
	return bot.Event{
		ID:         id,
		Key:        k,
		In:         bot.Inbound{Kind: bot.InText, Text: "text of " + id},
		At:         at,
		Address:    k.User,
		ReplyToken: "reply-token-" + id,
		Handle:     `{"u":"` + id + `"}`,
	}
}

// addEvents stores evs and returns which were fresh.
func addEvents(t *testing.T, s Store, evs ...bot.Event) []bool {
	t.Helper()
	fresh, err := s.AddEvents(t.Context(), evs)
	if err != nil {
		t.Fatalf("AddEvents %s: %v", eventIDs(evs), err)
	}
	if len(fresh) != len(evs) {
		t.Fatalf("AddEvents of %d events returned %d fresh flags", len(evs), len(fresh))
	}
	return fresh
}

// claim claims a conversation for owner, failing the test if there is none.
func claim(t *testing.T, s Store, owner string) (bot.Key, []bot.Event) {
	t.Helper()
	k, evs, err := s.ClaimConversation(t.Context(), owner, lease)
	if err != nil {
		t.Fatalf("ClaimConversation by %s: %v", owner, err)
	}
	if len(evs) == 0 {
		t.Fatalf("ClaimConversation by %s: conversation %q/%q without pending events", owner, k.Channel, k.User)
	}
	for _, ev := range evs {
		if ev.Key != k {
			t.Fatalf("ClaimConversation by %s: conversation %q/%q returned event %s of %q/%q",
				owner, k.Channel, k.User, ev.ID, ev.Key.Channel, ev.Key.User)
		}
	}
	return k, evs
}

// claimWant claims a conversation for owner and checks that it is k with the events ids.
func claimWant(t *testing.T, s Store, owner string, k bot.Key, ids ...string) {
	t.Helper()
	got, evs := claim(t, s, owner)
	if got != k {
		t.Fatalf("ClaimConversation by %s = %q/%q, want %q/%q", owner, got.Channel, got.User, k.Channel, k.User)
	}
	if g, w := eventIDs(evs), strings.Join(ids, ","); g != w {
		t.Fatalf("ClaimConversation by %s: events %s, want %s", owner, g, w)
	}
}

// claimNone checks that owner finds no conversation to claim.
func claimNone(t *testing.T, s Store, owner string) {
	t.Helper()
	k, evs, err := s.ClaimConversation(t.Context(), owner, lease)
	if !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("ClaimConversation by %s = %q/%q with events %s, err %v; want bot.ErrNotFound",
			owner, k.Channel, k.User, eventIDs(evs), err)
	}
}

func release(t *testing.T, s Store, k bot.Key, owner string) {
	t.Helper()
	if err := s.ReleaseConversation(t.Context(), k, owner); err != nil {
		t.Fatalf("ReleaseConversation %q/%q by %s: %v", k.Channel, k.User, owner, err)
	}
}

// current returns k's stored conversation, or a new one.
func current(t *testing.T, s Store, k bot.Key) *bot.Conversation {
	t.Helper()
	c, err := s.Conversation(t.Context(), k)
	if errors.Is(err, bot.ErrNotFound) {
		c = sample(k)
		c.Node = "start"
		c.Ticket = nil
		return c
	}
	if err != nil {
		t.Fatalf("Conversation %q/%q: %v", k.Channel, k.User, err)
	}
	return c
}

// outgoing returns the outgoing message of a turn answering ev with one text per text.
func outgoing(ev bot.Event, texts ...string) *bot.Outgoing {
	out := &bot.Outgoing{
		Key: ev.Key, EventID: ev.ID, Address: ev.Address, ReplyToken: ev.ReplyToken, Handle: ev.Handle, EventAt: ev.At,
		CreatedAt: ev.At.Add(time.Second),
	}
	for _, text := range texts {
		out.Messages = append(out.Messages, bot.Message{Kind: bot.MsgText, Text: text})
	}
	return out
}

// relay returns an outgoing message of a turn answering ev, delivered by channel via to
// address, with one text per text.
func relay(ev bot.Event, seq int, via, address string, texts ...string) *bot.Outgoing {
	out := outgoing(ev, texts...)
	out.Seq, out.Channel, out.Address, out.ReplyToken, out.Handle = seq, via, address, "", ""
	return out
}

// commit commits the turn answering pending event ev with texts, and returns its outgoing
// row (ID 0 without texts).
func commit(t *testing.T, s Store, ev bot.Event, texts ...string) *bot.Outgoing {
	t.Helper()
	out := outgoing(ev, texts...)
	commitTurn(t, s, ev, &bot.Turn{Out: []*bot.Outgoing{out}})
	return out
}

// commitTurn commits tn, the turn answering pending event ev, with the conversation's
// node moved on (unless tn has a conversation already) and tn.EventID set, and checks
// that every Outgoing with messages got an ID, and only those.
func commitTurn(t *testing.T, s Store, ev bot.Event, tn *bot.Turn) {
	t.Helper()
	if tn.Conversation == nil {
		tn.Conversation = current(t, s, ev.Key)
		tn.Conversation.Node = "after_" + ev.ID
	}
	tn.EventID = ev.ID
	rev := tn.Conversation.Revision
	if err := s.CommitTurn(t.Context(), tn); err != nil {
		t.Fatalf("CommitTurn of %s at revision %d: %v", ev.ID, rev, err)
	}
	if tn.Conversation.Revision != rev+1 {
		t.Fatalf("CommitTurn at revision %d left Revision %d, want %d", rev, tn.Conversation.Revision, rev+1)
	}
	for _, out := range tn.Out {
		switch {
		case len(out.Messages) > 0 && out.ID <= 0:
			t.Fatalf("CommitTurn of %s with messages set out.ID = %d, want a positive ID", ev.ID, out.ID)
		case len(out.Messages) == 0 && out.ID != 0:
			t.Fatalf("CommitTurn of %s without messages set out.ID = %d", ev.ID, out.ID)
		}
	}
}

// turn stores event id of conversation k, happening at at, and commits its turn with
// texts: an outbox row, unless texts is empty.
func turn(t *testing.T, s Store, k bot.Key, id string, at time.Time, texts ...string) *bot.Outgoing {
	t.Helper()
	ev := event(k, id, at)
	addEvents(t, s, ev)
	return commit(t, s, ev, texts...)
}

// claimOut claims up to n outgoing rows for owner and checks that they are the rows with
// ids want, in that order.
func claimOut(t *testing.T, s Store, owner string, n int, want ...*bot.Outgoing) []bot.Outgoing {
	t.Helper()
	got, err := s.ClaimOutgoing(t.Context(), owner, n, lease)
	if err != nil {
		t.Fatalf("ClaimOutgoing by %s: %v", owner, err)
	}
	if g, w := outIDs(got), outIDs(deref(want)); g != w {
		t.Fatalf("ClaimOutgoing by %s = rows %s, want %s", owner, g, w)
	}
	return got
}

func retryOut(t *testing.T, s Store, id int64, owner string, at time.Time) {
	t.Helper()
	if err := s.RetryOutgoing(t.Context(), id, owner, at); err != nil {
		t.Fatalf("RetryOutgoing %d by %s: %v", id, owner, err)
	}
}

func finishOut(t *testing.T, s Store, id int64, owner, outcome string) {
	t.Helper()
	if err := s.FinishOutgoing(t.Context(), id, owner, outcome); err != nil {
		t.Fatalf("FinishOutgoing %d by %s: %v", id, owner, err)
	}
}

func deref(outs []*bot.Outgoing) []bot.Outgoing {
	r := make([]bot.Outgoing, len(outs))
	for i, o := range outs {
		r[i] = *o
	}
	return r
}

// eventIDs lists the events' IDs, as "[a,b]".
func eventIDs(evs []bot.Event) string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return strings.Join(ids, ",")
}

// outIDs lists the rows as "id(event#seq via)", which says more in a failure than the ID
// alone.
func outIDs(outs []bot.Outgoing) string {
	ids := make([]string, len(outs))
	for i, o := range outs {
		ids[i] = fmt.Sprintf("%d(%s#%d %s)", o.ID, o.EventID, o.Seq, o.Via())
	}
	return "[" + strings.Join(ids, " ") + "]"
}

// checkTime reports got unless it is want in UTC to the millisecond, truncated rather
// than rounded up.
func checkTime(t *testing.T, name string, got, want time.Time) {
	t.Helper()
	if d := want.Sub(got); d < 0 || d >= time.Millisecond {
		t.Errorf("%s = %s, want %s to the millisecond", name, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %s, want UTC", name, got.Location())
	}
}

// checkEvent reports how got differs from want.
func checkEvent(t *testing.T, got, want bot.Event) {
	t.Helper()
	if got.ID != want.ID || got.Key != want.Key || got.In != want.In || got.Address != want.Address ||
		got.ReplyToken != want.ReplyToken || got.Handle != want.Handle {
		t.Errorf("event = %+v\nwant    %+v", got, want)
	}
	checkTime(t, "event "+want.ID+" At", got.At, want.At)
}

// keys returns n conversation keys.
func keys(n int) []bot.Key {
	ks := make([]bot.Key, n)
	for i := range ks {
		ks[i] = bot.Key{Channel: "line", User: fmt.Sprintf("U%03d", i)}
	}
	return ks
}
