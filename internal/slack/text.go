package slack

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack/slackutilsx"
)

// escape makes text safe to send to Slack: &, < and > become entities, so that no text of
// ours or a customer's can form a mention (<!channel>, <@U…>) or a link.
func escape(s string) string { return slackutilsx.EscapeMessage(s) }

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// unescape reverses escape.
func unescape(s string) string { return unescaper.Replace(s) }

// PlainText turns Slack message markup into plain text, for text that leaves Slack (the
// engine, a LINE customer reading an agent's answer): entities are decoded, "<@U123>"
// becomes "@U123" ("@name" when Slack supplied the name, as in "<@U123|name>"),
// "<#C123|general>" becomes "#general", "<!here>" becomes "@here", "<!subteam^S1|@team>"
// becomes "@team", "<!date^…|fallback>" its fallback, "<url|label>" becomes "label (url)"
// and "<url>" the URL. Other text is kept. PlainText is safe for concurrent use.
func PlainText(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(unescape(s[:i]))
		b.WriteString(markup(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	b.WriteString(unescape(s))
	return b.String()
}

// markup renders the inside of one <…> element.
func markup(m string) string {
	target, label, hasLabel := strings.Cut(m, "|")
	target, label = unescape(target), unescape(label)
	switch {
	case strings.HasPrefix(target, "@"): // a user
		if hasLabel && label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return target
	case strings.HasPrefix(target, "#"): // a channel
		if hasLabel && label != "" {
			return "#" + strings.TrimPrefix(label, "#")
		}
		return target
	case strings.HasPrefix(target, "!"): // a special mention, a user group or a date
		if hasLabel && label != "" {
			return label
		}
		name, _, _ := strings.Cut(target[1:], "^")
		return "@" + name
	}
	switch {
	case label != "" && "mailto:"+label == target:
		return label // <mailto:a@example.com|a@example.com>
	case label == "" || label == target:
		return target
	}
	return label + " (" + target + ")"
}

// parseTS turns a Slack timestamp ("1712345678.123456") into a time; ok is false when s
// is not one.
func parseTS(s string) (time.Time, bool) {
	secs, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	var usec int64
	if frac != "" {
		frac = (frac + "000000")[:6]
		if usec, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, false
		}
	}
	return time.Unix(sec, usec*1000).UTC(), true
}

// truncateRunes cuts s to at most n characters, marking a cut with an ellipsis.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// truncateBytes cuts s to at most n bytes, never inside a character.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// validID reports whether s looks like a Slack id (U…, C…, W…): upper-case letters and
// digits only, so it can be put into markup such as "<@U123>".
func validID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
