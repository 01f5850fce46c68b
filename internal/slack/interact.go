package slack

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/webhook"
)

// interaction is what the channel reads of an interactivity payload. (slack-go's
// InteractionCallback decodes the message's blocks into typed values; the channel keeps
// them as Slack sent them, to put them back when it updates the message.)
type interaction struct {
	Type       string          `json:"type"`
	APIAppID   string          `json:"api_app_id"`
	CallbackID string          `json:"callback_id"` // message_action
	TriggerID  string          `json:"trigger_id"`
	View       json.RawMessage `json:"view"` // view_submission
	Team       struct {
		ID string `json:"id"`
	} `json:"team"`
	User struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Username string `json:"username"`
		TeamID   string `json:"team_id"`
	} `json:"user"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Container struct {
		ChannelID   string `json:"channel_id"`
		MessageTS   string `json:"message_ts"`
		ThreadTS    string `json:"thread_ts"`
		IsEphemeral bool   `json:"is_ephemeral"`
	} `json:"container"`
	Message struct {
		TS       string            `json:"ts"`
		ThreadTS string            `json:"thread_ts"`
		Text     string            `json:"text"`
		Blocks   []json.RawMessage `json:"blocks"`
	} `json:"message"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Type     string `json:"type"`
		Value    string `json:"value"`
		ActionTS string `json:"action_ts"`
		Text     struct {
			Text string `json:"text"`
		} `json:"text"`
	} `json:"actions"`
}

// interaction handles one interactivity payload. A press of one of the channel's buttons
// becomes an InPostback of the button's value, with its label as text; its ID is the
// pressed message, so that a double click, or a second button of the same question, has
// no second effect. A press of a hand-off ticket's button becomes an agent event of the
// ticket's conversation (see ticketAction). Anything else is acknowledged and ignored.
func (c *Channel) interaction(ctx context.Context, payload []byte) result {
	var p interaction
	if err := json.Unmarshal(payload, &p); err != nil {
		return c.edge.DeadLetter(ctx, "interactivity: "+webhook.JSONProblem(err), payload)
	}
	if res, ok := c.foreign(ctx, "interaction", p.Team.ID, p.APIAppID, p.User.TeamID); !ok {
		return res
	}
	switch p.Type {
	case "message_action":
		return c.shortcut(ctx, &p, payload)
	case "view_submission":
		return c.submission(ctx, &p)
	}
	if p.Type != "block_actions" || len(p.Actions) == 0 || p.Container.IsEphemeral {
		return ignored("interaction " + p.Type)
	}
	a := p.Actions[0]
	ticket := strings.HasPrefix(a.ActionID, ticketActionPrefix)
	if a.Type != "button" || (!ticket && !strings.HasPrefix(a.ActionID, actionPrefix)) {
		return ignored("action")
	}
	channel := p.Channel.ID
	if channel == "" {
		channel = p.Container.ChannelID
	}
	msgTS := p.Container.MessageTS
	if msgTS == "" {
		msgTS = p.Message.TS
	}
	thread := p.Message.ThreadTS
	if thread == "" {
		thread = p.Container.ThreadTS
	}
	if thread == "" {
		thread = msgTS // a message at the top of a channel: its own thread
	}
	at, ok := parseTS(a.ActionTS)
	if !ok || channel == "" || !validTS(msgTS) || !validTS(thread) || p.User.ID == "" {
		return c.edge.DeadLetter(ctx, "interactivity: block_actions without channel, message ts, action_ts or user", payload)
	}
	if ticket {
		return c.ticketAction(ctx, &p, channel, msgTS, at)
	}
	// Keep the message as it is but for its buttons.
	var keep []json.RawMessage
	for _, b := range p.Message.Blocks {
		var peek struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &peek) == nil && peek.Type != "actions" {
			keep = append(keep, b)
		}
	}
	label := unescape(a.Text.Text)
	key := bot.Key{Channel: Name, User: address(channel, thread)}
	return c.edge.Store(ctx, []bot.Event{{
		ID:      Name + ":action:" + channel + ":" + msgTS,
		Key:     key,
		In:      bot.Inbound{Kind: bot.InPostback, Postback: a.Value, Text: label},
		At:      at,
		Address: key.User,
		Handle: handle{
			User: p.User.ID, Channel: channel, TS: msgTS, Blocks: keep, Text: p.Message.Text, Label: label,
		}.encode(),
	}})
}
