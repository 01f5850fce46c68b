package bot

import (
	"fmt"
	"time"
)

// Lang is a conversation language. giftdesk speaks Japanese first and English too.
type Lang string

// The languages every user-visible string must exist in.
const (
	Japanese Lang = "ja"
	English  Lang = "en"
)

// Langs lists the supported languages in order of preference.
var Langs = []Lang{Japanese, English}

// ParseLang returns the Lang for a tag such as "ja", "en-US" or "ja_JP"; ok is false for others.
func ParseLang(tag string) (Lang, bool) {
	if len(tag) >= 2 {
		switch tag[:2] {
		case "ja", "JA", "Ja":
			return Japanese, true
		case "en", "EN", "En":
			return English, true
		}
	}
	return "", false
}

// Text is a user-visible string in every supported language.
type Text struct {
	JA string `yaml:"ja"`
	EN string `yaml:"en"`
}

// In returns the text in lang, falling back to Japanese.
func (t Text) In(lang Lang) string {
	if lang == English && t.EN != "" {
		return t.EN
	}
	return t.JA
}

// IsZero reports whether t has no text in any language.
func (t Text) IsZero() bool { return t.JA == "" && t.EN == "" }

// Words are free-text synonyms per language. Matching is done on normalised text, so
// synonyms need not list width, kana or case variants.
type Words struct {
	JA []string `yaml:"ja"`
	EN []string `yaml:"en"`
}

// All returns the synonyms of every language.
func (w Words) All() []string {
	out := make([]string, 0, len(w.JA)+len(w.EN))
	out = append(out, w.JA...)
	return append(out, w.EN...)
}

// NodeKind says how a node behaves.
type NodeKind string

// The node kinds. Question, input and advice nodes wait for the customer; decision nodes
// are evaluated at once; handoff and end nodes close the diagnosis.
const (
	KindQuestion NodeKind = "question"
	KindInput    NodeKind = "input"
	KindDecision NodeKind = "decision"
	KindAdvice   NodeKind = "advice"
	KindHandoff  NodeKind = "handoff"
	KindEnd      NodeKind = "end"
)

// waits reports whether a node of kind k waits for an answer.
func (k NodeKind) waits() bool {
	return k == KindQuestion || k == KindInput || k == KindAdvice
}

// Flow is a diagnosis as data: a set of nodes, a start node and jump intents. A Flow is
// read-only once compiled by NewEngine.
type Flow struct {
	ID      string   `yaml:"id"`
	Title   Text     `yaml:"title"`
	Start   string   `yaml:"start"`
	Intents []Intent `yaml:"intents"`
	// FAQ are direct questions answered wherever they are asked (see FAQ).
	FAQ []FAQ `yaml:"faq"`
	// Topics name what the flow is about (the product, in the customer's words): at the
	// first question, a message that names only these and no problem is answered by
	// asking that question, not by "not understood".
	Topics Words `yaml:"topics"`
	// Facts are what customers tell in passing (their device, where the card came from),
	// read from every message and used to answer questions before they are asked.
	Facts []Fact `yaml:"facts"`
	// Concepts name lists of words that mean one thing ("code": コード, 番号, code, …). A
	// synonym anywhere in the flow may be a rule that needs a word of each of several
	// concepts in the message, in any order: "@code + @invalid" finds 「コードを入れてもエラー
	// になる」 and "the code I typed gets rejected". A part of a rule may also be a word, or
	// words separated by "|".
	Concepts map[string]Words `yaml:"concepts"`
	Nodes    []Node           `yaml:"nodes"`

	// Solved is the end node reached when advice solved the problem (default "solved");
	// Handoff is the node reached when the customer asks for a person (default "handoff").
	Solved  string `yaml:"solved"`
	Handoff string `yaml:"handoff"`
	// Texts override the engine's own strings (greeting, "did that solve it?", …).
	Texts Texts `yaml:"texts"`

	// Version identifies the flow's content (a hash of its source), set by the loader.
	Version string `yaml:"-"`
}

// Intent leads free text straight to a node from anywhere in the flow, as when a customer
// opens with "it says already used".
type Intent struct {
	ID     string `yaml:"id"`
	Target string `yaml:"target"`
	// Label names the intent on a "did you mean" button (at most 20 characters); without
	// it the label of a start option leading to Target, or the target's title, is used.
	Label    Text  `yaml:"label"`
	Synonyms Words `yaml:"synonyms"`
}

// Fact is something a customer may say at any point whose value answers questions later
// on: the engine reads every message for each fact's values and keeps the latest one in
// the conversation's variables as "fact.ID". An option whose Facts hold "ID=value" is
// chosen without asking when the fact has that value.
type Fact struct {
	ID     string      `yaml:"id"`
	Values []FactValue `yaml:"values"`
	// Item says the fact describes the thing the problem is about (where a gift card came
	// from), not the customer (their device): a customer who turns to another one at "did
	// that solve it?" ("no, and my other card says already used") has it forgotten, as
	// are the values typed at the flow's inputs.
	Item bool `yaml:"item"`
}

// FactValue is one value of a fact and the words that name it.
type FactValue struct {
	ID       string `yaml:"id"`
	Synonyms Words  `yaml:"synonyms"`
}

// FAQ is a direct question the flow answers wherever the customer asks it: a digression.
// The answer is given, then the pending question is asked again.
type FAQ struct {
	ID string `yaml:"id"`
	// Section names the article section the answer comes from.
	Section string `yaml:"section"`
	// Questions are the ways customers ask it, per language.
	Questions Words `yaml:"questions"`
	// Text is the answer; Steps, when present, follow it as a numbered list.
	Text  Text   `yaml:"text"`
	Steps []Text `yaml:"steps"`
}

// Node is one step of a flow. Which fields apply depends on Kind; Validate reports fields that
// are missing or do not belong.
type Node struct {
	ID   string   `yaml:"id"`
	Kind NodeKind `yaml:"kind"`
	// Section names the part of the source article the node covers (e.g. "1-4").
	Section string `yaml:"section"`

	// Text is the prompt of a question or input, the introduction of advice, or the message
	// of a handoff or end node. It may refer to conversation variables as {{name}}.
	Text Text `yaml:"text"`

	// Options are the answers of a question (2–13), or shortcuts offered beside an input.
	Options []Option `yaml:"options"`

	// Input names the parser of an input node ("date", "amount", "code"); Var is the
	// variable the parsed value is stored under; Hint is shown when the answer does not parse.
	Input string `yaml:"input"`
	Var   string `yaml:"var"`
	Hint  Text   `yaml:"hint"`

	// Func names the decision function of a decision node; Branches maps each of its outcomes
	// to the next node.
	Func     string            `yaml:"func"`
	Branches map[string]string `yaml:"branches"`

	// Title and Steps make up advice; Note follows the steps.
	Title Text   `yaml:"title"`
	Steps []Text `yaml:"steps"`
	Note  Text   `yaml:"note"`

	// Next is where an input goes once parsed, and where advice goes when it did not solve
	// the problem (empty: offer a human).
	Next string `yaml:"next"`

	// Reason says why a handoff node hands off (shown to agents).
	Reason string `yaml:"reason"`

	// Confirm is said when the node is answered from what the customer already said (an
	// input whose variable is known, a question one of whose options a fact selects), as
	// 「発行日は{{issue_date_text}}ですね。」; without it a question names the option chosen.
	Confirm Text `yaml:"confirm"`
}

// Option is one answer to a question.
type Option struct {
	ID       string `yaml:"id"`
	Label    Text   `yaml:"label"`
	Synonyms Words  `yaml:"synonyms"`
	Next     string `yaml:"next"`
	// Facts are the fact values ("source=resale") that select this option without asking;
	// choosing the option records the first of them.
	Facts []string `yaml:"facts"`
}

// InputFunc parses a customer's answer to an input node. It returns the variables to store
// (the key "" stands for the node's Var itself, "x" for Var+"."+x) or an error whose text is
// never shown to the customer (the node's Hint is). The values must be safe to store: a
// gift-card code is returned masked. InputFuncs must be safe for concurrent use.
type InputFunc func(raw string, now time.Time) (map[string]string, error)

// InputError is an InputFunc error that carries a hint more specific than the node's, such
// as "that date is in the future". Its Err is for logs and never shown.
type InputError struct {
	Hint Text
	Err  error
}

func (e *InputError) Error() string { return e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

// Decision is a named Go function of the flow package that a decision node calls.
type Decision struct {
	// Outcomes lists every value Func may return; a decision node must branch on each.
	Outcomes []string
	// Func computes the outcome from the conversation's variables. It must be pure and
	// safe for concurrent use; an error sends the conversation to a human.
	Func func(vars map[string]string, now time.Time) (string, error)
}

// Funcs are the Go functions a flow may name.
type Funcs struct {
	Inputs    map[string]InputFunc
	Decisions map[string]Decision
	// Vars derives display variables for templates (e.g. an expiry date formatted per
	// language) from the stored ones; may be nil.
	Vars func(vars map[string]string, lang Lang) map[string]string
	// Facts reads typed facts out of any customer message — a date, an amount, a code —
	// and returns them under the variables the input nodes store ("issue_date",
	// "balance", …), codes masked; may be nil. An input node whose variable is known is
	// not asked.
	Facts func(text string, now time.Time) map[string]string
}

// Node returns the node with the given id.
func (f *Flow) Node(id string) (*Node, bool) {
	for i := range f.Nodes {
		if f.Nodes[i].ID == id {
			return &f.Nodes[i], true
		}
	}
	return nil, false
}

// Problem is one thing wrong with a flow, as reported by Validate and `giftdesk flow lint`.
type Problem struct {
	Node string // empty for problems of the flow as a whole
	Msg  string
}

func (p Problem) String() string {
	if p.Node == "" {
		return p.Msg
	}
	return fmt.Sprintf("node %q: %s", p.Node, p.Msg)
}

// first returns the first phrase in lang, or in the other language when lang has none.
func (w Words) first(lang Lang) string {
	if lang == English && len(w.EN) > 0 {
		return w.EN[0]
	}
	if len(w.JA) > 0 {
		return w.JA[0]
	}
	if len(w.EN) > 0 {
		return w.EN[0]
	}
	return ""
}
