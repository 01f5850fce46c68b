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

// WriteText writes r as aligned plain text. Text from the store is put on one line, with
// control characters (newlines, terminal escapes) replaced, so that customer text cannot
// forge lines of the report. It returns w's errors.
func (r *Report) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	// line writes one line without trailing spaces.
	line := func(format string, args ...any) {
		fmt.Fprintln(b, strings.TrimRight(fmt.Sprintf(format, args...), " "))
	}
	line("giftdesk report: %s – %s", r.Since.Format(timeLayout), r.Until.Format(timeLayout))
	line("flow: %s (%s)\n", r.Flow.ID, oneLine(r.Flow.Title.In(r.Lang)))

	channels := make([]string, len(r.Channels))
	for i, c := range r.Channels {
		channels[i] = fmt.Sprintf("%s %d", oneLine(c.Name), c.N)
	}
	line("%-16s %6d  %s", "conversations", r.Conversations, strings.Join(channels, ", "))
	line("%-16s %6d  %s  reached %q without a hand-off", "contained", r.Contained,
		percent(r.Containment(), r.Conversations), solvedNode(r))
	line("%-16s %6d  %s  a ticket or a hand-off node", "handed off", r.HandedOff,
		percent(r.HandoffRate(), r.Conversations))
	if r.Rated > 0 {
		line("%-16s %6.1f  of %d rated tickets", "average rating", r.AverageRating(), r.Rated)
	} else {
		line("%-16s %6s  no rated tickets", "average rating", "-")
	}
	line("%-16s %6d  lines, %d distinct", "not understood", r.Misses, r.Distinct)

	idWidth := len("node")
	for _, n := range r.Nodes {
		idWidth = max(idWidth, utf8.RuneCountInString(oneLine(n.ID)))
	}
	line("\nfunnel: conversations that reached each node, and the node they stopped at")
	line("  %-*s  %-8s  %7s  %5s  %7s", idWidth, "node", "kind", "reached", "", "stopped")
	for _, n := range r.Nodes {
		kind := string(n.Kind)
		if kind == "" {
			kind = "(gone)" // not in the flow any more
		}
		if !n.Recorded() {
			line("  %-*s  %-8s  %7s  %5s  %7s", idWidth, oneLine(n.ID), kind, "-", "", "-")
			continue
		}
		line("  %-*s  %-8s  %7d  %5s  %7d  %s", idWidth, oneLine(n.ID), kind, n.Reached,
			percent(share(n.Reached, r.Conversations), r.Conversations), n.Stopped, bar(n.Reached, r.Conversations))
	}
	line("  (decision nodes are passed within a turn: transcripts do not record them)")

	line("\ntickets: %d closed in the period or open now", r.Tickets)
	for _, c := range r.Outcomes {
		line("  %6d  %s", c.N, oneLine(c.Name))
	}

	if d := r.Deliveries; d != nil {
		line("\nundelivered: %d failed and %d uncertain in the period; %d waiting now, %d of them parked",
			d.Failed, d.Uncertain, d.Waiting, d.Parked)
		line("  (uncertain: may have reached the customer, not sent again; parked: held until an operator")
		line("  fixes a revoked token or invites the bot; failed: never delivered)")
	}

	if r.Distinct == 0 {
		line("\nnot understood: nothing")
	} else {
		line("\nnot understood: the %d most frequent of %d distinct utterances", len(r.Unclear), r.Distinct)
	}
	for _, c := range r.Unclear {
		line("  %6d  %s", c.N, shorten(oneLine(c.Name), maxUtterance))
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
