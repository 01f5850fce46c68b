package bot

import "time"

// MessageKind says what an outgoing message is, so that each channel can render it natively.
type MessageKind string

// The outgoing message kinds.
const (
	// MsgText is plain text.
	MsgText MessageKind = "text"
	// MsgQuestion is text with tappable choices; free text answers it too.
	MsgQuestion MessageKind = "question"
	// MsgSteps is a titled, numbered list of steps (advice).
	MsgSteps MessageKind = "steps"
	// MsgHandoff tells the customer that a person will take over.
	MsgHandoff MessageKind = "handoff"
	// MsgTicket posts a hand-off ticket for agents (Ticket is set); it starts the ticket's
	// thread.
	MsgTicket MessageKind = "ticket"
	// MsgTicketUpdate updates the posted ticket (claimed, resolved, closed).
	MsgTicketUpdate MessageKind = "ticket_update"
	// MsgReceipt tells the agents' channel what became of an agent's message: Text is one
	// of the Receipt… outcomes and Ref the id of the agent's event, by which the channel
	// finds the message to mark.
	MsgReceipt MessageKind = "receipt"
	// MsgMedia carries media (Media is set): a customer's photo relayed to a ticket's
	// thread, an agent's file for the customer. Text names it, for a channel that can
	// only link to it; From is set as on a relayed text. See media.go.
	MsgMedia MessageKind = "media"
)

// Outcomes of an agent's message, in a MsgReceipt.
const (
	ReceiptSent    = "sent"    // relayed to the customer
	ReceiptNote    = "note"    // kept internal
	ReceiptDropped = "dropped" // not relayed: the ticket is closed
)

// Message is one channel-neutral outgoing message. Channels render it natively: a LINE
// quick reply or Flex bubble, Slack Block Kit, numbered lines in a terminal.
type Message struct {
	Kind    MessageKind `json:"kind"`
	Text    string      `json:"text,omitempty"`
	Title   string      `json:"title,omitempty"`
	Steps   []string    `json:"steps,omitempty"`
	Note    string      `json:"note,omitempty"`
	Choices []Choice    `json:"choices,omitempty"`
	// Reason is set on MsgHandoff: why the conversation is handed off.
	Reason string `json:"reason,omitempty"`
	// From names who said a relayed message (the customer in a ticket thread).
	From string `json:"from,omitempty"`
	// Ticket is set on MsgTicket and MsgTicketUpdate.
	Ticket *TicketCard `json:"ticket,omitempty"`
	// FAQ names the flow's FAQ entry a text answers (a direct question asked mid-flow).
	FAQ string `json:"faq,omitempty"`
	// Ref is set on MsgReceipt: the id of the event the receipt is about.
	Ref string `json:"ref,omitempty"`
	// Media is set on MsgMedia: a reference, never the content.
	Media *Media `json:"media,omitempty"`
}

// TicketCard is what agents see of a hand-off: who, why, and what happened so far. Gift-card
// codes in it are masked.
type TicketCard struct {
	ID       string      `json:"id"`
	State    TicketState `json:"state"`
	Customer string      `json:"customer"` // display name, or the channel's id when unknown
	Channel  string      `json:"channel"`  // where the customer is ("line", "slack")
	Lang     Lang        `json:"lang"`
	Reason   string      `json:"reason"`
	Since    time.Time   `json:"since"`
	Agent    string      `json:"agent,omitempty"` // who has it (a Slack user id)
	// Staff means the diagnosis was run by a staff member in Slack: nothing is relayed.
	Staff bool `json:"staff,omitempty"`
	// Path is the diagnosis so far, one line per question answered: "question → answer".
	Path []string `json:"path,omitempty"`
	// Diagnosis names what the bot concluded (the last advice shown, the hand-off reason).
	Diagnosis string `json:"diagnosis,omitempty"`
	// Recent are the last transcript lines before the hand-off.
	Recent []Line `json:"recent,omitempty"`
	// OutOfHours says the ticket came in outside business hours, with the next opening.
	OutOfHours string `json:"out_of_hours,omitempty"`
	// Note is a closing remark: cancelled by the customer, the customer blocked us, …
	Note string `json:"note,omitempty"`
	// Rating is the customer's 1–5 rating, once given.
	Rating int `json:"rating,omitempty"`
}

// Choice is a tappable answer. Data is what the channel sends back as Inbound.Postback
// (at most 300 bytes, LINE's postback limit); Label is at most 20 characters.
type Choice struct {
	Label string `json:"label"`
	Data  string `json:"data"`
}

// InboundKind says what happened on the channel.
type InboundKind string

// The inbound kinds.
const (
	// InText is a message typed by the customer.
	InText InboundKind = "text"
	// InPostback is a tapped choice.
	InPostback InboundKind = "postback"
	// InFollow is a customer adding the bot (LINE follow): greet and start.
	InFollow InboundKind = "follow"
	// InUnfollow is a customer blocking the bot: close the conversation.
	InUnfollow InboundKind = "unfollow"
	// InJoin is the bot being added to a group chat (LINE join): say once what it does
	// and how to ask it there.
	InJoin InboundKind = "join"
	// InAgentText is an agent's message in a ticket's thread, for the customer (or an
	// internal note when Note is set or it starts with a note marker: see IsNote).
	InAgentText InboundKind = "agent_text"
	// InAgentClaim, InAgentResolve and InAgentReturn are an agent pressing the ticket's
	// Claim, Resolve and Return-to-bot buttons.
	InAgentClaim   InboundKind = "agent_claim"
	InAgentResolve InboundKind = "agent_resolve"
	InAgentReturn  InboundKind = "agent_return"
	// InTicketWait is the hand-off sweeper noticing that a ticket has waited too long.
	InTicketWait InboundKind = "ticket_wait"
	// InDeskTimer is a timer the Desk set (see TimerChannel) going off: held relays are due.
	InDeskTimer InboundKind = "desk_timer"
	// InMedia is a photo, video, voice message, file, sticker or location the customer
	// sent (Media is set).
	InMedia InboundKind = "media"
)

// fromCustomer reports whether events of kind k come from the customer (rather than from
// an agent or the bot's own timers).
func (k InboundKind) fromCustomer() bool {
	switch k {
	case InText, InPostback, InFollow, InUnfollow, InJoin, InMedia:
		return true
	}
	return false
}

// Inbound is one channel-neutral incoming event of a conversation.
type Inbound struct {
	Kind InboundKind `json:"kind"`
	// Text is the typed text (InText) or the tapped choice's label, when known (InPostback).
	Text string `json:"text,omitempty"`
	// Postback is Choice.Data of a tapped choice.
	Postback string `json:"postback,omitempty"`
	// Lang is the customer's language as the channel knows it (LINE profile, Slack locale);
	// empty when unknown.
	Lang Lang `json:"lang,omitempty"`
	// Agent and AgentName identify the agent of an InAgent… event (a Slack user id and
	// name); Ticket is the ticket the agent acted on.
	Agent     string `json:"agent,omitempty"`
	AgentName string `json:"agent_name,omitempty"`
	Ticket    string `json:"ticket,omitempty"`
	// Removed marks an InUnfollow that is the bot being removed from a group chat (LINE
	// leave) rather than a customer blocking it: it ends the conversation alike, and the
	// agents are told which.
	Removed bool `json:"removed,omitempty"`
	// Note marks an InAgentText as an internal note explicitly (the agent used the
	// channel's own way of writing one): it is never sent to the customer.
	Note bool `json:"note,omitempty"`
	// Media is what an InMedia carries, or the (first) file of an InAgentText (a
	// reference, never the content). A pointer keeps Inbound comparable.
	Media *Media `json:"media,omitempty"`
	// MoreMedia are an InAgentText's files after Media, in the order the agent attached
	// them: a message may carry several. A pointer, like Media, keeps Inbound comparable.
	MoreMedia *[]Media `json:"more_media,omitempty"`
}

// files returns the files of an InAgentText in order: Media, then MoreMedia.
func (in Inbound) files() []Media {
	if in.Media == nil {
		return nil
	}
	fs := []Media{*in.Media}
	if in.MoreMedia != nil {
		fs = append(fs, *in.MoreMedia...)
	}
	return fs
}
