package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// Conversation returns the conversation with key k. It returns an error matching
// bot.ErrNotFound if there is none. The caller owns the result; its Vars is never nil and
// its times, the Ticket's included, are in UTC.
func (s *Store) Conversation(ctx context.Context, k bot.Key) (*bot.Conversation, error) {
	const q = `SELECT name, profile_checked, address, lang, status, node, path, answers, vars, misses, ticket, flow_version, revision,
		created_at, updated_at
		FROM conversations WHERE channel = ? AND user_id = ?`
	c := &bot.Conversation{Key: k}
	var (
		path, answers, vars, ticket []byte
		created, updated            int64
	)
	err := s.readq().QueryRowContext(ctx, q, k.Channel, k.User).Scan(
		&c.Name, &c.ProfileChecked, &c.Address, &c.Lang, &c.Status, &c.Node, &path, &answers, &vars,
		&c.Misses, &ticket, &c.FlowVersion, &c.Revision, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("load conversation %s: %w", k, bot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load conversation %s: %w", k, err)
	}
	if err := json.Unmarshal(path, &c.Path); err != nil {
		return nil, fmt.Errorf("load conversation %s: path: %w", k, err)
	}
	if err := json.Unmarshal(answers, &c.Answers); err != nil {
		return nil, fmt.Errorf("load conversation %s: answers: %w", k, err)
	}
	if err := json.Unmarshal(vars, &c.Vars); err != nil {
		return nil, fmt.Errorf("load conversation %s: vars: %w", k, err)
	}
	if c.Vars == nil {
		c.Vars = make(map[string]string) // the JSON was null
	}
	for i := range c.Answers {
		c.Answers[i].At = c.Answers[i].At.UTC()
	}
	if ticket != nil { // NULL: no ticket
		if c.Ticket, err = row.DecodeTicket(ticket); err != nil {
			return nil, fmt.Errorf("load conversation %s: ticket: %w", k, err)
		}
	}
	c.CreatedAt = time.UnixMilli(created).UTC()
	c.UpdatedAt = time.UnixMilli(updated).UTC()
	return c, nil
}

// SaveConversation stores c if c.Revision is 0 and there is no conversation with c.Key
// yet, or if the stored conversation's revision equals c.Revision. On success it
// increments c.Revision; otherwise it leaves c alone and returns an error, matching
// bot.ErrConflict if the revision did not match. It stores times to the millisecond,
// except those of Answers and Ticket, which keep their precision.
//
// The check and the write are one statement, so no other write can come between them.
func (s *Store) SaveConversation(ctx context.Context, c *bot.Conversation) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return saveConversation(ctx, s.writeq(tx), c) }); err != nil {
		return err
	}
	c.Revision++
	return nil
}

// execer is the part of *sql.DB and *sql.Tx that saveConversation needs.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// saveConversation writes c through db with a compare-and-swap on c.Revision, as
// SaveConversation describes, but leaves c.Revision alone: within a transaction the write
// counts only once the transaction commits, and then the caller increments it.
func saveConversation(ctx context.Context, db execer, c *bot.Conversation) error {
	const (
		insert = `INSERT INTO conversations
			(name, profile_checked, address, lang, status, node, path, answers, vars, misses,
			 ticket, ticket_state, ticket_since, ticket_waited, flow_version, created_at, updated_at,
			 channel, user_id, revision)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
			ON CONFLICT (channel, user_id) DO NOTHING`
		update = `UPDATE conversations SET
			name = ?, profile_checked = ?, address = ?, lang = ?, status = ?, node = ?, path = ?, answers = ?, vars = ?, misses = ?,
			ticket = ?, ticket_state = ?, ticket_since = ?, ticket_waited = ?, flow_version = ?,
			created_at = ?, updated_at = ?, revision = revision + 1
			WHERE channel = ? AND user_id = ? AND revision = ?`
	)
	path, err := row.JSONText(c.Path, len(c.Path) == 0, "[]")
	if err != nil {
		return fmt.Errorf("save conversation %s: path: %w", c.Key, err)
	}
	answers, err := row.JSONText(c.Answers, len(c.Answers) == 0, "[]")
	if err != nil {
		return fmt.Errorf("save conversation %s: answers: %w", c.Key, err)
	}
	vars, err := row.JSONText(c.Vars, len(c.Vars) == 0, "{}")
	if err != nil {
		return fmt.Errorf("save conversation %s: vars: %w", c.Key, err)
	}
	// The ticket and the columns derived from it, all NULL when there is none.
	var ticket, state, since, waited any
	if t := c.Ticket; t != nil {
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("save conversation %s: ticket: %w", c.Key, err)
		}
		ticket, state, since, waited = string(b), string(t.State), t.CreatedAt.UnixMilli(), t.Waited
	}
	args := []any{
		c.Name, c.ProfileChecked, c.Address, string(c.Lang), string(c.Status), c.Node, path, answers, vars, c.Misses,
		ticket, state, since, waited, c.FlowVersion,
		c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli(), c.Key.Channel, c.Key.User,
	}
	q := insert
	if c.Revision != 0 {
		q = update
		args = append(args, c.Revision)
	}
	res, err := db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.Key, err)
	}
	if n == 0 {
		return fmt.Errorf("save conversation %s at revision %d: %w", c.Key, c.Revision, bot.ErrConflict)
	}
	return nil
}
