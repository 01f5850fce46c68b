package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// barWidth is the width of a full bar in the text report, in characters.
const barWidth = 20

// maxUtterance is how many characters of an utterance a report shows.
const maxUtterance = 80

// timeLayout is how reports show times.
const timeLayout = "2006-01-02 15:04 MST"

// WriteText writes r as aligned plain text. Customer text is put on one line, with control
// characters (newlines, terminal escapes) replaced, so it cannot forge lines of the report.
func (r *Report) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "giftdesk report: %s – %s\n", r.Since.Format(timeLayout), r.Until.Format(timeLayout))
	fmt.Fprintf(b, "flow: %s (%s)\n\n", r.Flow.ID, oneLine(r.Flow.Title.In(r.Lang)))

	channels := make([]string, len(r.Channels))
	for i, c := range r.Channels {
		channels[i] = fmt.Sprintf("%s %d", c.Name, c.N)
	}
	fmt.Fprintf(b, "%-16s %6d  %s\n", "conversations", r.Conversations, strings.Join(channels, ", "))
	fmt.Fprintf(b, "%-16s %6d  %s  reached %q without a hand-off\n", "contained", r.Contained,
		percent(r.Containment(), r.Conversations), solvedNode(r))
	fmt.Fprintf(b, "%-16s %6d  %s  a ticket or a hand-off node\n", "handed off", r.HandedOff,
		percent(r.HandoffRate(), r.Conversations))
	if r.Rated > 0 {
		fmt.Fprintf(b, "%-16s %6.1f  of %d rated tickets\n", "average rating", r.AverageRating(), r.Rated)
	} else {
		fmt.Fprintf(b, "%-16s %6s  no rated tickets\n", "average rating", "-")
	}
	fmt.Fprintf(b, "%-16s %6d  lines, %d distinct\n", "not understood", r.Misses, r.Distinct)

	idWidth := len("node")
	for _, n := range r.Nodes {
		idWidth = max(idWidth, utf8.RuneCountInString(n.ID))
	}
	fmt.Fprintf(b, "\nfunnel: conversations that reached each node, and the node they stopped at\n")
	fmt.Fprintf(b, "  %-*s  %-8s  %7s  %5s  %7s\n", idWidth, "node", "kind", "reached", "", "stopped")
	for _, n := range r.Nodes {
		kind := string(n.Kind)
		if kind == "" {
			kind = "(gone)" // not in the flow any more
		}
		if !n.Recorded() {
			fmt.Fprintf(b, "  %-*s  %-8s  %7s  %5s  %7s\n", idWidth, n.ID, kind, "-", "", "-")
			continue
		}
		line := fmt.Sprintf("  %-*s  %-8s  %7d  %5s  %7d  %s", idWidth, n.ID, kind, n.Reached,
			percent(share(n.Reached, r.Conversations), r.Conversations), n.Stopped, bar(n.Reached, r.Conversations))
		fmt.Fprintln(b, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(b, "  (decision nodes are passed within a turn: transcripts do not record them)\n")

	fmt.Fprintf(b, "\ntickets: %d closed in the period or open now\n", r.Tickets)
	for _, c := range r.Outcomes {
		fmt.Fprintf(b, "  %6d  %s\n", c.N, c.Name)
	}

	fmt.Fprintf(b, "\nnot understood: the %d most frequent of %d\n", len(r.Unclear), r.Distinct)
	for _, c := range r.Unclear {
		fmt.Fprintf(b, "  %6d  %s\n", c.N, shorten(oneLine(c.Name), maxUtterance))
	}
	return b.Flush()
}

// solvedNode returns the flow's solved end.
func solvedNode(r *Report) string {
	if r.Flow.Solved != "" {
		return r.Flow.Solved
	}
	return "solved"
}

// percent formats a share as "33%", or "-" when there is nothing to share.
func percent(f float64, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

// bar draws n of total as a bar of up to barWidth blocks; any n > 0 gets at least one.
func bar(n, total int) string {
	if n <= 0 || total <= 0 {
		return ""
	}
	return strings.Repeat("█", max(1, n*barWidth/total))
}

// oneLine replaces control characters, line breaks included, with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// shorten cuts s to n characters, ending it with "…" if it was longer.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
