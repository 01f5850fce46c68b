package bot

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits a flow must respect so that every channel can render it (LINE is the tightest).
const (
	MaxOptions     = 13   // quick-reply items per message
	MaxLabelRunes  = 20   // characters in a quick-reply or button label
	MaxTextUnits   = 5000 // UTF-16 code units in a text message
	minOptions     = 2
	maxPostbackLen = 300
)

// Validate returns every problem of f: missing or misplaced fields, dangling references,
// unknown functions, decisions that do not branch on every outcome, options over LINE's
// limits, missing translations, nodes unreachable from the start, nodes from which no
// end or handoff can be reached, and FAQ entries with a duplicate id or one naming a node
// or intent, a missing translation, a section no node covers, a question another entry
// also asks, or an answer over LINE's text limit. An empty result means f can be compiled.
func Validate(f *Flow, funcs Funcs) []Problem {
	v := &validator{f: f, funcs: funcs, ids: map[string]*Node{}}
	v.run()
	return v.probs
}

type validator struct {
	f     *Flow
	funcs Funcs
	ids   map[string]*Node
	probs []Problem
}

func (v *validator) add(node, format string, args ...any) {
	v.probs = append(v.probs, Problem{Node: node, Msg: fmt.Sprintf(format, args...)})
}

// text checks that a text exists in every language (or, when optional, in none).
func (v *validator) text(node, field string, t Text, required bool) {
	switch {
	case t.JA == "" && t.EN == "":
		if required {
			v.add(node, "%s is missing", field)
		}
	case t.JA == "":
		v.add(node, "%s: missing translation ja", field)
	case t.EN == "":
		v.add(node, "%s: missing translation en", field)
	}
}

func (v *validator) ref(node, field, target string) {
	if target == "" {
		v.add(node, "%s is missing", field)
		return
	}
	if _, ok := v.ids[target]; !ok {
		v.add(node, "%s: unknown node %q", field, target)
	}
}

func (v *validator) run() {
	f := v.f
	if f.ID == "" {
		v.add("", "flow id is missing")
	}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		switch {
		case n.ID == "":
			v.add("", "node #%d has no id", i+1)
		case v.ids[n.ID] != nil:
			v.add(n.ID, "duplicate node id")
		default:
			v.ids[n.ID] = n
		}
	}
	v.ref("", "start", f.Start)
	for name, id := range map[string]string{"solved": orDefault(f.Solved, "solved"), "handoff": orDefault(f.Handoff, "handoff")} {
		n, ok := v.ids[id]
		switch {
		case !ok:
			v.add("", "%s: no node %q (an end node for %s)", name, id, name)
		case name == "solved" && n.Kind != KindEnd:
			v.add(id, "the solved node must be of kind end")
		case name == "handoff" && n.Kind != KindHandoff:
			v.add(id, "the handoff node must be of kind handoff")
		}
	}
	texts := f.Texts
	for _, t := range texts.fields() {
		v.text("", "texts", *t, false)
	}
	v.facts()
	v.rules()
	intentIDs := map[string]bool{}
	for _, in := range f.Intents {
		if intentIDs[in.ID] {
			v.add("", "intent %q: duplicate id", in.ID)
		}
		intentIDs[in.ID] = true
		v.ref("", fmt.Sprintf("intent %q: target", in.ID), in.Target)
		if len(in.Synonyms.JA) == 0 || len(in.Synonyms.EN) == 0 {
			v.add("", "intent %q: needs synonyms in ja and en", in.ID)
		}
	}
	for i := range f.Nodes {
		v.node(&f.Nodes[i])
	}
	v.faqs(intentIDs)
	if len(v.probs) == 0 {
		v.graph()
	}
}

func (v *validator) node(n *Node) {
	id := n.ID
	// Fields that only some kinds may have.
	has := map[string]bool{
		"options": len(n.Options) > 0, "input": n.Input != "", "var": n.Var != "", "hint": !n.Hint.IsZero(),
		"func": n.Func != "", "branches": len(n.Branches) > 0, "title": !n.Title.IsZero(),
		"steps": len(n.Steps) > 0, "note": !n.Note.IsZero(), "next": n.Next != "", "reason": n.Reason != "",
		"text": !n.Text.IsZero(),
	}
	allowed := map[NodeKind][]string{
		KindQuestion: {"text", "options"},
		KindInput:    {"text", "options", "input", "var", "hint", "next"},
		KindDecision: {"func", "branches"},
		KindAdvice:   {"text", "title", "steps", "note", "next"},
		KindHandoff:  {"text", "reason"},
		KindEnd:      {"text"},
	}
	fields, ok := allowed[n.Kind]
	if !ok {
		v.add(id, "unknown kind %q (want question, input, decision, advice, handoff or end)", n.Kind)
		return
	}
	for _, name := range []string{"text", "options", "input", "var", "hint", "func", "branches", "title", "steps", "note", "next", "reason"} {
		if has[name] && !slices.Contains(fields, name) {
			v.add(id, "a %s node has no %s", n.Kind, name)
		}
	}
	v.text(id, "text", n.Text, n.Kind != KindDecision && n.Kind != KindAdvice)
	switch n.Kind {
	case KindQuestion:
		if len(n.Options) < minOptions {
			v.add(id, "a question needs at least %d options, has %d", minOptions, len(n.Options))
		}
		v.options(n)
	case KindInput:
		if _, ok := v.funcs.Inputs[n.Input]; !ok {
			v.add(id, "unknown input %q", n.Input)
		}
		if n.Var == "" {
			v.add(id, "var is missing")
		}
		v.text(id, "hint", n.Hint, true)
		v.ref(id, "next", n.Next)
		v.options(n)
	case KindDecision:
		d, ok := v.funcs.Decisions[n.Func]
		if !ok {
			v.add(id, "unknown decision func %q", n.Func)
			break
		}
		for _, o := range d.Outcomes {
			if _, ok := n.Branches[o]; !ok {
				v.add(id, "no branch for outcome %q of %s", o, n.Func)
			}
		}
		for _, o := range sortedKeys(n.Branches) {
			if !slices.Contains(d.Outcomes, o) {
				v.add(id, "branch %q is not an outcome of %s (outcomes: %v)", o, n.Func, d.Outcomes)
			}
			v.ref(id, "branch "+o, n.Branches[o])
		}
	case KindAdvice:
		v.text(id, "title", n.Title, true)
		if len(n.Steps) == 0 {
			v.add(id, "advice needs at least one step")
		}
		for i, s := range n.Steps {
			v.text(id, fmt.Sprintf("step %d", i+1), s, true)
		}
		v.text(id, "note", n.Note, false)
		if n.Next != "" {
			v.ref(id, "next", n.Next)
		}
	}
}

// faqs checks the FAQ entries: ids that are unique and name no node or intent, questions
// and text in every language, translated steps, a section that the nodes use or a
// sub-section of one ("3-1-2" under "3-1"; any section when no node names one), no
// question shared by two entries, and an answer that fits one LINE text message.
func (v *validator) faqs(intentIDs map[string]bool) {
	sections := map[string]bool{}
	for _, n := range v.f.Nodes {
		if n.Section != "" {
			sections[n.Section] = true
		}
	}
	ids := map[string]bool{}
	askedBy := map[string]int{} // lower-cased question -> index of the entry asking it
	for i, q := range v.f.FAQ {
		where := fmt.Sprintf("faq %q", q.ID)
		switch {
		case q.ID == "":
			where = fmt.Sprintf("faq #%d", i+1)
			v.add("", "%s has no id", where)
		case ids[q.ID]:
			v.add("", "%s: duplicate id", where)
		case v.ids[q.ID] != nil:
			v.add("", "%s: id is also a node id", where)
		case intentIDs[q.ID]:
			v.add("", "%s: id is also an intent id", where)
		}
		ids[q.ID] = true
		switch {
		case q.Section == "":
			v.add("", "%s: section is missing", where)
		case len(sections) > 0 && !coveredSection(q.Section, sections):
			v.add("", "%s: section %q is not a section of any node (nor a sub-section of one)", where, q.Section)
		}
		for _, l := range []struct {
			lang  Lang
			words []string
		}{{Japanese, q.Questions.JA}, {English, q.Questions.EN}} {
			if len(l.words) == 0 {
				v.add("", "%s: questions: missing translation %s", where, l.lang)
			}
			for _, w := range l.words {
				key := strings.ToLower(strings.TrimSpace(w))
				switch other, dup := askedBy[key]; {
				case key == "":
					v.add("", "%s: questions: an empty question", where)
				case dup && other != i:
					v.add("", "%s: question %q is also a question of faq %q", where, w, v.f.FAQ[other].ID)
				default:
					askedBy[key] = i
				}
			}
		}
		v.text("", where+": text", q.Text, true)
		for i, s := range q.Steps {
			v.text("", fmt.Sprintf("%s: step %d", where, i+1), s, true)
		}
		for _, lang := range Langs {
			if n := answerUnits(q, lang); n > MaxTextUnits {
				v.add("", "%s: the %s answer is %d UTF-16 units, LINE allows %d in a text", where, lang, n, MaxTextUnits)
			}
		}
	}
}

// coveredSection reports whether section is one of sections or a sub-section of one.
func coveredSection(section string, sections map[string]bool) bool {
	for s := section; ; {
		if sections[s] {
			return true
		}
		i := strings.LastIndexByte(s, '-')
		if i < 0 {
			return false
		}
		s = s[:i]
	}
}

// answerUnits returns the length, in UTF-16 code units, of an FAQ answer written as one
// text: the text, then each step on a line of its own, numbered ("1. ").
func answerUnits(q FAQ, lang Lang) int {
	n := utf16Len(q.Text.In(lang))
	for i, s := range q.Steps {
		n += utf16Len(fmt.Sprintf("\n%d. ", i+1)) + utf16Len(s.In(lang))
	}
	return n
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func (v *validator) options(n *Node) {
	if len(n.Options) > MaxOptions {
		v.add(n.ID, "%d options: at most %d fit LINE's quick reply", len(n.Options), MaxOptions)
	}
	seen := map[string]bool{}
	for _, o := range n.Options {
		if o.ID == "" {
			v.add(n.ID, "an option has no id")
			continue
		}
		if seen[o.ID] {
			v.add(n.ID, "duplicate option id %q", o.ID)
		}
		seen[o.ID] = true
		where := fmt.Sprintf("option %q", o.ID)
		v.text(n.ID, where+": label", o.Label, true)
		for _, l := range []string{o.Label.JA, o.Label.EN} {
			if c := utf8.RuneCountInString(l); c > MaxLabelRunes {
				v.add(n.ID, "%s: label %q is %d characters, LINE allows %d", where, l, c, MaxLabelRunes)
			}
		}
		if len(postbackOption+n.ID+":"+o.ID) > maxPostbackLen {
			v.add(n.ID, "%s: postback data over %d bytes", where, maxPostbackLen)
		}
		v.ref(n.ID, where+": next", o.Next)
	}
}

// edges returns the nodes n leads to.
func (v *validator) edges(n *Node) []string {
	var out []string
	for _, o := range n.Options {
		out = append(out, o.Next)
	}
	for _, k := range sortedKeys(n.Branches) {
		out = append(out, n.Branches[k])
	}
	if n.Next != "" {
		out = append(out, n.Next)
	}
	switch n.Kind {
	case KindAdvice:
		out = append(out, orDefault(v.f.Solved, "solved"))
		if n.Next == "" {
			out = append(out, orDefault(v.f.Handoff, "handoff"))
		}
	case KindDecision:
		// A decision that errs hands off.
		out = append(out, orDefault(v.f.Handoff, "handoff"))
	}
	return out
}

// graph checks that every node is reachable from the start (or an intent) and that an end
// or handoff is reachable from every node.
func (v *validator) graph() {
	f := v.f
	reach := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if reach[id] {
			return
		}
		reach[id] = true
		for _, next := range v.edges(v.ids[id]) {
			visit(next)
		}
	}
	visit(f.Start)
	visit(orDefault(f.Handoff, "handoff")) // always reachable: the "talk to a person" command
	for _, in := range f.Intents {
		visit(in.Target)
	}
	// Reverse: which nodes can reach a closing node.
	closes := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for i := range f.Nodes {
			n := &f.Nodes[i]
			if closes[n.ID] {
				continue
			}
			ok := n.Kind == KindEnd || n.Kind == KindHandoff
			for _, next := range v.edges(n) {
				ok = ok || closes[next]
			}
			if ok {
				closes[n.ID] = true
				changed = true
			}
		}
	}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if !reach[n.ID] {
			v.add(n.ID, "unreachable from the start node %q", f.Start)
		}
		if !closes[n.ID] {
			v.add(n.ID, "cannot reach an end or handoff node")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// facts checks the flow's facts and the options that name their values.
func (v *validator) facts() {
	values := map[string]bool{}
	for _, fa := range v.f.Facts {
		if fa.ID == "" {
			v.add("", "a fact has no id")
		}
		for _, val := range fa.Values {
			key := fa.ID + "=" + val.ID
			if values[key] {
				v.add("", "fact %q: duplicate value %q", fa.ID, val.ID)
			}
			values[key] = true
			if len(val.Synonyms.JA) == 0 || len(val.Synonyms.EN) == 0 {
				v.add("", "fact %q value %q: needs synonyms in ja and en", fa.ID, val.ID)
			}
		}
	}
	for _, n := range v.f.Nodes {
		for _, o := range n.Options {
			for _, fv := range o.Facts {
				if !values[fv] {
					v.add(n.ID, "option %q: unknown fact value %q (want fact=value of a declared fact)", o.ID, fv)
				}
			}
		}
		if !n.Confirm.IsZero() {
			v.text(n.ID, "confirm", n.Confirm, false)
		}
	}
}

// rules checks that every rule synonym ("@code + @invalid") names concepts the flow
// defines, and that every concept has words.
func (v *validator) rules() {
	f := v.f
	for name, c := range f.Concepts {
		if len(c.All()) == 0 {
			v.add("", "concept %q has no words", name)
		}
	}
	check := func(node, where string, w Words) {
		for _, s := range w.All() {
			s, symptom := cutSymptom(s)
			if symptom && s == "" {
				v.add(node, "%s: a symptom mark %q with no phrase after it", where, symptomMark)
				continue
			}
			if !isRule(s) {
				continue
			}
			book := &ruleBook{normalize: strings.ToLower, concepts: f.Concepts}
			if _, unknown := book.newRule(s); len(unknown) > 0 {
				v.add(node, "%s: rule %q: unknown concept or empty part %q", where, s, unknown)
			}
		}
	}
	for _, in := range f.Intents {
		check("", fmt.Sprintf("intent %q", in.ID), in.Synonyms)
	}
	for _, q := range f.FAQ {
		check("", fmt.Sprintf("faq %q", q.ID), q.Questions)
	}
	for _, fa := range f.Facts {
		for _, val := range fa.Values {
			check("", fmt.Sprintf("fact %q value %q", fa.ID, val.ID), val.Synonyms)
		}
	}
	for _, n := range f.Nodes {
		for _, o := range n.Options {
			check(n.ID, fmt.Sprintf("option %q", o.ID), o.Synonyms)
		}
	}
}
