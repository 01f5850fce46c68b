package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/row"
)

// Conversation returns the conversation with key k. It returns an error matching
// bot.ErrNotFound if there is none. The caller owns the result; its Vars is never nil and
// its times, the Ticket's included, are in UTC.
func (s *Store) Conversation(ctx context.Context, k bot.Key) (*bot.Conversation, error) {
	const q = `SELECT name, profile_checked, address, lang, status, node, path, answers, vars, misses, ticket, flow_version, revision,
		created_at, updated_at
		FROM conversations WHERE channel = $1 AND user_id = $2`
	c := &bot.Conversation{Key: k}
	var path, answers, vars, ticket []byte
	err := s.pool.QueryRow(ctx, q, k.Channel, k.User).Scan(
		&c.Name, &c.ProfileChecked, &c.Address, &c.Lang, &c.Status, &c.Node, &path, &answers, &vars,
		&c.Misses, &ticket, &c.FlowVersion, &c.Revision, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, fmt.Errorf("load conversation %s: %w", k, translate(err))
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
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return c, nil
}

// SaveConversation stores c if c.Revision is 0 and there is no conversation with c.Key
// yet, or if the stored conversation's revision equals c.Revision. On success it
// increments c.Revision; otherwise it leaves c alone and returns an error, matching
// bot.ErrConflict if the revision did not match. It stores times to the millisecond,
// except those of Answers and Ticket, which keep their precision, and Name with NUL
// characters and invalid UTF-8 replaced (see the package documentation).
//
// The check and the write are one statement: a concurrent save of the same conversation
// waits for this one's row lock and then finds the revision changed.
func (s *Store) SaveConversation(ctx context.Context, c *bot.Conversation) error {
	q, args, err := saveConversation(c)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("save conversation %s: %w", c.Key, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("save conversation %s at revision %d: %w", c.Key, c.Revision, bot.ErrConflict)
	}
	c.Revision++
	return nil
}

// saveConversation returns the statement that writes c with a compare-and-swap on
// c.Revision, as SaveConversation describes, and its arguments. It changes exactly one row
// if the revision matches and none otherwise. It leaves c.Revision alone: within a
// transaction the write counts only once the transaction commits, and then the caller
// increments it.
func saveConversation(c *bot.Conversation) (string, []any, error) {
	const (
		insert = `INSERT INTO conversations
			(name, address, lang, status, node, path, answers, vars, misses,
			 ticket, ticket_state, ticket_since, ticket_waited, flow_version, created_at, updated_at,
			 channel, user_id, profile_checked, revision)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1)
			ON CONFLICT (channel, user_id) DO NOTHING`
		update = `UPDATE conversations SET
			name = $1, address = $2, lang = $3, status = $4, node = $5, path = $6, answers = $7, vars = $8,
			misses = $9, ticket = $10, ticket_state = $11, ticket_since = $12, ticket_waited = $13,
			flow_version = $14, created_at = $15, updated_at = $16, profile_checked = $19, revision = revision + 1
			WHERE channel = $17 AND user_id = $18 AND revision = $20`
	)
	path, err := row.JSONText(c.Path, len(c.Path) == 0, "[]")
	if err != nil {
		return "", nil, fmt.Errorf("save conversation %s: path: %w", c.Key, err)
	}
	answers, err := row.JSONText(c.Answers, len(c.Answers) == 0, "[]")
	if err != nil {
		return "", nil, fmt.Errorf("save conversation %s: answers: %w", c.Key, err)
	}
	vars, err := row.JSONText(c.Vars, len(c.Vars) == 0, "{}")
	if err != nil {
		return "", nil, fmt.Errorf("save conversation %s: vars: %w", c.Key, err)
	}
	// The ticket and the columns derived from it, all NULL when there is none.
	var ticket, state, since, waited any
	if t := c.Ticket; t != nil {
		b, err := json.Marshal(t)
		if err != nil {
			return "", nil, fmt.Errorf("save conversation %s: ticket: %w", c.Key, err)
		}
		ticket, state, since, waited = string(b), clean(string(t.State)), ms(t.CreatedAt), t.Waited
	}
	args := []any{
		clean(c.Name), clean(c.Address), clean(string(c.Lang)), clean(string(c.Status)), clean(c.Node),
		path, answers, vars, c.Misses, ticket, state, since, waited, clean(c.FlowVersion),
		ms(c.CreatedAt), ms(c.UpdatedAt), c.Key.Channel, c.Key.User, c.ProfileChecked,
	}
	if c.Revision == 0 {
		return insert, args, nil
	}
	return update, append(args, c.Revision), nil
}
