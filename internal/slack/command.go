package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// Texts the channel itself posts.
var (
	rootText = bot.Text{
		JA: "%s さんがギフト券の診断を始めました。このスレッドで続けます。",
		EN: "%s started a gift-card diagnosis. It continues in this thread.",
	}
	notMemberText = bot.Text{
		JA: "この会話には投稿できません。先にアプリをチャンネルに招待するか、アプリにダイレクトメッセージを送ってください。",
		EN: "I can't post in this conversation. Invite the app to the channel first, or send it a direct message.",
	}
	tryAgainText = bot.Text{
		JA: "いま診断を始められませんでした。少し待ってからもう一度お試しください。",
		EN: "I couldn't start a diagnosis just now. Please try again in a moment.",
	}
)

// notMemberErrors are chat.postMessage's answers when the bot cannot post in a
// conversation it was not added to.
var notMemberErrors = map[string]bool{"not_in_channel": true, "channel_not_found": true}

// ephemeral is a slash command's answer that only the person who typed it sees.
type ephemeral struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// command handles the slash command: it posts the root message of a new thread at once
// (the conversation is keyed by it, so it must exist before the acknowledgement), then
// stores the start of the conversation: InFollow, or InText when the command came with
// text ("/giftdesk the code is invalid"), in the person's Slack language when known.
// When the root cannot be posted, the person is told why, privately. raw is kept, redacted,
// if the command cannot be understood.
func (c *Channel) command(ctx context.Context, cmd slackapi.SlashCommand, raw []byte) result {
	if cmd.ChannelID == "" || !validID(cmd.UserID) || cmd.TriggerID == "" {
		return c.edge.DeadLetter(ctx, "command without channel_id, user_id or trigger_id", raw)
	}
	if res, ok := c.foreign(ctx, "command", cmd.TeamID, cmd.APIAppID); !ok {
		return res
	}
	if !c.firstCommand(cmd.TriggerID) {
		// Slack does not send a slash command twice: a replay, which would post a
		// second root (the event itself is deduplicated by the inbox, but only after).
		return ignored("replayed slash command")
	}
	// Slack waits 3 seconds for the acknowledgement: bound the Web API calls. The
	// language is a nicety and may take at most half of it.
	cctx, cancel := context.WithTimeout(ctx, c.cfg.CommandTimeout)
	defer cancel()
	pctx, pcancel := context.WithTimeout(cctx, c.cfg.CommandTimeout/2)
	prof, err := c.profile(pctx, cmd.UserID)
	pcancel()
	if err != nil {
		c.log.Warn("profile for slash command", "err", err)
	}
	lang := prof.Lang
	_, ts, err := c.api.PostMessageContext(cctx, cmd.ChannelID,
		slackapi.MsgOptionText(fmt.Sprintf(rootText.In(lang), "<@"+cmd.UserID+">"), false))
	if err != nil {
		c.log.Warn("post thread root for slash command", "err", apiError("chat.postMessage", err))
		answer := tryAgainText
		var resp slackapi.SlackErrorResponse
		if errors.As(err, &resp) && notMemberErrors[resp.Err] {
			answer = notMemberText
		}
		return result{Status: http.StatusOK, Body: ephemeral{"ephemeral", answer.In(lang)}, Outcome: "not_started"}
	}
	at, ok := parseTS(ts)
	if !ok {
		at = c.cfg.Now()
	}
	in := bot.Inbound{Kind: bot.InFollow, Lang: lang}
	if text := strings.TrimSpace(PlainText(cmd.Text)); text != "" {
		in = bot.Inbound{Kind: bot.InText, Text: text, Lang: lang}
	}
	key := bot.Key{Channel: Name, User: address(cmd.ChannelID, ts)}
	return c.edge.Store(ctx, []bot.Event{{
		ID:      Name + ":cmd:" + cmd.TriggerID,
		Key:     key,
		In:      in,
		At:      at,
		Address: key.User,
		Handle:  handle{User: cmd.UserID}.encode(),
	}})
}

// How long and how many slash commands' trigger ids are remembered: longer than a signed
// request may be replayed (the signature window, either way).
const (
	commandMemory = 2 * signatureWindow
	maxCommands   = 10000
)

// firstCommand reports whether this process sees the slash command with trigger id for
// the first time within commandMemory, and remembers it.
func (c *Channel) firstCommand(trigger string) bool {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.commands[trigger]; ok && now.Sub(at) < commandMemory {
		return false
	}
	if c.commands == nil {
		c.commands = map[string]time.Time{}
	}
	if len(c.commands) >= maxCommands {
		for k, at := range c.commands {
			if now.Sub(at) >= commandMemory {
				delete(c.commands, k)
			}
		}
		if len(c.commands) >= maxCommands {
			c.commands = map[string]time.Time{} // a flood: start over
		}
	}
	c.commands[trigger] = now
	return true
}
