package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// handle is what Event.Handle carries for the sender and the profile lookup: who wrote
// or clicked and, for a click, the message to update. It travels through the inbox and the
// outbox as JSON; nothing outside this package reads it.
type handle struct {
	User string `json:"u,omitempty"`
	// Set for a button press: the clicked message, its blocks without the buttons, its
	// notification text and the label of the button.
	Channel string            `json:"c,omitempty"`
	TS      string            `json:"ts,omitempty"`
	Blocks  []json.RawMessage `json:"b,omitempty"`
	Text    string            `json:"t,omitempty"`
	Label   string            `json:"l,omitempty"`
}

// handleOf returns the handle an event or a row carries: in Handle, or, for those
// stored before Handle existed, in ReplyToken (Slack has no reply token).
func handleOf(handle, replyToken string) string {
	if handle != "" {
		return handle
	}
	return replyToken
}

func (h handle) encode() string {
	b, _ := json.Marshal(h) // strings and raw JSON only: cannot fail
	return string(b)
}

func decodeHandle(s string) handle {
	var h handle
	if s != "" {
		_ = json.Unmarshal([]byte(s), &h) // a foreign token is treated as none
	}
	return h
}

// Send delivers one turn's messages to the conversation's thread. When the turn answers a
// button press it first updates the pressed message: the buttons give way to the choice
// and who made it, so the question cannot be answered twice. A retry posts nothing an
// earlier attempt posted (see once.go).
//
// It returns "reply" when it updated a pressed message and "push" otherwise. Failures are
// *bot.DeliveryError: 429 (with Slack's Retry-After), 5xx, Slack's internal errors and
// network errors are temporary; errors a person can fix (not_in_channel, invalid_auth,
// token_revoked, …: see fixableSlackErrors) are fixable; other Slack errors are
// permanent. A pressed message that can no longer be updated (it was
// deleted) is logged and the answer posted anyway.
//
// Hand-off tickets are delivered differently (see the package documentation): an
// Outgoing with a bot.MsgTicket posts the ticket's root in the channel out.Address names
// and links it, and one addressed "ticket:<id>" goes to that ticket's thread. A ticket
// not linked to a thread yet, or a failure to link one, is a temporary error; without
// Config.Threads, tickets fail permanently.
func (c *Channel) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	if id, ok := bot.TicketID(out.Address); ok {
		return c.sendTicketThread(ctx, id, out)
	}
	if slices.ContainsFunc(out.Messages, func(m bot.Message) bool { return m.Kind == bot.MsgTicket }) {
		return c.postTickets(ctx, out)
	}
	channel, thread, ok := splitAddress(out.Address)
	if !ok {
		return "", &bot.DeliveryError{Permanent: true, Err: errors.New("no Slack thread to post to")}
	}
	outcome := "push"
	if h := decodeHandle(handleOf(out.Handle, out.ReplyToken)); h.TS != "" && h.Channel != "" {
		err := c.update(ctx, h)
		switch {
		case err == nil:
			outcome = "reply"
		case bot.IsPermanent(err):
			c.log.Warn("update pressed message", "conversation", out.Key.String(), "outgoing", out.ID, "err", err)
		default:
			return "", err
		}
	}
	posts := render(out.Messages)
	if len(posts) == 0 && outcome == "push" {
		return "none", nil
	}
	d := c.delivery(out)
	for i, p := range posts {
		if _, err := d.post(ctx, channel, thread, "p"+strconv.Itoa(i), p); err != nil {
			return "", err
		}
	}
	return outcome, nil
}

// update replaces the pressed message's buttons with the choice.
func (c *Channel) update(ctx context.Context, h handle) error {
	var blocks slackapi.Blocks
	raw, _ := json.Marshal(h.Blocks) // raw JSON only: cannot fail
	if err := json.Unmarshal(raw, &blocks); err != nil {
		blocks = slackapi.Blocks{} // keep the choice at least
	}
	set := blocks.BlockSet[:min(len(blocks.BlockSet), maxBlocks-1)]
	set = append(set, answered(h.Label, h.User))
	_, _, _, err := c.api.UpdateMessageContext(ctx, h.Channel, h.TS,
		slackapi.MsgOptionText(h.Text, false),
		slackapi.MsgOptionBlocks(set...),
	)
	if err != nil {
		return apiError("chat.update", err)
	}
	return nil
}

// Profile returns the name and language (from the Slack locale) of the person who wrote
// the event, with users.info. It returns an empty Profile for an event without one.
func (c *Channel) Profile(ctx context.Context, ev bot.Event) (bot.Profile, error) {
	user := decodeHandle(handleOf(ev.Handle, ev.ReplyToken)).User
	if user == "" {
		return bot.Profile{}, nil
	}
	return c.profile(ctx, user)
}

func (c *Channel) profile(ctx context.Context, user string) (bot.Profile, error) {
	u, err := c.api.GetUserInfoContext(ctx, user) // include_locale is on by default
	if err != nil {
		return bot.Profile{}, apiError("users.info", err)
	}
	p := bot.Profile{Name: u.Profile.DisplayName}
	if p.Name == "" {
		p.Name = u.Profile.RealName
	}
	if p.Name == "" {
		p.Name = u.RealName
	}
	if p.Name == "" {
		p.Name = u.Name
	}
	p.Lang, _ = bot.ParseLang(u.Locale)
	return p, nil
}

// temporarySlackErrors are Slack error codes that a later attempt may not get.
var temporarySlackErrors = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true, "service_unavailable": true,
	"request_timeout": true, "team_added_to_org": true,
}

// fixableSlackErrors are Slack error codes that an administrator can fix: invite the
// bot, reinstall the app, grant a scope, unarchive the channel. Messages wait for that.
var fixableSlackErrors = map[string]bool{
	"not_in_channel": true, "channel_not_found": true, "is_archived": true,
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "missing_scope": true, "no_permission": true, "access_denied": true,
	"team_access_not_granted": true, "ekm_access_denied": true, "restricted_action": true,
	"not_allowed_token_type": true, "org_login_required": true,
}

// apiError classifies a failed Web API call as a *bot.DeliveryError. Its message names the
// call and Slack's error code or status, never a token or a message's content.
func apiError(call string, err error) *bot.DeliveryError {
	var (
		rate   *slackapi.RateLimitedError
		status slackapi.StatusCodeError
		resp   slackapi.SlackErrorResponse
	)
	switch {
	case errors.As(err, &rate):
		return &bot.DeliveryError{RetryAfter: rate.RetryAfter, Err: fmt.Errorf("%s: rate limited", call)}
	case errors.As(err, &status):
		fixable := status.Code == http.StatusUnauthorized || status.Code == http.StatusForbidden
		return &bot.DeliveryError{
			Permanent: bot.PermanentStatus(status.Code) && !fixable,
			Fixable:   fixable,
			Err:       fmt.Errorf("%s: Slack answered %d", call, status.Code),
		}
	case errors.As(err, &resp):
		fixable := fixableSlackErrors[resp.Err]
		return &bot.DeliveryError{
			Permanent: !temporarySlackErrors[resp.Err] && !fixable,
			Fixable:   fixable,
			Err:       fmt.Errorf("%s: %s", call, resp.Err),
		}
	}
	// Network errors, timeouts, a body that is not JSON: try again.
	return &bot.DeliveryError{Err: fmt.Errorf("%s: %w", call, err)}
}
