package bot

import (
	"context"
	"errors"
	"time"
)

// Errors returned by stores. Implementations translate their driver's errors into these.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a compare-and-swap update lost: the record changed since it was read.
	ErrConflict = errors.New("conflict: changed concurrently")
)

// Key identifies a conversation: the channel ("line", "slack", "term") and the channel's id
// of the customer (a LINE user id, a Slack thread).
type Key struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
}

func (k Key) String() string { return k.Channel + ":" + k.User }

// Status says whether a conversation is being diagnosed or has finished.
type Status string

// Conversation statuses.
const (
	StatusActive  Status = "active"
	StatusHandoff Status = "handoff"
	StatusEnded   Status = "ended"
)

// Answer is one answer the customer gave: the option chosen, or the value typed into an
// input node (stored masked when it holds a gift-card code).
type Answer struct {
	Node   string    `json:"node"`
	Option string    `json:"option,omitempty"`
	Value  string    `json:"value,omitempty"`
	At     time.Time `json:"at"`
}

// Conversation is the persisted state of one customer's diagnosis. Its fields are owned by
// the caller; Engine.Step mutates the Conversation it is given.
type Conversation struct {
	Key  Key  `json:"key"`
	Lang Lang `json:"lang"`
	// Name is the customer's display name on the channel, when known (for agents).
	Name string `json:"name,omitempty"`
	// ProfileChecked says the channel was asked for the customer's profile (Name may still
	// be empty, when the channel did not tell): it is asked once per conversation.
	ProfileChecked bool `json:"profile_checked,omitempty"`
	// Address is where the channel pushes to the customer (the last event's Address).
	Address string `json:"address,omitempty"`
	Status  Status `json:"status"`
	// Node is the current node: the one waiting for the customer's answer.
	Node string `json:"node"`
	// Path lists the nodes taken since the start, decisions included.
	Path    []string          `json:"path"`
	Answers []Answer          `json:"answers"`
	Vars    map[string]string `json:"vars"`
	// Misses counts answers in a row that were not understood at the current node.
	Misses int `json:"misses"`
	// Ticket is the open hand-off to a person, if any: while it is open, the flow does
	// not answer the customer.
	Ticket *Ticket `json:"ticket,omitempty"`
	// FlowVersion is the version of the flow the state belongs to.
	FlowVersion string `json:"flow_version"`
	// Revision increases by one with every save; stores use it for compare-and-swap.
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ConversationStore loads and saves conversations. Implementations are safe for
// concurrent use and return context errors (wrapped) when ctx is done.
type ConversationStore interface {
	// Conversation returns the conversation with key k, or ErrNotFound. The caller owns
	// the result; its times are UTC with at least millisecond precision and Vars is never
	// nil.
	Conversation(ctx context.Context, k Key) (*Conversation, error)
	// SaveConversation stores every field of c as given if the stored revision still
	// equals c.Revision (or c is new and Revision is 0), then increments c.Revision. It
	// returns ErrConflict otherwise, including for a non-zero revision of a conversation
	// that does not exist. Timestamps are the caller's.
	SaveConversation(ctx context.Context, c *Conversation) error
}

// Clone returns a deep copy of c: changing one does not change the other.
func (c *Conversation) Clone() *Conversation {
	d := *c
	d.Path = append([]string(nil), c.Path...)
	d.Answers = append([]Answer(nil), c.Answers...)
	if c.Vars != nil {
		d.Vars = make(map[string]string, len(c.Vars))
		for k, v := range c.Vars {
			d.Vars[k] = v
		}
	}
	if c.Ticket != nil {
		t := *c.Ticket
		d.Ticket = &t
	}
	return &d
}
