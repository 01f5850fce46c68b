package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// pendingWindow selects pending events' conversations oldest first (by event time, then
// arrival) from the partial index inbox_pending, a window at a time: after (at, seq), at
// most the limit. ClaimConversation walks the windows to the first free conversation.
const pendingWindow = `SELECT channel, user_id, at, seq FROM inbox
	WHERE processed_at IS NULL AND (at, seq) > (?1, ?2)
	ORDER BY at, seq
	LIMIT ?3`

// pendingEvents selects a conversation's pending events in order, from the partial index
// inbox_pending_conversation.
const pendingEvents = `SELECT event FROM inbox
	WHERE channel = ? AND user_id = ? AND processed_at IS NULL
	ORDER BY at, seq`

// windowSize is how many pending events ClaimConversation reads at a time.
const windowSize = 64

// leaseTable holds this Store's leases on conversations. They live in memory: a lease
// saves this process's workers from stepping one conversation at once, and costs no
// write. Processes that share a database file each have their own; should two step the
// same conversation, CommitTurn lets one win (see there).
type leaseTable struct {
	mu sync.Mutex
	m  map[bot.Key]leaseEntry
}

type leaseEntry struct {
	owner   string
	expires time.Time
}

// take leases k to owner until expires if it has no live lease at now.
func (l *leaseTable) take(k bot.Key, owner string, now, expires time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[k]; ok && e.expires.After(now) {
		return false
	}
	if l.m == nil {
		l.m = make(map[bot.Key]leaseEntry)
	}
	l.m[k] = leaseEntry{owner: owner, expires: expires}
	return true
}

// release ends owner's lease on k, if owner holds it.
func (l *leaseTable) release(k bot.Key, owner string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[k]; ok && e.owner == owner {
		delete(l.m, k)
	}
}

// ClaimConversation leases to owner, until lease has passed, the conversation whose oldest
// pending event is the oldest among those with no live lease, and returns its pending
// events ordered by event time, then arrival. A lease is live until the store's clock
// reaches its expiry; an expired one is taken over. It returns an error matching
// bot.ErrNotFound when no conversation can be claimed. The caller owns the events.
//
// It only reads: leases are this Store's, in memory (see leaseTable), and the pending
// events come from a reader connection, which sees every commit that finished before.
func (s *Store) ClaimConversation(ctx context.Context, owner string, lease time.Duration) (bot.Key, []bot.Event, error) {
	if owner == "" || lease <= 0 {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: need an owner and a positive lease, have %q and %s", owner, lease)
	}
	k, err := s.pickConversation(ctx, owner, lease)
	if err != nil {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
	}
	evs, err := s.leasedEvents(ctx, k, owner) // none: processed by another process meanwhile
	if err != nil {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
	}
	return k, evs, nil
}

// leasedEvents returns the pending events of k, which owner has just leased; when there
// are none (bot.ErrNotFound) or they cannot be read, it ends the lease.
func (s *Store) leasedEvents(ctx context.Context, k bot.Key, owner string) ([]bot.Event, error) {
	evs, err := s.pendingEvents(ctx, k)
	if err == nil && len(evs) == 0 {
		err = bot.ErrNotFound
	}
	if err != nil {
		s.leases.release(k, owner)
		return nil, err
	}
	return evs, nil
}

// ClaimKey leases k to owner, until lease has passed, if it has pending events and no live
// lease, and returns them ordered by event time, then arrival; bot.ErrNotFound otherwise.
func (s *Store) ClaimKey(ctx context.Context, k bot.Key, owner string, lease time.Duration) ([]bot.Event, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("claim %s: need an owner and a positive lease, have %q and %s", k, owner, lease)
	}
	now := s.now()
	if !s.leases.take(k, owner, now, now.Add(lease)) {
		return nil, fmt.Errorf("claim %s: leased: %w", k, bot.ErrNotFound)
	}
	evs, err := s.leasedEvents(ctx, k, owner)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", k, err)
	}
	return evs, nil
}

// pickConversation walks the pending events oldest first and leases the first
// conversation without a live lease to owner.
func (s *Store) pickConversation(ctx context.Context, owner string, lease time.Duration) (bot.Key, error) {
	afterAt, afterSeq := int64(math.MinInt64), int64(0)
	for {
		rows, err := s.readq().QueryContext(ctx, pendingWindow, afterAt, afterSeq, windowSize)
		if err != nil {
			return bot.Key{}, err
		}
		n := 0
		var found *bot.Key
		now := s.now()
		for rows.Next() {
			var k bot.Key
			if err := rows.Scan(&k.Channel, &k.User, &afterAt, &afterSeq); err != nil {
				rows.Close()
				return bot.Key{}, err
			}
			n++
			if s.leases.take(k, owner, now, now.Add(lease)) {
				found = &k
				break
			}
		}
		err = rows.Err()
		rows.Close()
		switch {
		case err != nil:
			if found != nil {
				s.leases.release(*found, owner)
			}
			return bot.Key{}, err
		case found != nil:
			return *found, nil
		case n < windowSize:
			return bot.Key{}, bot.ErrNotFound
		}
	}
}

// pendingEvents returns k's pending events in order.
func (s *Store) pendingEvents(ctx context.Context, k bot.Key) ([]bot.Event, error) {
	rows, err := s.readq().QueryContext(ctx, pendingEvents, k.Channel, k.User)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", k, err)
	}
	defer rows.Close()
	evs, err := row.Events(rows)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", k, err)
	}
	return evs, nil
}

// ReleaseConversation ends owner's lease on k, so that k's pending events, if any, can be
// claimed at once. It does nothing if owner does not hold the lease (any more).
func (s *Store) ReleaseConversation(ctx context.Context, k bot.Key, owner string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("release conversation %s: %w", k, err)
	}
	s.leases.release(k, owner)
	return nil
}

// CommitTurn does in one transaction everything turn t changes: it saves t.Conversation
// with a compare-and-swap on its revision exactly as SaveConversation does; marks event
// t.EventID of that conversation processed and blanks the stored event, keeping its id
// (to drop redeliveries) and times; adds each Outgoing of t.Out that has messages to the
// outbox, in order, with its Seq and delivering channel (Via); appends t.Transcript to the
// conversation's transcript; archives t.Closed, if set, replacing an archived ticket of
// the same ID; with t.Claim, leases each added row that is due at once to t.Claim.Owner
// for t.Claim.Lease, counting the claim as an attempt, when every earlier unfinished row
// of its conversation and channel is under that owner's live lease: when there is none,
// the row is the oldest, as ClaimOutgoing would claim it; else the owner delivers it after
// those. A row waiting for a retry or parked, leased by another owner, or whose lease
// expired holds the new row back for ClaimOutgoing. With t.Release, CommitTurn ends that
// owner's lease on the conversation as ReleaseConversation does. On success it increments
// t.Conversation.Revision and sets the ID of each Outgoing added, its CreatedAt to now if
// it was zero, and Claimed when it was leased.
//
// On any error nothing is stored and t is left alone. The error matches bot.ErrConflict if
// the conversation's revision is stale, and bot.ErrNotFound if t.EventID is not a pending
// event of the conversation: another worker committed it (its lease on the conversation
// lapsed), or it was never stored. An Outgoing whose Key differs from the conversation's,
// whose EventID is neither empty nor t.EventID, or whose Seq another one of t.Out has, is
// an error, as is a Closed ticket without ID. Outgoings without messages are skipped; nil
// ones too.
func (s *Store) CommitTurn(ctx context.Context, t *bot.Turn) error {
	if t == nil || t.Conversation == nil {
		return errors.New("commit turn: no conversation")
	}
	if err := s.commitTurns(ctx, []*bot.Turn{t}); err != nil {
		return fmt.Errorf("commit turn %s of %s: %w", t.EventID, t.Conversation.Key, err)
	}
	return nil
}

// CommitTurns commits consecutive turns of one conversation in one transaction: all of
// them or none. Every turn must have the same Conversation (the same pointer), in the
// state after the last turn; it is saved once, with a compare-and-swap on its revision,
// which is incremented once. Each turn's event must be pending and, when its turn comes,
// the conversation's oldest pending one: they are marked processed in order. Outgoings,
// transcript lines, closed tickets, claims and a release are as for CommitTurn, the
// batch's earlier rows counting as earlier rows: a row behind one the batch leased is
// leased too, and the caller delivers them in order. The errors are CommitTurn's; on any
// error nothing is stored and the turns are left alone.
//
// A worker stepping a backlog commits it this way so that the conversation's row and
// the per-conversation index entries are written once for the batch, not once per event.
func (s *Store) CommitTurns(ctx context.Context, ts []*bot.Turn) error {
	if len(ts) == 0 || ts[0] == nil || ts[0].Conversation == nil {
		return errors.New("commit turns: no conversation")
	}
	for _, t := range ts {
		if t == nil || t.Conversation != ts[0].Conversation {
			return fmt.Errorf("commit turns of %s: not all of the same conversation", ts[0].Conversation.Key)
		}
	}
	if err := s.commitTurns(ctx, ts); err != nil {
		return fmt.Errorf("commit %d turns of %s: %w", len(ts), ts[0].Conversation.Key, err)
	}
	return nil
}

// turnRows is what commitTurns prepares for one turn before it takes the write lock.
type turnRows struct {
	t        *bot.Turn
	outs     []*bot.Outgoing
	payloads []string
	closed   *archived
	lines    []any
	ids      []int64
	claimed  []bool
	created  []time.Time
}

func (s *Store) commitTurns(ctx context.Context, ts []*bot.Turn) error {
	const (
		// The event must be pending and the conversation's oldest pending one: two
		// processes on one file have leases of their own, and an event that happened
		// earlier may have arrived after the claim.
		processed = `UPDATE inbox SET processed_at = ?1, event = NULL
			WHERE id = ?2 AND channel = ?3 AND user_id = ?4 AND processed_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM inbox AS e
				WHERE e.channel = ?3 AND e.user_id = ?4 AND e.processed_at IS NULL
				  AND (e.at, e.seq) < (inbox.at, inbox.seq))`
		// A row is leased to ?9 until ?10, counting an attempt, when ?9 is not NULL and
		// every unfinished row of the conversation on the same channel is under ?9's
		// live lease at ?11, now (none at all: the row is the oldest, as ClaimOutgoing
		// would claim it; else ?9 delivers it after those, in order). A row waiting for
		// a retry or parked has no lease, and one leased by another owner or expired may
		// be claimed by another: either holds the new row back for ClaimOutgoing. The
		// subquery reads the conversation's entries of the partial index
		// outbox_unfinished and their rows. This covers a batch's rows too: a row
		// behind one the batch leased is leased as well.
		insertOut = `INSERT INTO outbox (channel, user_id, via, event_id, seq, payload, created_at, next_attempt_at,
				attempts, lease_owner, lease_expires_at)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, claimed, iif(claimed, ?9, NULL), iif(claimed, ?10, NULL)
			FROM (SELECT ?9 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox
				WHERE channel = ?1 AND user_id = ?2 AND via = ?3 AND finished_at IS NULL
				  AND (lease_owner = ?9 AND lease_expires_at > ?11) IS NOT TRUE) AS claimed)
			RETURNING id, attempts`
	)
	c := ts[0].Conversation
	// Check and encode before taking the write lock.
	rows := make([]turnRows, len(ts))
	for i, t := range ts {
		r := &rows[i]
		r.t = t
		var err error
		if r.outs, r.payloads, err = row.Outgoings(t); err != nil {
			return fmt.Errorf("turn %s: %w", t.EventID, err)
		}
		if t.Closed != nil {
			if r.closed, err = archive(t.Closed); err != nil {
				return fmt.Errorf("turn %s: %w", t.EventID, err)
			}
		}
		r.lines = make([]any, 0, 8*len(t.Transcript))
		for _, l := range t.Transcript {
			r.lines = append(r.lines, c.Key.Channel, c.Key.User, l.At.UnixMilli(), string(l.Role), l.Name, l.Text, l.Node, l.Miss)
		}
		r.ids = make([]int64, len(r.outs))
		r.claimed = make([]bool, len(r.outs))
		r.created = make([]time.Time, len(r.outs))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		q := s.writeq(tx)
		if err := saveConversation(ctx, q, c); err != nil {
			return err
		}
		now := s.now()
		for _, r := range rows {
			t := r.t
			res, err := q.ExecContext(ctx, processed, now.UnixMilli(), t.EventID, c.Key.Channel, c.Key.User)
			if err != nil {
				return fmt.Errorf("mark event %s processed: %w", t.EventID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("mark event %s processed: %w", t.EventID, err)
			}
			if n == 0 {
				return fmt.Errorf("event %s not pending, or not the oldest pending: %w", t.EventID, bot.ErrNotFound)
			}
			var claimOwner any // NULL: no claim
			var claimLease time.Duration
			if t.Claim != nil { // checked by row.Outgoings
				claimOwner, claimLease = t.Claim.Owner, t.Claim.Lease
			}
			for i, o := range r.outs {
				r.created[i] = o.CreatedAt
				if r.created[i].IsZero() {
					r.created[i] = now
				}
				// Due at once by the store's clock, whatever the caller's says, unless it is a
				// timer (NotBefore): then it is due then, and not claimed now.
				due, owner := now, claimOwner
				if o.NotBefore.After(now) {
					due, owner = o.NotBefore, nil
				}
				err := q.QueryRowContext(ctx, insertOut, c.Key.Channel, c.Key.User, o.Via(), t.EventID, o.Seq,
					r.payloads[i], r.created[i].UnixMilli(), due.UnixMilli(), owner, now.Add(claimLease).UnixMilli(),
					now.UnixMilli()).Scan(&r.ids[i], &r.claimed[i])
				if err != nil {
					return fmt.Errorf("add outgoing %d of %s: %w", o.Seq, t.EventID, err)
				}
			}
			if len(t.Transcript) > 0 {
				// One statement for the turn's lines.
				if _, err := q.ExecContext(ctx, insertLines(len(t.Transcript)), r.lines...); err != nil {
					return fmt.Errorf("append %d transcript lines: %w", len(t.Transcript), err)
				}
			}
			if r.closed != nil {
				if err := r.closed.insert(ctx, tx, c.Key, now); err != nil {
					return fmt.Errorf("archive ticket %s: %w", t.Closed.ID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.t.Release != "" {
			s.leases.release(c.Key, r.t.Release)
		}
	}
	c.Revision++
	for _, r := range rows {
		for i, o := range r.outs {
			o.ID, o.CreatedAt, o.Claimed = r.ids[i], r.created[i], r.claimed[i]
		}
	}
	return nil
}

// insertLines returns the statement that appends n transcript lines, eight arguments each.
func insertLines(n int) string {
	if n < len(insertLinesCache) {
		return insertLinesCache[n]
	}
	return buildInsertLines(n)
}

var insertLinesCache = func() (c [8]string) {
	for i := range c {
		c[i] = buildInsertLines(i)
	}
	return c
}()

func buildInsertLines(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO transcripts (channel, user_id, at, role, name, text, node, miss) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}
