package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// addEvents stores a batch of events and returns the ids of those that were new. Its
// parameters are arrays of the ids, channels, users, JSON events and event times, in the
// batch's order and without duplicate ids, and the time of arrival.
//
// input draws the arrival order (seq) in the order of the batch: a CTE with a volatile
// function is evaluated once, row by row in the order its scan returns them, which for
// unnest is the order of the arrays. ins then inserts in the order of id, so that two
// batches sharing ids lock them in the same order and neither can wait for the other
// while holding what the other waits for; an id that another transaction is inserting
// makes ins wait for it, and then counts as a duplicate. conversations gives every
// conversation with a new event its row in leases, for ClaimConversation to lock, again in
// one order.
const addEvents = `WITH input AS (
		SELECT u.id, u.channel, u.user_id, u.event, u.at, nextval('inbox_seq') AS seq
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS u (id, channel, user_id, event, at)
	), ins AS (
		INSERT INTO inbox (seq, id, channel, user_id, event, at, received_at)
		SELECT seq, id, channel, user_id, event::json, at, $6 FROM input ORDER BY id
		ON CONFLICT (id) DO NOTHING
		RETURNING id, channel, user_id
	), conversations AS (
		INSERT INTO leases (channel, user_id)
		SELECT DISTINCT channel, user_id FROM ins ORDER BY channel, user_id
		ON CONFLICT (channel, user_id) DO NOTHING
	)
	SELECT id FROM ins`

// AddEvents stores evs in one statement, skipping those whose ID is stored already,
// including those whose ID comes earlier in evs. fresh[i] reports whether evs[i] was new;
// len(fresh) == len(evs). Of concurrent calls storing the same ID, exactly one reports it
// new. On error nothing is stored. An event with an empty ID is an error. The events are
// stored whole, reply tokens included, as JSON. An event that cannot be stored (a time
// past year 9999, a NUL or invalid UTF-8 in its id or key) is kept as a dead letter
// instead and reported not fresh: the others are stored.
func (s *Store) AddEvents(ctx context.Context, evs []bot.Event) (fresh []bool, err error) {
	if len(evs) == 0 {
		return []bool{}, nil
	}
	first := make(map[string]int, len(evs)) // the index of each id's first occurrence
	var ids, channels, users, bodies []string
	var ats []time.Time
	var dead []bot.DeadLetter
	for i, ev := range evs {
		if ev.ID == "" {
			return nil, fmt.Errorf("add events: event %d of %d has no ID", i, len(evs))
		}
		if _, dup := first[ev.ID]; dup {
			continue // the first one is stored, or the stored one kept
		}
		first[ev.ID] = i
		b, err := row.EncodeEvent(ev)
		if err == nil && (clean(ev.ID) != ev.ID || clean(ev.Key.Channel) != ev.Key.Channel || clean(ev.Key.User) != ev.Key.User) {
			err = fmt.Errorf("event %s: NUL or invalid UTF-8 in its id or key", clean(ev.ID))
		}
		if err != nil {
			d := row.Unstorable(ev, err, s.now())
			d.Channel = clean(d.Channel)
			dead = append(dead, d)
			continue
		}
		ids, channels, users = append(ids, ev.ID), append(channels, ev.Key.Channel), append(users, ev.Key.User)
		bodies, ats = append(bodies, b), append(ats, ms(ev.At))
	}
	// Dead letters first: if storing the others fails, the platform sends the request
	// again and the dead letter is kept twice, which is harmless; no event is stored.
	for _, d := range dead {
		if err := s.AddDeadLetter(ctx, d); err != nil {
			return nil, fmt.Errorf("add %d events: %w", len(evs), err)
		}
	}
	fresh = make([]bool, len(evs))
	if len(ids) > 0 {
		if err := s.addEvents(ctx, first, fresh, ids, channels, users, bodies, ats); err != nil {
			return nil, fmt.Errorf("add %d events: %w", len(evs), err)
		}
	}
	return fresh, nil
}

func (s *Store) addEvents(ctx context.Context, first map[string]int, fresh []bool, ids, channels, users, bodies []string, ats []time.Time) error {
	rows, err := s.pool.Query(ctx, addEvents, ids, channels, users, bodies, ats, ms(s.now()))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		fresh[first[id]] = true
	}
	return rows.Err()
}

// AddDeadLetter stores d. A zero d.At means now. Dead letters are not deduplicated. The
// channel and reason are stored with NUL characters and invalid UTF-8 replaced; the body
// as given.
func (s *Store) AddDeadLetter(ctx context.Context, d bot.DeadLetter) error {
	const insert = `INSERT INTO dead_letters (channel, reason, body, at) VALUES ($1, $2, $3, $4)`
	at := d.At
	if at.IsZero() {
		at = s.now()
	}
	body := d.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL
	}
	if _, err := s.pool.Exec(ctx, insert, clean(d.Channel), clean(d.Reason), body, ms(at)); err != nil {
		return fmt.Errorf("add dead letter from %s: %w", d.Channel, err)
	}
	return nil
}

// PendingEvents returns how many stored events wait to be processed and when the one that
// has waited longest arrived, by the store's clock; oldest is zero when none waits. It
// reads the partial index of pending events only.
func (s *Store) PendingEvents(ctx context.Context) (n int, oldest time.Time, err error) {
	const count = `SELECT count(*), min(received_at) FROM inbox WHERE processed_at IS NULL`
	var received *time.Time
	if err := s.pool.QueryRow(ctx, count).Scan(&n, &received); err != nil {
		return 0, time.Time{}, fmt.Errorf("count pending events: %w", err)
	}
	if received != nil {
		oldest = utc(*received)
	}
	return n, oldest, nil
}

// CountConversations returns how many conversations are stored, whatever their state.
func (s *Store) CountConversations(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM conversations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	return n, nil
}
