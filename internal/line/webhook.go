package line

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"

	linehook "github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/webhook"
)

// ServeHTTP handles POST /line/webhook through the shared edge (internal/webhook): a
// request without a well-formed X-Line-Signature is refused (401) before its body is read;
// the body is read within the memory budget (Config.Bodies: 413 over the largest body, 503
// with Retry-After when the budget is spent, which LINE redelivers); the signature is
// verified over exactly those bytes (401 when wrong: nothing is stored); and the events
// are stored in the inbox, answered 200 only once they are on disk (500 otherwise, so LINE
// redelivers). A correctly signed body that cannot be parsed is kept as a dead letter and
// answered 200, so LINE does not redeliver it forever.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := c.cfg.Now()
	res := c.edge.Serve(w, r, c.process)
	if c.cfg.Observe != nil {
		c.cfg.Observe(res.Outcome, res.Fresh, res.Dup, c.cfg.Now().Sub(start))
	}
	// An accepted request is counted by the metrics (Observe) and each of its events is
	// logged when processed; its own line is for debugging only: under load, writing it
	// cost about 4% of the CPU.
	level := slog.LevelInfo
	if res.Outcome == "accepted" {
		level = slog.LevelDebug
	}
	if c.log.Enabled(r.Context(), level) {
		c.log.Log(r.Context(), level, "webhook", "outcome", res.Outcome, "events", res.Fresh, "duplicates", res.Dup,
			"duration_ms", float64(c.cfg.Now().Sub(start).Microseconds())/1000)
	}
}

// process stores the events of an authentic body, and a dead letter for each part that
// cannot be parsed. The events are decoded into strings of their own, and a dead letter
// copied, so nothing refers to the body once it returns.
func (c *Channel) process(ctx context.Context, body []byte) webhook.Result {
	evs, problems := c.parse(body)
	for _, p := range problems {
		if res := c.edge.DeadLetter(ctx, p, body); res.Status != http.StatusOK {
			return res
		}
	}
	if len(problems) > 0 && len(evs) == 0 {
		return webhook.Result{Status: http.StatusOK, Outcome: "malformed"}
	}
	if len(evs) == 0 {
		return webhook.Result{Status: http.StatusOK, Outcome: "accepted"}
	}
	return c.edge.Store(ctx, evs)
}

// errBadSignature refuses a request; its text is the outcome.
var errBadSignature = errors.New("bad_signature")

// signature checks X-Line-Signature: the base64 HMAC-SHA256 of the body, keyed with the
// channel secret.
type signature struct{ secret string }

// Headers refuses a signature that cannot be one: not the base64 of 32 bytes.
func (s signature) Headers(h http.Header) error {
	if !wellFormedSignature(h.Get("X-Line-Signature")) {
		return errBadSignature
	}
	return nil
}

// Verify checks the signature over body with the SDK.
func (s signature) Verify(h http.Header, body []byte) error {
	if !linehook.ValidateSignature(s.secret, h.Get("X-Line-Signature"), body) {
		return errBadSignature
	}
	return nil
}

// wellFormedSignature reports whether sig can be an X-Line-Signature: the base64 of an
// HMAC-SHA256, 32 bytes.
func wellFormedSignature(sig string) bool {
	b, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && len(b) == sha256.Size
}

// wireEvent is a LINE webhook event: the fields giftdesk reads, of every type it acts on.
// Decoding the whole body into these in one pass, instead of the SDK's UnmarshalEvent
// (which decodes each event again per discriminator: event type, message type,
// mentionee type), took the parsing share of a webhook's CPU from about a fifth to a few
// percent; the fields and their meaning are the SDK's (linehook.MessageEvent,
// TextMessageContent, UserMentionee, PostbackEvent).
type wireEvent struct {
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
	Message *struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Mention *struct {
			Mentionees []wireMentionee `json:"mentionees"`
		} `json:"mention"`
		wireMedia // photos, files, stickers, locations: see media.go
	} `json:"message"`
	Postback *struct {
		Data string `json:"data"`
	} `json:"postback"`
}

// wireMentionee is one mention in a text message; positions count UTF-16 code units.
type wireMentionee struct {
	Type   string `json:"type"` // "user" or "all"
	Index  int32  `json:"index"`
	Length int32  `json:"length"`
	IsSelf bool   `json:"isSelf"`
}

// parse turns a webhook body into inbox events. Events giftdesk does not act on (standby
// mode, unknown or uninteresting types, group chatter without a mention) are skipped.
// problems lists what could not be understood, without any of the body's content.
func (c *Channel) parse(body []byte) (evs []bot.Event, problems []string) {
	// One pass over the body; only when it fails, event by event, to keep the good ones
	// and say which are bad.
	var req struct {
		Events []wireEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &req); err == nil {
		for i := range req.Events {
			if ev, ok, err := c.event(&req.Events[i]); err != nil {
				problems = append(problems, fmt.Sprintf("event %d: %v", i, err))
			} else if ok {
				evs = append(evs, ev)
			}
		}
		return evs, problems
	}
	var raw struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, []string{"malformed body: " + webhook.JSONProblem(err)}
	}
	for i, r := range raw.Events {
		var we wireEvent
		if err := json.Unmarshal(r, &we); err != nil {
			problems = append(problems, fmt.Sprintf("event %d: %s", i, webhook.JSONProblem(err)))
			continue
		}
		if ev, ok, err := c.event(&we); err != nil {
			problems = append(problems, fmt.Sprintf("event %d: %v", i, err))
		} else if ok {
			evs = append(evs, ev)
		}
	}
	return evs, problems
}

// event converts one webhook event; ok is false for events giftdesk does not act on.
func (c *Channel) event(we *wireEvent) (ev bot.Event, ok bool, err error) {
	if we.Mode == "standby" {
		return bot.Event{}, false, nil // another channel owns the chat (module mode)
	}
	var in bot.Inbound
	switch we.Type {
	case "message", "postback":
		if we.Type == "message" && we.Message == nil || we.Type == "postback" && we.Postback == nil {
			return bot.Event{}, false, errors.New(we.Type + " event without its " + we.Type)
		}
		if in, ok = inbound(we, we.Source.Type != "user"); !ok {
			return bot.Event{}, false, nil
		}
	case "follow":
		in = bot.Inbound{Kind: bot.InFollow}
	case "unfollow":
		in = bot.Inbound{Kind: bot.InUnfollow}
	case "join", "leave":
		if in, ok = joinOrLeave(we); !ok {
			return bot.Event{}, false, nil
		}
	default:
		return bot.Event{}, false, nil // unsend, beacon, … and types added later
	}
	if we.WebhookEventID == "" {
		return bot.Event{}, false, errors.New(we.Type + " event without webhookEventId")
	}
	address, key, err := conversation(we)
	if err != nil {
		return bot.Event{}, false, err
	}
	ev = bot.Event{
		ID:         Name + ":" + we.WebhookEventID,
		In:         in,
		At:         time.UnixMilli(we.Timestamp),
		ReplyToken: we.ReplyToken,
		Address:    address,
		Key:        key,
	}
	return ev, true, nil
}

// inbound converts a message or postback event. In a group or room, messages count only
// when they mention the bot, and the mention is cut from the text. A message that is not
// text (a sticker, a photo) becomes empty text, which the bot answers by asking again.
func inbound(we *wireEvent, group bool) (bot.Inbound, bool) {
	switch we.Type {
	case "message":
		m := we.Message
		if m.Type != "text" {
			return mediaInbound(m.Type, &m.wireMedia), !group
		}
		if group {
			var ms []wireMentionee
			if m.Mention != nil {
				ms = m.Mention.Mentionees
			}
			t, mentioned := withoutSelfMention(m.Text, ms)
			return bot.Inbound{Kind: bot.InText, Text: t}, mentioned
		}
		return bot.Inbound{Kind: bot.InText, Text: m.Text}, true
	case "postback":
		return bot.Inbound{Kind: bot.InPostback, Postback: we.Postback.Data}, true
	}
	return bot.Inbound{}, false
}

// withoutSelfMention returns the text with the bot's own mention removed, and whether the
// bot was mentioned. LINE counts mention positions in UTF-16 code units.
func withoutSelfMention(text string, mentionees []wireMentionee) (string, bool) {
	var units []uint16
	for _, mm := range mentionees {
		if mm.Type != "user" || !mm.IsSelf {
			continue
		}
		if units == nil {
			units = utf16.Encode([]rune(text))
		}
		start, end := int(mm.Index), int(mm.Index)+int(mm.Length)
		if start < 0 || end > len(units) || start > end {
			return text, true
		}
		rest := append(append([]uint16{}, units[:start]...), units[end:]...)
		return strings.TrimSpace(string(utf16.Decode(rest))), true
	}
	return text, false
}
