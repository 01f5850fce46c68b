package bot

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Mermaid returns a Mermaid state diagram of f with labels in lang: a state per node named
// by its title or question, and a transition per option, decision outcome and advice
// answer. Labels are escaped so that Mermaid renders any text.
func Mermaid(f *Flow, lang Lang) string {
	texts := f.Texts.withDefaults()
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %s\n", f.Start)
	for i := range f.Nodes {
		n := &f.Nodes[i]
		label := n.Title.In(lang)
		if label == "" {
			label = n.Text.In(lang)
		}
		if n.Kind == KindDecision {
			label = n.Func + "?"
		}
		label = fmt.Sprintf("%s [%s] %s", n.ID, n.Kind, shorten(label, 40))
		fmt.Fprintf(&b, "    state \"%s\" as %s\n", mermaidEscape(label), n.ID)
	}
	edge := func(from, to, label string) {
		fmt.Fprintf(&b, "    %s --> %s : %s\n", from, to, mermaidEscape(shorten(label, 30)))
	}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		for _, o := range n.Options {
			edge(n.ID, o.Next, o.Label.In(lang))
		}
		switch n.Kind {
		case KindInput:
			edge(n.ID, n.Next, n.Input)
		case KindDecision:
			for _, k := range sortedKeys(n.Branches) {
				edge(n.ID, n.Branches[k], k)
			}
		case KindAdvice:
			edge(n.ID, orDefault(f.Solved, "solved"), texts.SolvedYes.In(lang))
			notSolved := n.Next
			if notSolved == "" {
				notSolved = orDefault(f.Handoff, "handoff")
			}
			edge(n.ID, notSolved, texts.SolvedNo.In(lang))
		case KindHandoff, KindEnd:
			fmt.Fprintf(&b, "    %s --> [*]\n", n.ID)
		}
	}
	return b.String()
}

// mermaidEscaper replaces the characters that end or confuse a Mermaid label with Mermaid's
// entity codes.
var mermaidEscaper = strings.NewReplacer(
	"#", "#35;", "\"", "#quot;", ":", "#58;", ";", "#59;", "<", "#lt;", ">", "#gt;",
	"{", "#123;", "}", "#125;", "\n", " ", "\r", " ",
)

func mermaidEscape(s string) string { return mermaidEscaper.Replace(s) }

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
