package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/giftdesk/giftdesk/bot"
)

// waitingTickets selects, oldest first, the conversations whose ticket waits for an agent
// since before a time without the customer having been told. It reads the partial index
// conversations_waiting, whose WHERE clause it repeats. Its parameters are the time and
// the limit.
const waitingTickets = `SELECT channel, user_id FROM conversations
	WHERE ticket_state = 'waiting' AND NOT ticket_waited AND ticket_since < $1
	ORDER BY ticket_since, channel, user_id
	LIMIT $2`

// WaitingTickets returns the keys of the conversations whose ticket is in state
// bot.TicketWaiting, was created before since (to the millisecond) and is not Waited,
// oldest ticket first, then by key (byte order), at most limit of them. It returns an
// empty slice when there is none. The caller owns the result.
func (s *Store) WaitingTickets(ctx context.Context, since time.Time, limit int) ([]bot.Key, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("waiting tickets: need a positive limit, have %d", limit)
	}
	rows, err := s.pool.Query(ctx, waitingTickets, ms(since), limit)
	if err != nil {
		return nil, fmt.Errorf("waiting tickets: %w", err)
	}
	ks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bot.Key, error) {
		var k bot.Key
		err := row.Scan(&k.Channel, &k.User)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("waiting tickets: %w", err)
	}
	if ks == nil {
		ks = []bot.Key{}
	}
	return ks, nil
}

// lastLines selects a conversation's last lines, newest first, from the index
// transcripts_conversation. Its parameters are the key and the count.
const lastLines = `SELECT at, role, name, text, node, miss FROM transcripts
	WHERE channel = $1 AND user_id = $2
	ORDER BY id DESC
	LIMIT $3`

// Transcript returns the last n lines of k's transcript, in the order CommitTurn appended
// them, which is oldest first: fewer if there are fewer, and an empty slice when there is
// none (also for a conversation that does not exist). Times are in UTC, to the
// millisecond. The caller owns the result.
func (s *Store) Transcript(ctx context.Context, k bot.Key, n int) ([]bot.Line, error) {
	if n <= 0 {
		return nil, fmt.Errorf("transcript of %s: need a positive count, have %d", k, n)
	}
	rows, err := s.pool.Query(ctx, lastLines, k.Channel, k.User, n)
	if err != nil {
		return nil, fmt.Errorf("transcript of %s: %w", k, err)
	}
	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bot.Line, error) {
		var l bot.Line
		err := row.Scan(&l.At, &l.Role, &l.Name, &l.Text, &l.Node, &l.Miss)
		l.At = utc(l.At)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("transcript of %s: %w", k, err)
	}
	if lines == nil {
		lines = []bot.Line{}
	}
	slices.Reverse(lines)
	return lines, nil
}

// archived is a closed ticket ready to be archived.
type archived struct {
	t    *bot.Ticket
	json string
}

// archive encodes t for the archive.
func archive(t *bot.Ticket) (*archived, error) {
	if t.ID == "" {
		return nil, errors.New("closed ticket has no ID")
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("closed ticket %s: %w", t.ID, err)
	}
	return &archived{t: t, json: string(b)}, nil
}

// queue adds to b the statement that archives a as a ticket of conversation k, replacing
// an archived ticket with the same ID. A ticket without ClosedAt is archived as closed at
// now.
func (a *archived) queue(b *pgx.Batch, k bot.Key, now time.Time) {
	const upsert = `INSERT INTO tickets (id, channel, user_id, state, outcome, reason, agent, agent_name,
			created_at, claimed_at, resolved_at, closed_at, rating, staff, waited, ticket)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (id) DO UPDATE SET
			channel = excluded.channel, user_id = excluded.user_id, state = excluded.state,
			outcome = excluded.outcome, reason = excluded.reason, agent = excluded.agent,
			agent_name = excluded.agent_name, created_at = excluded.created_at,
			claimed_at = excluded.claimed_at, resolved_at = excluded.resolved_at,
			closed_at = excluded.closed_at, rating = excluded.rating, staff = excluded.staff,
			waited = excluded.waited, ticket = excluded.ticket`
	t := a.t
	closed := t.ClosedAt
	if closed.IsZero() {
		closed = now
	}
	var rating any // NULL when not rated, so that avg(rating) counts rated tickets only
	if t.Rating != 0 {
		rating = t.Rating
	}
	b.Queue(upsert, t.ID, k.Channel, k.User, clean(string(t.State)), clean(t.Outcome), clean(t.Reason), clean(t.Agent),
		clean(t.AgentName), ms(t.CreatedAt), nullTime(t.ClaimedAt), nullTime(t.ResolvedAt), ms(closed),
		rating, t.Staff, t.Waited, a.json)
}

// LinkThread records that ticket id of conversation k is handled in the thread at
// address. Linking a ticket again to the same address and conversation does nothing and
// succeeds; linking it to another address or conversation, or linking a second ticket to
// an address, returns an error matching bot.ErrConflict and changes nothing. Empty ids
// and addresses are errors. Of concurrent links of one ticket, or to one address, exactly
// one succeeds, unless they link the same ticket to the same thread.
func (s *Store) LinkThread(ctx context.Context, id string, k bot.Key, address string) error {
	const (
		// An insert that meets a ticket or address another transaction is inserting waits
		// for it; so when this does nothing, the row in the way is committed, and same
		// sees it.
		insert = `INSERT INTO threads (ticket_id, address, channel, user_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`
		same = `SELECT EXISTS (SELECT 1 FROM threads
			WHERE ticket_id = $1 AND address = $2 AND channel = $3 AND user_id = $4)`
	)
	if id == "" || address == "" {
		return fmt.Errorf("link ticket %q to thread %q: need a ticket id and an address", id, address)
	}
	tag, err := s.pool.Exec(ctx, insert, id, address, k.Channel, k.User)
	if err != nil {
		return fmt.Errorf("link ticket %s to thread %s: %w", id, address, translate(err))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// The ticket or the address is linked already: fine if to each other.
	var ok bool
	if err := s.pool.QueryRow(ctx, same, id, address, k.Channel, k.User).Scan(&ok); err != nil {
		return fmt.Errorf("link ticket %s to thread %s: %w", id, address, err)
	}
	if !ok {
		return fmt.Errorf("link ticket %s to thread %s: linked to another thread or ticket: %w", id, address, bot.ErrConflict)
	}
	return nil
}

// TicketThread returns the address of the thread ticket id is linked to. It returns an
// error matching bot.ErrNotFound if there is none.
func (s *Store) TicketThread(ctx context.Context, id string) (string, error) {
	var address string
	err := s.pool.QueryRow(ctx, `SELECT address FROM threads WHERE ticket_id = $1`, id).Scan(&address)
	if err != nil {
		return "", fmt.Errorf("thread of ticket %s: %w", id, translate(err))
	}
	return address, nil
}

// ThreadTicket returns the ticket linked to the thread at address and the ticket's
// conversation. It returns an error matching bot.ErrNotFound if there is none.
func (s *Store) ThreadTicket(ctx context.Context, address string) (id string, k bot.Key, err error) {
	err = s.pool.QueryRow(ctx, `SELECT ticket_id, channel, user_id FROM threads WHERE address = $1`, address).
		Scan(&id, &k.Channel, &k.User)
	if err != nil {
		return "", bot.Key{}, fmt.Errorf("ticket of thread %s: %w", address, translate(err))
	}
	return id, k, nil
}
