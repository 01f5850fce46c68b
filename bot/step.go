package bot

import "context"

// Stepper decides one turn of a conversation: *Desk, the hand-off layer around the Engine.
// It mutates c and returns what to send and record.
type Stepper interface {
	Step(ctx context.Context, c *Conversation, ev Event) (Result, error)
}

// Result is what a turn produces besides the conversation's new state.
type Result struct {
	// Messages answer the event on its own channel (with its reply token, if any).
	Messages []Message
	// Out are further deliveries: a ticket to Slack, a relay, an agent's answer to the
	// customer. The worker fills in Key, EventID and Seq.
	Out []*Outgoing
	// Transcript lines to append; Closed is a ticket the turn closed.
	Transcript []Line
	Closed     *Ticket
}

// Profile is what a channel knows about a customer.
type Profile struct {
	Name string
	Lang Lang
}

// Profiler is an optional capability of a channel: looking up a customer's profile. The
// worker asks once per conversation, when it has no name yet.
type Profiler interface {
	Profile(ctx context.Context, e Event) (Profile, error)
}

// StepFailed returns the apology a customer gets, in lang, when a turn of theirs failed.
func StepFailed(lang Lang) []Message {
	return []Message{{Kind: MsgText, Text: defaultTexts.Error.In(lang)}}
}

// FromCustomer reports whether events of kind k come from the customer (not from an
// agent or a timer).
func (k InboundKind) FromCustomer() bool { return k.fromCustomer() }
