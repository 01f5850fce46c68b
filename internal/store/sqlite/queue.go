package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// pickConversation finds the conversation whose oldest pending event is the oldest of all
// (by event time, then arrival) among those without a live lease. It walks the partial
// index inbox_pending, so it reads pending rows only, and stops at the first one whose
// conversation is free.
const pickConversation = `SELECT i.channel, i.user_id FROM inbox AS i
	WHERE i.processed_at IS NULL
	  AND NOT EXISTS (SELECT 1 FROM leases AS l
		WHERE l.channel = i.channel AND l.user_id = i.user_id AND l.expires_at > ?)
	ORDER BY i.at, i.seq
	LIMIT 1`

// pendingEvents selects a conversation's pending events in order, from the partial index
// inbox_pending_conversation.
const pendingEvents = `SELECT event FROM inbox
	WHERE channel = ? AND user_id = ? AND processed_at IS NULL
	ORDER BY at, seq`

// ClaimConversation leases to owner, until lease has passed, the conversation whose oldest
// pending event is the oldest among those with no live lease, and returns its pending
// events ordered by event time, then arrival. A lease is live until the store's clock
// reaches its expiry; an expired one is taken over. It returns an error matching
// bot.ErrNotFound when no conversation can be claimed. The caller owns the events.
func (s *Store) ClaimConversation(ctx context.Context, owner string, lease time.Duration) (bot.Key, []bot.Event, error) {
	const upsert = `INSERT INTO leases (channel, user_id, owner, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (channel, user_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`
	if owner == "" || lease <= 0 {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: need an owner and a positive lease, have %q and %s", owner, lease)
	}
	// Idle workers poll: look on a reader first, so that finding nothing to do does not
	// queue for the writer behind webhooks storing events. A miss here is safe: an event
	// stored after this read is found by the next poll.
	var k bot.Key
	err := s.readq().QueryRowContext(ctx, pickConversation, s.now().UnixMilli()).Scan(&k.Channel, &k.User)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", bot.ErrNotFound)
	}
	if err != nil {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
	}

	var evs []bot.Event
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Again under the write lock: another worker may have claimed it meanwhile.
		evs = nil // this may run twice (see writeBatch)
		now := s.now()
		err := s.writeq(tx).QueryRowContext(ctx, pickConversation, now.UnixMilli()).Scan(&k.Channel, &k.User)
		if errors.Is(err, sql.ErrNoRows) {
			return bot.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := s.writeq(tx).ExecContext(ctx, upsert, k.Channel, k.User, owner, now.Add(lease).UnixMilli()); err != nil {
			return fmt.Errorf("lease %s: %w", k, err)
		}
		rows, err := s.writeq(tx).QueryContext(ctx, pendingEvents, k.Channel, k.User)
		if err != nil {
			return fmt.Errorf("events of %s: %w", k, err)
		}
		defer rows.Close()
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&body); err != nil {
				return fmt.Errorf("events of %s: %w", k, err)
			}
			var ev bot.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				return fmt.Errorf("events of %s: decode: %w", k, err)
			}
			ev.At = ev.At.UTC()
			evs = append(evs, ev)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("events of %s: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
	}
	return k, evs, nil
}

// ReleaseConversation ends owner's lease on k, so that k's pending events, if any, can be
// claimed at once. It does nothing if owner does not hold the lease (any more).
func (s *Store) ReleaseConversation(ctx context.Context, k bot.Key, owner string) error {
	const release = `DELETE FROM leases WHERE channel = ? AND user_id = ? AND owner = ?`
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.writeq(tx).ExecContext(ctx, release, k.Channel, k.User, owner)
		return err
	}); err != nil {
		return fmt.Errorf("release conversation %s: %w", k, err)
	}
	return nil
}

// CommitTurn does in one transaction everything turn t changes: it saves t.Conversation
// with a compare-and-swap on its revision exactly as SaveConversation does; marks event
// t.EventID of that conversation processed and blanks the stored event, keeping its id
// (to drop redeliveries) and times; adds each Outgoing of t.Out that has messages to the
// outbox, in order, with its Seq and delivering channel (Via); appends t.Transcript to the
// conversation's transcript; archives t.Closed, if set, replacing an archived ticket of
// the same ID; with t.Claim, leases each added row that is then the oldest unfinished one
// of its conversation and channel to t.Claim.Owner for t.Claim.Lease, counting the claim
// as an attempt, exactly as ClaimOutgoing would; and with t.Release, ends that owner's
// lease on the conversation as ReleaseConversation does. On success it increments
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
	const (
		processed = `UPDATE inbox SET processed_at = ?, event = NULL
			WHERE id = ? AND channel = ? AND user_id = ? AND processed_at IS NULL`
		// A row is leased to ?9 until ?10, as ClaimOutgoing would, when ?9 is not NULL
		// and the conversation has no unfinished row on the same channel.
		insertOut = `INSERT INTO outbox (channel, user_id, via, event_id, seq, payload, created_at, next_attempt_at,
				attempts, lease_owner, lease_expires_at)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, claimed, iif(claimed, ?9, NULL), iif(claimed, ?10, NULL)
			FROM (SELECT ?9 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox
				WHERE channel = ?1 AND user_id = ?2 AND via = ?3 AND finished_at IS NULL) AS claimed)
			RETURNING id, attempts`
		release = `DELETE FROM leases WHERE channel = ? AND user_id = ? AND owner = ?`
	)
	if t == nil || t.Conversation == nil {
		return errors.New("commit turn: no conversation")
	}
	c := t.Conversation
	// Check and encode before taking the write lock.
	outs, payloads, err := row.Outgoings(t)
	if err != nil {
		return fmt.Errorf("commit turn %s of %s: %w", t.EventID, c.Key, err)
	}
	var closed *archived
	if t.Closed != nil {
		if closed, err = archive(t.Closed); err != nil {
			return fmt.Errorf("commit turn %s of %s: %w", t.EventID, c.Key, err)
		}
	}
	lineArgs := make([]any, 0, 8*len(t.Transcript))
	for _, l := range t.Transcript {
		lineArgs = append(lineArgs, c.Key.Channel, c.Key.User, l.At.UnixMilli(), string(l.Role), l.Name, l.Text, l.Node, l.Miss)
	}
	ids := make([]int64, len(outs))
	claimed := make([]bool, len(outs))
	created := make([]time.Time, len(outs))
	var claimOwner any // NULL: no claim
	var claimLease time.Duration
	if t.Claim != nil {
		if t.Claim.Owner == "" || t.Claim.Lease <= 0 {
			return fmt.Errorf("commit turn %s of %s: claim needs an owner and a positive lease, have %q and %s",
				t.EventID, c.Key, t.Claim.Owner, t.Claim.Lease)
		}
		claimOwner, claimLease = t.Claim.Owner, t.Claim.Lease
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveConversation(ctx, s.writeq(tx), c); err != nil {
			return err
		}
		now := s.now()
		res, err := s.writeq(tx).ExecContext(ctx, processed, now.UnixMilli(), t.EventID, c.Key.Channel, c.Key.User)
		if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("no pending event: %w", bot.ErrNotFound)
		}
		for i, o := range outs {
			created[i] = o.CreatedAt
			if created[i].IsZero() {
				created[i] = now
			}
			// Due at once by the store's clock, whatever the caller's says.
			err := s.writeq(tx).QueryRowContext(ctx, insertOut, c.Key.Channel, c.Key.User, o.Via(), t.EventID, o.Seq,
				payloads[i], created[i].UnixMilli(), now.UnixMilli(), claimOwner, now.Add(claimLease).UnixMilli()).Scan(&ids[i], &claimed[i])
			if err != nil {
				return fmt.Errorf("add outgoing %d: %w", o.Seq, err)
			}
		}
		if len(t.Transcript) > 0 {
			// One statement for the turn's lines.
			if _, err := s.writeq(tx).ExecContext(ctx, insertLines(len(t.Transcript)), lineArgs...); err != nil {
				return fmt.Errorf("append %d transcript lines: %w", len(t.Transcript), err)
			}
		}
		if closed != nil {
			if err := closed.insert(ctx, tx, c.Key, now); err != nil {
				return fmt.Errorf("archive ticket %s: %w", t.Closed.ID, err)
			}
		}
		if t.Release != "" {
			if _, err := s.writeq(tx).ExecContext(ctx, release, c.Key.Channel, c.Key.User, t.Release); err != nil {
				return fmt.Errorf("release conversation: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit turn %s of %s: %w", t.EventID, c.Key, err)
	}
	c.Revision++
	for i, o := range outs {
		o.ID, o.CreatedAt, o.Claimed = ids[i], created[i], claimed[i]
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
