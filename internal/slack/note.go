package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// Internal notes written the explicit way: the message shortcut "Internal note" on any
// message of a ticket's thread, or the ticket's "Internal note" button, opens a form; what
// the agent submits there is posted in the thread by the bot, marked as a note, and
// recorded as one (bot.Inbound.Note). It never reaches the customer, whatever it says.
const (
	noteShortcut   = "giftdesk_note" // callback_id of the message shortcut (the manifest's)
	noteView       = "giftdesk-note" // callback_id of the form
	noteBlock      = "note"
	noteInput      = "text"
	maxNoteText    = 3000
	noteOpenAction = "note" // the ticket button's action
)

// Texts of the note form and post.
const (
	noteTitle  = "社内メモ / Internal note"
	noteLabel  = "お客様には送られません / Never sent to the customer"
	noteFailed = "スレッドに投稿できませんでした。もう一度お試しください。 / Could not post in the thread; please try again."
)

// viewPayload is what the channel reads of a view_submission.
type viewPayload struct {
	ID              string `json:"id"`
	CallbackID      string `json:"callback_id"`
	PrivateMetadata string `json:"private_metadata"`
	State           struct {
		Values map[string]map[string]struct {
			Value string `json:"value"`
		} `json:"values"`
	} `json:"state"`
}

// openNote opens the note form for the ticket whose thread is at address, for the agent
// who asked with triggerID. A thread that is no ticket's, or a staff diagnosis's, is
// ignored.
func (c *Channel) openNote(ctx context.Context, triggerID, addr string) result {
	if c.cfg.Threads == nil || triggerID == "" {
		return ignored("note outside a ticket")
	}
	_, key, err := c.cfg.Threads.ThreadTicket(ctx, addr)
	switch {
	case errors.Is(err, bot.ErrNotFound):
		return ignored("note shortcut outside a ticket's thread")
	case err != nil:
		c.log.Error("look up ticket", "err", err)
		return result{Status: http.StatusInternalServerError, Outcome: "error"}
	case key.Channel == Name:
		return ignored("note shortcut in a staff ticket")
	}
	plain := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
	}
	input := slackapi.NewPlainTextInputBlockElement(nil, noteInput)
	input.Multiline = true
	input.MaxLength = maxNoteText
	_, err = c.api.OpenViewContext(ctx, triggerID, slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      noteView,
		PrivateMetadata: addr,
		Title:           plain("社内メモ"),
		Submit:          plain("保存 / Save"),
		Close:           plain("キャンセル"),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			slackapi.NewInputBlock(noteBlock, plain(noteLabel), nil, input),
		}},
	})
	if err != nil {
		c.log.Warn("open the note form", "err", apiError("views.open", err))
		return ignored("note form not opened")
	}
	return result{Status: http.StatusOK, Outcome: "accepted"}
}

// submitNote posts a submitted note in its ticket's thread and stores it as the agent's
// internal note. The agent's text is masked (gift-card codes) and escaped. When it cannot
// be posted the form stays open with an error, and nothing is stored.
func (c *Channel) submitNote(ctx context.Context, p *interaction, v viewPayload) result {
	text := strings.TrimSpace(v.State.Values[noteBlock][noteInput].Value)
	channel, thread, ok := splitAddress(v.PrivateMetadata)
	if text == "" || !ok || !validID(p.User.ID) || c.cfg.Threads == nil {
		return ignored("empty or unaddressed note")
	}
	id, key, err := c.cfg.Threads.ThreadTicket(ctx, v.PrivateMetadata)
	switch {
	case errors.Is(err, bot.ErrNotFound):
		return ignored("note for a thread that is no ticket's")
	case err != nil:
		c.log.Error("look up ticket", "err", err)
		return result{Status: http.StatusInternalServerError, Outcome: "error"}
	}
	masked := c.cfg.Redact(text)
	head := "📝 *" + noteTitle + "* — <@" + p.User.ID + ">"
	var blocks []slackapi.Block
	blocks = append(blocks, slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, head, false, true)))
	blocks = append(blocks, sections(masked)...)
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	_, ts, err := c.api.PostMessageContext(ctx, channel,
		slackapi.MsgOptionTS(thread),
		slackapi.MsgOptionText(escape(truncateRunes("📝 "+noteTitle+": "+masked, maxFallbackText)), false),
		slackapi.MsgOptionBlocks(blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
	)
	if err != nil {
		c.log.Warn("post a note", "ticket", id, "err", apiError("chat.postMessage", err))
		return result{Status: http.StatusOK, Outcome: "error", Body: map[string]any{
			"response_action": "errors", "errors": map[string]string{noteBlock: noteFailed}}}
	}
	at, ok := parseTS(ts)
	if !ok {
		at = c.cfg.Now()
	}
	name := p.User.Name
	if name == "" {
		name = c.agentName(ctx, p.User.ID)
	}
	return c.edge.Store(ctx, []bot.Event{{
		ID:  Name + ":msg:" + channel + ":" + ts,
		Key: key,
		In: bot.Inbound{Kind: bot.InAgentText, Text: text, Agent: p.User.ID, AgentName: name, Ticket: id,
			Note: true},
		At:      at,
		Address: v.PrivateMetadata,
	}})
}

// shortcut handles a message_action: the "Internal note" shortcut on a message of a
// ticket's thread (or its root).
func (c *Channel) shortcut(ctx context.Context, p *interaction, raw []byte) result {
	if p.CallbackID != noteShortcut {
		return ignored("shortcut " + p.CallbackID)
	}
	thread := p.Message.ThreadTS
	if thread == "" {
		thread = p.Message.TS
	}
	if p.Channel.ID == "" || !validTS(thread) {
		return c.edge.DeadLetter(ctx, "interactivity: message_action without channel or message", raw)
	}
	return c.openNote(ctx, p.TriggerID, address(p.Channel.ID, thread))
}

// submission handles a view_submission: a note form.
func (c *Channel) submission(ctx context.Context, p *interaction) result {
	var v viewPayload
	if err := json.Unmarshal(p.View, &v); err != nil || v.CallbackID != noteView {
		return ignored("view submission")
	}
	return c.submitNote(ctx, p, v)
}
