package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/webhook"
)

// envelope is the outer Events API payload, over HTTP and in Socket Mode alike.
type envelope struct {
	Type           string `json:"type"`
	Challenge      string `json:"challenge"`
	EventID        string `json:"event_id"`
	TeamID         string `json:"team_id"`
	APIAppID       string `json:"api_app_id"`
	Authorizations []struct {
		TeamID string `json:"team_id"`
	} `json:"authorizations"`
	Event json.RawMessage `json:"event"`
}

// events handles one Events API payload: the url_verification handshake, or an
// event_callback whose message is stored when it is for the bot.
func (c *Channel) events(ctx context.Context, body []byte) result {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return c.edge.DeadLetter(ctx, "events: "+webhook.JSONProblem(err), body)
	}
	switch env.Type {
	case slackevents.URLVerification:
		return result{Status: http.StatusOK, Body: slackevents.ChallengeResponse{Challenge: env.Challenge}, Outcome: "url_verification"}
	case slackevents.CallbackEvent, slackevents.AppRateLimited:
	default:
		return ignored(env.Type)
	}
	teams := make([]string, 0, len(env.Authorizations))
	for _, a := range env.Authorizations {
		teams = append(teams, a.TeamID)
	}
	if res, ok := c.foreign(ctx, "event", env.TeamID, env.APIAppID, teams...); !ok {
		return res
	}
	if env.Type == slackevents.AppRateLimited {
		c.log.Warn("Slack is rate-limiting events to the app")
		return ignored(env.Type)
	}
	m, ok, err := parseMessage(env.Event)
	if err != nil {
		return c.edge.DeadLetter(ctx, "events: "+err.Error(), body)
	}
	if !ok {
		return ignored("event")
	}
	ev, ok, err := c.message(ctx, m)
	var bad malformed
	switch {
	case errors.As(err, &bad):
		return c.edge.DeadLetter(ctx, "events: "+err.Error(), body)
	case err != nil:
		// A store or Web API failure: Slack sends the event again.
		c.log.Error("handle message", "err", err)
		return result{Status: http.StatusInternalServerError, Outcome: "error"}
	case !ok:
		return ignored("message")
	}
	return c.edge.Store(ctx, []bot.Event{ev})
}

// malformed is an authentic request that cannot be understood.
type malformed string

func (m malformed) Error() string { return string(m) }

// message is what the channel needs of a message or app_mention event.
type message struct {
	mention     bool // an app_mention event
	user        string
	botID       string
	subtype     string
	edited      bool
	text        string
	ts          string
	threadTS    string
	channel     string
	channelType string          // "im", "channel", "group", "mpim"; empty for app_mention
	files       []slackapi.File // a file_share message's files (see media.go)
}

// userSubtypes are the message subtypes written by a person: a plain message, a thread
// reply also sent to the channel, and a message with a file (its text, if any, counts).
// Every other subtype (edits, deletions, joins, bot messages, …) is ignored.
var userSubtypes = map[string]bool{"": true, "thread_broadcast": true, "file_share": true}

// parseMessage decodes the inner event; ok is false for event types giftdesk does not act
// on.
func parseMessage(raw json.RawMessage) (message, bool, error) {
	var peek struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &peek); err != nil {
		return message{}, false, malformed("event: " + webhook.JSONProblem(err))
	}
	switch peek.Type {
	case "message":
		var e slackevents.MessageEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return message{}, false, malformed("message event: " + webhook.JSONProblem(err))
		}
		var files []slackapi.File
		if e.Message != nil {
			files = e.Message.Files
		}
		return message{
			user: e.User, botID: e.BotID, subtype: e.SubType, text: e.Text, ts: e.TimeStamp,
			threadTS: e.ThreadTimeStamp, channel: e.Channel, channelType: e.ChannelType, files: files,
		}, true, nil
	case "app_mention":
		var e slackevents.AppMentionEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return message{}, false, malformed("app_mention event: " + webhook.JSONProblem(err))
		}
		return message{
			mention: true, user: e.User, botID: e.BotID, edited: e.Edited != nil, text: e.Text,
			ts: e.TimeStamp, threadTS: e.ThreadTimeStamp, channel: e.Channel,
		}, true, nil
	}
	return message{}, false, nil
}

// message turns a message into an inbox event when it is for the bot: a reply in a
// hand-off ticket's thread (an agent's, see ticketMessage), any message in a direct
// message with the bot, a message that mentions the bot, or a reply in a thread the bot
// runs. ok is false for the rest, and for messages of bots (the bot's own
// included, with or without bot_id), edits and deletions. A malformed error means the event cannot be understood;
// other errors are temporary.
func (c *Channel) message(ctx context.Context, m message) (ev bot.Event, ok bool, err error) {
	if m.botID != "" || !userSubtypes[m.subtype] || m.edited || m.user == "" {
		return bot.Event{}, false, nil
	}
	at, tsOK := parseTS(m.ts)
	if !tsOK || m.channel == "" || (m.threadTS != "" && !validTS(m.threadTS)) {
		return bot.Event{}, false, malformed("message without a valid channel, ts or thread_ts")
	}
	// The bot's own messages, even without bot_id: never read, never relayed.
	self, err := c.botUserID(ctx)
	if err != nil {
		return bot.Event{}, false, err
	}
	if m.user == self {
		return bot.Event{}, false, nil
	}
	text := m.text
	mentioned := m.mention
	if strings.Contains(text, "<@") {
		var found bool
		text, found = withoutMention(text, self)
		mentioned = mentioned || found
	}
	if m.threadTS != "" && m.threadTS != m.ts && m.channelType != "im" && c.cfg.Threads != nil {
		// A reply in a hand-off ticket's thread is an agent's, for the ticket's customer;
		// never a staff member's diagnosis. (Tickets are posted in channels, so replies in
		// direct messages are not looked up.)
		ev, ok, isTicket, err := c.ticketMessage(ctx, m, text, at)
		if err != nil || isTicket {
			return ev, ok, err
		}
	}
	root := m.threadTS
	if root == "" {
		root = m.ts // a new conversation, in a thread under this message
	}
	key := bot.Key{Channel: Name, User: address(m.channel, root)}
	if m.channelType != "im" && !mentioned {
		// In a channel, only the threads the bot runs are read.
		if m.threadTS == "" {
			return bot.Event{}, false, nil
		}
		_, err := c.cfg.Conversations.Conversation(ctx, key)
		if errors.Is(err, bot.ErrNotFound) {
			return bot.Event{}, false, nil
		}
		if err != nil {
			return bot.Event{}, false, err
		}
	}
	return bot.Event{
		ID:      Name + ":msg:" + m.channel + ":" + m.ts,
		Key:     key,
		In:      bot.Inbound{Kind: bot.InText, Text: PlainText(text)},
		At:      at,
		Address: key.User,
		Handle:  handle{User: m.user}.encode(),
	}, true, nil
}

// withoutMention returns text without the mentions of user ("<@U1>", "<@U1|name>") and
// whether there was one.
func withoutMention(text, user string) (string, bool) {
	found := false
	var b strings.Builder
	for {
		i := strings.Index(text, "<@"+user)
		if i < 0 {
			break
		}
		rest := text[i+2+len(user):]
		if !strings.HasPrefix(rest, ">") && !strings.HasPrefix(rest, "|") {
			b.WriteString(text[:i+2])
			text = text[i+2:]
			continue
		}
		j := strings.IndexByte(rest, '>')
		if j < 0 {
			break
		}
		found = true
		b.WriteString(text[:i])
		text = rest[j+1:]
	}
	b.WriteString(text)
	return strings.TrimSpace(b.String()), found
}

func validTS(s string) bool {
	_, ok := parseTS(s)
	return ok
}
