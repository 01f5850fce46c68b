package slack

import (
	"strconv"
	"strings"
	"unicode/utf16"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// Slack's limits on what a message may hold.
const (
	maxBlocks       = 50   // blocks in a message
	maxSectionText  = 3000 // characters of a section's (or a context element's) text
	maxHeaderText   = 150  // characters of a header
	maxButtonText   = 75   // characters of a button's label
	maxButtonValue  = 2000 // bytes of a button's value
	maxActionsBlock = 25   // elements in an actions block
	maxFallbackText = 3000 // characters of the notification text we send (Slack allows 40,000)
)

// actionPrefix starts the action_id of every button the channel renders, so that a click
// on something else is recognised and ignored.
const actionPrefix = "giftdesk-choice-"

// post is one Slack message to be posted.
type post struct {
	blocks []slackapi.Block
	text   string // the notification and screen-reader text, escaped
	// id names the post within its delivery, the same on every attempt (see once.go).
	id string
}

// render turns one turn's channel-neutral messages into as few Slack messages as Slack's
// limits allow: usually one, so that a turn is posted (and, after a crash, re-posted) as a
// whole. Questions are a section and an actions block with one button per choice; advice
// is a header, its introduction, a numbered list and a context note. All text is escaped
// and sent verbatim, so it can never mention anyone.
func render(msgs []bot.Message) []post {
	var (
		posts  []post
		cur    post
		plains []string
		button int
	)
	flush := func() {
		if len(cur.blocks) > 0 {
			cur.text = escape(truncateRunes(strings.Join(plains, "\n"), maxFallbackText))
			posts = append(posts, cur)
		}
		cur, plains = post{}, nil
	}
	for i, m := range msgs {
		var group []slackapi.Block
		plain := m.Text
		if m.Kind == bot.MsgSteps {
			if m.Title != "" {
				group = append(group, slackapi.NewHeaderBlock(
					slackapi.NewTextBlockObject(slackapi.PlainTextType, truncateRunes(m.Title, maxHeaderText), true, false)))
				plain = m.Title
			}
			group = append(group, sections(m.Text)...)
			lines := make([]string, len(m.Steps))
			for j, s := range m.Steps {
				lines[j] = strconv.Itoa(j+1) + ". " + s
			}
			group = append(group, sections(strings.Join(lines, "\n"))...)
			for _, chunk := range splitText(m.Note, maxSectionText) {
				group = append(group, slackapi.NewContextBlock("", mrkdwn(chunk)))
			}
			if i < len(msgs)-1 {
				group = append(group, slackapi.NewDividerBlock())
			}
		} else {
			group = append(group, sections(m.Text)...)
		}
		for start := 0; start < len(m.Choices); start += maxActionsBlock {
			var elems []slackapi.BlockElement
			for _, ch := range m.Choices[start:min(start+maxActionsBlock, len(m.Choices))] {
				button++
				elems = append(elems, slackapi.NewButtonBlockElement(
					actionPrefix+strconv.Itoa(button),
					truncateBytes(ch.Data, maxButtonValue),
					slackapi.NewTextBlockObject(slackapi.PlainTextType, truncateRunes(ch.Label, maxButtonText), true, false)))
			}
			group = append(group, slackapi.NewActionBlock("", elems...))
		}
		if len(group) == 0 {
			continue
		}
		if len(cur.blocks)+len(group) > maxBlocks {
			flush()
		}
		for len(group) > maxBlocks { // one message too big for a Slack message of its own
			cur.blocks = group[:maxBlocks]
			plains = append(plains, plain)
			flush()
			group = group[maxBlocks:]
		}
		cur.blocks = append(cur.blocks, group...)
		if plain != "" {
			plains = append(plains, plain)
		}
	}
	flush()
	return posts
}

// mrkdwn is escaped text in a mrkdwn object marked verbatim, so that Slack does not turn
// "@channel" or a channel name into a mention.
func mrkdwn(plain string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, escape(plain), false, true)
}

// sections returns text as section blocks, split where it exceeds a section's limit.
func sections(plain string) []slackapi.Block {
	var out []slackapi.Block
	for _, chunk := range splitText(plain, maxSectionText) {
		out = append(out, slackapi.NewSectionBlock(mrkdwn(chunk), nil, nil))
	}
	return out
}

// splitText splits plain text into chunks whose escaped form has at most max characters
// (counted in UTF-16 code units, the stricter of the ways Slack might count), cutting at
// the last line break that fits where there is one. Chunks that are only white space are
// dropped: Slack refuses an empty section.
func splitText(plain string, max int) []string {
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	start, size, lastNL := 0, 0, -1
	for i, r := range plain {
		cost := utf16.RuneLen(r)
		switch r {
		case '&':
			cost = len("&amp;")
		case '<', '>':
			cost = len("&lt;")
		}
		if size+cost > max {
			if lastNL > start {
				add(plain[start:lastNL])
				start = lastNL + 1
			} else {
				add(plain[start:i])
				start = i
			}
			size = escapedSize(plain[start:i])
			lastNL = -1
		}
		size += cost
		if r == '\n' {
			lastNL = i
		}
	}
	add(plain[start:])
	return out
}

func escapedSize(s string) int {
	n := 0
	for _, r := range s {
		switch r {
		case '&':
			n += len("&amp;")
		case '<', '>':
			n += len("&lt;")
		default:
			n += utf16.RuneLen(r)
		}
	}
	return n
}

// answered is the line that replaces a question's buttons once one was pressed.
func answered(label, user string) *slackapi.ContextBlock {
	text := "✅ *" + escape(truncateRunes(label, maxButtonText)) + "*"
	if validID(user) {
		text += " — <@" + user + ">"
	}
	return slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, true))
}
