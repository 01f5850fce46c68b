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

// newEvents is a batch of events for addEvents, in arrays as the statement takes them
// (without duplicate ids), and which of them were new.
type newEvents struct {
	ids, channels, users, bodies []string
	ats                          []time.Time
	fresh                        []bool // set by the inbox lane: fresh[i] reports whether ids[i] was new
}

func (s *Store) addEvents(ctx context.Context, first map[string]int, fresh []bool, ids, channels, users, bodies []string, ats []time.Time) error {
	w := &newEvents{ids: ids, channels: channels, users: users, bodies: bodies, ats: ats}
	if err := s.inbox.do(ctx, w); err != nil {
		return err
	}
	for i, id := range ids {
		fresh[first[id]] = w.fresh[i]
	}
	return nil
}

// fullEvents reports whether batch holds enough events for one statement.
func fullEvents(batch []*groupOp[*newEvents]) bool {
	n := 0
	for _, op := range batch {
		n += len(op.work.ids)
	}
	return n >= maxEventBatch
}

// insertEvents stores the events of batch, the AddEvents of several webhooks, in one
// statement (one transaction, one WAL flush). An id that several of them hold is new for
// the first at most. When the statement fails and the batch holds several, each is stored
// on its own, so that one that cannot be stored fails alone.
func (s *Store) insertEvents(ctx context.Context, batch []*groupOp[*newEvents]) {
	if len(batch) == 1 {
		w := batch[0].work
		w.fresh = make([]bool, len(w.ids))
		batch[0].err = s.insertEventsOnce(batch[0].ctx, w, map[string]*bool{})
		return
	}
	all := &newEvents{}
	where := make(map[string]*bool) // an id's fresh flag, in the first operation that holds it
	for _, op := range batch {
		w := op.work
		w.fresh = make([]bool, len(w.ids))
		for i, id := range w.ids {
			if _, dup := where[id]; dup {
				continue
			}
			where[id] = &w.fresh[i]
			all.ids, all.channels, all.users = append(all.ids, id), append(all.channels, w.channels[i]), append(all.users, w.users[i])
			all.bodies, all.ats = append(all.bodies, w.bodies[i]), append(all.ats, w.ats[i])
		}
	}
	err := s.insertEventsOnce(ctx, all, where)
	if err == nil {
		return
	}
	for _, op := range batch {
		w := op.work
		clear(w.fresh)
		op.err = s.insertEventsOnce(ctx, w, map[string]*bool{})
	}
}

// insertEventsOnce runs addEvents on w's events and sets the fresh flag of each id
// returned: where[id], or else w.fresh at the id's index.
func (s *Store) insertEventsOnce(ctx context.Context, w *newEvents, where map[string]*bool) error {
	if len(where) == 0 {
		for i, id := range w.ids {
			where[id] = &w.fresh[i]
		}
	}
	rows, err := s.pool.Query(ctx, addEvents, w.ids, w.channels, w.users, w.bodies, w.ats, ms(s.now()))
	if err != nil {
		return err
	}
	defer rows.Close()
	var returned []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		returned = append(returned, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range returned {
		if p := where[id]; p != nil {
			*p = true
		}
	}
	return nil
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
