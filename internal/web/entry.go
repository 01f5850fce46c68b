package web

import (
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// entry is one entry of a conversation's log as the page receives it (the data of an SSE
// "message" event). Seq is not stored with it: the log numbers its entries.
type entry struct {
	Seq      int64        `json:"seq,omitempty"`
	From     string       `json:"from"` // "customer", "bot" or "agent"
	Kind     string       `json:"kind"` // "text", "question", "steps" or "handoff"
	Text     string       `json:"text,omitempty"`
	Title    string       `json:"title,omitempty"`
	Steps    []string     `json:"steps,omitempty"`
	Note     string       `json:"note,omitempty"`
	Choices  []bot.Choice `json:"choices,omitempty"`
	ClientID string       `json:"client_id,omitempty"`
	At       time.Time    `json:"at"`
}

// botEntry returns the entry of a message delivered to the customer; ok is false for a
// message that is not for a customer (a ticket, a receipt). links signs the link to an
// agent's file (bot.MsgMedia); nil when giftdesk hands out none. redact masks the gift-card
// codes in what an agent wrote (a file's name included) as in every transcript: the log
// keeps, and the page shows, the masked form. The bot's own messages are the flow's
// texts and are kept as they are.
func botEntry(m bot.Message, at time.Time, links *bot.MediaLinks, redact func(string) string) (e entry, ok bool) {
	e = entry{From: "bot", Text: m.Text, Title: m.Title, Steps: m.Steps, Note: m.Note, Choices: m.Choices, At: at.UTC()}
	switch m.Kind {
	case bot.MsgText:
		e.Kind = "text"
		if m.From != "" {
			e.From = "agent" // an agent's message relayed from the ticket's thread
			e.Text = redact(e.Text)
		}
	case bot.MsgQuestion:
		e.Kind = "question"
	case bot.MsgSteps:
		e.Kind = "steps"
	case bot.MsgHandoff:
		e.Kind = "handoff"
	case bot.MsgMedia:
		// An agent's file: what the desk says of it, and the signed link to it (masked
		// before the link is added: a signature is no code).
		e.Kind, e.From, e.Text = "text", "agent", redact(e.Text)
		if m.Media != nil && links != nil {
			e.Text = strings.TrimSpace(e.Text + "\n" + links.URL(m.Media.ID))
		}
	default:
		return entry{}, false
	}
	return e, true
}
