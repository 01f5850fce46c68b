package line

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/giftdesk/giftdesk/bot"
)

// ServeHTTP handles POST /line/webhook. It reads at most MaxBody bytes (413 beyond),
// verifies X-Line-Signature over exactly those bytes (401 when missing or wrong: nothing is
// stored), stores the events in the inbox, and answers 200 only once they are on disk (500
// otherwise, so LINE redelivers). A correctly signed body that cannot be parsed is kept as
// a dead letter and answered 200, so LINE does not redeliver it forever.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := c.cfg.Now()
	outcome, fresh, dup := c.serve(w, r)
	if c.cfg.Observe != nil {
		c.cfg.Observe(outcome, fresh, dup, c.cfg.Now().Sub(start))
	}
	c.log.Info("webhook", "outcome", outcome, "events", fresh, "duplicates", dup,
		"duration_ms", float64(c.cfg.Now().Sub(start).Microseconds())/1000)
}

func (c *Channel) serve(w http.ResponseWriter, r *http.Request) (outcome string, fresh, dup int) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return "method", 0, 0
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return "too_large", 0, 0
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return "unreadable", 0, 0
	}
	sig := r.Header.Get("X-Line-Signature")
	if sig == "" || !webhook.ValidateSignature(c.cfg.ChannelSecret, sig, body) {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return "bad_signature", 0, 0
	}
	evs, problems := c.parse(body)
	ctx := r.Context()
	for _, p := range problems {
		d := bot.DeadLetter{Channel: Name, Reason: p, Body: []byte(c.cfg.Redact(string(body))), At: c.cfg.Now()}
		if err := c.cfg.Inbox.AddDeadLetter(ctx, d); err != nil {
			c.log.Error("store dead letter", "err", err)
			http.Error(w, "temporarily unavailable", http.StatusInternalServerError)
			return "store_error", 0, 0
		}
		c.log.Warn("dead letter", "reason", p)
	}
	if len(evs) > 0 {
		added, err := c.cfg.Inbox.AddEvents(ctx, evs)
		if err != nil {
			c.log.Error("store events", "err", err)
			http.Error(w, "temporarily unavailable", http.StatusInternalServerError)
			return "store_error", 0, 0
		}
		for _, a := range added {
			if a {
				fresh++
			} else {
				dup++
			}
		}
		if fresh > 0 && c.cfg.Received != nil {
			c.cfg.Received()
		}
	}
	w.WriteHeader(http.StatusOK)
	if len(problems) > 0 && len(evs) == 0 {
		return "malformed", 0, 0
	}
	return "accepted", fresh, dup
}

// rawEvent holds the fields every LINE webhook event has.
type rawEvent struct {
	Type           string `json:"type"`
	Mode           string `json:"mode"`
	WebhookEventID string `json:"webhookEventId"`
	Timestamp      int64  `json:"timestamp"`
	ReplyToken     string `json:"replyToken"`
	Source         struct {
		Type    string `json:"type"`
		UserID  string `json:"userId"`
		GroupID string `json:"groupId"`
		RoomID  string `json:"roomId"`
	} `json:"source"`
}

// parse turns a webhook body into inbox events. Events giftdesk does not act on (standby
// mode, unknown or uninteresting types, group chatter without a mention) are skipped.
// problems lists what could not be understood, without any of the body's content.
func (c *Channel) parse(body []byte) (evs []bot.Event, problems []string) {
	var req struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, []string{"malformed body: " + jsonProblem(err)}
	}
	for i, raw := range req.Events {
		ev, ok, err := c.event(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("event %d: %v", i, err))
			continue
		}
		if ok {
			evs = append(evs, ev)
		}
	}
	return evs, problems
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("unexpected %s for field %q", typ.Value, typ.Field)
	}
	return "invalid JSON"
}

func (c *Channel) event(raw json.RawMessage) (bot.Event, bool, error) {
	var re rawEvent
	if err := json.Unmarshal(raw, &re); err != nil {
		return bot.Event{}, false, errors.New(jsonProblem(err))
	}
	if re.Mode == "standby" {
		return bot.Event{}, false, nil // another channel owns the chat (module mode)
	}
	var in bot.Inbound
	switch re.Type {
	case "message", "postback":
		sdkEvent, err := webhook.UnmarshalEvent(raw)
		if err != nil {
			return bot.Event{}, false, errors.New("cannot decode " + re.Type + " event")
		}
		var ok bool
		if in, ok = inbound(sdkEvent, re.Source.Type != "user"); !ok {
			return bot.Event{}, false, nil
		}
	case "follow":
		in = bot.Inbound{Kind: bot.InFollow}
	case "unfollow":
		in = bot.Inbound{Kind: bot.InUnfollow}
	default:
		return bot.Event{}, false, nil // join, leave, unsend, beacon, … and types added later
	}
	if re.WebhookEventID == "" || re.Source.UserID == "" {
		return bot.Event{}, false, errors.New(re.Type + " event without webhookEventId or source.userId")
	}
	ev := bot.Event{
		ID:         Name + ":" + re.WebhookEventID,
		In:         in,
		At:         time.UnixMilli(re.Timestamp),
		ReplyToken: re.ReplyToken,
		Address:    re.Source.UserID,
		Key:        bot.Key{Channel: Name, User: re.Source.UserID},
	}
	// In a group or room every member has a conversation of their own; answers go to the
	// group or room.
	switch re.Source.Type {
	case "group":
		ev.Address = re.Source.GroupID
		ev.Key.User = "group:" + re.Source.GroupID + ":" + re.Source.UserID
	case "room":
		ev.Address = re.Source.RoomID
		ev.Key.User = "room:" + re.Source.RoomID + ":" + re.Source.UserID
	}
	return ev, true, nil
}

// inbound converts a message or postback event. In a group or room, messages count only
// when they mention the bot, and the mention is cut from the text. A message that is not
// text (a sticker, a photo) becomes empty text, which the bot answers by asking again.
func inbound(e webhook.EventInterface, group bool) (bot.Inbound, bool) {
	switch e := e.(type) {
	case webhook.MessageEvent:
		text, ok := e.Message.(webhook.TextMessageContent)
		if !ok {
			return bot.Inbound{Kind: bot.InText}, !group
		}
		if group {
			t, mentioned := withoutSelfMention(&text)
			return bot.Inbound{Kind: bot.InText, Text: t}, mentioned
		}
		return bot.Inbound{Kind: bot.InText, Text: text.Text}, true
	case webhook.PostbackEvent:
		if e.Postback == nil {
			return bot.Inbound{}, false
		}
		return bot.Inbound{Kind: bot.InPostback, Postback: e.Postback.Data}, true
	}
	return bot.Inbound{}, false
}

// withoutSelfMention returns the text with the bot's own mention removed, and whether the
// bot was mentioned. LINE counts mention positions in UTF-16 code units.
func withoutSelfMention(m *webhook.TextMessageContent) (string, bool) {
	if m.Mention == nil {
		return m.Text, false
	}
	units := utf16.Encode([]rune(m.Text))
	for _, mm := range m.Mention.Mentionees {
		um, ok := mm.(webhook.UserMentionee)
		if !ok || !um.IsSelf {
			continue
		}
		start, end := int(um.Index), int(um.Index)+int(um.Length)
		if start < 0 || end > len(units) || start > end {
			return m.Text, true
		}
		rest := append(append([]uint16{}, units[:start]...), units[end:]...)
		return strings.TrimSpace(string(utf16.Decode(rest))), true
	}
	return m.Text, false
}
