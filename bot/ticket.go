package bot

import (
	"context"
	"time"
)

// TicketState is where a hand-off stands.
type TicketState string

// Ticket states. A ticket waits for an agent, is claimed by one, and is resolved (then the
// customer is asked for a rating); closed tickets leave the conversation and are archived.
const (
	TicketWaiting  TicketState = "waiting"
	TicketClaimed  TicketState = "claimed"
	TicketResolved TicketState = "resolved"
	TicketClosed   TicketState = "closed"
)

// Ticket is a conversation's hand-off to a person.
type Ticket struct {
	ID     string      `json:"id"`
	State  TicketState `json:"state"`
	Reason string      `json:"reason"`
	// Staff means the conversation is a staff member's own diagnosis in Slack: the ticket
	// is posted for the team, and nothing is relayed.
	Staff      bool      `json:"staff,omitempty"`
	Agent      string    `json:"agent,omitempty"`
	AgentName  string    `json:"agent_name,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ClaimedAt  time.Time `json:"claimed_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	// Outcome says how a closed ticket ended: "resolved", "returned", "cancelled",
	// "unfollowed", "self_help".
	Outcome string `json:"outcome,omitempty"`
	// Waited is set once the customer was told the wait is long.
	Waited bool `json:"waited,omitempty"`
	Rating int  `json:"rating,omitempty"`
}

// Tickets is what the hand-off needs from a store beyond the queue. Implementations are
// safe for concurrent use, also across processes.
type Tickets interface {
	// WaitingTickets returns the conversations whose ticket has waited for an agent since
	// before since, without the customer having been told (Ticket.Waited), oldest first.
	WaitingTickets(ctx context.Context, since time.Time, limit int) ([]Key, error)
	// Transcript returns the last n lines of a conversation's transcript, oldest first.
	Transcript(ctx context.Context, k Key, n int) ([]Line, error)
}

// Threads links tickets to the threads where agents handle them. Implementations are safe
// for concurrent use.
type Threads interface {
	// LinkThread records that ticket id of conversation k is discussed at address (a Slack
	// channel and thread). Linking the same ticket again is a no-op.
	LinkThread(ctx context.Context, id string, k Key, address string) error
	// TicketThread returns the address of ticket id's thread, or ErrNotFound.
	TicketThread(ctx context.Context, id string) (string, error)
	// ThreadTicket returns the ticket discussed at address and its conversation, or
	// ErrNotFound.
	ThreadTicket(ctx context.Context, address string) (id string, k Key, err error)
}
