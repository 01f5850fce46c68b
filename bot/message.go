package bot

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
)

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
}
