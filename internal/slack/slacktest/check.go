package slacktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Block Kit limits, as Slack documents them.
const (
	maxBlocks        = 50
	maxSectionText   = 3000
	maxFields        = 10
	maxFieldText     = 2000
	maxHeaderText    = 150
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxActionID      = 255
	maxActionsElems  = 25
	maxContextElems  = 10
	maxContextText   = 3000
	maxMessageLength = 40000
)

type textObject struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Verbatim bool   `json:"verbatim"`
}

type blockJSON struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *textObject       `json:"text"`
	Fields   []textObject      `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
}

type buttonJSON struct {
	Type     string      `json:"type"`
	ActionID string      `json:"action_id"`
	Value    string      `json:"value"`
	Text     *textObject `json:"text"`
	Confirm  *struct {
		Title   *textObject `json:"title"`
		Text    *textObject `json:"text"`
		Confirm *textObject `json:"confirm"`
		Deny    *textObject `json:"deny"`
	} `json:"confirm"`
}

// CheckBlocks returns what Slack would refuse in a message's blocks (beyond its limits,
// malformed) and what it would show wrongly (mrkdwn with unescaped &, < or >, a broadcast
// mention, mrkdwn that is not verbatim and so may turn "@channel" into a mention); none
// when they are fine.
func CheckBlocks(raw []byte) []string {
	var blocks []blockJSON
	var rawBlocks []json.RawMessage
	if json.Unmarshal(raw, &blocks) != nil || json.Unmarshal(raw, &rawBlocks) != nil {
		return []string{"blocks: not a JSON array of blocks"}
	}
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if len(blocks) > maxBlocks {
		add("%d blocks, more than %d", len(blocks), maxBlocks)
	}
	actionIDs := map[string]bool{}
	blockIDs := map[string]bool{}
	for i, b := range blocks {
		if b.BlockID != "" {
			if blockIDs[b.BlockID] {
				add("block %d: duplicate block_id %q", i, b.BlockID)
			}
			blockIDs[b.BlockID] = true
		}
		switch b.Type {
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				add("block %d: section without text", i)
			}
			if b.Text != nil {
				probs = append(probs, checkTextObject(fmt.Sprintf("block %d", i), *b.Text, maxSectionText)...)
			}
			if len(b.Fields) > maxFields {
				add("block %d: %d fields, more than %d", i, len(b.Fields), maxFields)
			}
			for j, f := range b.Fields {
				probs = append(probs, checkTextObject(fmt.Sprintf("block %d field %d", i, j), f, maxFieldText)...)
			}
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				add("block %d: header needs plain_text", i)
			} else {
				probs = append(probs, checkTextObject(fmt.Sprintf("block %d", i), *b.Text, maxHeaderText)...)
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > maxContextElems {
				add("block %d: context with %d elements", i, len(b.Elements))
			}
			for j, e := range b.Elements {
				var t textObject
				if json.Unmarshal(e, &t) != nil || (t.Type != "mrkdwn" && t.Type != "plain_text") {
					add("block %d element %d: not a text object", i, j)
					continue
				}
				probs = append(probs, checkTextObject(fmt.Sprintf("block %d element %d", i, j), t, maxContextText)...)
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > maxActionsElems {
				add("block %d: actions with %d elements", i, len(b.Elements))
			}
			for j, e := range b.Elements {
				var btn buttonJSON
				if json.Unmarshal(e, &btn) != nil || btn.Type != "button" {
					add("block %d element %d: not a button", i, j)
					continue
				}
				where := fmt.Sprintf("block %d button %d", i, j)
				switch {
				case btn.Text == nil || btn.Text.Type != "plain_text":
					add("%s: text must be plain_text", where)
				case btn.Text.Text == "" || utf8.RuneCountInString(btn.Text.Text) > maxButtonText:
					add("%s: text of %d characters", where, utf8.RuneCountInString(btn.Text.Text))
				}
				if len(btn.Value) > maxButtonValue {
					add("%s: value of %d bytes", where, len(btn.Value))
				}
				if c := btn.Confirm; c != nil {
					parts := []struct {
						name  string
						t     *textObject
						limit int
					}{{"title", c.Title, 100}, {"text", c.Text, 300}, {"confirm", c.Confirm, 30}, {"deny", c.Deny, 30}}
					for _, p := range parts {
						if p.t == nil || p.t.Type != "plain_text" {
							add("%s: confirm %s must be plain_text", where, p.name)
							continue
						}
						probs = append(probs, checkTextObject(where+" confirm "+p.name, *p.t, p.limit)...)
					}
				}
				if btn.ActionID == "" || len(btn.ActionID) > maxActionID || actionIDs[btn.ActionID] {
					add("%s: missing, long or duplicate action_id %q", where, btn.ActionID)
				}
				actionIDs[btn.ActionID] = true
			}
		case "input":
			var in struct {
				Label   *textObject     `json:"label"`
				Element json.RawMessage `json:"element"`
			}
			if json.Unmarshal(rawBlocks[i], &in) != nil || in.Label == nil || in.Label.Type != "plain_text" || len(in.Element) == 0 {
				add("block %d: input needs a plain_text label and an element", i)
			} else {
				probs = append(probs, checkTextObject(fmt.Sprintf("block %d label", i), *in.Label, 2000)...)
			}
		case "divider":
		default:
			add("block %d: unexpected type %q", i, b.Type)
		}
	}
	return probs
}

func checkTextObject(where string, t textObject, limit int) []string {
	var probs []string
	n := utf8.RuneCountInString(t.Text)
	if strings.TrimSpace(t.Text) == "" || n > limit {
		probs = append(probs, fmt.Sprintf("%s: text of %d characters (1 to %d)", where, n, limit))
	}
	if t.Type == "mrkdwn" {
		if !t.Verbatim {
			probs = append(probs, where+": mrkdwn not verbatim")
		}
		for _, p := range CheckText(t.Text) {
			probs = append(probs, where+": "+p)
		}
	}
	return probs
}

// CheckText returns what is wrong with message text (mrkdwn): an & that is not an entity,
// a < or > that is not part of a user, channel or link reference, and any broadcast
// mention (<!channel>, <!here>, <!everyone>) or user-group mention.
func CheckText(s string) []string {
	var probs []string
	if utf8.RuneCountInString(s) > maxMessageLength {
		probs = append(probs, "text too long")
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			rest := s[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				probs = append(probs, fmt.Sprintf("unescaped & at byte %d", i))
			}
		case '>':
			probs = append(probs, fmt.Sprintf("unescaped > at byte %d", i))
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				probs = append(probs, fmt.Sprintf("unescaped < at byte %d", i))
				continue
			}
			ref := s[i+1 : i+j]
			switch {
			case strings.HasPrefix(ref, "!"):
				probs = append(probs, fmt.Sprintf("broadcast or group mention <%s>", ref))
			case strings.HasPrefix(ref, "@"), strings.HasPrefix(ref, "#"),
				strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"), strings.HasPrefix(ref, "mailto:"):
			default:
				probs = append(probs, fmt.Sprintf("unescaped < at byte %d", i))
			}
			i += j
		}
	}
	return probs
}
