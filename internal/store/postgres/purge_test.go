package postgres

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// TestPurgeLeases checks that Purge deletes the lease rows of conversations gone or idle,
// unleased and with nothing pending, keeps the others, and that a purged conversation's
// next event is claimed as before.
func TestPurgeLeases(t *testing.T) {
	now := time.Date(2025, time.April, 2, 10, 0, 0, 0, time.UTC)
	s := open(t, func() time.Time { return now })
	t.Parallel()
	ctx := t.Context()
	old := now
	key := func(user string) bot.Key { return bot.Key{Channel: "line", User: user} }
	add := func(k bot.Key, id string) {
		t.Helper()
		if _, err := s.AddEvents(ctx, []bot.Event{{ID: id, Key: k, At: now, In: bot.Inbound{Kind: bot.InText, Text: "hi"}}}); err != nil {
			t.Fatal(err)
		}
	}
	// step claims k's pending event as owner and commits its turn, releasing the lease if
	// release.
	step := func(k bot.Key, owner string, release bool) {
		t.Helper()
		evs, err := s.ClaimKey(ctx, k, owner, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Conversation(ctx, k)
		if errors.Is(err, bot.ErrNotFound) {
			c, err = &bot.Conversation{Key: k, Status: bot.StatusActive, Node: "start"}, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		c.UpdatedAt = now
		turn := &bot.Turn{Conversation: c, EventID: evs[0].ID}
		if release {
			turn.Release = owner
		}
		if err := s.CommitTurn(ctx, turn); err != nil {
			t.Fatal(err)
		}
	}
	idle, pending, leased, recent, gone := key("idle"), key("pending"), key("leased"), key("recent"), key("gone")
	add(idle, "i1")
	step(idle, "w1", true)
	add(pending, "p1")
	add(leased, "l1")
	step(leased, "w1", false)
	add(gone, "g1")
	step(gone, "w1", true)
	if _, err := s.pool.Exec(ctx, `DELETE FROM conversations WHERE user_id = 'gone'`); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	add(recent, "r1")
	step(recent, "w1", true)

	if _, err := s.Purge(ctx, old.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var users []string
	rows, err := s.pool.Query(ctx, `SELECT user_id FROM leases ORDER BY user_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"leased", "pending", "recent"}; !slices.Equal(users, want) {
		t.Errorf("lease rows after Purge: %v, want %v", users, want)
	}

	// The purged conversations' next events are claimed as before.
	add(idle, "i2")
	add(gone, "g2")
	for _, k := range []bot.Key{idle, gone} {
		if evs, err := s.ClaimKey(ctx, k, "w2", time.Hour); err != nil || len(evs) != 1 {
			t.Errorf("claim %s after Purge: %v, %v; want its new event", k, evs, err)
		}
	}
	if k, _, err := s.ClaimConversation(ctx, "w3", time.Hour); err != nil || k != pending {
		t.Errorf("ClaimConversation after Purge = %s, %v; want %s", k, err, pending)
	}
}
