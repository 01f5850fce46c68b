package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/looplab/fsm"
)

// Ownership states of a conversation: the bot answers only in ownBot.
const (
	ownBot      = "bot"
	ownWaiting  = string(TicketWaiting)
	ownClaimed  = string(TicketClaimed)
	ownResolved = string(TicketResolved)
)

// Ownership events.
const (
	evHandoff = "handoff" // the flow hands off: a ticket is opened
	evClaim   = "claim"   // an agent takes the ticket
	evResolve = "resolve" // the agent is done: the customer is asked for a rating
	evReturn  = "return"  // the agent gives the conversation back to the bot
	evCancel  = "cancel"  // the customer gives up waiting
	evClose   = "close"   // the customer blocked us
	evRate    = "rate"    // the customer rated (or moved on): back to the bot
)

// ownership is the hand-off lifecycle as a looplab/fsm definition: bot → waiting for an
// agent → with an agent → resolved → bot, with the customer cancelling while waiting, the
// agent returning the conversation to the bot, and an unfollow closing it from anywhere.
var ownership = fsm.Events{
	{Name: evHandoff, Src: []string{ownBot}, Dst: ownWaiting},
	{Name: evClaim, Src: []string{ownWaiting}, Dst: ownClaimed},
	{Name: evResolve, Src: []string{ownWaiting, ownClaimed}, Dst: ownResolved},
	{Name: evReturn, Src: []string{ownWaiting, ownClaimed}, Dst: ownBot},
	{Name: evCancel, Src: []string{ownWaiting}, Dst: ownBot},
	{Name: evClose, Src: []string{ownWaiting, ownClaimed, ownResolved}, Dst: ownBot},
	{Name: evRate, Src: []string{ownResolved}, Dst: ownBot},
}

// Postback data of the hand-off's own choices.
const (
	postbackRate     = "r:"      // r:1 … r:5
	postbackKeepWait = "w:wait"  // keep waiting for a person
	postbackSelfHelp = "w:self"  // go back to the self-help steps
	ticketAddrPrefix = "ticket:" // the address of a ticket's thread, resolved by the channel
)

// TicketAddress is the address of ticket id's thread in the agents' channel; the channel
// resolves it to the thread the ticket was posted as.
func TicketAddress(id string) string { return ticketAddrPrefix + id }

// TicketID returns the ticket of a TicketAddress.
func TicketID(address string) (string, bool) { return strings.CutPrefix(address, ticketAddrPrefix) }

// DeskConfig configures a Desk. A zero field means the default.
type DeskConfig struct {
	Engine *Engine // required
	// TicketChannel is the channel agents work in ("slack") and TicketAddress where tickets
	// are posted there (a Slack channel id). When either is empty, a hand-off is announced
	// to the customer but no ticket is posted (the terminal chat).
	TicketChannel, TicketAddress string
	// Hours are the team's business hours; the zero value means always open.
	Hours Hours
	// Wait is how long a ticket may wait unclaimed before the customer is told and offered
	// the self-help steps; default 15 minutes.
	Wait time.Duration
	// Redact masks gift-card codes in customer text before it is stored in a transcript,
	// shown on a ticket or relayed; default: the text is replaced by "(text hidden)".
	Redact func(string) string
	// Transcripts supplies the last lines for a new ticket; optional.
	Transcripts Tickets
	// TicketsPerHour is how many tickets a conversation may open in an hour; default 3,
	// negative for no limit. RelaysPerMinute is how many of the customer's messages are
	// relayed to a ticket's thread in a minute; beyond that they are posted together when
	// the minute is over (see TimerChannel); default 6, negative for no limit.
	TicketsPerHour, RelaysPerMinute int
	// Observe is told of hand-off stages ("started", "claimed", "resolved", "returned",
	// "cancelled", "closed", "limited": a hand-off refused by TicketsPerHour) and
	// ratings (stage "rated", rating 1–5); optional.
	Observe func(stage string, rating int)
	// AgentLang is the language of the text the desk writes for agents (ticket notes,
	// notices in the ticket's thread); default Japanese. Customers get their own.
	AgentLang Lang
	// Media limits what of a customer's media is relayed to a ticket's thread (see
	// media.go); the zero value means the defaults. AgentMedia says an agent's files can
	// reach customers (their channel links to them: a public URL is set); without it the
	// thread is told they cannot. UnreadableNode is the flow node whose steps answer a
	// photo sent outside a hand-off for a code that cannot be read; empty for none.
	Media          MediaLimits
	AgentMedia     bool
	UnreadableNode string
	Logger         *slog.Logger
	Now            func() time.Time
}

// Desk is the front of the conversation: it lets the Engine diagnose while the bot owns
// the conversation, and runs the hand-off to a person otherwise — opening tickets, relaying
// the customer's messages to the ticket's thread and the agent's answers to the customer,
// claims, resolution and the rating. It records the transcript. It is a Stepper and is
// safe for concurrent use.
type Desk struct {
	cfg DeskConfig
	e   *Engine
	log *slog.Logger
}

var _ Stepper = (*Desk)(nil)

// NewDesk returns a Desk.
func NewDesk(cfg DeskConfig) (*Desk, error) {
	if cfg.Engine == nil {
		return nil, errors.New("new desk: no engine")
	}
	if cfg.Wait == 0 {
		cfg.Wait = 15 * time.Minute
	}
	if cfg.TicketsPerHour == 0 {
		cfg.TicketsPerHour = 3
	}
	if cfg.RelaysPerMinute == 0 {
		cfg.RelaysPerMinute = 6
	}
	if cfg.Redact == nil {
		cfg.Redact = func(string) string { return "(text hidden)" }
	}
	if cfg.AgentLang == "" {
		cfg.AgentLang = Japanese
	}
	if !slices.Contains(Langs, cfg.AgentLang) {
		return nil, fmt.Errorf("new desk: agent language %q is not supported", cfg.AgentLang)
	}
	if cfg.UnreadableNode != "" && !cfg.Engine.HasNode(cfg.UnreadableNode) {
		return nil, fmt.Errorf("new desk: no node %q for unreadable codes", cfg.UnreadableNode)
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Engine.now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Desk{cfg: cfg, e: cfg.Engine, log: log.With("component", "desk")}, nil
}

// Engine returns the desk's engine.
func (d *Desk) Engine() *Engine { return d.e }

// agentLang is the language of the desk's text for agents.
func (s *step) agentLang() Lang { return s.d.cfg.AgentLang }

// tickets reports whether hand-offs open tickets for agents.
func (d *Desk) tickets() bool { return d.cfg.TicketChannel != "" && d.cfg.TicketAddress != "" }

// step is the work of one Desk.Step.
type step struct {
	d   *Desk
	ctx context.Context
	c   *Conversation
	ev  Event
	now time.Time
	res Result
	// limits is the conversation's deskState, read at the start of Step and written
	// back at its end.
	limits deskState
}

// Step handles one event of conversation c.
func (d *Desk) Step(ctx context.Context, c *Conversation, ev Event) (Result, error) {
	s := &step{d: d, ctx: ctx, c: c, ev: ev, now: d.cfg.Now()}
	s.loadLimits()
	defer s.saveLimits()
	in := ev.In
	if in.Kind.fromCustomer() {
		if ev.Address != "" {
			c.Address = ev.Address
		}
		s.customerLine(in)
	}
	var err error
	switch {
	case !in.Kind.fromCustomer():
		err = s.agentOrTimer(in)
	case c.Ticket != nil && c.Ticket.State == TicketResolved:
		err = s.afterResolve(in)
	case c.Ticket != nil:
		err = s.whileHandedOff(in)
	default:
		err = s.diagnose(in)
	}
	return s.res, err
}

// customerLine records what the customer said, codes masked.
func (s *step) customerLine(in Inbound) {
	var text string
	switch in.Kind {
	case InText:
		text = s.d.cfg.Redact(in.Text)
	case InPostback:
		text = "[" + choiceLabel(in) + "]"
	case InFollow:
		text = "(follow)"
	case InUnfollow:
		text = "(unfollow)"
		if in.Removed {
			text = "(leave)"
		}
	case InJoin:
		text = "(join)"
	case InMedia:
		text = s.mediaLine(in.Media)
	}
	s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleCustomer, Name: s.c.Name, Text: text})
}

func choiceLabel(in Inbound) string {
	if in.Text != "" {
		return in.Text
	}
	return in.Postback
}

// tell queues messages to the customer: as the answer to the event when it came from the
// customer, otherwise pushed to the customer's address.
func (s *step) tell(msgs ...Message) {
	for _, m := range msgs {
		s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleBot, Text: summary(m), Node: s.c.Node})
	}
	if s.ev.In.Kind.fromCustomer() {
		s.res.Messages = append(s.res.Messages, msgs...)
		return
	}
	s.res.Out = append(s.res.Out, &Outgoing{Channel: s.c.Key.Channel, Address: s.c.Address, Messages: msgs})
}

// toThread queues messages to the ticket's thread.
func (s *step) toThread(t *Ticket, msgs ...Message) {
	if !s.d.tickets() || t.Staff {
		return
	}
	s.res.Out = append(s.res.Out, &Outgoing{Channel: s.d.cfg.TicketChannel, Address: TicketAddress(t.ID), Messages: msgs})
}

// summary is a message as one transcript line.
func summary(m Message) string {
	switch m.Kind {
	case MsgSteps:
		return "【" + m.Title + "】 " + strings.Join(m.Steps, " / ")
	case MsgQuestion:
		labels := make([]string, len(m.Choices))
		for i, c := range m.Choices {
			labels[i] = c.Label
		}
		return m.Text + " [" + strings.Join(labels, " | ") + "]"
	}
	return m.Text
}

func (s *step) lang() Lang {
	if s.c.Lang == "" {
		return Japanese
	}
	return s.c.Lang
}

func (s *step) text(t Text) Message { return Message{Kind: MsgText, Text: t.In(s.lang())} }

// fire moves the ticket's ownership state machine; it reports false when the event does
// not apply in the current state.
func (s *step) fire(event string) bool {
	from := ownBot
	if s.c.Ticket != nil {
		from = string(s.c.Ticket.State)
	}
	m := fsm.NewFSM(from, ownership, nil)
	if err := fireEvent(s.ctx, m, event); err != nil {
		return false
	}
	switch to := m.Current(); to {
	case ownBot:
		if s.c.Ticket != nil {
			s.c.Ticket.State = TicketClosed
			s.c.Ticket.ClosedAt = s.now
		}
	default:
		if s.c.Ticket != nil {
			s.c.Ticket.State = TicketState(to)
		}
	}
	return true
}

func (s *step) observe(stage string, rating int) {
	if s.d.cfg.Observe != nil {
		s.d.cfg.Observe(stage, rating)
	}
}

// diagnose lets the engine answer; a hand-off it reaches opens a ticket.
func (s *step) diagnose(in Inbound) error {
	switch {
	case in.Kind == InMedia:
		s.answerMedia(in)
		return nil
	case in.Kind == InPostback && in.Postback == postbackUnreadable && s.d.cfg.UnreadableNode != "":
		return s.unreadable()
	}
	misses := s.c.Misses
	msgs, err := s.d.e.Step(s.ctx, s.c, in)
	if err != nil {
		return err
	}
	if s.c.Misses > misses && len(s.res.Transcript) > 0 && s.res.Transcript[0].Role == RoleCustomer {
		s.res.Transcript[0].Miss = true
	}
	if s.c.Status == StatusHandoff && s.d.tickets() {
		switch {
		case !s.mayOpen():
			msgs = s.refuseTicket(msgs)
		case s.fire(evHandoff):
			msgs = s.open(msgs)
		}
	}
	s.tell(msgs...)
	return nil
}

// open opens a ticket for the hand-off the engine just announced in msgs, and returns the
// messages for the customer (with the opening hours when the team is away).
func (s *step) open(msgs []Message) []Message {
	c := s.c
	reason := "customer_request"
	for _, m := range msgs {
		if m.Kind == MsgHandoff && m.Reason != "" {
			reason = m.Reason
		}
	}
	sum := sha256.Sum256([]byte(s.ev.ID))
	t := &Ticket{ID: "T" + hex.EncodeToString(sum[:6]), State: TicketWaiting, Reason: reason, CreatedAt: s.now,
		Staff: c.Key.Channel == s.d.cfg.TicketChannel}
	c.Ticket = t
	s.opened(t)
	card := s.card(t, msgs)
	if open, next := s.d.cfg.Hours.Open(s.now); !open {
		card.OutOfHours = next.Format("2006-01-02 15:04 MST")
		for i := range msgs {
			if msgs[i].Kind == MsgHandoff {
				msgs[i].Text += "\n" + fmt.Sprintf(s.d.e.texts.OutOfHours.In(s.lang()), s.d.cfg.Hours.format(next, s.lang()))
			}
		}
	}
	s.res.Out = append(s.res.Out, &Outgoing{Channel: s.d.cfg.TicketChannel, Address: s.d.cfg.TicketAddress,
		Messages: []Message{{Kind: MsgTicket, Ticket: card}}})
	s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleSystem, Text: "ticket " + t.ID + " opened: " + reason})
	s.observe("started", 0)
	if t.Staff {
		// A staff member's own diagnosis: the team sees the ticket; nothing is relayed,
		// and the staff conversation is done.
		t.State, t.ClosedAt, t.Outcome = TicketClosed, s.now, "posted"
		s.res.Closed = t
		c.Ticket = nil
		c.Status = StatusEnded
		return append(msgs, s.text(s.d.e.texts.TicketPosted))
	}
	return msgs
}

// card describes the ticket for agents: who, why, the path, the last lines.
func (s *step) card(t *Ticket, msgs []Message) *TicketCard {
	c := s.c
	path, advice := s.d.e.Explain(c, Japanese)
	diagnosis := t.Reason
	if advice != "" {
		diagnosis = advice + " (" + t.Reason + ")"
	}
	name := c.Name
	if name == "" {
		name = c.Key.User
	}
	card := &TicketCard{ID: t.ID, State: t.State, Customer: name, Channel: c.Key.Channel, Lang: s.lang(),
		Reason: t.Reason, Since: t.CreatedAt, Staff: t.Staff, Path: path, Diagnosis: diagnosis,
		Agent: t.Agent, Rating: t.Rating}
	var recent []Line
	if s.d.cfg.Transcripts != nil {
		lines, err := s.d.cfg.Transcripts.Transcript(s.ctx, c.Key, 6)
		if err != nil {
			s.log().Warn("transcript for ticket", "conversation", c.Key.String(), "err", err)
		}
		recent = lines
	}
	recent = append(recent, s.res.Transcript...)
	for _, m := range msgs {
		recent = append(recent, Line{At: s.now, Role: RoleBot, Text: summary(m)})
	}
	if len(recent) > 8 {
		recent = recent[len(recent)-8:]
	}
	card.Recent = recent
	return card
}

func (s *step) log() *slog.Logger { return s.d.log }

// update shows agents the ticket's new state, with the whole card so that the channel can
// redraw it.
func (s *step) update(t *Ticket, note string) {
	if !s.d.tickets() || t.Staff {
		return
	}
	card := s.card(t, nil)
	card.Note = note
	s.toThread(t, Message{Kind: MsgTicketUpdate, Ticket: card})
}

// close archives the ticket the conversation had and gives the conversation back to the
// bot.
func (s *step) close(outcome string) {
	t := s.c.Ticket
	t.Outcome = outcome
	if t.ClosedAt.IsZero() {
		t.ClosedAt = s.now
	}
	t.State = TicketClosed
	s.res.Closed = t
	s.c.Ticket = nil
	if s.c.Status == StatusHandoff {
		s.c.Status = StatusActive
	}
	s.c.UpdatedAt = s.now
	s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleSystem, Text: "ticket " + t.ID + " closed: " + outcome})
}

// whileHandedOff handles the customer while a ticket is open: messages are relayed to the
// thread, never answered by the flow; the customer may cancel or, after the wait notice,
// choose to keep waiting or go back to the self-help steps.
func (s *step) whileHandedOff(in Inbound) error {
	c, t, texts := s.c, s.c.Ticket, s.d.e.texts
	switch {
	case in.Kind == InUnfollow:
		s.fire(evClose)
		s.update(t, s.unfollowNote(in))
		s.close("unfollowed")
		_, err := s.d.e.Step(s.ctx, c, in) // ends the conversation
		s.observe("closed", 0)
		return err
	case in.Kind == InPostback && in.Postback == postbackKeepWait:
		s.tell(s.text(texts.KeepWaiting))
		return nil
	case in.Kind == InPostback && in.Postback == postbackSelfHelp, s.cancels(in):
		if !s.fire(evCancel) {
			s.tell(s.text(texts.CannotCancel))
			return nil
		}
		s.update(t, texts.NoteCancelled.In(s.agentLang()))
		s.close("cancelled")
		s.observe("cancelled", 0)
		s.tell(s.d.e.Restart(c)...)
		return nil
	}
	if in.Kind == InMedia {
		name := c.Name
		if name == "" {
			name = texts.Customer.In(s.agentLang())
		}
		s.relayMedia(in, name)
		c.UpdatedAt = s.now
		return nil
	}
	// Relay. Follow events and taps on old buttons carry no words for the agent.
	text := in.Text
	if in.Kind == InPostback {
		text = "[" + choiceLabel(in) + "]"
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	name := c.Name
	if name == "" {
		name = texts.Customer.In(s.agentLang())
	}
	s.relay(t, name, s.d.cfg.Redact(text))
	c.UpdatedAt = s.now
	return nil
}

// cancels reports whether the customer asks to start over instead of waiting.
func (s *step) cancels(in Inbound) bool {
	if in.Kind == InPostback {
		return in.Postback == postbackCommand+cmdRestart
	}
	if in.Kind != InText {
		return false
	}
	u := s.d.e.utter(in.Text)
	cmd, score := s.d.e.commands.best(u)
	return cmd == cmdRestart && s.d.e.isCommand(u, score)
}

// unfollowNote is the agents' note on a ticket that an InUnfollow closes: the customer
// blocked the bot, or the bot was removed from the group chat.
func (s *step) unfollowNote(in Inbound) string {
	if in.Removed {
		return s.d.e.texts.NoteRemoved.In(s.agentLang())
	}
	return s.d.e.texts.NoteUnfollowed.In(s.agentLang())
}

// afterResolve takes the customer's rating; anything else goes back to the bot.
func (s *step) afterResolve(in Inbound) error {
	t := s.c.Ticket
	if in.Kind == InUnfollow {
		s.fire(evClose)
		s.update(t, s.unfollowNote(in))
		s.close("unfollowed")
		_, err := s.d.e.Step(s.ctx, s.c, in)
		return err
	}
	if n, ok := rating(in); ok {
		t.Rating = n
		s.fire(evRate)
		s.close("resolved")
		s.update(t, fmt.Sprintf("★%d", n))
		s.observe("rated", n)
		s.c.Status = StatusEnded
		s.tell(s.text(s.d.e.texts.RatingThanks))
		return nil
	}
	// Not a rating: the customer moved on; the ticket closes unrated.
	s.fire(evRate)
	s.update(t, s.d.e.texts.NoteUnrated.In(s.agentLang()))
	s.close("resolved")
	return s.diagnose(in)
}

// rating reads a 1–5 rating from a tapped choice or a typed digit or stars.
func rating(in Inbound) (int, bool) {
	var v string
	switch in.Kind {
	case InPostback:
		var ok bool
		if v, ok = strings.CutPrefix(in.Postback, postbackRate); !ok {
			return 0, false
		}
	case InText:
		v = strings.TrimSpace(in.Text)
		if n := strings.Count(v, "★"); n > 0 && strings.Trim(v, "★☆ ") == "" {
			v = strconv.Itoa(n)
		}
		v = strings.Map(func(r rune) rune {
			if r >= '０' && r <= '９' {
				return r - '０' + '0'
			}
			return r
		}, v)
	default:
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 5 {
		return 0, false
	}
	return n, true
}

// agentOrTimer handles an agent's action in the ticket's thread, or the wait sweeper.
func (s *step) agentOrTimer(in Inbound) error {
	c, t, texts := s.c, s.c.Ticket, s.d.e.texts
	if in.Kind == InDeskTimer {
		s.flushHeld()
		return nil
	}
	if t == nil || (in.Ticket != "" && in.Ticket != t.ID) {
		// The ticket was closed meanwhile (cancelled, returned, rated).
		if in.Kind != InTicketWait && in.Ticket != "" {
			msgs := []Message{{Kind: MsgText, Text: texts.TicketGone.In(s.agentLang())}}
			if in.Kind == InAgentText {
				msgs = append(msgs, Message{Kind: MsgReceipt, Text: ReceiptDropped, Ref: s.ev.ID})
			}
			s.res.Out = append(s.res.Out, &Outgoing{Channel: s.d.cfg.TicketChannel, Address: TicketAddress(in.Ticket), Messages: msgs})
		}
		return nil
	}
	agent := MentionAgent(in.Agent)
	switch in.Kind {
	case InTicketWait:
		if t.State != TicketWaiting || t.Waited {
			return nil
		}
		t.Waited = true
		s.tell(Message{Kind: MsgQuestion, Text: texts.LongWait.In(s.lang()), Choices: []Choice{
			{Label: texts.KeepWaitingLabel.In(s.lang()), Data: postbackKeepWait},
			{Label: texts.SelfHelpLabel.In(s.lang()), Data: postbackSelfHelp},
		}})
	case InAgentClaim:
		s.claim(in, agent)
	case InAgentText:
		text := strings.TrimSpace(in.Text)
		if text == "" && in.Media == nil {
			return nil
		}
		if in.Note || IsNote(text) {
			for _, m := range in.files() {
				text = strings.TrimSpace(text + " " + s.mediaLine(&m))
			}
			s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleNote, Name: in.AgentName, Text: s.d.cfg.Redact(text)})
			s.toThread(t, Message{Kind: MsgReceipt, Text: ReceiptNote, Ref: s.ev.ID})
			return nil
		}
		if t.State == TicketWaiting {
			s.claim(in, agent)
		}
		if in.Media != nil {
			s.agentMedia(in, text)
			return nil
		}
		s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleAgent, Name: in.AgentName, Text: s.d.cfg.Redact(text)})
		// From marks it an agent's (a channel may show it so: the web chat does).
		s.res.Out = append(s.res.Out, &Outgoing{Channel: c.Key.Channel, Address: c.Address,
			Messages: []Message{{Kind: MsgText, Text: text, From: cmp.Or(in.AgentName, in.Agent, "agent")}}})
		s.toThread(t, Message{Kind: MsgReceipt, Text: ReceiptSent, Ref: s.ev.ID})
	case InAgentResolve:
		if !s.fire(evResolve) {
			return nil
		}
		t.ResolvedAt = s.now
		if t.Agent == "" {
			t.Agent, t.AgentName = in.Agent, in.AgentName
		}
		s.update(t, "")
		s.observe("resolved", 0)
		choices := make([]Choice, 5)
		for i := range choices {
			choices[i] = Choice{Label: strings.Repeat("★", i+1), Data: postbackRate + strconv.Itoa(i+1)}
		}
		s.tell(s.text(texts.ResolvedThanks), Message{Kind: MsgQuestion, Text: texts.RatingPrompt.In(s.lang()), Choices: choices})
	case InAgentReturn:
		if !s.fire(evReturn) {
			return nil
		}
		s.update(t, texts.NoteReturned.In(s.agentLang())+" — "+agent)
		s.close("returned")
		s.observe("returned", 0)
		s.tell(append([]Message{s.text(texts.BackToBot)}, s.d.e.Restart(c)...)...)
	}
	return nil
}

// claim gives the ticket to the agent; a second agent is told who has it.
func (s *step) claim(in Inbound, agent string) {
	t := s.c.Ticket
	if t.State != TicketWaiting {
		if t.Agent != in.Agent {
			s.toThread(t, Message{Kind: MsgText, Text: fmt.Sprintf(s.d.e.texts.AlreadyClaimed.In(s.agentLang()), MentionAgent(t.Agent))})
		}
		return
	}
	s.fire(evClaim)
	t.Agent, t.AgentName, t.ClaimedAt = in.Agent, in.AgentName, s.now
	s.update(t, "")
	s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleSystem, Text: "claimed by " + agent})
	s.observe("claimed", 0)
}

// Sweep enqueues a wait notice for every ticket that has waited unclaimed longer than the
// configured wait: an event per ticket, so the notice is sent once even when several
// replicas sweep.
func (d *Desk) Sweep(ctx context.Context, tickets Tickets, store ConversationStore, inbox Inbox) (int, error) {
	now := d.cfg.Now()
	keys, err := tickets.WaitingTickets(ctx, now.Add(-d.cfg.Wait), 100)
	if err != nil {
		return 0, fmt.Errorf("sweep tickets: %w", err)
	}
	var evs []Event
	for _, k := range keys {
		c, err := store.Conversation(ctx, k)
		if err != nil || c.Ticket == nil {
			continue
		}
		evs = append(evs, Event{ID: "wait:" + c.Ticket.ID, Key: k, At: now, Address: c.Address,
			In: Inbound{Kind: InTicketWait, Ticket: c.Ticket.ID}})
	}
	if len(evs) == 0 {
		return 0, nil
	}
	fresh, err := inbox.AddEvents(ctx, evs)
	n := 0
	for _, f := range fresh {
		if f {
			n++
		}
	}
	return n, err
}
