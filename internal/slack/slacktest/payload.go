package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sign returns the headers with which Slack signs body at time at: X-Slack-Request-Timestamp
// and X-Slack-Signature ("v0=" and the hex HMAC-SHA256 of "v0:<timestamp>:<body>").
func Sign(secret string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// EventCallback wraps event in an Events API event_callback with a new event_id, which it
// returns too; send the same body again for a retry.
func (s *Server) EventCallback(event map[string]any) (body []byte, eventID string) {
	s.mu.Lock()
	eventID = s.id("Ev0")
	s.mu.Unlock()
	body, _ = json.Marshal(map[string]any{
		"token": "unused-verification-token", "team_id": TeamID, "api_app_id": AppID,
		"type": "event_callback", "event_id": eventID, "event_time": time.Now().Unix(),
		"event":          event,
		"authorizations": []map[string]any{{"team_id": TeamID, "user_id": BotUserID, "is_bot": true}},
	})
	return body, eventID
}

// MessageEvent returns the message event Slack sends for m: channelType is "im" for a
// direct message with the bot, "channel" or "group" otherwise. The bot's own messages
// carry bot_id, as Slack's do.
func (s *Server) MessageEvent(m Message, channelType string) (body []byte, eventID string) {
	ev := map[string]any{
		"type": "message", "channel": m.Channel, "user": m.User, "text": m.Text, "ts": m.TS,
		"event_ts": m.TS, "channel_type": channelType,
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
		ev["parent_user_id"] = BotUserID
	}
	if m.BotID != "" {
		ev["bot_id"] = m.BotID
	}
	return s.EventCallback(ev)
}

// MentionEvent returns the app_mention event Slack sends for m.
func (s *Server) MentionEvent(m Message) (body []byte, eventID string) {
	ev := map[string]any{
		"type": "app_mention", "channel": m.Channel, "user": m.User, "text": m.Text, "ts": m.TS, "event_ts": m.TS,
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
	}
	return s.EventCallback(ev)
}

// URLVerification returns the handshake Slack sends when a Request URL is set.
func URLVerification(challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"token": "unused", "challenge": challenge, "type": "url_verification"})
	return b
}

// SlashCommand returns the form Slack posts when user types command text in channel.
func (s *Server) SlashCommand(channel, user, command, text string) url.Values {
	s.mu.Lock()
	trigger := s.trigger(user)
	s.mu.Unlock()
	return url.Values{
		"token": {"unused"}, "team_id": {TeamID}, "team_domain": {"giftdesk-test"},
		"channel_id": {channel}, "channel_name": {"support"}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"command": {command}, "text": {text}, "api_app_id": {AppID}, "trigger_id": {trigger},
		"response_url": {"https://hooks.slack.invalid/commands/" + trigger},
	}
}

// JSON returns form values as the JSON object Socket Mode sends for a slash command.
func JSON(v url.Values) json.RawMessage {
	m := make(map[string]string, len(v))
	for k := range v {
		m[k] = v.Get(k)
	}
	b, _ := json.Marshal(m)
	return b
}

// BlockActions returns the interactivity payload Slack sends when user presses the
// button of message m (one of the bot's) whose label or value is button. The user's name
// is their Name in the workspace, if they were added, as Slack sends it.
func (s *Server) BlockActions(m Message, user, button string) (json.RawMessage, error) {
	var btn *Button
	for _, b := range m.Buttons() {
		if b.Label == button || b.Value == button {
			btn = &b
			break
		}
	}
	if btn == nil {
		return nil, fmt.Errorf("slacktest: no button %q in message %s (buttons: %v)", button, m.TS, m.Buttons())
	}
	s.mu.Lock()
	actionTS, trigger := s.nextTS(), s.trigger(user)
	name := strings.ToLower(user)
	if u, ok := s.users[user]; ok && u.Name != "" {
		name = u.Name
	}
	s.mu.Unlock()
	var blocks any = []any{}
	if m.Blocks != nil {
		blocks = m.Blocks
	}
	b, err := json.Marshal(map[string]any{
		"type": "block_actions", "api_app_id": AppID, "token": "unused", "trigger_id": trigger,
		"user":      map[string]any{"id": user, "username": name, "name": name, "team_id": TeamID},
		"team":      map[string]any{"id": TeamID, "domain": "giftdesk-test"},
		"container": map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": false, "thread_ts": m.ThreadTS},
		"channel":   map[string]any{"id": m.Channel, "name": "support"},
		"message": map[string]any{
			"type": "message", "user": m.User, "bot_id": m.BotID, "text": m.Text, "ts": m.TS,
			"thread_ts": m.ThreadTS, "blocks": blocks,
		},
		"response_url": "https://hooks.slack.invalid/actions/" + trigger,
		"actions": []map[string]any{{
			"type": "button", "action_id": btn.ActionID, "block_id": btn.BlockID, "value": btn.Value,
			"text": map[string]any{"type": "plain_text", "text": btn.Label, "emoji": true}, "action_ts": actionTS,
		}},
	})
	return b, err
}

// InteractivityForm is the form in which Slack posts an interactivity payload.
func InteractivityForm(payload json.RawMessage) url.Values {
	return url.Values{"payload": {string(payload)}}
}

// Button is a button of a message.
type Button struct {
	Label, Value, ActionID, BlockID string
}

// Buttons returns the message's buttons in order.
func (m Message) Buttons() []Button {
	var out []Button
	for _, b := range m.blocks() {
		out = append(out, buttons(b)...)
	}
	return out
}

func buttons(b blockJSON) []Button {
	if b.Type != "actions" {
		return nil
	}
	var out []Button
	for _, e := range b.Elements {
		var btn buttonJSON
		if json.Unmarshal(e, &btn) == nil && btn.Text != nil {
			out = append(out, Button{Label: btn.Text.Text, Value: btn.Value, ActionID: btn.ActionID, BlockID: b.BlockID})
		}
	}
	return out
}

func (m Message) blocks() []blockJSON {
	var bs []blockJSON
	if m.Blocks != nil {
		_ = json.Unmarshal(m.Blocks, &bs)
	}
	return bs
}

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// Plain renders the message for reading in a test: headers as "# title", sections as
// their text, context lines as "> text", buttons as "[label]", entities decoded. A message
// without blocks is its text.
func (m Message) Plain() string {
	bs := m.blocks()
	if len(bs) == 0 {
		return unescaper.Replace(m.Text)
	}
	var lines []string
	for _, b := range bs {
		switch b.Type {
		case "header":
			lines = append(lines, "# "+b.Text.Text)
		case "section":
			if b.Text != nil {
				lines = append(lines, unescaper.Replace(b.Text.Text))
			}
			for _, f := range b.Fields {
				lines = append(lines, unescaper.Replace(f.Text))
			}
		case "context":
			for _, e := range b.Elements {
				var t textObject
				if json.Unmarshal(e, &t) == nil {
					lines = append(lines, "> "+unescaper.Replace(t.Text))
				}
			}
		case "actions":
			var labels []string
			for _, btn := range buttons(b) {
				labels = append(labels, "["+btn.Label+"]")
			}
			lines = append(lines, strings.Join(labels, " "))
		case "divider":
			lines = append(lines, "---")
		}
	}
	return strings.Join(lines, "\n")
}

// Parsed returns the texts of the request that Slack parses for mentions and links: the
// notification text and every mrkdwn text object in its blocks (plain_text is shown as
// it is).
func (r Request) Parsed() []string {
	var out []string
	if r.Text != "" {
		out = append(out, r.Text)
	}
	var v any
	if r.Blocks != nil && json.Unmarshal(r.Blocks, &v) == nil {
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if v["type"] == "mrkdwn" {
					if s, ok := v["text"].(string); ok {
						out = append(out, s)
					}
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		walk(v)
	}
	return out
}

// MessageAction returns the interactivity payload Slack sends when user picks the message
// shortcut callbackID on message m.
func (s *Server) MessageAction(m Message, user, callbackID string) json.RawMessage {
	s.mu.Lock()
	trigger := s.trigger(user)
	s.mu.Unlock()
	msg := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
	}
	if m.BotID != "" {
		msg["bot_id"] = m.BotID
	}
	b, _ := json.Marshal(map[string]any{
		"type": "message_action", "callback_id": callbackID, "trigger_id": trigger, "api_app_id": AppID,
		"token": "unused", "action_ts": s.NextTS(), "message_ts": m.TS,
		"team":    map[string]any{"id": TeamID, "domain": "giftdesk-test"},
		"user":    map[string]any{"id": user, "name": strings.ToLower(user), "team_id": TeamID},
		"channel": map[string]any{"id": m.Channel, "name": "support"},
		"message": msg, "response_url": "https://hooks.slack.invalid/actions/" + trigger,
	})
	return b
}

// ViewSubmission returns the interactivity payload Slack sends when user submits modal v
// with values, by block id and action id.
func (s *Server) ViewSubmission(v View, user string, values map[string]map[string]string) json.RawMessage {
	state := map[string]any{}
	for block, actions := range values {
		m := map[string]any{}
		for action, value := range actions {
			m[action] = map[string]any{"type": "plain_text_input", "value": value}
		}
		state[block] = m
	}
	b, _ := json.Marshal(map[string]any{
		"type": "view_submission", "api_app_id": AppID, "token": "unused", "trigger_id": "unused",
		"team": map[string]any{"id": TeamID, "domain": "giftdesk-test"},
		"user": map[string]any{"id": user, "name": strings.ToLower(user), "team_id": TeamID},
		"view": map[string]any{
			"id": v.ID, "type": "modal", "callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata,
			"blocks": v.Blocks, "state": map[string]any{"values": state}, "team_id": TeamID, "app_id": AppID,
		},
	})
	return b
}
