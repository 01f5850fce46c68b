package bot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Per-conversation limits toward the agents' channel. Slack posts about one message a
// second per channel, and every ticket shares the hand-off channel: one customer asking
// for a person over and over, or writing fast during a hand-off, would delay everyone's
// tickets. So a conversation opens at most DeskConfig.TicketsPerHour tickets an hour (a
// request beyond that is noted in the last ticket's thread, and the customer told to ask
// again later), and has at most DeskConfig.RelaysPerMinute messages relayed to the
// thread a minute; beyond that they are held and posted together, as one message, when
// the minute is over (a timer: an outbox row on TimerChannel due then, which the pipeline turns
// into an InDeskTimer event).

// TimerChannel is the delivering channel of the Desk's timers; the pipeline delivers them.
const TimerChannel = "timer"

// deskVar is the key of Conversation.Vars under which the Desk keeps its deskState. Vars
// is persisted with the conversation by every store, so the limits need no column of
// their own; the engine empties Vars when a conversation starts over, so the Desk reads
// the state before stepping and writes it back after (see step.loadLimits).
const deskVar = "_desk"

// maxHeld bounds the relays held back at once; more are counted, not kept (the
// transcript keeps them all).
const maxHeld = 30

// deskState is what the Desk remembers of a conversation across tickets.
type deskState struct {
	// Tickets are when the tickets of the last hour were opened; Last is the latest
	// ticket's ID.
	Tickets []time.Time `json:"t,omitempty"`
	Last    string      `json:"l,omitempty"`
	// Window starts the minute of relays counted by Relays.
	Window time.Time `json:"w,omitzero"`
	Relays int       `json:"r,omitempty"`
	// Held are relays held back for ticket HeldFor, and Dropped those beyond maxHeld;
	// TimerAt is when the timer that posts them goes off.
	Held    []string  `json:"h,omitempty"`
	HeldFor string    `json:"f,omitempty"`
	Dropped int       `json:"d,omitempty"`
	TimerAt time.Time `json:"a,omitzero"`
}

// loadLimits reads the desk's state from the conversation.
func (s *step) loadLimits() {
	if v := s.c.Vars[deskVar]; v != "" {
		if err := json.Unmarshal([]byte(v), &s.limits); err != nil {
			s.log().Warn("desk state", "conversation", s.c.Key.String(), "err", err)
			s.limits = deskState{}
		}
	}
}

// saveLimits writes the desk's state back into the conversation, after the engine may
// have emptied Vars.
func (s *step) saveLimits() {
	l := &s.limits
	l.Tickets = recent(l.Tickets, s.now.Add(-time.Hour))
	if len(l.Tickets) == 0 {
		l.Last = "" // only a refusal within the hour needs it
	}
	if s.now.Sub(l.Window) >= time.Minute && len(l.Held) == 0 {
		l.Window, l.Relays = time.Time{}, 0
	}
	if len(l.Tickets) == 0 && len(l.Held) == 0 && l.Relays == 0 && l.TimerAt.IsZero() {
		delete(s.c.Vars, deskVar)
		return
	}
	b, _ := json.Marshal(l) // times, strings and numbers: cannot fail
	if s.c.Vars == nil {
		s.c.Vars = map[string]string{}
	}
	s.c.Vars[deskVar] = string(b)
}

// recent returns the times after since.
func recent(ts []time.Time, since time.Time) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if t.After(since) {
			out = append(out, t)
		}
	}
	return out
}

// mayOpen reports whether the conversation may open another ticket this hour.
func (s *step) mayOpen() bool {
	n := s.d.cfg.TicketsPerHour
	return n < 0 || len(recent(s.limits.Tickets, s.now.Add(-time.Hour))) < n
}

// opened counts ticket t against the hourly limit.
func (s *step) opened(t *Ticket) {
	s.limits.Tickets = append(recent(s.limits.Tickets, s.now.Add(-time.Hour)), s.now)
	s.limits.Last = t.ID
}

// refuseTicket answers a hand-off beyond the hourly limit: the customer is told to ask
// again later, the agents see the request in the last ticket's thread (closed: the
// customer's hand-offs were cancelled), and the conversation ends (the next message
// starts over).
func (s *step) refuseTicket(msgs []Message) []Message {
	texts := s.d.e.texts
	out := msgs[:0]
	for _, m := range msgs {
		if m.Kind != MsgHandoff {
			out = append(out, m)
		}
	}
	out = append(out, s.text(texts.TicketLimit))
	if s.limits.Last != "" && s.c.Key.Channel != s.d.cfg.TicketChannel {
		n := len(recent(s.limits.Tickets, s.now.Add(-time.Hour))) + 1
		s.res.Out = append(s.res.Out, &Outgoing{Channel: s.d.cfg.TicketChannel, Address: TicketAddress(s.limits.Last),
			Messages: []Message{{Kind: MsgText, Text: fmt.Sprintf(texts.NoteAskedAgain.In(s.agentLang()), n)}}})
	}
	s.c.Status = StatusEnded
	s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleSystem, Text: "hand-off refused: ticket limit reached"})
	s.observe("limited", 0)
	return out
}

// relay posts the customer's text (already masked) to ticket t's thread, or holds it
// when the conversation has had its relays for the minute.
func (s *step) relay(t *Ticket, name, text string) {
	l, limit := &s.limits, s.d.cfg.RelaysPerMinute
	if len(l.Held) > 0 && l.HeldFor != t.ID {
		s.flushHeld() // held for an earlier ticket
	}
	if limit < 0 {
		s.toThread(t, Message{Kind: MsgText, From: name, Text: text})
		return
	}
	if s.now.Sub(l.Window) >= time.Minute {
		l.Window, l.Relays = s.now, 0
		if len(l.Held) > 0 {
			// The minute is over and the timer has not gone off yet: post what was held
			// with this one, in order.
			s.hold(t, text)
			s.flushHeld()
			return
		}
	}
	if l.Relays < limit && len(l.Held) == 0 {
		l.Relays++
		s.toThread(t, Message{Kind: MsgText, From: name, Text: text})
		return
	}
	s.hold(t, text)
	if l.TimerAt.IsZero() {
		l.TimerAt = l.Window.Add(time.Minute)
		s.res.Out = append(s.res.Out, &Outgoing{Channel: TimerChannel, Address: TicketAddress(t.ID), NotBefore: l.TimerAt,
			Messages: []Message{{Kind: MsgText, Text: "post held relays"}}})
	}
}

func (s *step) hold(t *Ticket, text string) {
	l := &s.limits
	l.HeldFor = t.ID
	if len(l.Held) < maxHeld {
		l.Held = append(l.Held, text)
	} else {
		l.Dropped++
	}
}

// flushHeld posts the held relays as one message, to the thread of the ticket they were
// held for (even if it has closed meanwhile: agents see what was said).
func (s *step) flushHeld() {
	l := &s.limits
	l.TimerAt = time.Time{}
	if len(l.Held) == 0 {
		return
	}
	name := s.c.Name
	if name == "" {
		name = s.d.e.texts.Customer.In(s.agentLang())
	}
	n := len(l.Held) + l.Dropped
	text := fmt.Sprintf(s.d.e.texts.NoteHeld.In(s.agentLang()), n) + "\n" + strings.Join(l.Held, "\n")
	if l.Dropped > 0 {
		text += "\n(+" + strconv.Itoa(l.Dropped) + ")"
	}
	if s.d.tickets() {
		s.res.Out = append(s.res.Out, &Outgoing{Channel: s.d.cfg.TicketChannel, Address: TicketAddress(l.HeldFor),
			Messages: []Message{{Kind: MsgText, From: name, Text: text}}})
	}
	l.Held, l.HeldFor, l.Dropped = nil, "", 0
	l.Relays++
}
