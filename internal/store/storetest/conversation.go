package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var conversationTests = []test{
	{"NotFound", withoutClock(testConversationNotFound)},
	{"SaveNewAndLoad", withoutClock(testConversationSaveNewAndLoad)},
	{"Update", withoutClock(testConversationUpdate)},
	{"StaleRevision", withoutClock(testConversationStaleRevision)},
	{"SaveNewTwice", withoutClock(testConversationSaveNewTwice)},
	{"UpdateMissing", withoutClock(testConversationUpdateMissing)},
	{"ConcurrentUpdates", withoutClock(testConversationConcurrentUpdates)},
	{"IndependentKeys", withoutClock(testConversationIndependentKeys)},
	{"EmptyValues", withoutClock(testConversationEmptyValues)},
	{"TimePrecision", withoutClock(testConversationTimePrecision)},
	{"CallerOwnsValues", withoutClock(testConversationCallerOwnsValues)},
	{"Ticket", withoutClock(testConversationTicket)},
	{"CancelledContext", withoutClock(testConversationCancelledContext)},
}

// withoutClock adapts a test that does not need the clock.
func withoutClock(f func(t *testing.T, s Store)) func(t *testing.T, s Store, clk *clock) {
	return func(t *testing.T, s Store, _ *clock) { f(t, s) }
}

// t0 is millisecond-aligned, so a store that keeps milliseconds returns it exactly.
var t0 = time.Date(2025, time.April, 1, 9, 30, 15, 123_000_000, time.UTC)

// sample returns a conversation with every field set, including text that needs escaping.
func sample(k bot.Key) *bot.Conversation {
	return &bot.Conversation{
		Key:            k,
		Name:           "山田 太郎 'Taro' \"🎁\"",
		ProfileChecked: true,
		Lang:           bot.Japanese,
		Status:         bot.StatusActive,
		Node:           "ask_code",
		Path:           []string{"start", "card_type", "is_amazon", "ask_code"},
		Answers: []bot.Answer{
			{Node: "start", Option: "cannot_use", At: t0.Add(1 * time.Second)},
			{Node: "card_type", Option: "amazon", At: t0.Add(2*time.Second + 5*time.Millisecond)},
			{Node: "describe", Value: "ギフト券が使えません 🎁 \"quoted\" \\ 'single'\n改行", At: t0.Add(3 * time.Second)},
		},
		Vars:    map[string]string{"store": "アマゾン", "amount": "5000", "note": `{"not":"json"}`},
		Misses:  2,
		Address: "U4af4980629f9f2e3b0cd1a3c8e2f5b71",
		Ticket: &bot.Ticket{
			ID: "T0a1b2c3d4e5f", State: bot.TicketResolved, Reason: "code_rejected 'コード' \"🎁\"", Staff: true,
			Agent: "U0AGENT", AgentName: "佐藤 'Sato'", CreatedAt: t0.Add(4 * time.Second),
			ClaimedAt: t0.Add(5 * time.Second), ResolvedAt: t0.Add(6 * time.Second), ClosedAt: t0.Add(7 * time.Second),
			Outcome: "resolved", Waited: true, Rating: 4,
		},
		FlowVersion: "2025-04-01.1",
		CreatedAt:   t0,
		UpdatedAt:   t0.Add(3 * time.Second),
	}
}

func testConversationNotFound(t *testing.T, s Store) {
	c, err := s.Conversation(t.Context(), bot.Key{Channel: "line", User: "U-missing"})
	if !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("Conversation of a missing key: err = %v, want bot.ErrNotFound", err)
	}
	if c != nil {
		t.Errorf("Conversation of a missing key returned %+v with the error, want nil", c)
	}
}

func testConversationSaveNewAndLoad(t *testing.T, s Store) {
	c := sample(bot.Key{Channel: "line", User: "U1"})
	want := clone(c)
	want.Revision = 1

	save(t, s, c)
	if d := diff(c, want); d != "" {
		t.Errorf("SaveConversation changed more than Revision 0 -> 1:\n%s", d)
	}
	if d := diff(load(t, s, c.Key), want); d != "" {
		t.Errorf("loaded conversation differs from the saved one:\n%s", d)
	}
}

func testConversationUpdate(t *testing.T, s Store) {
	k := bot.Key{Channel: "line", User: "U1"}
	save(t, s, sample(k))

	c := load(t, s, k)
	for rev := int64(2); rev <= 4; rev++ {
		c.Lang = bot.English
		c.Name = fmt.Sprintf("Customer %d", rev)
		c.Status = bot.StatusHandoff
		c.Node = fmt.Sprintf("node%d", rev)
		c.Path = append(c.Path, c.Node)
		c.Answers = append(c.Answers, bot.Answer{Node: c.Node, Option: "yes", At: t0.Add(time.Duration(rev) * time.Minute)})
		c.Vars["rev"] = strconv.FormatInt(rev, 10)
		delete(c.Vars, "amount")
		c.Misses = int(rev)
		c.Address = fmt.Sprintf("C%d", rev)
		c.Ticket.State = bot.TicketClaimed
		c.Ticket.Rating = int(rev)
		c.FlowVersion = "v" + strconv.FormatInt(rev, 10)
		c.UpdatedAt = t0.Add(time.Duration(rev) * time.Minute)
		want := clone(c)
		want.Revision = rev

		save(t, s, c)
		if c.Revision != rev {
			t.Fatalf("after save: Revision = %d, want %d", c.Revision, rev)
		}
		if d := diff(load(t, s, k), want); d != "" {
			t.Fatalf("loaded conversation at revision %d differs from the saved one:\n%s", rev, d)
		}
	}
}

func testConversationStaleRevision(t *testing.T, s Store) {
	k := bot.Key{Channel: "line", User: "U1"}
	save(t, s, sample(k))
	cur := load(t, s, k)
	cur.Node = "current"
	save(t, s, cur) // revision 2
	stored := clone(cur)

	tests := []struct {
		name     string
		revision int64
	}{
		{name: "behind", revision: 1},
		{name: "new", revision: 0},
		{name: "ahead", revision: 3},
		{name: "negative", revision: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clone(cur)
			c.Node = "lost"
			c.Vars["lost"] = "yes"
			c.Revision = tt.revision
			err := s.SaveConversation(t.Context(), c)
			if !errors.Is(err, bot.ErrConflict) {
				t.Fatalf("SaveConversation at revision %d over revision 2: err = %v, want bot.ErrConflict", tt.revision, err)
			}
			if c.Revision != tt.revision {
				t.Errorf("failed SaveConversation changed Revision %d -> %d", tt.revision, c.Revision)
			}
			if d := diff(load(t, s, k), stored); d != "" {
				t.Errorf("failed SaveConversation changed the stored conversation:\n%s", d)
			}
		})
	}
}

func testConversationSaveNewTwice(t *testing.T, s Store) {
	k := bot.Key{Channel: "slack", User: "T1/C1/1712345678.000100"}
	first, second := sample(k), sample(k)
	first.Node, second.Node = "first", "second"

	save(t, s, first)
	err := s.SaveConversation(t.Context(), second)
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("second SaveConversation of a new conversation: err = %v, want bot.ErrConflict", err)
	}
	if second.Revision != 0 {
		t.Errorf("failed SaveConversation changed Revision 0 -> %d", second.Revision)
	}
	if d := diff(load(t, s, k), first); d != "" {
		t.Errorf("stored conversation is not the first one saved:\n%s", d)
	}
}

func testConversationUpdateMissing(t *testing.T, s Store) {
	c := sample(bot.Key{Channel: "line", User: "U-deleted"})
	c.Revision = 3
	err := s.SaveConversation(t.Context(), c)
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("SaveConversation at revision 3 of a missing conversation: err = %v, want bot.ErrConflict", err)
	}
	if c.Revision != 3 {
		t.Errorf("failed SaveConversation changed Revision 3 -> %d", c.Revision)
	}
	if _, err := s.Conversation(t.Context(), c.Key); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("after a failed update of a missing conversation: err = %v, want bot.ErrNotFound", err)
	}
}

// testConversationConcurrentUpdates runs goroutines that each increment a counter k times
// by read-modify-write, retrying on ErrConflict, as the bot does when two messages from one
// customer arrive together. Compare-and-swap must not lose an increment.
func testConversationConcurrentUpdates(t *testing.T, s Store) {
	const (
		goroutines = 8
		increments = 20
		maxRetries = 10_000
	)
	k := bot.Key{Channel: "line", User: "U-busy"}
	c := sample(k)
	c.Path = nil
	c.Vars = map[string]string{"n": "0"}
	save(t, s, c)

	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for g := range goroutines {
		wg.Go(func() {
			for i := range increments {
				for try := 0; ; try++ {
					if try == maxRetries {
						t.Errorf("goroutine %d: increment %d still conflicting after %d tries", g, i, try)
						return
					}
					c, err := s.Conversation(ctx, k)
					if err != nil {
						t.Errorf("goroutine %d: Conversation: %v", g, err)
						return
					}
					n, err := strconv.Atoi(c.Vars["n"])
					if err != nil {
						t.Errorf("goroutine %d: counter %q: %v", g, c.Vars["n"], err)
						return
					}
					c.Vars["n"] = strconv.Itoa(n + 1)
					c.Path = append(c.Path, fmt.Sprintf("g%d-%d", g, i))
					err = s.SaveConversation(ctx, c)
					if errors.Is(err, bot.ErrConflict) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("goroutine %d: SaveConversation: %v", g, err)
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	got := load(t, s, k)
	if want := strconv.Itoa(goroutines * increments); got.Vars["n"] != want {
		t.Errorf("counter = %s, want %s: updates were lost", got.Vars["n"], want)
	}
	if want := int64(1 + goroutines*increments); got.Revision != want {
		t.Errorf("Revision = %d, want %d", got.Revision, want)
	}
	seen := make(map[string]bool)
	for _, p := range got.Path {
		if seen[p] {
			t.Errorf("Path holds %s twice", p)
		}
		seen[p] = true
	}
	if len(seen) != goroutines*increments {
		t.Errorf("Path holds %d distinct steps, want %d", len(seen), goroutines*increments)
	}
	t.Logf("%d conflicts retried", conflicts)
}

func testConversationIndependentKeys(t *testing.T, s Store) {
	// Keys are compared exactly, field by field: not by Key.String (which makes
	// "line:a" + "b" and "line" + "a:b" look alike) and not ignoring case.
	keys := []bot.Key{
		{Channel: "line", User: "U1"},
		{Channel: "slack", User: "U1"},
		{Channel: "line", User: "U2"},
		{Channel: "line", User: "u1"},
		{Channel: "line", User: "a:b"},
		{Channel: "line:a", User: "b"},
		{Channel: "term", User: ""},
	}
	want := make(map[bot.Key]*bot.Conversation)
	for i, k := range keys {
		c := sample(k)
		c.Node = fmt.Sprintf("node%d", i)
		c.Vars = map[string]string{"i": strconv.Itoa(i)}
		save(t, s, c)
		want[k] = clone(c)
	}

	// Updating one conversation leaves the others alone.
	c := load(t, s, keys[0])
	c.Node = "updated"
	save(t, s, c)
	save(t, s, c)
	want[keys[0]] = clone(c)

	for _, k := range keys {
		if d := diff(load(t, s, k), want[k]); d != "" {
			t.Errorf("conversation %q/%q:\n%s", k.Channel, k.User, d)
		}
	}
}

func testConversationEmptyValues(t *testing.T, s Store) {
	tests := []struct {
		name string
		c    bot.Conversation
	}{
		{name: "nil", c: bot.Conversation{
			Lang: bot.Japanese, Status: bot.StatusActive, Node: "start", FlowVersion: "1",
			CreatedAt: t0, UpdatedAt: t0,
		}},
		{name: "empty", c: bot.Conversation{
			Lang: bot.English, Status: bot.StatusActive, Node: "start", FlowVersion: "1",
			Path: []string{}, Answers: []bot.Answer{}, Vars: map[string]string{},
			CreatedAt: t0, UpdatedAt: t0,
		}},
		{name: "zero", c: bot.Conversation{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Key = bot.Key{Channel: "term", User: tt.name}
			want := clone(&c)
			want.Revision = 1
			save(t, s, &c)

			got := load(t, s, c.Key)
			if d := diff(got, want); d != "" {
				t.Errorf("loaded conversation differs from the saved one:\n%s", d)
			}
			if got.Vars == nil {
				t.Fatalf("loaded Vars is nil, want an empty map the caller can assign to")
			}
			// The loaded conversation is usable as is.
			got.Vars["k"] = "v"
			got.Path = append(got.Path, "next")
			got.Answers = append(got.Answers, bot.Answer{Node: "start", Option: "o", At: t0})
			want = clone(got)
			want.Revision = 2
			save(t, s, got)
			if d := diff(load(t, s, c.Key), want); d != "" {
				t.Errorf("conversation updated after loading empty values:\n%s", d)
			}
		})
	}
}

func testConversationTimePrecision(t *testing.T, s Store) {
	tokyo := time.FixedZone("JST", 9*60*60)
	at := time.Date(2025, time.April, 1, 18, 30, 15, 123_456_789, tokyo)
	c := sample(bot.Key{Channel: "line", User: "U1"})
	c.CreatedAt = at
	c.UpdatedAt = at.Add(time.Hour + 999_999*time.Nanosecond)
	c.Answers = []bot.Answer{{Node: "start", Option: "o", At: at.Add(time.Minute)}}
	c.Ticket = &bot.Ticket{ID: "T1", State: bot.TicketClaimed, CreatedAt: at.Add(2 * time.Minute), ClaimedAt: at.Add(3 * time.Minute)}
	save(t, s, c)

	got := load(t, s, c.Key)
	check := func(name string, got, want time.Time) {
		t.Helper()
		if d := got.Sub(want); d <= -time.Millisecond || d >= time.Millisecond {
			t.Errorf("%s = %s, want %s to the millisecond", name, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
		if got.Location() != time.UTC {
			t.Errorf("%s is in %s, want UTC", name, got.Location())
		}
	}
	check("CreatedAt", got.CreatedAt, c.CreatedAt)
	check("UpdatedAt", got.UpdatedAt, c.UpdatedAt)
	if len(got.Answers) != 1 {
		t.Fatalf("len(Answers) = %d, want 1", len(got.Answers))
	}
	check("Answers[0].At", got.Answers[0].At, c.Answers[0].At)
	if got.Ticket == nil {
		t.Fatalf("Ticket = nil, want one")
	}
	check("Ticket.CreatedAt", got.Ticket.CreatedAt, c.Ticket.CreatedAt)
	check("Ticket.ClaimedAt", got.Ticket.ClaimedAt, c.Ticket.ClaimedAt)
	if !got.Ticket.ResolvedAt.IsZero() || !got.Ticket.ClosedAt.IsZero() {
		t.Errorf("Ticket.ResolvedAt, ClosedAt = %s, %s; want zero times", got.Ticket.ResolvedAt, got.Ticket.ClosedAt)
	}
}

func testConversationCallerOwnsValues(t *testing.T, s Store) {
	c := sample(bot.Key{Channel: "line", User: "U1"})
	save(t, s, c)
	want := clone(c)

	// Changing the saved value does not reach the store.
	c.Path[0] = "changed"
	c.Answers[0].Value = "changed"
	c.Vars["store"] = "changed"
	c.Ticket.State = "changed"
	got := load(t, s, c.Key)
	if d := diff(got, want); d != "" {
		t.Errorf("changing a saved conversation changed the store:\n%s", d)
	}

	// Nor does changing a loaded one.
	got.Path[0] = "changed"
	got.Answers[0].Value = "changed"
	got.Vars["store"] = "changed"
	got.Ticket.State = "changed"
	if d := diff(load(t, s, c.Key), want); d != "" {
		t.Errorf("changing a loaded conversation changed the store:\n%s", d)
	}
}

func testConversationCancelledContext(t *testing.T, s Store) {
	const patience = 10 * time.Second
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	existing := sample(bot.Key{Channel: "line", User: "U-existing"})
	save(t, s, existing)
	stored := clone(existing)
	fresh := sample(bot.Key{Channel: "line", User: "U-new"})
	changed := clone(existing)
	changed.Node = "lost"

	tests := []struct {
		name string
		call func(ctx context.Context) error
		// c is the conversation saved, if any; it must keep its Revision.
		c *bot.Conversation
		// want is what the store must hold under c's key afterwards; nil means nothing.
		want *bot.Conversation
	}{
		{
			name: "load",
			call: func(ctx context.Context) error {
				_, err := s.Conversation(ctx, existing.Key)
				return err
			},
		},
		{
			name: "save new",
			call: func(ctx context.Context) error { return s.SaveConversation(ctx, fresh) },
			c:    fresh,
		},
		{
			name: "save update",
			call: func(ctx context.Context) error { return s.SaveConversation(ctx, changed) },
			c:    changed,
			want: stored,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rev int64
			if tt.c != nil {
				rev = tt.c.Revision
			}
			done := make(chan error, 1)
			go func() { done <- tt.call(cancelled) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
			case <-time.After(patience):
				t.Fatalf("no return within %s of a call with a cancelled context", patience)
			}
			if tt.c == nil {
				return
			}
			if tt.c.Revision != rev {
				t.Errorf("cancelled SaveConversation changed Revision %d -> %d", rev, tt.c.Revision)
			}
			got, err := s.Conversation(t.Context(), tt.c.Key)
			switch {
			case tt.want == nil && !errors.Is(err, bot.ErrNotFound):
				t.Errorf("after a cancelled save of a new conversation: err = %v, want bot.ErrNotFound", err)
			case tt.want != nil && err != nil:
				t.Errorf("after a cancelled save: %v", err)
			case tt.want != nil:
				if d := diff(got, tt.want); d != "" {
					t.Errorf("cancelled save changed the stored conversation:\n%s", d)
				}
			}
		})
	}
}

func save(t *testing.T, s Store, c *bot.Conversation) {
	t.Helper()
	rev := c.Revision
	if err := s.SaveConversation(t.Context(), c); err != nil {
		t.Fatalf("SaveConversation %q/%q at revision %d: %v", c.Key.Channel, c.Key.User, rev, err)
	}
	if c.Revision != rev+1 {
		t.Fatalf("SaveConversation at revision %d left Revision %d, want %d", rev, c.Revision, rev+1)
	}
}

func load(t *testing.T, s Store, k bot.Key) *bot.Conversation {
	t.Helper()
	c, err := s.Conversation(t.Context(), k)
	if err != nil {
		t.Fatalf("Conversation %q/%q: %v", k.Channel, k.User, err)
	}
	if c == nil {
		t.Fatalf("Conversation %q/%q returned nil without an error", k.Channel, k.User)
	}
	return c
}

// clone returns a deep copy of c.
func clone(c *bot.Conversation) *bot.Conversation {
	cp := *c
	cp.Path = slices.Clone(c.Path)
	cp.Answers = slices.Clone(c.Answers)
	cp.Vars = maps.Clone(c.Vars)
	if c.Ticket != nil {
		t := *c.Ticket
		cp.Ticket = &t
	}
	return &cp
}

// diff describes how got differs from want (go-cmp's "-want +got"), or returns "" if they
// are the same. Every field is compared, so a new one cannot go unchecked: times with
// Equal, and nil and empty slices and maps are the same.
func diff(got, want *bot.Conversation) string {
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}

// diffTicket describes how got differs from want, or returns "" if they are the same.
// Times are compared with Equal.
func diffTicket(got, want *bot.Ticket) string {
	return cmp.Diff(want, got)
}

// testConversationTicket follows a conversation's ticket from none to waiting, claimed,
// and none again.
func testConversationTicket(t *testing.T, s Store) {
	k := bot.Key{Channel: "line", User: "U1"}
	c := sample(k)
	c.Ticket = nil
	save(t, s, c)
	if got := load(t, s, k); got.Ticket != nil {
		t.Fatalf("Ticket = %+v, want nil", *got.Ticket)
	}

	steps := []struct {
		name   string
		ticket *bot.Ticket
	}{
		{name: "opened", ticket: &bot.Ticket{ID: "T1", State: bot.TicketWaiting, Reason: "asked", CreatedAt: t0}},
		{name: "told to wait", ticket: &bot.Ticket{ID: "T1", State: bot.TicketWaiting, Reason: "asked", CreatedAt: t0, Waited: true}},
		{name: "claimed", ticket: &bot.Ticket{ID: "T1", State: bot.TicketClaimed, Reason: "asked", CreatedAt: t0, Waited: true,
			Agent: "U0AGENT", AgentName: "Sato", ClaimedAt: t0.Add(time.Minute)}},
		{name: "closed", ticket: nil},
		{name: "another", ticket: &bot.Ticket{ID: "T2", State: bot.TicketWaiting, CreatedAt: t0.Add(time.Hour)}},
	}
	for _, st := range steps {
		c.Ticket = st.ticket
		want := clone(c)
		want.Revision++
		save(t, s, c)
		if d := diff(load(t, s, k), want); d != "" {
			t.Fatalf("%s: loaded conversation differs from the saved one:\n%s", st.name, d)
		}
	}
}
