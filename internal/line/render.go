package line

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/bot"
)

// LINE's limits on what a message may hold.
const (
	maxTextUnits      = 5000 // UTF-16 code units in a text message
	maxAltTextRunes   = 400  // characters of a Flex message's altText
	maxQuickReplies   = 13
	maxLabelRunes     = 20
	maxPostbackBytes  = 300
	maxMessagesPerReq = 5
)

// render turns channel-neutral messages into LINE messages: text with quick-reply buttons
// for questions, a Flex bubble for advice. A text longer than LINE's 5,000 UTF-16 units (an
// agent's long reply) becomes several text messages, nothing cut; Send pushes more than five
// messages in several requests. Quick replies are shown by LINE only on the last message,
// so a question's choices go on the last message of the batch.
func render(msgs []bot.Message) []messaging_api.MessageInterface {
	out := make([]messaging_api.MessageInterface, 0, len(msgs))
	var quick *messaging_api.QuickReply
	for _, m := range msgs {
		switch m.Kind {
		case bot.MsgSteps:
			out = append(out, stepsBubble(m))
		default:
			for _, part := range splitUTF16(m.Text, maxTextUnits) {
				out = append(out, &messaging_api.TextMessage{Text: part})
			}
		}
		if len(m.Choices) > 0 {
			quick = quickReply(m.Choices)
		}
	}
	if quick != nil && len(out) > 0 {
		switch last := out[len(out)-1].(type) {
		case *messaging_api.TextMessage:
			last.QuickReply = quick
		case *messaging_api.FlexMessage:
			last.QuickReply = quick
		}
	}
	return out
}

// quickReply makes postback buttons; displayText shows the customer's choice in the chat.
// Each item carries "type": "action", which LINE requires and the SDK leaves to the caller.
func quickReply(choices []bot.Choice) *messaging_api.QuickReply {
	items := make([]messaging_api.QuickReplyItem, 0, min(len(choices), maxQuickReplies))
	for _, c := range choices[:min(len(choices), maxQuickReplies)] {
		label := truncateRunes(c.Label, maxLabelRunes)
		items = append(items, messaging_api.QuickReplyItem{
			Type: "action",
			Action: &messaging_api.PostbackAction{
				Label:       label,
				Data:        truncateBytes(c.Data, maxPostbackBytes),
				DisplayText: c.Label,
			},
		})
	}
	return &messaging_api.QuickReply{Items: items}
}

// stepsBubble renders advice as a Flex bubble: the title, the introduction, the numbered
// steps and the note. Its altText (shown in notifications and old clients) is the title.
func stepsBubble(m bot.Message) *messaging_api.FlexMessage {
	body := []messaging_api.FlexComponentInterface{
		&messaging_api.FlexText{Text: m.Title, Weight: messaging_api.FlexTextWEIGHT_BOLD, Size: "lg", Wrap: true},
	}
	if m.Text != "" {
		body = append(body, &messaging_api.FlexText{Text: m.Text, Wrap: true, Size: "sm", Margin: "md", Color: "#555555"})
	}
	for i, s := range m.Steps {
		body = append(body, &messaging_api.FlexBox{
			Layout: messaging_api.FlexBoxLAYOUT_HORIZONTAL, Margin: "md", Spacing: "sm",
			Contents: []messaging_api.FlexComponentInterface{
				&messaging_api.FlexText{Text: strconv.Itoa(i+1) + ".", Flex: 0, Weight: messaging_api.FlexTextWEIGHT_BOLD, Size: "sm"},
				&messaging_api.FlexText{Text: s, Flex: 1, Wrap: true, Size: "sm"},
			},
		})
	}
	if m.Note != "" {
		body = append(body, &messaging_api.FlexText{Text: m.Note, Wrap: true, Size: "xs", Margin: "lg", Color: "#888888"})
	}
	return &messaging_api.FlexMessage{
		AltText: truncateRunes(m.Title, maxAltTextRunes),
		Contents: &messaging_api.FlexBubble{
			Body: &messaging_api.FlexBox{Layout: messaging_api.FlexBoxLAYOUT_VERTICAL, Contents: body},
		},
	}
}

// splitUTF16 splits s into parts of at most n UTF-16 code units (LINE counts text that
// way), never inside a character, after the last line break or else the last space of a
// part when one is in its last fifth. The parts put together are s.
func splitUTF16(s string, n int) []string {
	var parts []string
	for {
		units, cut, soft := 0, len(s), -1
		for i, r := range s {
			units += utf16.RuneLen(r)
			if units > n {
				cut = i
				break
			}
			if units > n*4/5 && (r == '\n' || r == ' ' || r == '\u3000') && (soft < 0 || r == '\n' || s[soft-1] != '\n') {
				soft = i + utf8.RuneLen(r)
			}
		}
		if cut == len(s) {
			return append(parts, s)
		}
		if soft > 0 {
			cut = soft
		}
		parts, s = append(parts, s[:cut]), s[cut:]
	}
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
