package flows_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

// evalTrace prints every turn of the dev set (go test ./flows -run TestEvalDev -v -eval.trace),
// and of the held-out set with -eval.heldout-misses.
var evalTrace = flag.Bool("eval.trace", false, "print every turn the evaluation tests play")

// The evaluation sets in testdata/eval (their format is described at the top of each file):
// heldout.yaml measures the bot and is never tuned on; dev.yaml is for tuning. Each test
// asserts that its scores stay at or above floors: the scores measured when they were last
// raised, rounded down to a whole percent. Raise them when the bot gets better; never lower
// them to make a change pass.
const (
	// Held-out: share of first messages routed right, of conversations that pass, and of
	// first messages and conversations answered in the customer's language.
	heldOutFirstFloor = 0.90
	heldOutConvFloor  = 0.91
	heldOutLangFloor  = 1.00
)

// heldOutMisses shows the held-out set's misses. Without it TestEvalHeldOut logs only its
// scores, even when it fails, so that whoever tunes the bot does not see held-out items.
var heldOutMisses = flag.Bool("eval.heldout-misses", false, "log the held-out set's misses (not for whoever tunes the bot)")

// TestEvalHeldOut plays the held-out set and checks its scores against the floors. Its
// misses are logged only with -eval.heldout-misses: tune on TestEvalDev, never on these.
func TestEvalHeldOut(t *testing.T) {
	sc := runEvalSet(t, "testdata/eval/heldout.yaml", evalMinimum{first: 160, firstPerLang: 60, convs: 40, convsPerLang: 15}, *heldOutMisses)
	sc.check(t, heldOutFirstFloor, heldOutConvFloor, heldOutLangFloor)
}

// The development sets, the ones to tune on, each written by other hands from the article
// and from how customers talk, so that tuning on all of them rewards how customers talk
// rather than one writer's words: dev2 by a writer who had not seen the matcher's word lists
// or dev's phrasing; dev3 indirect descriptions, keigo, short replies, dates and amounts in
// many forms, closing replies of every kind; dev4 many different customers (grandparents,
// students, angry and apologetic ones, 関西弁, mixed Japanese and English, several questions
// in one message); dev5 the reply to "did that solve it?" of every kind (plans, thanks, a
// no with a new problem, a person, corrections, going back) and mid-flow questions; dev7
// customers the others represent little (elderly keigo, voice input with homophones,
// learners of Japanese, fragments, slang, British, Indian and text-speak English); dev8
// corporate gifts, prizes, parents, pasted screen messages, romaji and the like. Their
// floors work as the held-out set's.
var devSets = []struct {
	name              string
	min               evalMinimum
	first, conv, lang float64 // floors
}{
	// dev's first-message floor: a code shorter than the mask reads is not read (issue 18).
	{"dev", evalMinimum{first: 120, firstPerLang: 45, convs: 30, convsPerLang: 10}, 0.99, 1.00, 1.00},
	{"dev2", evalMinimum{first: 150, firstPerLang: 55, convs: 35, convsPerLang: 15}, 0.98, 1.00, 1.00},
	{"dev3", evalMinimum{first: 120, firstPerLang: 50, convs: 30, convsPerLang: 12}, 0.97, 1.00, 1.00},
	{"dev4", evalMinimum{first: 100, firstPerLang: 40, convs: 25, convsPerLang: 10}, 0.99, 1.00, 1.00},
	{"dev5", evalMinimum{first: 40, firstPerLang: 15, convs: 30, convsPerLang: 12}, 1.00, 1.00, 1.00},
	// dev6: a probe of clauses naming different problems, 1-Click, sources and 「登録したけど」;
	// measured untouched: first 90.9% (30/33), conversations 80.0% (4/5); 100% after the
	// symptom phrases, 「登録したけど」 and the English gap stops.
	{"dev6", evalMinimum{first: 30, firstPerLang: 12, convs: 5, convsPerLang: 2}, 1.00, 1.00, 1.00},
	// dev7: customers the earlier sets represent little (elderly keigo, voice input, non-native
	// Japanese, busy fragments, slang, several kinds of English), written before the round of
	// issue 12 that tunes on it; measured untouched: first 78.9% (105/133), conversations
	// 81.8% (36/44); 96.2% and 100% after the classes of its misses were fixed.
	{"dev7", evalMinimum{first: 120, firstPerLang: 50, convs: 40, convsPerLang: 15}, 0.96, 1.00, 1.00},
	// dev8: customers the earlier sets lack (corporate gifts, prizes and points exchanges,
	// parents, a shop owner, angry complaints, pasted Amazon screen messages, several lines,
	// English speakers on the Japanese site, full-width text, romaji), written before the
	// matcher was read; measured untouched on main: first 84.3% (102/121), conversations
	// 71.8% (28/39); 98.3% and 94.9% after the classes of its misses were fixed (one
	// conversation left wants a wedding gift card's source read, where dev4 wants it asked).
	{"dev8", evalMinimum{first: 110, firstPerLang: 45, convs: 36, convsPerLang: 14}, 0.98, 0.94, 1.00},
}

// TestEvalDev plays each development set and checks its scores against its floors.
func TestEvalDev(t *testing.T) {
	for _, set := range devSets {
		t.Run(set.name, func(t *testing.T) {
			sc := runEvalSet(t, "testdata/eval/"+set.name+".yaml", set.min, true)
			sc.check(t, set.first, set.conv, set.lang)
		})
	}
}

// TestEvalSetsDisjoint checks that no message of the held-out set appears, folded for
// width, case and kana, in a development set: tuning on dev must not tune on held-out
// items. (Not textnorm.Normalize: it also folds spellings, 「つかえない」 into 「使えない」,
// which makes different messages one.)
func TestEvalSetsDisjoint(t *testing.T) {
	fold := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'ァ' && r <= 'ヶ':
				return r - ('ァ' - 'ぁ')
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				return unicode.ToLower(r)
			}
			return -1
		}, norm.NFKC.String(s))
	}
	texts := func(path string) map[string]string {
		set := loadEvalSet(t, path)
		out := map[string]string{}
		add := func(id, s string) {
			if f := fold(s); len([]rune(f)) >= 4 {
				out[f] = id
			}
		}
		for _, m := range set.First {
			add(m.ID, m.Text)
		}
		for _, c := range set.Conversations {
			for _, s := range c.Opening {
				add(c.ID, s)
			}
			for _, in := range c.Interject {
				add(c.ID, in.Text)
			}
			for node, replies := range c.Answers {
				for _, r := range replies {
					add(c.ID+" at "+node, r)
				}
			}
			if c.Closing != nil {
				add(c.ID+" closing", c.Closing.Text)
			}
		}
		return out
	}
	held := texts("testdata/eval/heldout.yaml")
	for _, path := range []string{"testdata/eval/dev.yaml", "testdata/eval/dev2.yaml", "testdata/eval/dev3.yaml", "testdata/eval/dev4.yaml", "testdata/eval/dev5.yaml", "testdata/eval/dev6.yaml", "testdata/eval/dev7.yaml", "testdata/eval/dev8.yaml"} {
		dev := texts(path)
		for f, id := range held {
			if devID, ok := dev[f]; ok {
				t.Errorf("held-out %s and %s %s say the same thing: %q", id, filepath.Base(path), devID, f)
			}
		}
	}
}

// TestEvalHarness checks that the harness can fail: it notices a wrong route, a fact asked
// again, a direct question not answered, and unknown nodes, options and sections in the
// data.
func TestEvalHarness(t *testing.T) {
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	ix := newFlowIndex(f)
	tests := []struct {
		name string
		yaml string
		// invalid is a substring of the validation problem expected; empty for valid data.
		invalid string
		// wantFirst and wantConv are the expected numbers of passing items.
		wantFirst, wantConv int
		// wantWhy is a substring of the miss report expected.
		wantWhy string
	}{
		{
			name:    "wrong route",
			yaml:    `first: [{id: a, lang: ja, text: "スマホでギフト券を登録したい", expect: advice_card_company}]`,
			wantWhy: "want advice_card_company",
		},
		{
			name:      "right route",
			yaml:      `first: [{id: a, lang: ja, text: "担当者と話したいです", expect: handoff}]`,
			wantFirst: 1,
		},
		{
			name: "fact asked again",
			// The customer never says which device, so any bot must ask; the data claims it
			// was said, so the harness must count the question as asked twice.
			yaml: `conversations: [{id: c, lang: ja, opening: ["ギフト券の登録のやり方を知りたいです"],
				answers: {ask_device_register: "パソコン"}, expect: advice_register_pc,
				known: {ask_device_register: pc}}]`,
			wantWhy: "asked again: ask_device_register",
		},
		{
			name: "direct question that only a detour answers",
			yaml: `conversations: [{id: c, lang: ja, opening: ["ギフト券の登録のやり方を知りたいです"],
				answers: {ask_device_register: "パソコン"}, expect: advice_register_pc,
				interject: [{at: ask_device_register, text: "担当者と話したいです", expect: "section:1-4"}]}]`,
			wantWhy: "interject at ask_device_register",
		},
		{
			name:    "unknown node",
			yaml:    `first: [{id: a, lang: ja, text: "x", expect: advice_nowhere}]`,
			invalid: "advice_nowhere",
		},
		{
			name:    "unknown option",
			yaml:    `first: [{id: a, lang: ja, text: "x", expect: start, known: {ask_device_register: tablet}}]`,
			invalid: "tablet",
		},
		{
			name:    "unknown section",
			yaml:    `first: [{id: a, lang: ja, text: "x", expect: "section:9-9"}]`,
			invalid: "section 9-9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := parseEvalSet([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			probs := validateEvalSet(ix, set)
			if tt.invalid != "" {
				if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tt.invalid) }) {
					t.Fatalf("validation problems %q, want one about %q", probs, tt.invalid)
				}
				return
			}
			if len(probs) > 0 {
				t.Fatalf("validation: %q", probs)
			}
			var log bytes.Buffer
			sc := playEvalSet(t, ix, "harness", set, func(format string, args ...any) {
				fmt.Fprintf(&log, format+"\n", args...)
			}, false)
			if sc.firstOK.total() != tt.wantFirst || sc.convOK.total() != tt.wantConv {
				t.Errorf("passed %d first messages and %d conversations, want %d and %d; report:\n%s",
					sc.firstOK.total(), sc.convOK.total(), tt.wantFirst, tt.wantConv, log.String())
			}
			if !strings.Contains(log.String(), tt.wantWhy) {
				t.Errorf("report does not say %q:\n%s", tt.wantWhy, log.String())
			}
		})
	}
}

// ---------------------------------------------------------------- the data

// evalSet is one evaluation file.
type evalSet struct {
	First         []evalFirst `yaml:"first"`
	Conversations []evalConv  `yaml:"conversations"`
}

// evalFirst is one customer message to a fresh conversation.
type evalFirst struct {
	ID      string            `yaml:"id"`
	Lang    string            `yaml:"lang"`
	Profile string            `yaml:"profile"`
	Text    string            `yaml:"text"`
	Expect  oneOrMore         `yaml:"expect"`
	Known   map[string]string `yaml:"known"`
}

// evalConv is a simulated customer.
type evalConv struct {
	ID        string               `yaml:"id"`
	Lang      string               `yaml:"lang"`
	Profile   string               `yaml:"profile"`
	Opening   []string             `yaml:"opening"`
	Answers   map[string]oneOrMore `yaml:"answers"`
	Interject []evalInterject      `yaml:"interject"`
	Expect    string               `yaml:"expect"`
	Known     map[string]string    `yaml:"known"`
	Closing   *evalReply           `yaml:"closing"`
}

// evalInterject is said once, the first time the bot waits at At.
type evalInterject struct {
	At     string    `yaml:"at"`
	Text   string    `yaml:"text"`
	Expect oneOrMore `yaml:"expect"`
}

// evalReply is the customer's reply to 「解決しましたか？」 and what must follow it.
type evalReply struct {
	Text   string    `yaml:"text"`
	Expect oneOrMore `yaml:"expect"`
}

// oneOrMore is a YAML string or list of strings.
type oneOrMore []string

func (o *oneOrMore) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*o = oneOrMore{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*o = list
	return nil
}

func loadEvalSet(t testing.TB, path string) *evalSet {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	set, err := parseEvalSet(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return set
}

func parseEvalSet(data []byte) (*evalSet, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var set evalSet
	if err := dec.Decode(&set); err != nil {
		return nil, err
	}
	return &set, nil
}

// flowIndex answers questions about the flow's nodes for the harness.
type flowIndex struct {
	f     *bot.Flow
	nodes map[string]*bot.Node
}

func newFlowIndex(f *bot.Flow) *flowIndex {
	ix := &flowIndex{f: f, nodes: map[string]*bot.Node{}}
	for i := range f.Nodes {
		ix.nodes[f.Nodes[i].ID] = &f.Nodes[i]
	}
	return ix
}

// asks reports whether node id is one of the flow's questions or inputs: a place where the
// bot asks the customer for a fact.
func (ix *flowIndex) asks(id string) bool {
	n := ix.nodes[id]
	return n != nil && (n.Kind == bot.KindQuestion || n.Kind == bot.KindInput)
}

// optionSet is a question's option ids, sorted and joined.
func optionSet(n *bot.Node) string {
	ids := make([]string, len(n.Options))
	for i, o := range n.Options {
		ids[i] = o.ID
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// sameFact reports whether questions a and b ask for the same fact: they are the same node,
// or both are questions with the same options (the device asked for registering and for
// checking the expiry).
func (ix *flowIndex) sameFact(a, b string) bool {
	if a == b {
		return true
	}
	na, nb := ix.nodes[a], ix.nodes[b]
	return na != nil && nb != nil && na.Kind == bot.KindQuestion && nb.Kind == bot.KindQuestion &&
		len(na.Options) > 1 && optionSet(na) == optionSet(nb)
}

// sameQuestion reports whether asking b meets an expectation that the bot asks a: the same
// fact asked in the same article section (expired_source and expired_source_dated).
func (ix *flowIndex) sameQuestion(a, b string) bool {
	return ix.sameFact(a, b) && ix.nodes[a].Section == ix.nodes[b].Section
}

// hasSection reports whether some advice node answers article section sec or a subsection.
func (ix *flowIndex) hasSection(sec string) bool {
	for _, n := range ix.f.Nodes {
		if n.Kind == bot.KindAdvice && inSection(n.Section, sec) {
			return true
		}
	}
	return false
}

// inSection reports whether section s is sec or one of its subsections ("2-1" is in "2").
func inSection(s, sec string) bool {
	return s == sec || strings.HasPrefix(s, sec+"-")
}

var (
	dateValue   = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)
	amountValue = regexp.MustCompile(`^\d+$`)
)

// validateEvalSet returns one line per problem of set against the flow: unknown nodes,
// options and sections, malformed values and duplicate ids. The data cannot silently rot
// when the flow changes.
func validateEvalSet(ix *flowIndex, set *evalSet) []string {
	var probs []string
	bad := func(id, format string, args ...any) {
		probs = append(probs, id+": "+fmt.Sprintf(format, args...))
	}
	ids := map[string]bool{}
	checkID := func(id, lang, profile string) {
		if id == "" || ids[id] {
			bad(id, "missing or duplicate id")
		}
		ids[id] = true
		if lang != "ja" && lang != "en" {
			bad(id, "lang %q: want ja or en", lang)
		}
		if profile != "" && profile != "ja" && profile != "en" {
			bad(id, "profile %q: want ja or en", profile)
		}
	}
	checkExpect := func(id string, want oneOrMore) {
		if len(want) == 0 {
			bad(id, "no expect")
		}
		for _, w := range want {
			if sec, ok := strings.CutPrefix(w, "section:"); ok {
				if !ix.hasSection(sec) {
					bad(id, "expect: no advice node answers section %s", sec)
				}
				continue
			}
			n := ix.nodes[w]
			if n == nil {
				bad(id, "expect: no node %q", w)
			} else if n.Kind == bot.KindDecision {
				bad(id, "expect: %s is a decision, which never waits", w)
			}
		}
	}
	checkKnown := func(id string, known map[string]string) {
		for node, v := range known {
			n := ix.nodes[node]
			switch {
			case n == nil:
				bad(id, "known: no node %q", node)
			case node == ix.f.Start || !ix.asks(node):
				bad(id, "known: %s is not a question that asks for a fact", node)
			case n.Kind == bot.KindQuestion:
				if !slices.ContainsFunc(n.Options, func(o bot.Option) bool { return o.ID == v }) {
					bad(id, "known: %s has no option %q", node, v)
				}
			case n.Input == "date" && !dateValue.MatchString(v),
				n.Input == "amount" && !amountValue.MatchString(v),
				n.Input == "code" && len(strings.TrimSpace(v)) < 3:
				bad(id, "known: %q is not a %s value for %s", v, n.Input, node)
			}
		}
	}
	checkWaits := func(id, node, what string) {
		n := ix.nodes[node]
		if n == nil || !(n.Kind == bot.KindQuestion || n.Kind == bot.KindInput || n.Kind == bot.KindAdvice) {
			bad(id, "%s: %q is not a node where the bot waits for the customer", what, node)
		}
	}
	for _, m := range set.First {
		checkID(m.ID, m.Lang, m.Profile)
		if strings.TrimSpace(m.Text) == "" {
			bad(m.ID, "empty text")
		}
		checkExpect(m.ID, m.Expect)
		checkKnown(m.ID, m.Known)
	}
	for _, c := range set.Conversations {
		checkID(c.ID, c.Lang, c.Profile)
		if len(c.Opening) == 0 {
			bad(c.ID, "no opening")
		}
		n := ix.nodes[c.Expect]
		switch {
		case n == nil:
			bad(c.ID, "expect: no node %q", c.Expect)
		case n.Kind != bot.KindAdvice && n.Kind != bot.KindHandoff && n.Kind != bot.KindEnd:
			bad(c.ID, "expect: %s is not an advice, hand-off or end", c.Expect)
		case c.Closing != nil && n.Kind != bot.KindAdvice:
			bad(c.ID, "closing after %s, which asks nothing", c.Expect)
		}
		checkKnown(c.ID, c.Known)
		for node, replies := range c.Answers {
			checkWaits(c.ID, node, "answers")
			if len(replies) == 0 || slices.Contains(replies, "") {
				bad(c.ID, "answers: empty reply at %s", node)
			}
		}
		for _, in := range c.Interject {
			checkWaits(c.ID, in.At, "interject")
			checkExpect(c.ID, in.Expect)
		}
		if c.Closing != nil {
			checkExpect(c.ID, c.Closing.Expect)
		}
	}
	return probs
}

// uncovered returns the article sections of the flow's advice nodes that no expectation of
// set reaches.
func (ix *flowIndex) uncovered(set *evalSet) []string {
	covered := map[string]bool{}
	mark := func(want []string) {
		for _, w := range want {
			if sec, ok := strings.CutPrefix(w, "section:"); ok {
				for _, n := range ix.f.Nodes {
					if inSection(n.Section, sec) {
						covered[n.Section] = true
					}
				}
			} else if n := ix.nodes[w]; n != nil {
				covered[n.Section] = true
			}
		}
	}
	for _, m := range set.First {
		mark(m.Expect)
	}
	for _, c := range set.Conversations {
		mark([]string{c.Expect})
	}
	var missing []string
	for _, n := range ix.f.Nodes {
		if n.Kind == bot.KindAdvice && !covered[n.Section] && !slices.Contains(missing, n.Section) {
			missing = append(missing, n.Section)
		}
	}
	return missing
}

// ---------------------------------------------------------------- playing it

// evalMinimum is the size a set must have.
type evalMinimum struct{ first, firstPerLang, convs, convsPerLang int }

// runEvalSet loads, validates and plays the set at path, logs its scores (and its misses,
// one per line, when misses is true) and returns them.
func runEvalSet(t *testing.T, path string, want evalMinimum, misses bool) *evalScores {
	t.Helper()
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	ix := newFlowIndex(f)
	set := loadEvalSet(t, path)
	if probs := validateEvalSet(ix, set); len(probs) > 0 {
		t.Fatalf("%s does not match the flow:\n%s", path, strings.Join(probs, "\n"))
	}
	if missing := ix.uncovered(set); len(missing) > 0 {
		t.Errorf("%s: no item reaches article sections %s", path, strings.Join(missing, ", "))
	}
	firstLangs, convLangs := map[string]int{}, map[string]int{}
	for _, m := range set.First {
		firstLangs[m.Lang]++
	}
	for _, c := range set.Conversations {
		convLangs[c.Lang]++
	}
	if len(set.First) < want.first || firstLangs["ja"] < want.firstPerLang || firstLangs["en"] < want.firstPerLang ||
		len(set.Conversations) < want.convs || convLangs["ja"] < want.convsPerLang || convLangs["en"] < want.convsPerLang {
		t.Errorf("%s is too small: %d first messages %v, %d conversations %v; want at least %d (%d per language) and %d (%d per language)",
			path, len(set.First), firstLangs, len(set.Conversations), convLangs, want.first, want.firstPerLang, want.convs, want.convsPerLang)
	}
	name := strings.TrimSuffix(filepath.Base(path), ".yaml")
	report := func(string, ...any) {}
	if misses {
		report = t.Logf
	}
	sc := playEvalSet(t, ix, name, set, report, *evalTrace && misses)
	sc.log(t, name)
	return sc
}

// evalNow is the harness's clock: fixed, so that issue dates judge the same every run.
func evalNow() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }

// player plays items through a real Bot (Desk and Engine) on a SQLite store, as the LINE
// channel would: a follow event first, then the customer's messages.
type player struct {
	t     testing.TB
	ix    *flowIndex
	bot   *bot.Bot
	store *sqlite.Store
	set   string
	trace bool // print every turn
}

// turn is one customer message and what the bot did with it.
type turn struct {
	key    bot.Key
	before *bot.Conversation
	after  *bot.Conversation
	out    []bot.Message
}

// send hands one event to the bot and returns the turn, with the stored conversation after it.
func (p *player) send(k bot.Key, in bot.Inbound, before *bot.Conversation) turn {
	p.t.Helper()
	ctx := context.Background()
	out, err := p.bot.Handle(ctx, k, in)
	if p.trace {
		// Invented codes, but masked as any customer's would be.
		fmt.Printf("  %s > %s %q\n", k.User, in.Kind, flows.RedactCodes(in.Text+in.Postback))
		for _, m := range out {
			fmt.Printf("    < %s %.80q\n", m.Kind, m.Title+m.Text)
		}
	}
	if err != nil {
		p.t.Fatalf("%s: %v", k.User, err)
	}
	after, err := p.store.Conversation(ctx, k)
	if err != nil {
		p.t.Fatalf("%s: load conversation: %v", k.User, err)
	}
	if before == nil {
		before = &bot.Conversation{}
	}
	return turn{key: k, before: before, after: after, out: out}
}

// follow starts the conversation of item id as a LINE follow event does.
func (p *player) follow(id, profile string) turn {
	lang, _ := bot.ParseLang(profile)
	if profile == "" {
		lang = bot.Japanese
	}
	return p.send(bot.Key{Channel: "eval", User: p.set + "/" + id}, bot.Inbound{Kind: bot.InFollow, Lang: lang}, nil)
}

// say sends text typed by the customer.
func (p *player) say(prev turn, text string) turn {
	return p.send(prev.key, bot.Inbound{Kind: bot.InText, Text: text}, prev.after)
}

// tap taps the choice of prev's question whose data names option opt, as a customer
// tapping a button; ok is false when prev offered no such choice.
func (p *player) tap(prev turn, opt string) (turn, bool) {
	for _, m := range prev.out {
		for _, c := range m.Choices {
			if strings.HasSuffix(c.Data, ":"+opt) {
				return p.send(prev.key, bot.Inbound{Kind: bot.InPostback, Postback: c.Data, Text: c.Label}, prev.after), true
			}
		}
	}
	return turn{}, false
}

// answered is what one turn answered.
type answered struct {
	entered  []string   // nodes entered in the turn, in order
	sections []string   // article sections the turn answered
	pending  string     // the node now waiting for the customer; "" once closed
	status   bot.Status // the conversation's status after the turn
	lang     bot.Lang
	miss     bool // the bot took the message as not understood
}

// whatTurnAnswered works out what a turn did for the customer: the nodes it entered (the
// growth of Conversation.Path; after a restart or "back", what follows the common part),
// the article sections those answered (the sections of the advice entered), the node now
// waiting, and whether the bot took the message as not understood (Misses grew).
//
// This is the one place the harness reads a turn. An answer from the flow's FAQ (a direct
// question answered at any point, then back to the pending question) is a message naming
// the entry (Message.FAQ); its section counts like an advice node's.
func whatTurnAnswered(ix *flowIndex, tr turn) answered {
	before, after := tr.before, tr.after
	common := 0
	for common < len(before.Path) && common < len(after.Path) && before.Path[common] == after.Path[common] {
		common++
	}
	a := answered{
		entered: slices.Clone(after.Path[common:]),
		status:  after.Status,
		lang:    after.Lang,
		miss:    after.Misses > before.Misses && common == len(after.Path),
	}
	if after.Status == bot.StatusActive {
		a.pending = after.Node
	}
	for _, id := range a.entered {
		if n := ix.nodes[id]; n != nil && n.Kind == bot.KindAdvice {
			a.sections = append(a.sections, n.Section)
		}
	}
	// A direct question answered from the flow's FAQ: the message names the entry.
	for _, m := range tr.out {
		for _, q := range ix.f.FAQ {
			if m.FAQ != "" && m.FAQ == q.ID {
				a.sections = append(a.sections, q.Section)
			}
		}
	}
	return a
}

// meets reports whether a turn met one of the expectations, and if not, says what happened.
func (ix *flowIndex) meets(want []string, a answered) (bool, string) {
	if !a.miss {
		for _, w := range want {
			if sec, ok := strings.CutPrefix(w, "section:"); ok {
				if slices.ContainsFunc(a.sections, func(s string) bool { return inSection(s, sec) }) {
					return true, ""
				}
				continue
			}
			if ix.asks(w) {
				if a.status == bot.StatusActive && (a.pending == w || ix.sameQuestion(w, a.pending)) {
					return true, ""
				}
				continue
			}
			if slices.Contains(a.entered, w) {
				return true, ""
			}
		}
	}
	return false, describe(a)
}

// describe says what a turn did, for a miss report.
func describe(a answered) string {
	var b strings.Builder
	if a.miss {
		b.WriteString("not understood; ")
	}
	if len(a.entered) > 0 {
		b.WriteString("entered " + strings.Join(a.entered, " → ") + "; ")
	}
	switch a.status {
	case bot.StatusActive:
		b.WriteString("waits at " + a.pending)
	default:
		b.WriteString(string(a.status))
	}
	return b.String()
}

// evalScores are a set's results.
type evalScores struct {
	firstOK, firstN, firstLang             tally
	convOK, convN, convLang                tally
	reached, noRepeat, closingOK, closings tally
	interjectOK, interjectN                tally
	messages                               tally // customer messages to the expected node, summed over conversations that reach it
}

// tally counts by language.
type tally map[string]int

func (t tally) total() int { return t["ja"] + t["en"] }

// share is ok's total as a share of n's.
func share(ok, n tally) float64 {
	if n.total() == 0 {
		return 0
	}
	return float64(ok.total()) / float64(n.total())
}

// pct formats ok out of n, in total and per language.
func pct(ok, n tally) string {
	return fmt.Sprintf("%.1f%% (%d/%d; ja %d/%d, en %d/%d)", 100*share(ok, n), ok.total(), n.total(), ok["ja"], n["ja"], ok["en"], n["en"])
}

// log logs the scores, per language and in total.
func (sc *evalScores) log(t *testing.T, name string) {
	t.Logf("%s: first messages routed right: %s", name, pct(sc.firstOK, sc.firstN))
	t.Logf("%s: conversations passed: %s", name, pct(sc.convOK, sc.convN))
	t.Logf("%s:   reached the expected node: %s", name, pct(sc.reached, sc.convN))
	t.Logf("%s:   no known fact asked again: %s", name, pct(sc.noRepeat, sc.convN))
	t.Logf("%s:   closing handled: %s", name, pct(sc.closingOK, sc.closings))
	t.Logf("%s:   questions answered mid-flow: %s", name, pct(sc.interjectOK, sc.interjectN))
	t.Logf("%s: answered in the customer's language: first messages %s, conversations %s", name,
		pct(sc.firstLang, sc.firstN), pct(sc.convLang, sc.convN))
	avg := func(lang string) string {
		n := sc.reached[lang]
		if lang == "" {
			n = sc.reached.total()
		}
		if n == 0 {
			return "-"
		}
		m := sc.messages[lang]
		if lang == "" {
			m = sc.messages.total()
		}
		return strconv.FormatFloat(float64(m)/float64(n), 'f', 2, 64)
	}
	t.Logf("%s: average customer messages to the expected node: %s (ja %s, en %s)", name, avg(""), avg("ja"), avg("en"))
}

// check fails t when a score is below its floor.
func (sc *evalScores) check(t *testing.T, first, conv, lang float64) {
	t.Helper()
	langShare := float64(sc.firstLang.total()+sc.convLang.total()) / float64(max(1, sc.firstN.total()+sc.convN.total()))
	for _, c := range []struct {
		what       string
		got, floor float64
	}{
		{"first messages routed right", share(sc.firstOK, sc.firstN), first},
		{"conversations passed", share(sc.convOK, sc.convN), conv},
		{"answered in the customer's language", langShare, lang},
	} {
		if c.got < c.floor {
			t.Errorf("%s: %.1f%%, below the floor of %.1f%%", c.what, 100*c.got, 100*c.floor)
		}
	}
}

// maxCustomerMessages caps a simulated conversation.
const maxCustomerMessages = 15

// playEvalSet plays every item of set through a fresh Bot and returns the scores; report
// gets one line per miss, and trace prints every turn.
func playEvalSet(t testing.TB, ix *flowIndex, name string, set *evalSet, report func(string, ...any), trace bool) *evalScores {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "eval.db"), Now: evalNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	engine, err := bot.NewEngine(bot.EngineConfig{Flow: ix.f, Funcs: flows.Funcs(), Normalize: textnorm.Normalize, Now: evalNow})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := bot.NewDesk(bot.DeskConfig{Engine: engine, Redact: flows.RedactCodes})
	if err != nil {
		t.Fatal(err)
	}
	p := &player{t: t, ix: ix, bot: bot.New(desk, st), store: st, set: name, trace: trace}
	sc := &evalScores{
		firstOK: tally{}, firstN: tally{}, firstLang: tally{}, convOK: tally{}, convN: tally{}, convLang: tally{},
		reached: tally{}, noRepeat: tally{}, closingOK: tally{}, closings: tally{}, interjectOK: tally{}, interjectN: tally{},
		messages: tally{},
	}
	for _, m := range set.First {
		sc.firstN[m.Lang]++
		tr := p.say(p.follow(m.ID, m.Profile), m.Text)
		a := whatTurnAnswered(ix, tr)
		ok, why := ix.meets(m.Expect, a)
		if ok && ix.asks(a.pending) && a.pending != ix.f.Start {
			for node := range m.Known {
				if ix.sameFact(node, a.pending) {
					ok, why = false, "asks "+a.pending+", which the message answered"
				}
			}
		}
		if ok {
			sc.firstOK[m.Lang]++
		} else {
			report("%s/%s %q: want %s; %s", name, m.ID, flows.RedactCodes(m.Text), strings.Join(m.Expect, " or "), why)
		}
		if string(a.lang) == m.Lang {
			sc.firstLang[m.Lang]++
		} else {
			report("%s/%s %q: answered in %q, want %s", name, m.ID, flows.RedactCodes(m.Text), a.lang, m.Lang)
		}
	}
	for i := range set.Conversations {
		c := &set.Conversations[i]
		sc.convN[c.Lang]++
		r := p.converse(c)
		if r.reached {
			sc.reached[c.Lang]++
			sc.messages[c.Lang] += r.messages
		}
		if len(r.repeated) == 0 {
			sc.noRepeat[c.Lang]++
		}
		if c.Closing != nil {
			sc.closings[c.Lang]++
			if r.closingOK {
				sc.closingOK[c.Lang]++
			}
		}
		sc.interjectN[c.Lang] += r.interjects
		sc.interjectOK[c.Lang] += r.interjectsOK
		if r.langOK {
			sc.convLang[c.Lang]++
		}
		pass := r.reached && len(r.repeated) == 0 && (c.Closing == nil || r.closingOK) && r.interjectsOK == r.interjects
		if pass {
			sc.convOK[c.Lang]++
		}
		for _, why := range r.why {
			report("%s/%s: %s", name, c.ID, why)
		}
	}
	return sc
}

// convResult is how a simulated conversation went.
type convResult struct {
	reached      bool
	messages     int      // customer messages up to reaching the expected node
	repeated     []string // facts asked again
	closingOK    bool
	interjects   int // interjections that came up
	interjectsOK int
	langOK       bool
	why          []string // what went wrong, for the report
	sent         int      // customer messages so far
	stopped      bool     // the conversation went somewhere it cannot come back from
	anticipated  map[string]bool
}

// converse plays conversation c as a customer would.
func (p *player) converse(c *evalConv) *convResult {
	ix := p.ix
	r := &convResult{anticipated: map[string]bool{}}
	for node := range c.Answers {
		if n := ix.nodes[node]; n != nil && n.Kind == bot.KindAdvice {
			r.anticipated[node] = true
		}
	}
	for _, in := range c.Interject {
		r.anticipated[in.At] = true
	}
	known := map[string]bool{} // fact nodes the customer has stated
	learn := func(node string) {
		for id := range ix.nodes {
			if ix.asks(id) && ix.sameFact(node, id) {
				known[id] = true
			}
		}
	}
	forget := func(node string) {
		for id := range ix.nodes {
			if ix.sameFact(node, id) {
				delete(known, id)
			}
		}
	}
	dontKnow := "わかりません"
	if c.Lang == "en" {
		dontKnow = "I don't know"
	}
	cur := p.follow(c.ID, c.Profile)
	var a answered
	// observe takes in what a customer message led to; checkAsk is false while the opening
	// is still being sent (the next opening message may answer what the bot just asked).
	exempt := ""
	observe := func(checkAsk bool) {
		a = whatTurnAnswered(ix, cur)
		for _, id := range a.entered {
			if id == c.Expect {
				if !r.reached {
					r.reached, r.messages = true, r.sent
				}
				return
			}
			if n := ix.nodes[id]; n != nil && n.Kind == bot.KindAdvice && !r.anticipated[id] {
				r.why = append(r.why, fmt.Sprintf("gave %s before %s (%s)", id, c.Expect, describe(a)))
				r.stopped = true
				return
			}
		}
		if a.status != bot.StatusActive {
			r.why = append(r.why, fmt.Sprintf("ended without reaching %s (%s)", c.Expect, describe(a)))
			r.stopped = true
			return
		}
		if checkAsk && ix.asks(a.pending) && a.pending != ix.f.Start && known[a.pending] && a.pending != exempt &&
			!slices.Contains(r.repeated, a.pending) {
			r.repeated = append(r.repeated, a.pending)
			r.why = append(r.why, fmt.Sprintf("asked again: %s (after message %d)", a.pending, r.sent))
		}
	}
	say := func(text string) {
		r.sent++
		cur = p.say(cur, text)
	}
	for i, text := range c.Opening {
		say(text)
		// The language the bot answers in after the last opening message sent (the
		// expected node may be reached before the last one).
		r.langOK = string(cur.after.Lang) == c.Lang
		if i == len(c.Opening)-1 {
			for node := range c.Known {
				learn(node)
			}
		}
		observe(i == len(c.Opening)-1)
		if r.reached || r.stopped {
			break
		}
	}
	interjected := map[int]bool{}
	times := map[string]int{} // replies from answers, by node
	for !r.reached && !r.stopped && r.sent < maxCustomerMessages {
		pending := a.pending
		exempt = ""
		if i := slices.IndexFunc(c.Interject, func(in evalInterject) bool { return in.At == pending }); i >= 0 && !interjected[i] {
			in := c.Interject[i]
			interjected[i] = true
			r.interjects++
			say(in.Text)
			got := whatTurnAnswered(ix, cur)
			ok, why := ix.meets(in.Expect, got)
			digression := slices.ContainsFunc(in.Expect, func(w string) bool { return strings.HasPrefix(w, "section:") })
			if ok && digression && got.pending != in.At {
				ok, why = false, "answered, but then "+describe(got)+" instead of asking "+in.At+" again"
			}
			if ok {
				r.interjectsOK++
			} else {
				r.why = append(r.why, fmt.Sprintf("interject at %s %q: want %s; %s", in.At, flows.RedactCodes(in.Text), strings.Join(in.Expect, " or "), why))
			}
			// The customer asked to go back to a question: asking it again is no repeat.
			for _, w := range in.Expect {
				if ix.asks(w) {
					forget(w)
					exempt = w
				}
			}
			observe(true)
			continue
		}
		replies, ok := c.Answers[pending]
		if !ok && ix.asks(pending) {
			for node, rs := range c.Answers {
				if ix.sameFact(node, pending) {
					replies, ok = rs, true
				}
			}
		}
		switch {
		case ok:
			k := min(times[pending], len(replies)-1)
			times[pending]++
			say(replies[k])
			if ix.asks(pending) {
				learn(pending)
			}
		case known[pending]:
			// Asked again for a fact already given: the customer repeats it.
			v := c.Known[pending]
			for node, val := range c.Known {
				if ix.sameFact(node, pending) {
					v = val
				}
			}
			if ix.nodes[pending].Kind == bot.KindQuestion {
				r.sent++
				next, tapped := p.tap(cur, v)
				if !tapped {
					r.why = append(r.why, fmt.Sprintf("%s offers no choice %q", pending, v))
					r.stopped = true
					continue
				}
				cur = next
			} else {
				say(v)
			}
		default:
			say(dontKnow)
		}
		observe(true)
	}
	if !r.reached {
		if !r.stopped {
			r.why = append(r.why, fmt.Sprintf("did not reach %s in %d messages (%s)", c.Expect, r.sent, describe(a)))
		}
		return r
	}
	if string(cur.after.Lang) != c.Lang {
		r.langOK = false
	}
	if !r.langOK {
		r.why = append(r.why, fmt.Sprintf("answered in %q, want %s", cur.after.Lang, c.Lang))
	}
	if c.Closing == nil {
		return r
	}
	say(c.Closing.Text)
	got := whatTurnAnswered(ix, cur)
	if ok, why := ix.meets(c.Closing.Expect, got); ok {
		r.closingOK = true
	} else {
		r.why = append(r.why, fmt.Sprintf("closing %q: want %s; %s", c.Closing.Text, strings.Join(c.Closing.Expect, " or "), why))
	}
	return r
}
