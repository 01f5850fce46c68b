package report

import (
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"

	"github.com/giftdesk/giftdesk/bot"
)

// WriteHTML writes r as one self-contained HTML page: the figures, the funnel as a table
// with bars, tickets, the utterances not understood, and the flow diagram with each
// node's traffic as Mermaid source. The page loads Mermaid from a CDN to draw the diagram;
// everything else, the numbers included, reads without any fetch. Every text is escaped.
// It returns w's errors wrapped.
func (r *Report) WriteHTML(w io.Writer) error {
	v := htmlView{R: r, Diagram: r.Mermaid(), Solved: solvedNode(r)}
	v.Title = fmt.Sprintf("giftdesk report %s – %s", r.Since.Format(timeLayout), r.Until.Format(timeLayout))
	v.FlowTitle = r.Flow.Title.In(r.Lang)
	v.Containment = percent(r.Containment(), r.Conversations)
	v.HandoffRate = percent(r.HandoffRate(), r.Conversations)
	if r.Rated > 0 {
		v.Rating = fmt.Sprintf("%.1f", r.AverageRating())
	}
	labels := nodeLabels(r.Flow, r.Lang)
	for _, n := range r.Nodes {
		kind := string(n.Kind)
		if kind == "" {
			kind = "(gone)"
		}
		row := htmlNode{Node: n, Kind: kind, Label: labels[n.ID]}
		if n.Recorded() {
			row.Percent = percent(share(n.Reached, r.Conversations), r.Conversations)
			if r.Conversations > 0 {
				row.Bar = 100 * n.Reached / r.Conversations
			}
		}
		v.Nodes = append(v.Nodes, row)
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// htmlView is what the page template shows.
type htmlView struct {
	R                        *Report
	Title, FlowTitle, Solved string
	Containment, HandoffRate string
	Rating                   string // empty when nothing was rated
	Nodes                    []htmlNode
	Diagram                  string
}

type htmlNode struct {
	Node
	Kind, Label, Percent string
	Bar                  int // the bar's width, in percent of the column
}

// nodeLabels returns each node's label in lang, as the diagram shows it.
func nodeLabels(f *bot.Flow, lang bot.Lang) map[string]string {
	labels := make(map[string]string, len(f.Nodes))
	for _, n := range f.Nodes {
		label := n.Title.In(lang)
		if label == "" {
			label = n.Text.In(lang)
		}
		if n.Kind == bot.KindDecision {
			label = n.Func + "?"
		}
		labels[n.ID] = shorten(strings.Join(strings.Fields(label), " "), 60)
	}
	return labels
}

// stateLine matches a state declaration of bot.Mermaid's output: `state "label" as id`.
var stateLine = regexp.MustCompile(`^(\s*state ")(.*)(" as )(\S+)$`)

// Mermaid returns the flow's Mermaid state diagram (bot.Mermaid) with each recorded
// node's traffic added to its label, nodes no conversation reached shown as "cold", and
// nodes where conversations stopped before an end shown as "dropped".
func (r *Report) Mermaid() string {
	nodes := make(map[string]Node, len(r.Nodes))
	for _, n := range r.Nodes {
		nodes[n.ID] = n
	}
	var b strings.Builder
	var cold, dropped []string
	for line := range strings.Lines(bot.Mermaid(r.Flow, r.Lang)) {
		line = strings.TrimSuffix(line, "\n")
		m := stateLine.FindStringSubmatch(line)
		if m == nil {
			b.WriteString(line + "\n")
			continue
		}
		n, ok := nodes[m[4]]
		if !ok || !n.Recorded() {
			b.WriteString(line + "\n")
			continue
		}
		fmt.Fprintf(&b, "%s%s — %d reached, %d stopped%s%s\n", m[1], m[2], n.Reached, n.Stopped, m[3], m[4])
		switch {
		case n.Reached == 0:
			cold = append(cold, n.ID)
		case n.Stopped > 0 && n.Kind != bot.KindEnd && n.Kind != bot.KindHandoff:
			dropped = append(dropped, n.ID)
		}
	}
	b.WriteString("    classDef cold fill:#f3f3f3,stroke:#bbb,color:#888\n")
	b.WriteString("    classDef dropped fill:#fde8e8,stroke:#c0392b\n")
	for _, id := range cold {
		fmt.Fprintf(&b, "    class %s cold\n", id)
	}
	for _, id := range dropped {
		fmt.Fprintf(&b, "    class %s dropped\n", id)
	}
	return b.String()
}

// page is the HTML report. It is well-formed XML as well as HTML (void elements are
// closed, the script and style hold no '<' or '&'), so that tests can check its structure
// with encoding/xml.
var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; }
th, td { padding: 0.2em 0.6em; text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.barcell { width: 16em; }
div.bar { background: #4a7bd0; height: 0.9em; min-width: 1px; }
tr.cold td { color: #999; }
pre.mermaid { background: #fafafa; border: 1px solid #eee; padding: 1em; overflow: auto; }
.note { color: #666; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Flow <code>{{.R.Flow.ID}}</code>: {{.FlowTitle}}</p>

<h2>Summary</h2>
<table>
<tr><th>Conversations</th><td class="n">{{.R.Conversations}}</td><td>{{range $i, $c := .R.Channels}}{{if $i}}, {{end}}{{$c.Name}} {{$c.N}}{{end}}</td></tr>
<tr><th>Contained</th><td class="n">{{.R.Contained}}</td><td>{{.Containment}} reached <code>{{.Solved}}</code> without a hand-off</td></tr>
<tr><th>Handed off</th><td class="n">{{.R.HandedOff}}</td><td>{{.HandoffRate}} a ticket or a hand-off node</td></tr>
<tr><th>Average rating</th><td class="n">{{if .Rating}}{{.Rating}}{{else}}-{{end}}</td><td>{{if .Rating}}of {{.R.Rated}} rated tickets{{else}}no rated tickets{{end}}</td></tr>
<tr><th>Not understood</th><td class="n">{{.R.Misses}}</td><td>lines, {{.R.Distinct}} distinct</td></tr>
</table>

<h2>Funnel</h2>
<p class="note">Conversations that reached each node, and the node they stopped at. Decision nodes are passed within a turn: transcripts do not record them.</p>
<table>
<thead><tr><th>Node</th><th>Kind</th><th>Label</th><th class="n">Reached</th><th class="n">%</th><th></th><th class="n">Stopped</th></tr></thead>
<tbody>
{{range .Nodes}}<tr{{if and .Recorded (eq .Reached 0)}} class="cold"{{end}}><td><code>{{.ID}}</code></td><td>{{.Kind}}</td><td>{{.Label}}</td>{{if .Recorded}}<td class="n">{{.Reached}}</td><td class="n">{{.Percent}}</td><td class="barcell">{{if .Reached}}<div class="bar" style="width: {{.Bar}}%"></div>{{end}}</td><td class="n">{{.Stopped}}</td>{{else}}<td class="n">-</td><td></td><td></td><td class="n">-</td>{{end}}</tr>
{{end}}</tbody>
</table>

<h2>Tickets</h2>
<p class="note">{{.R.Tickets}} closed in the period or open now.</p>
<table>
<thead><tr><th>Outcome</th><th class="n">Tickets</th></tr></thead>
<tbody>
{{range .R.Outcomes}}<tr><td>{{.Name}}</td><td class="n">{{.N}}</td></tr>
{{end}}</tbody>
</table>

{{with .R.Deliveries}}<h2>Undelivered</h2>
<p class="note">Failed: never delivered. Uncertain: may have reached the customer, not sent again. Parked: held until an operator fixes a revoked token or invites the bot.</p>
<table>
<tbody>
<tr><td>failed in the period</td><td class="n">{{.Failed}}</td></tr>
<tr><td>uncertain in the period</td><td class="n">{{.Uncertain}}</td></tr>
<tr><td>waiting now</td><td class="n">{{.Waiting}}</td></tr>
<tr><td>parked now</td><td class="n">{{.Parked}}</td></tr>
</tbody>
</table>
{{end}}
<h2>Not understood</h2>
<p class="note">The {{len .R.Unclear}} most frequent of {{.R.Distinct}} distinct utterances, grouped regardless of case and width; codes are masked.</p>
<table>
<thead><tr><th class="n">Times</th><th>Utterance</th></tr></thead>
<tbody>
{{range .R.Unclear}}<tr><td class="n">{{.N}}</td><td>{{.Name}}</td></tr>
{{end}}</tbody>
</table>

<h2>Flow diagram</h2>
<p class="note">Drawn by Mermaid when it can be loaded; otherwise its source is shown, and the funnel above has the same numbers.</p>
<pre class="mermaid">{{.Diagram}}</pre>
<script type="module">
import mermaid from "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs";
mermaid.initialize({ startOnLoad: true, securityLevel: "strict" });
</script>
</body>
</html>
`))
