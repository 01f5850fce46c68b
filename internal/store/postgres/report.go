package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// Reads for reports (internal/report.Source). They stream rows to a callback instead of
// returning slices, so that a report over many conversations holds one row at a time: pgx
// hands rows over as the server sends them.

// linesSince selects the transcript lines at or after a time, in the order they were
// appended.
const linesSince = `SELECT channel, user_id, at, role, name, text, node, miss FROM transcripts
	WHERE at >= $1
	ORDER BY id`

// LinesSince calls fn with every transcript line whose At, to the millisecond, is at or
// after since, and the key of its conversation, in the order CommitTurn appended the lines
// (whatever their times; lines that concurrent turns appended are in the order their
// transactions drew ids). Times are in UTC. It stops at the first error fn returns and
// returns it wrapped. The rows are read while fn runs, on a connection of their own; fn
// must not call the Store (see report.Source: a Store with a single connection,
// MaxConns 1, would wait for it forever).
func (s *Store) LinesSince(ctx context.Context, since time.Time, fn func(bot.Key, bot.Line) error) error {
	rows, err := s.pool.Query(ctx, linesSince, ms(since))
	if err != nil {
		return fmt.Errorf("transcript lines since %s: %w", since.Format(time.RFC3339), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k bot.Key
			l bot.Line
		)
		if err := rows.Scan(&k.Channel, &k.User, &l.At, &l.Role, &l.Name, &l.Text, &l.Node, &l.Miss); err != nil {
			return fmt.Errorf("transcript lines since %s: %w", since.Format(time.RFC3339), err)
		}
		l.At = utc(l.At)
		if err := fn(k, l); err != nil {
			return fmt.Errorf("transcript lines since %s: %w", since.Format(time.RFC3339), err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("transcript lines since %s: %w", since.Format(time.RFC3339), err)
	}
	return nil
}

// Ticket queries for TicketsSince: the archived tickets closed at or after a time, through
// the index tickets_closed_at, and the open tickets, which are stored with their
// conversations. The second reads every conversation: a report is rare, and no index
// covers all open tickets.
const (
	closedSince = `SELECT channel, user_id, ticket, closed_at FROM tickets
		WHERE closed_at >= $1
		ORDER BY closed_at, id`
	openTickets = `SELECT channel, user_id, ticket, NULL::timestamptz FROM conversations
		WHERE ticket IS NOT NULL
		ORDER BY ticket_since, channel, user_id`
)

// TicketsSince calls fn with every archived ticket closed, to the millisecond, at or
// after since, in the order they closed (then by ID), and then with every open ticket
// whatever its age, oldest first (then by its conversation's key), each with its
// conversation's key. An archived ticket's ClosedAt is when it was archived if it was
// zero. Times are in UTC. It stops at the first error fn returns and returns it wrapped.
// fn must not call the Store, as for LinesSince.
func (s *Store) TicketsSince(ctx context.Context, since time.Time, fn func(bot.Key, bot.Ticket) error) error {
	for _, q := range []struct {
		what  string
		query string
		args  []any
	}{
		{"archived tickets", closedSince, []any{ms(since)}},
		{"open tickets", openTickets, nil},
	} {
		if err := s.eachTicket(ctx, q.query, q.args, fn); err != nil {
			return fmt.Errorf("%s since %s: %w", q.what, since.Format(time.RFC3339), err)
		}
	}
	return nil
}

// eachTicket runs query, which selects a key, a ticket as JSON and when it closed (NULL
// for an open ticket), and calls fn with each.
func (s *Store) eachTicket(ctx context.Context, query string, args []any, fn func(bot.Key, bot.Ticket) error) error {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k      bot.Key
			ticket []byte
			closed *time.Time
		)
		if err := rows.Scan(&k.Channel, &k.User, &ticket, &closed); err != nil {
			return err
		}
		t, err := row.DecodeTicket(ticket)
		if err != nil {
			return fmt.Errorf("ticket of %s: %w", k, err)
		}
		if t.ClosedAt.IsZero() && closed != nil {
			t.ClosedAt = utc(*closed)
		}
		if err := fn(k, *t); err != nil {
			return err
		}
	}
	return rows.Err()
}
