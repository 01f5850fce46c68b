package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// How agents' names are looked up for their thread replies (the events carry only ids).
const (
	nameTimeout = time.Second // users.info in the webhook path: Slack waits 3s in all
	nameTTL     = time.Hour
	maxNames    = 1000 // names cached; the cache starts over beyond
	maxOrphans  = 1000 // unlinked roots remembered; likewise
)

// errNoThreads fails ticket deliveries of a channel configured without Config.Threads.
var errNoThreads = &bot.DeliveryError{Permanent: true, Err: errors.New("no thread store: hand-off tickets cannot be posted")}

// postTickets posts each MsgTicket of out as the root of a new thread in the channel
// out.Address names, and links the ticket to it. Other messages of out, if any, follow in
// the last ticket's thread.
func (c *Channel) postTickets(ctx context.Context, out bot.Outgoing) (string, error) {
	if c.cfg.Threads == nil {
		return "", errNoThreads
	}
	channel, _, _ := strings.Cut(out.Address, ":")
	if channel == "" {
		return "", &bot.DeliveryError{Permanent: true, Err: errors.New("no Slack channel to post the ticket to")}
	}
	d := c.delivery(out)
	var (
		thread string
		rest   []post
	)
	for i, m := range out.Messages {
		if m.Kind != bot.MsgTicket {
			rest = append(rest, threadPostsOf(i, m)...)
			continue
		}
		if m.Ticket == nil || m.Ticket.ID == "" {
			c.log.Warn("ticket without a card", "conversation", out.Key.String(), "outgoing", out.ID)
			continue
		}
		addr, err := c.postTicket(ctx, d, channel, "m"+strconv.Itoa(i), m.Ticket)
		if err != nil {
			return "", err
		}
		thread = addr
	}
	if len(rest) > 0 && thread != "" {
		ch, root, _ := splitAddress(thread)
		if err := d.postThread(ctx, ch, root, rest); err != nil {
			return "", err
		}
	}
	return "push", nil
}

// postTicket posts the ticket's root in channel, as the post id of delivery d, and links
// the ticket to its thread, before it returns; it returns the thread's address. A ticket
// that is linked already was posted by an earlier attempt and is not posted again. A root
// that was posted but could not be linked is remembered by this process, and found in the
// channel by another (see once.go), so that the retry links it rather than posting a
// second one.
func (c *Channel) postTicket(ctx context.Context, d *delivery, channel, id string, card *bot.TicketCard) (string, error) {
	addr, err := c.cfg.Threads.TicketThread(ctx, card.ID)
	switch {
	case err == nil:
		return addr, nil
	case !errors.Is(err, bot.ErrNotFound):
		return "", &bot.DeliveryError{Err: fmt.Errorf("look up the thread of ticket %s: %w", card.ID, err)}
	}
	addr, posted := c.orphan(card.ID)
	if !posted {
		p := renderTicket(card)
		ts, err := d.post(ctx, channel, "", id, p)
		if err != nil {
			return "", err
		}
		addr = address(channel, ts)
	}
	err = c.cfg.Threads.LinkThread(ctx, card.ID, d.out.Key, addr)
	switch {
	case err == nil:
		c.setOrphan(card.ID, "")
		return addr, nil
	case errors.Is(err, bot.ErrConflict):
		// Another attempt posted and linked a root meanwhile: ours is a duplicate (unless
		// it is the one linked, found in the channel by both).
		c.setOrphan(card.ID, "")
		linked, err := c.cfg.Threads.TicketThread(ctx, card.ID)
		if err != nil || linked != addr {
			ch, ts, _ := splitAddress(addr)
			if _, _, err := c.api.DeleteMessageContext(ctx, ch, ts); err != nil {
				c.log.Warn("delete duplicate ticket root", "ticket", card.ID, "err", apiError("chat.delete", err))
			}
		}
		if err != nil {
			return "", &bot.DeliveryError{Err: fmt.Errorf("look up the thread of ticket %s: %w", card.ID, err)}
		}
		return linked, nil
	}
	c.setOrphan(card.ID, addr)
	return "", &bot.DeliveryError{Err: fmt.Errorf("link ticket %s to its thread: %w", card.ID, err)}
}

// orphan returns the root this process posted for ticket id without linking it.
func (c *Channel) orphan(id string) (string, bool) {
	c.handoffMu.Lock()
	defer c.handoffMu.Unlock()
	addr, ok := c.orphans[id]
	return addr, ok
}

// setOrphan remembers (or, with an empty addr, forgets) the unlinked root of ticket id.
func (c *Channel) setOrphan(id, addr string) {
	c.handoffMu.Lock()
	defer c.handoffMu.Unlock()
	if addr == "" {
		delete(c.orphans, id)
		return
	}
	if c.orphans == nil || len(c.orphans) >= maxOrphans {
		c.orphans = map[string]string{}
	}
	c.orphans[id] = addr
}

// sendTicketThread delivers out to the thread of ticket id: updates of the ticket change
// its root (and post their note in the thread), other messages are posted in the thread.
// A ticket not linked to a thread yet is a temporary error: its root is delivered before
// anything else of the conversation, so it is linked by the time of a retry.
func (c *Channel) sendTicketThread(ctx context.Context, id string, out bot.Outgoing) (string, error) {
	if c.cfg.Threads == nil {
		return "", errNoThreads
	}
	addr, err := c.cfg.Threads.TicketThread(ctx, id)
	if errors.Is(err, bot.ErrNotFound) {
		return "", &bot.DeliveryError{Err: fmt.Errorf("ticket %s has no thread yet", id)}
	}
	if err != nil {
		return "", &bot.DeliveryError{Err: fmt.Errorf("look up the thread of ticket %s: %w", id, err)}
	}
	channel, root, ok := splitAddress(addr)
	if !ok {
		return "", &bot.DeliveryError{Permanent: true, Err: fmt.Errorf("ticket %s is linked to no Slack thread", id)}
	}
	// Receipts first: a retry after a failed post finds them made already.
	for _, m := range out.Messages {
		if m.Kind == bot.MsgReceipt {
			if err := c.receipt(ctx, m); err != nil {
				return "", err
			}
		}
	}
	d := c.delivery(out)
	var pending []post
	for i, m := range out.Messages {
		switch {
		case m.Kind == bot.MsgReceipt:
		case m.Kind == bot.MsgMedia && m.Media != nil:
			if err := d.postThread(ctx, channel, root, pending); err != nil {
				return "", err
			}
			pending = nil
			if err := c.relayMedia(ctx, d, channel, root, i, m); err != nil {
				return "", err
			}
		case m.Kind == bot.MsgTicketUpdate && m.Ticket != nil:
			if err := d.postThread(ctx, channel, root, pending); err != nil {
				return "", err
			}
			pending = nil
			if err := c.updateTicket(ctx, channel, root, m.Ticket); err != nil {
				return "", err
			}
			if m.Ticket.Note != "" {
				p := noticePost("📝", m.Ticket.Note)
				p.id = "m" + strconv.Itoa(i) + ".note"
				pending = append(pending, p)
			}
		case m.Kind == bot.MsgTicket || m.Kind == bot.MsgTicketUpdate:
			c.log.Warn("ticket message to a ticket's thread ignored", "ticket", id, "kind", string(m.Kind))
		default:
			pending = append(pending, threadPostsOf(i, m)...)
		}
	}
	if err := d.postThread(ctx, channel, root, pending); err != nil {
		return "", err
	}
	return "push", nil
}

// receiptReactions are the reactions that show on an agent's message in a ticket's thread
// what became of it.
var receiptReactions = map[string]string{
	bot.ReceiptSent:    "outbox_tray",   // 📤 sent to the customer
	bot.ReceiptNote:    "memo",          // 📝 kept internal
	bot.ReceiptDropped: "no_entry_sign", // 🚫 the ticket is closed: sent to nobody
}

// receipt reacts to the agent's message a MsgReceipt is about. A reaction made already
// (a retry) is done; a message that cannot be reacted to (deleted, no reactions:write
// scope) is logged and skipped; other failures are temporary.
func (c *Channel) receipt(ctx context.Context, m bot.Message) error {
	name, ok := receiptReactions[m.Text]
	ref, isMsg := strings.CutPrefix(m.Ref, Name+":msg:")
	channel, ts, addrOK := splitAddress(ref)
	if !ok || !isMsg || !addrOK {
		c.log.Warn("receipt without a known outcome or Slack message", "outcome", m.Text)
		return nil
	}
	err := c.api.AddReactionContext(ctx, name, slackapi.NewRefToMessage(channel, ts))
	var resp slackapi.SlackErrorResponse
	switch {
	case err == nil, errors.As(err, &resp) && resp.Err == "already_reacted":
		return nil
	}
	de := apiError("reactions.add", err)
	if !de.Permanent {
		return de
	}
	c.log.Warn("receipt reaction", "outcome", m.Text, "err", de)
	return nil
}

// threadPosts renders a message for a ticket's thread: a relayed customer message as
// "👤 *name*: text", the desk's notices with the agents they name mentioned, anything else
// as in a conversation.
func threadPosts(m bot.Message) []post {
	switch {
	case m.Kind == bot.MsgText && m.From != "":
		return []post{relay(m.From, m.Text)}
	case m.Kind == bot.MsgText:
		return []post{noticePost("", m.Text)}
	}
	return render([]bot.Message{m})
}

// threadPostsOf is threadPosts of m, the i-th message of its row, with their ids.
func threadPostsOf(i int, m bot.Message) []post {
	posts := threadPosts(m)
	for j := range posts {
		posts[j].id = "m" + strconv.Itoa(i) + "." + strconv.Itoa(j)
	}
	return posts
}

// postThread posts each of posts in the thread at root (see delivery.post).
func (d *delivery) postThread(ctx context.Context, channel, root string, posts []post) error {
	for _, p := range posts {
		if len(p.blocks) == 0 {
			continue
		}
		if _, err := d.post(ctx, channel, root, p.id, p); err != nil {
			return err
		}
	}
	return nil
}

// updateTicket redraws the ticket's root from card, which carries the whole ticket, with
// the buttons that still apply. A root that cannot be updated any more (deleted) is
// logged and skipped.
func (c *Channel) updateTicket(ctx context.Context, channel, root string, card *bot.TicketCard) error {
	p := updatedTicket(nil, card)
	_, _, _, err := c.api.UpdateMessageContext(ctx, channel, root,
		slackapi.MsgOptionText(p.text, false),
		slackapi.MsgOptionBlocks(p.blocks...),
	)
	if err != nil {
		de := apiError("chat.update", err)
		if !de.Permanent {
			return de
		}
		c.log.Warn("update ticket root", "ticket", card.ID, "err", de)
	}
	return nil
}

// ticketAction turns a press of a ticket's button into an agent event of the ticket's
// conversation (the customer's). The id lets the presses of different agents through
// (the queue serialises them, so exactly one claim wins) but not a repeated delivery of
// the same press.
func (c *Channel) ticketAction(ctx context.Context, p *interaction, channel, msgTS string, at time.Time) result {
	a := p.Actions[0]
	action, id, ok := parseTicketValue(a.Value)
	if ok && action == noteOpenAction {
		return c.openNote(ctx, p.TriggerID, address(channel, msgTS))
	}
	kind, known := ticketActions[action]
	if !ok || !known {
		return ignored("ticket action")
	}
	if c.cfg.Threads == nil {
		return ignored("ticket action without a thread store")
	}
	linked, key, err := c.cfg.Threads.ThreadTicket(ctx, address(channel, msgTS))
	switch {
	case errors.Is(err, bot.ErrNotFound):
		c.log.Warn("ticket button on a message that is no linked ticket", "ticket", id)
		return ignored("ticket action on an unlinked message")
	case err != nil:
		c.log.Error("look up ticket", "err", err)
		return result{Status: http.StatusInternalServerError, Outcome: "error"}
	case linked != id:
		return ignored("ticket action of another ticket")
	}
	if res, ok := c.memberOnly(ctx, channel, p.User.ID); !ok {
		return res
	}
	name := p.User.Name
	if name == "" {
		name = p.User.Username
	}
	if name == "" {
		name = p.User.ID
	}
	return c.edge.Store(ctx, []bot.Event{{
		ID:      Name + ":ticket:" + channel + ":" + msgTS + ":" + action + ":" + p.User.ID + ":" + a.ActionTS,
		Key:     key,
		In:      bot.Inbound{Kind: kind, Agent: p.User.ID, AgentName: name, Ticket: id},
		At:      at,
		Address: address(channel, msgTS),
	}})
}

// ticketMessage turns a reply in a ticket's thread into an agent event of the ticket's
// conversation, with one store read. isTicket is false when the thread is no ticket's;
// ok is false for a reply that relays nothing (no text; a ticket of a staff member's own
// diagnosis, which has no customer waiting).
func (c *Channel) ticketMessage(ctx context.Context, m message, text string, at time.Time) (ev bot.Event, ok, isTicket bool, err error) {
	id, key, err := c.cfg.Threads.ThreadTicket(ctx, address(m.channel, m.threadTS))
	switch {
	case errors.Is(err, bot.ErrNotFound):
		return bot.Event{}, false, false, nil
	case err != nil:
		return bot.Event{}, false, false, err
	}
	plain := strings.TrimSpace(PlainText(text))
	file, more := agentFiles(m.files)
	if plain == "" && file == nil || key.Channel == Name {
		return bot.Event{}, false, true, nil
	}
	return bot.Event{
		ID:  Name + ":msg:" + m.channel + ":" + m.ts,
		Key: key,
		In: bot.Inbound{Kind: bot.InAgentText, Text: plain, Agent: m.user, AgentName: c.agentName(ctx, m.user), Ticket: id,
			Note: toColleagues(text), Media: file, MoreMedia: more},
		At:      at,
		Address: address(m.channel, m.threadTS),
	}, true, true, nil
}

// toColleagues reports whether a message (Slack markup, without the bot's own mentions)
// starts by mentioning someone in Slack — a person, a user group, @here, @channel — and
// so speaks to colleagues, not to the customer, who cannot be mentioned: it is kept
// internal like a note.
func toColleagues(text string) bool {
	for {
		t := strings.TrimLeftFunc(text, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune("*_~`", r)
		})
		if t, ok := strings.CutPrefix(t, "&gt;"); ok {
			text = t
			continue
		}
		for _, p := range []string{"<@", "<!subteam^", "<!here", "<!channel", "<!everyone"} {
			if strings.HasPrefix(t, p) {
				return true
			}
		}
		return false
	}
}

// agentName returns the agent's Slack name, cached for an hour; the user id when it cannot
// be found out within a second.
func (c *Channel) agentName(ctx context.Context, user string) string {
	now := c.cfg.Now()
	c.handoffMu.Lock()
	e, ok := c.names[user]
	c.handoffMu.Unlock()
	if ok && now.Sub(e.at) < nameTTL {
		return e.name
	}
	ctx, cancel := context.WithTimeout(ctx, nameTimeout)
	defer cancel()
	p, err := c.profile(ctx, user)
	if err != nil {
		c.log.Warn("agent's name", "err", err)
	}
	if p.Name == "" {
		return user
	}
	c.handoffMu.Lock()
	defer c.handoffMu.Unlock()
	if c.names == nil || len(c.names) >= maxNames {
		c.names = map[string]cachedName{}
	}
	c.names[user] = cachedName{name: p.Name, at: now}
	return p.Name
}

type cachedName struct {
	name string
	at   time.Time
}
