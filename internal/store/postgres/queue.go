package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// claimConversation leases the conversation whose oldest pending event is the oldest of
// all (by event time, then arrival) among those whose lease row is free and not locked by
// another claim, and returns its key. Its parameters are now, the owner and the lease's
// expiry. It walks the partial index inbox_pending, so it reads pending rows only.
//
// pick locks the lease row it returns (FOR UPDATE OF l SKIP LOCKED: a row another claim
// has locked is passed over, not waited for; the inbox rows are not locked). A row that
// another claim leased and committed after this statement's snapshot is re-checked by
// PostgreSQL against its new expiry once locked, and passed over too. LIMIT applies to the
// rows locked, so skipped rows do not use it up.
const claimConversation = `WITH pick AS (
		SELECT l.channel, l.user_id FROM inbox AS i
		JOIN leases AS l ON l.channel = i.channel AND l.user_id = i.user_id
		WHERE i.processed_at IS NULL AND l.expires_at <= $1
		ORDER BY i.at, i.seq
		LIMIT 1
		FOR UPDATE OF l SKIP LOCKED
	)
	UPDATE leases AS l SET owner = $2, expires_at = $3
	FROM pick WHERE l.channel = pick.channel AND l.user_id = pick.user_id
	RETURNING l.channel, l.user_id`

// pendingEvents selects a conversation's pending events in order, from the partial index
// inbox_pending_conversation.
const pendingEvents = `SELECT event FROM inbox
	WHERE channel = $1 AND user_id = $2 AND processed_at IS NULL
	ORDER BY at, seq`

// claimTries is how many conversations ClaimConversation leases, at most, before it gives
// up finding one whose events another worker has not processed meanwhile.
const claimTries = 3

// ClaimConversation leases to owner, until lease has passed, the conversation whose oldest
// pending event is the oldest among those with no live lease, and returns its pending
// events ordered by event time, then arrival. A lease is live until the store's clock
// reaches its expiry; an expired one is taken over. It returns an error matching
// bot.ErrNotFound when no conversation can be claimed. The caller owns the events.
//
// Of processes claiming at once, each gets another conversation; none waits for another's
// claim.
func (s *Store) ClaimConversation(ctx context.Context, owner string, lease time.Duration) (bot.Key, []bot.Event, error) {
	if owner == "" || lease <= 0 {
		return bot.Key{}, nil, fmt.Errorf("claim conversation: need an owner and a positive lease, have %q and %s", owner, lease)
	}
	for range claimTries {
		now := s.now()
		var k bot.Key
		err := s.lazy.QueryRow(ctx, claimConversation, ms(now), owner, ms(now.Add(lease))).Scan(&k.Channel, &k.User)
		if errors.Is(err, pgx.ErrNoRows) {
			return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", bot.ErrNotFound)
		}
		if err != nil {
			return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
		}
		evs, err := s.pendingEvents(ctx, k)
		if err != nil {
			return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
		}
		if len(evs) > 0 {
			return k, evs, nil
		}
		// The pending event the claim saw was processed since, by a worker that held the
		// lease until just before: hand the lease back and look again.
		if err := s.ReleaseConversation(ctx, k, owner); err != nil {
			return bot.Key{}, nil, fmt.Errorf("claim conversation: %w", err)
		}
	}
	return bot.Key{}, nil, fmt.Errorf("claim conversation: %d conversations without pending events: %w", claimTries, bot.ErrNotFound)
}

// claimKey leases one conversation's lease row if it is free and not locked by another
// claim. Its parameters are the key, now, the owner and the lease's expiry.
const claimKey = `WITH pick AS (
		SELECT channel, user_id FROM leases
		WHERE channel = $1 AND user_id = $2 AND expires_at <= $3
		FOR UPDATE SKIP LOCKED
	)
	UPDATE leases AS l SET owner = $4, expires_at = $5
	FROM pick WHERE l.channel = pick.channel AND l.user_id = pick.user_id
	RETURNING l.channel`

// ClaimKey leases k to owner, until lease has passed, if it has pending events and no live
// lease, and returns them ordered by event time, then arrival; bot.ErrNotFound otherwise.
// Unlike ClaimConversation it walks no queue: two index lookups, in one round trip.
func (s *Store) ClaimKey(ctx context.Context, k bot.Key, owner string, lease time.Duration) ([]bot.Event, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("claim %s: need an owner and a positive lease, have %q and %s", k, owner, lease)
	}
	// The claim and the read of the events go as one pipelined batch, one round trip.
	// The read is a statement of its own, with a snapshot taken after the claim: it sees
	// the events processed by a worker whose lease the claim found ended.
	now := s.now()
	var b pgx.Batch
	b.Queue(claimKey, k.Channel, k.User, ms(now), owner, ms(now.Add(lease)))
	b.Queue(pendingEvents, k.Channel, k.User)
	br := s.lazy.SendBatch(ctx, &b)
	var channel string
	err := br.QueryRow().Scan(&channel)
	var evs []bot.Event
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			evs, err = row.Events(rows)
			rows.Close()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("claim %s: leased, or nothing stored: %w", k, bot.ErrNotFound)
	}
	if err == nil && len(evs) == 0 {
		err = bot.ErrNotFound
	}
	if err != nil {
		if rerr := s.ReleaseConversation(ctx, k, owner); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("claim %s: %w", k, err)
	}
	return evs, nil
}

// pendingEvents returns k's pending events in order.
func (s *Store) pendingEvents(ctx context.Context, k bot.Key) ([]bot.Event, error) {
	rows, err := s.pool.Query(ctx, pendingEvents, k.Channel, k.User)
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
	const release = `UPDATE leases SET owner = '', expires_at = '-infinity'
		WHERE channel = $1 AND user_id = $2 AND owner = $3`
	if _, err := s.lazyExec(ctx, release, k.Channel, k.User, owner); err != nil {
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
// ones too. Transcript lines are stored with NUL characters and invalid UTF-8 replaced.
//
// The statements go to the server as one pipelined batch, run as one implicit
// transaction, so a turn costs one round trip however much it changes. Turns committed at once by
// several workers share one transaction and one WAL flush (see group.go); a failing one is
// undone alone.
func (s *Store) CommitTurn(ctx context.Context, t *bot.Turn) error {
	if t == nil || t.Conversation == nil {
		return errors.New("commit turn: no conversation")
	}
	w, done, err := s.turnWork(t)
	if err == nil {
		err = s.turns.do(ctx, w)
	}
	if err != nil {
		return fmt.Errorf("commit turn %s of %s: %w", t.EventID, t.Conversation.Key, err)
	}
	done()
	return nil
}

// turnWork returns the statements of CommitTurn(t) and how to read their results, and
// done, which updates t once they are committed.
func (s *Store) turnWork(t *bot.Turn) (w txWork, done func(), err error) {
	const (
		// Each check fails its statement, and so the transaction, if it changes no row
		// (giftdesk_expect): the conversation's revision (conflictCode), the event still
		// pending (goneCode).
		processed = `WITH w AS (UPDATE inbox SET processed_at = $1, event = NULL
			WHERE id = $2 AND channel = $3 AND user_id = $4 AND processed_at IS NULL RETURNING 1)
			SELECT giftdesk_expect(count(*), '` + goneCode + `') FROM w`
		// A row is leased to $9 until $10, counting an attempt, when $9 is not NULL and
		// every unfinished row of the conversation on the same channel is under $9's
		// live lease at $11, now (none at all: the row is the oldest, as ClaimOutgoing
		// would claim it; else $9 delivers it after those, in order). A row waiting for
		// a retry or parked has no lease, and one leased by another owner or expired may
		// be claimed by another: either holds the new row back for ClaimOutgoing. The
		// subquery reads the conversation's entries of the partial index
		// outbox_unfinished and their rows. Turns of one conversation commit one at a
		// time (the conversation's row lock, then its revision), so no other row of the
		// conversation can appear meanwhile; a row finished meanwhile only drops out.
		insertOut = `INSERT INTO outbox (channel, user_id, via, event_id, seq, payload, created_at, next_attempt_at,
				attempts, lease_owner, lease_expires_at)
			SELECT $1::text, $2::text, $3::text, $4::text, $5::integer, $6::json, $7::timestamptz, $8::timestamptz,
				claimed::integer, CASE WHEN claimed THEN $9::text END, CASE WHEN claimed THEN $10::timestamptz END
			FROM (SELECT $9::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox
				WHERE channel = $1::text AND user_id = $2::text AND via = $3::text AND finished_at IS NULL
				  AND (lease_owner = $9::text AND lease_expires_at > $11::timestamptz) IS NOT TRUE) AS claimed) AS c
			RETURNING id, attempts = 1`
		release = `UPDATE leases SET owner = '', expires_at = '-infinity'
			WHERE channel = $1 AND user_id = $2 AND owner = $3`
		insertLine = `INSERT INTO transcripts (channel, user_id, at, role, name, text, node, miss)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	)
	c := t.Conversation
	outs, payloads, err := row.Outgoings(t)
	if err != nil {
		return txWork{}, nil, err
	}
	var closed *archived
	if t.Closed != nil {
		if closed, err = archive(t.Closed); err != nil {
			return txWork{}, nil, err
		}
	}
	save, saveArgs, err := saveConversation(c)
	if err != nil {
		return txWork{}, nil, err
	}

	var claimOwner *string // NULL: no claim
	var claimLease time.Duration
	if t.Claim != nil { // checked by row.Outgoings
		claimOwner, claimLease = &t.Claim.Owner, t.Claim.Lease
	}

	now := s.now()
	var b pgx.Batch
	b.Queue(`WITH w AS (`+save+` RETURNING 1) SELECT giftdesk_expect(count(*), '`+conflictCode+`') FROM w`, saveArgs...)
	b.Queue(processed, ms(now), t.EventID, c.Key.Channel, c.Key.User)
	created := make([]time.Time, len(outs))
	for i, o := range outs {
		created[i] = o.CreatedAt
		if created[i].IsZero() {
			created[i] = now
		}
		// Due at once by the store's clock, whatever the caller's says, unless it is a
		// timer (NotBefore): then it is due then, and not claimed now.
		due, owner := now, claimOwner
		if o.NotBefore.After(now) {
			due, owner = o.NotBefore, nil
		}
		b.Queue(insertOut, c.Key.Channel, c.Key.User, o.Via(), t.EventID, o.Seq, payloads[i], ms(created[i]), ms(due),
			owner, ms(now.Add(claimLease)), ms(now))
	}
	for _, l := range t.Transcript {
		b.Queue(insertLine, c.Key.Channel, c.Key.User, ms(l.At), clean(string(l.Role)), clean(l.Name), clean(l.Text),
			clean(l.Node), l.Miss)
	}
	if closed != nil {
		closed.queue(&b, c.Key, now)
	}
	if t.Release != "" {
		b.Queue(release, c.Key.Channel, c.Key.User, t.Release)
	}

	ids := make([]int64, len(outs))
	claimed := make([]bool, len(outs))
	read := func(br pgx.BatchResults) error {
		if _, err := br.Exec(); isCode(err, conflictCode) {
			return fmt.Errorf("save conversation at revision %d: %w", c.Revision, bot.ErrConflict)
		} else if err != nil {
			return fmt.Errorf("save conversation: %w", translate(err))
		}
		if _, err := br.Exec(); isCode(err, goneCode) {
			return fmt.Errorf("no pending event: %w", bot.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		for i, o := range outs {
			if err := br.QueryRow().Scan(&ids[i], &claimed[i]); err != nil {
				return fmt.Errorf("add outgoing %d: %w", o.Seq, err)
			}
		}
		for i := range t.Transcript {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("append transcript line %d: %w", i, err)
			}
		}
		if closed != nil {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("archive ticket %s: %w", t.Closed.ID, err)
			}
		}
		if t.Release != "" {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("release conversation: %w", err)
			}
		}
		return nil
	}
	done = func() {
		c.Revision++
		for i, o := range outs {
			o.ID, o.CreatedAt, o.Claimed = ids[i], created[i], claimed[i]
		}
	}
	return txWork{batch: &b, read: read}, done, nil
}

// The SQLSTATEs with which CommitTurn's checks fail (see giftdesk_expect, in
// schema/0008_expect.sql): a stale revision, an event not pending.
const (
	conflictCode = "GD409"
	goneCode     = "GD404"
)

// isCode reports whether err is a PostgreSQL error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}
