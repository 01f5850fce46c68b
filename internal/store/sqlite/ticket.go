package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// waitingTickets selects, oldest first, the conversations whose ticket waits for an agent
// since before a time without the customer having been told. It reads the partial index
// conversations_waiting, whose WHERE clause it repeats with the same literals. Its
// parameters are the time and the limit.
const waitingTickets = `SELECT channel, user_id FROM conversations
	WHERE ticket_state = 'waiting' AND ticket_waited = 0 AND ticket_since < ?
	ORDER BY ticket_since, channel, user_id
	LIMIT ?`

// WaitingTickets returns the keys of the conversations whose ticket is in state
// bot.TicketWaiting, was created before since (to the millisecond) and is not Waited,
// oldest ticket first, at most limit of them. It returns an empty slice when there is
// none. The caller owns the result.
func (s *Store) WaitingTickets(ctx context.Context, since time.Time, limit int) ([]bot.Key, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("waiting tickets: need a positive limit, have %d", limit)
	}
	rows, err := s.read.QueryContext(ctx, waitingTickets, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("waiting tickets: %w", err)
	}
	defer rows.Close()
	ks := []bot.Key{}
	for rows.Next() {
		var k bot.Key
		if err := rows.Scan(&k.Channel, &k.User); err != nil {
			return nil, fmt.Errorf("waiting tickets: %w", err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("waiting tickets: %w", err)
	}
	return ks, nil
}

// lastLines selects a conversation's last lines, newest first, from the index
// transcripts_conversation. Its parameters are the key and the count.
const lastLines = `SELECT at, role, name, text, node, miss FROM transcripts
	WHERE channel = ? AND user_id = ?
	ORDER BY id DESC
	LIMIT ?`

// Transcript returns the last n lines of k's transcript, in the order CommitTurn appended
// them, which is oldest first: fewer if there are fewer, and an empty slice when there is
// none (also for a conversation that does not exist). Times are in UTC, to the
// millisecond. The caller owns the result.
func (s *Store) Transcript(ctx context.Context, k bot.Key, n int) ([]bot.Line, error) {
	if n <= 0 {
		return nil, fmt.Errorf("transcript of %s: need a positive count, have %d", k, n)
	}
	rows, err := s.read.QueryContext(ctx, lastLines, k.Channel, k.User, n)
	if err != nil {
		return nil, fmt.Errorf("transcript of %s: %w", k, err)
	}
	defer rows.Close()
	lines := []bot.Line{}
	for rows.Next() {
		var (
			l  bot.Line
			at int64
		)
		if err := rows.Scan(&at, &l.Role, &l.Name, &l.Text, &l.Node, &l.Miss); err != nil {
			return nil, fmt.Errorf("transcript of %s: %w", k, err)
		}
		l.At = time.UnixMilli(at).UTC()
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("transcript of %s: %w", k, err)
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

// insert archives a as a ticket of conversation k, replacing an archived ticket with the
// same ID. A ticket without ClosedAt is archived as closed at now.
func (a *archived) insert(ctx context.Context, tx *sql.Tx, k bot.Key, now time.Time) error {
	const upsert = `INSERT INTO tickets (id, channel, user_id, state, outcome, reason, agent, agent_name,
			created_at, claimed_at, resolved_at, closed_at, rating, staff, waited, ticket)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
	_, err := tx.ExecContext(ctx, upsert, t.ID, k.Channel, k.User, string(t.State), t.Outcome, t.Reason, t.Agent,
		t.AgentName, t.CreatedAt.UnixMilli(), nullTime(t.ClaimedAt), nullTime(t.ResolvedAt), closed.UnixMilli(),
		rating, t.Staff, t.Waited, a.json)
	return err
}

// nullTime returns t in unix milliseconds, or nil (NULL) if t is zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// LinkThread records that ticket id of conversation k is handled in the thread at
// address. Linking a ticket again to the same address and conversation does nothing and
// succeeds; linking it to another address or conversation, or linking a second ticket to
// an address, returns an error matching bot.ErrConflict and changes nothing. Empty ids
// and addresses are errors.
func (s *Store) LinkThread(ctx context.Context, id string, k bot.Key, address string) error {
	const (
		insert = `INSERT INTO threads (ticket_id, address, channel, user_id) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`
		same = `SELECT EXISTS (SELECT 1 FROM threads
			WHERE ticket_id = ? AND address = ? AND channel = ? AND user_id = ?)`
	)
	if id == "" || address == "" {
		return fmt.Errorf("link ticket %q to thread %q: need a ticket id and an address", id, address)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, insert, id, address, k.Channel, k.User)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		// The ticket or the address is linked already: fine if to each other.
		var ok bool
		if err := tx.QueryRowContext(ctx, same, id, address, k.Channel, k.User).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("linked to another thread or ticket: %w", bot.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("link ticket %s to thread %s: %w", id, address, err)
	}
	return nil
}

// TicketThread returns the address of the thread ticket id is linked to. It returns an
// error matching bot.ErrNotFound if there is none.
func (s *Store) TicketThread(ctx context.Context, id string) (string, error) {
	var address string
	err := s.read.QueryRowContext(ctx, `SELECT address FROM threads WHERE ticket_id = ?`, id).Scan(&address)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("thread of ticket %s: %w", id, bot.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("thread of ticket %s: %w", id, err)
	}
	return address, nil
}

// ThreadTicket returns the ticket linked to the thread at address and the ticket's
// conversation. It returns an error matching bot.ErrNotFound if there is none.
func (s *Store) ThreadTicket(ctx context.Context, address string) (id string, k bot.Key, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT ticket_id, channel, user_id FROM threads WHERE address = ?`, address).
		Scan(&id, &k.Channel, &k.User)
	if errors.Is(err, sql.ErrNoRows) {
		return "", bot.Key{}, fmt.Errorf("ticket of thread %s: %w", address, bot.ErrNotFound)
	}
	if err != nil {
		return "", bot.Key{}, fmt.Errorf("ticket of thread %s: %w", address, err)
	}
	return id, k, nil
}
