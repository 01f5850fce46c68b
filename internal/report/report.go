// Package report computes what an operator needs to know about giftdesk's conversations
// over a period — the funnel through the flow, containment, hand-offs, ratings and what
// the bot did not understand — from the transcripts and tickets a store keeps, and writes
// it as text or as a self-contained HTML page.
//
// A conversation is a customer on a channel (a bot.Key); it counts as active when it has
// a transcript line in the period, and only its lines in the period count. The funnel
// comes from the Node every bot line records: a conversation reached a node when a bot
// line was told there, and stopped at the node of its last bot line. Decision nodes are
// evaluated within a turn and never recorded, so they have no counts.
package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

// Source is what a report reads from a store. *sqlite.Store implements it; the
// conformance suite internal/store/storetest checks every store that does.
//
// The callbacks run while the store reads the rows, one at a time, on the caller's
// goroutine: fn must not call the store (a store may hold its only connection meanwhile,
// as SQLite's in-memory store does, and would then deadlock), and must not keep the
// values past its return beyond copying them. A report collects what it needs and reads
// anything else after the call.
type Source interface {
	// LinesSince calls fn with every transcript line whose At, to the millisecond, is at
	// or after since, and its conversation's key, in the order the lines were appended.
	// It stops at and returns (wrapped) the first error fn returns.
	LinesSince(ctx context.Context, since time.Time, fn func(bot.Key, bot.Line) error) error
	// TicketsSince calls fn with every archived ticket closed at or after since, in the
	// order they closed, then with every open ticket whatever its age, oldest first, each
	// with its conversation's key. It stops at and returns (wrapped) the first error fn
	// returns.
	TicketsSince(ctx context.Context, since time.Time, fn func(bot.Key, bot.Ticket) error) error
}

// Deliveries is an optional capability of a Source: counting the messages that did not
// go out. The stores implement it.
type Deliveries interface {
	// CountOutgoing counts the messages waiting for delivery (parked included), and those
	// finished as failed or uncertain at or after since.
	CountOutgoing(ctx context.Context, since time.Time) (bot.OutboxCounts, error)
}

// TopMisses is how many of the utterances that were not understood a report lists.
const TopMisses = 10

// Config says what to report on. A zero field means the default.
type Config struct {
	// Flow is the flow the conversations run; required. Its nodes give the funnel its
	// order and the diagram its shape.
	Flow *bot.Flow
	// Since is the start of the period; required.
	Since time.Time
	// Now is the clock that ends the period; default time.Now.
	Now func() time.Time
	// Lang is the language of the diagram's labels; default bot.Japanese.
	Lang bot.Lang
	// Normalize folds utterances that were not understood into groups; default
	// textnorm.Normalize.
	Normalize func(string) string
}

// Report is what happened in conversations over a period. Build returns it; the caller
// owns it (Flow is the one Config gave). Its methods only read it, so they are safe for
// concurrent use as long as nobody changes it.
type Report struct {
	Since, Until time.Time
	Flow         *bot.Flow
	Lang         bot.Lang

	// Conversations counts the active conversations; Channels splits them by channel,
	// most first.
	Conversations int
	Channels      []Count
	// Nodes is the funnel: the flow's nodes in the flow's order, then nodes the
	// transcripts name that the flow lacks (from an older version of it).
	Nodes []Node
	// Contained counts the conversations that reached the flow's solved end without a
	// hand-off.
	Contained int
	// HandedOff counts the conversations handed to a person: a ticket was opened for
	// them, a ticket of theirs was open or closed in the period, or they reached a
	// hand-off node (which hands off even when no ticket channel is configured).
	HandedOff int
	// Tickets counts the tickets closed in the period and those open now; Outcomes splits
	// them by outcome ("open (waiting)" and the like for open ones), most first.
	Tickets  int
	Outcomes []Count
	// Rated counts the tickets closed in the period with a rating; RatingSum adds their
	// ratings up.
	Rated, RatingSum int
	// Misses counts the customer lines that were not understood; Unclear groups them by
	// their normalised text, most frequent first, at most TopMisses of them; Distinct
	// counts all the groups.
	Misses   int
	Distinct int
	Unclear  []Count
	// Deliveries counts the messages waiting now (Waiting, Parked) and those that failed
	// or may not have reached the customer (Uncertain) in the period; nil when the Source
	// cannot count them.
	Deliveries *bot.OutboxCounts
}

// Node is one node's traffic.
type Node struct {
	ID   string
	Kind bot.NodeKind // empty for a node the flow lacks
	// Reached counts the conversations with a bot line at the node; Stopped those whose
	// last bot line was there.
	Reached, Stopped int
}

// Recorded reports whether transcripts can show traffic at n: decision nodes are passed
// within a turn and never recorded.
func (n Node) Recorded() bool { return n.Kind != bot.KindDecision }

// Count is a name and how often it occurred.
type Count struct {
	Name string
	N    int
}

// Containment returns Contained as a share of Conversations, 0 when there are none.
func (r *Report) Containment() float64 { return share(r.Contained, r.Conversations) }

// HandoffRate returns HandedOff as a share of Conversations, 0 when there are none.
func (r *Report) HandoffRate() float64 { return share(r.HandedOff, r.Conversations) }

// AverageRating returns the average rating of the rated tickets, 0 when none was rated.
func (r *Report) AverageRating() float64 {
	if r.Rated == 0 {
		return 0
	}
	return float64(r.RatingSum) / float64(r.Rated)
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// conversation is what Build keeps of one active conversation.
type conversation struct {
	reached map[string]bool
	last    string // the node of its last bot line
	solved  bool
	handed  bool
}

// miss is a group of utterances that were not understood.
type miss struct {
	n     int
	first int    // the order the group was first seen in, for stable output
	forms []form // each original text, in the order first said
}

// form is one way an utterance was written, and how often.
type form struct {
	text string
	n    int
}

// Build reads the lines and tickets of the period from src and computes the report. It
// holds what it needs of each active conversation in memory, not the lines. It returns
// src's errors wrapped, and an error for a Config without Flow or Since.
func Build(ctx context.Context, src Source, cfg Config) (*Report, error) {
	if cfg.Flow == nil {
		return nil, errors.New("build report: no flow")
	}
	if cfg.Since.IsZero() {
		return nil, errors.New("build report: no start of the period")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lang == "" {
		cfg.Lang = bot.Japanese
	}
	if cfg.Normalize == nil {
		cfg.Normalize = textnorm.Normalize
	}
	f := cfg.Flow
	r := &Report{Since: cfg.Since.UTC(), Until: cfg.Now().UTC(), Flow: f, Lang: cfg.Lang}
	kinds := make(map[string]bot.NodeKind, len(f.Nodes))
	for _, n := range f.Nodes {
		kinds[n.ID] = n.Kind
	}
	solved := f.Solved
	if solved == "" {
		solved = "solved"
	}

	convs := make(map[bot.Key]*conversation)
	var order []bot.Key // first seen, for a stable channel order
	misses := make(map[string]*miss)
	var unknown []string // nodes the flow lacks, first seen first
	err := src.LinesSince(ctx, cfg.Since, func(k bot.Key, l bot.Line) error {
		c := convs[k]
		if c == nil {
			c = &conversation{reached: make(map[string]bool)}
			convs[k] = c
			order = append(order, k)
		}
		switch l.Role {
		case bot.RoleBot:
			if l.Node == "" {
				return nil
			}
			if _, ok := kinds[l.Node]; !ok && !slices.Contains(unknown, l.Node) {
				unknown = append(unknown, l.Node)
			}
			c.reached[l.Node] = true
			c.last = l.Node
			c.solved = c.solved || l.Node == solved
			c.handed = c.handed || kinds[l.Node] == bot.KindHandoff
		case bot.RoleSystem:
			c.handed = c.handed || ticketOpened(l.Text)
		case bot.RoleCustomer:
			if !l.Miss {
				return nil
			}
			r.Misses++
			key := cfg.Normalize(l.Text)
			if key == "" {
				key = "\x00" + strings.TrimSpace(l.Text) // nothing left to fold: keep it apart
			}
			m := misses[key]
			if m == nil {
				m = &miss{first: len(misses)}
				misses[key] = m
			}
			m.n++
			if i := slices.IndexFunc(m.forms, func(f form) bool { return f.text == l.Text }); i >= 0 {
				m.forms[i].n++
			} else {
				m.forms = append(m.forms, form{text: l.Text, n: 1})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}

	outcomes := make(map[string]int)
	err = src.TicketsSince(ctx, cfg.Since, func(k bot.Key, t bot.Ticket) error {
		r.Tickets++
		if c := convs[k]; c != nil {
			c.handed = true
		}
		if t.State != bot.TicketClosed {
			outcomes["open ("+string(t.State)+")"]++
			return nil
		}
		outcome := t.Outcome
		if outcome == "" {
			outcome = "unknown"
		}
		outcomes[outcome]++
		if t.Rating > 0 {
			r.Rated++
			r.RatingSum += t.Rating
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	r.Outcomes = counts(outcomes)
	if d, ok := src.(Deliveries); ok {
		c, err := d.CountOutgoing(ctx, cfg.Since)
		if err != nil {
			return nil, fmt.Errorf("build report: %w", err)
		}
		r.Deliveries = &c
	}

	r.Conversations = len(convs)
	reached, stopped := make(map[string]int), make(map[string]int)
	channels := make(map[string]int)
	for _, k := range order {
		c := convs[k]
		channels[k.Channel]++
		for n := range c.reached {
			reached[n]++
		}
		if c.last != "" {
			stopped[c.last]++
		}
		if c.handed {
			r.HandedOff++
		} else if c.solved {
			r.Contained++
		}
	}
	r.Channels = counts(channels)
	for _, n := range f.Nodes {
		r.Nodes = append(r.Nodes, Node{ID: n.ID, Kind: n.Kind, Reached: reached[n.ID], Stopped: stopped[n.ID]})
	}
	for _, id := range unknown {
		r.Nodes = append(r.Nodes, Node{ID: id, Reached: reached[id], Stopped: stopped[id]})
	}

	groups := make([]*miss, 0, len(misses))
	for _, m := range misses {
		groups = append(groups, m)
	}
	slices.SortFunc(groups, func(a, b *miss) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.first, b.first))
	})
	r.Distinct = len(groups)
	for _, m := range groups[:min(len(groups), TopMisses)] {
		r.Unclear = append(r.Unclear, Count{Name: commonest(m.forms), N: m.n})
	}
	return r, nil
}

// ticketOpened reports whether a system line says a ticket was opened, as bot.Desk
// writes it: "ticket T… opened: reason".
func ticketOpened(text string) bool {
	rest, ok := strings.CutPrefix(text, "ticket ")
	if !ok {
		return false
	}
	_, after, ok := strings.Cut(rest, " ")
	return ok && strings.HasPrefix(after, "opened")
}

// counts returns m's entries, most first, then by name.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for name, n := range m {
		out = append(out, Count{Name: name, N: n})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.Name, b.Name)) })
	return out
}

// commonest returns the form said most often, the first said on a tie.
func commonest(forms []form) string {
	best := forms[0]
	for _, f := range forms[1:] {
		if f.n > best.n {
			best = f
		}
	}
	return best.text
}
