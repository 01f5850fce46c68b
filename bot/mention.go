package bot

import "strings"

// The desk's text for agents names agents by id, in a form no channel gives meaning to:
// MentionAgent writes the reference, and the channel that shows the text renders each one
// natively with RenderMentions (Slack: a user mention). The core writes no channel's
// markup.
const (
	mentionOpen  = "@{"
	mentionClose = "}"
)

// MentionAgent returns the reference to agent id that the desk puts into its text.
func MentionAgent(id string) string { return mentionOpen + id + mentionClose }

// RenderMentions returns text with each reference MentionAgent wrote replaced by
// render(id). It is for the desk's own text: a customer's text may contain what looks like
// a reference.
func RenderMentions(text string, render func(id string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, mentionOpen)
		if i < 0 {
			break
		}
		j := strings.Index(text[i+len(mentionOpen):], mentionClose)
		if j < 0 {
			break
		}
		id := text[i+len(mentionOpen) : i+len(mentionOpen)+j]
		b.WriteString(text[:i])
		if id == "" || strings.ContainsAny(id, " \n"+mentionOpen) {
			b.WriteString(text[i : i+len(mentionOpen)])
			text = text[i+len(mentionOpen):]
			continue
		}
		b.WriteString(render(id))
		text = text[i+len(mentionOpen)+j+len(mentionClose):]
	}
	b.WriteString(text)
	return b.String()
}
