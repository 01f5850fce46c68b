package web

import (
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
// message that is not for a customer (a ticket, a receipt).
func botEntry(m bot.Message, at time.Time) (e entry, ok bool) {
	e = entry{From: "bot", Text: m.Text, Title: m.Title, Steps: m.Steps, Note: m.Note, Choices: m.Choices, At: at.UTC()}
	switch m.Kind {
	case bot.MsgText:
		e.Kind = "text"
		if m.From != "" {
			e.From = "agent" // an agent's message relayed from the ticket's thread
		}
	case bot.MsgQuestion:
		e.Kind = "question"
	case bot.MsgSteps:
		e.Kind = "steps"
	case bot.MsgHandoff:
		e.Kind = "handoff"
	default:
		return entry{}, false
	}
	return e, true
}
