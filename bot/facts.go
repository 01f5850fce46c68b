package bot

import (
	"maps"
	"slices"
	"strings"
)

// Facts: every message is read for what it tells in passing — the flow's facts (the
// device, where the card came from) and the typed facts of Funcs.Facts (an issue date, a
// balance, a code). They are kept in the conversation's variables; a question they answer
// is not asked (its Confirm is said instead), and a fact that changes after the question it
// answered re-decides from that question.

// factPrefix starts the variables that hold the flow's facts: "fact.device".
const factPrefix = "fact."

// langSetVar marks a conversation whose language was taken from the customer's own words
// (or an explicit request), so that later messages do not change it by guessing.
const langSetVar = "lang.set"

// factMatcher finds the values of one fact.
type factMatcher struct {
	id    string
	item  bool
	match matcher
	// notValue holds, normalised, the words of the fact's values whose id starts with "_":
	// words that hold a value's word but name something else (「PCサイト」 is a page a
	// phone can open, not a computer). They are taken out before the value is read.
	notValue []string
}

// notValuePrefix starts the id of a fact's value that is no value (factMatcher.notValue).
const notValuePrefix = "_"

// anotherWords tell that a message turns to another thing of the same kind than the one
// the conversation was about (「別のギフト券も」, "my other card", "another one").
var anotherWords = []string{"別の", "もう一枚", "もう1枚", "もう一つ", "もう1つ", "2枚目", "二枚目", "ほかの", "他の",
	"other", "another", "second", "different one"}

// turnsToAnother reports whether u names another thing than the one talked about.
func turnsToAnother(u utterance) bool {
	for _, w := range anotherWords {
		if isASCII(w) {
			if strings.Contains(" "+u.spaced+" ", " "+w+" ") {
				return true
			}
		} else if strings.Contains(u.compact, w) {
			return true
		}
	}
	return false
}

// forgetItem forgets what the conversation knows of the thing the problem was about: the
// item facts, the values typed at inputs and the answers given (a new problem with another
// gift card starts from what the customer says of it).
func (t *turn) forgetItem() {
	c, e := t.c, t.e
	for _, f := range e.facts {
		if f.item {
			delete(c.Vars, factPrefix+f.id)
		}
	}
	for _, n := range e.nodes {
		if n.Kind != KindInput || n.Var == "" {
			continue
		}
		for k := range c.Vars {
			if k == n.Var || strings.HasPrefix(k, n.Var+".") {
				delete(c.Vars, k)
			}
		}
	}
	c.Answers = nil
}

// readFacts reads text for facts, stores them in c.Vars and returns the variables whose
// earlier value changed.
func (t *turn) readFacts(text string, u utterance) (changed, typed []string) {
	c, e := t.c, t.e
	if c.Vars == nil {
		c.Vars = map[string]string{}
	}
	set := func(k, v string) {
		if old, ok := c.Vars[k]; ok && old != "" && old != v {
			changed = append(changed, k)
		}
		c.Vars[k] = v
	}
	for _, f := range e.facts {
		if v := f.value(u); v != "" {
			set(factPrefix+f.id, v)
		}
	}
	if e.funcs.Facts != nil {
		found := e.funcs.Facts(text, t.now)
		// Primary variables first, so that "code" is set before "code.problem".
		for k, v := range found {
			if !strings.Contains(k, ".") {
				set(k, v)
				typed = append(typed, k)
			}
		}
		for k, v := range found {
			if base, _, ok := strings.Cut(k, "."); ok {
				// A value told apart only by what goes with it has changed too: a code
				// corrected at its first characters keeps its masked last four but not
				// its problem ("sorry typo, the real one is 48QM-…").
				if old := c.Vars[k]; old != "" && old != v && found[base] != "" && !slices.Contains(changed, base) {
					changed = append(changed, base)
				}
				c.Vars[k] = v
			}
		}
	}
	return changed, typed
}

// value returns the value of the fact that u names, after taking out the words that are
// no value (「スマホでPCサイトに切り替えた」 names the phone).
func (f *factMatcher) value(u utterance) string {
	v := factValue(&f.match, u)
	if !strings.HasPrefix(v, notValuePrefix) {
		return v
	}
	spaced := u.spaced
	for _, w := range f.notValue {
		spaced = strings.ReplaceAll(spaced, w, " ")
	}
	if v = factValue(&f.match, makeUtterance(spaced, strings.ReplaceAll(spaced, " ", ""))); strings.HasPrefix(v, notValuePrefix) {
		return ""
	}
	return v
}

// factValue returns the value of a fact that u names, leaving out a value said not to be
// so when another is named (「パソコン持ってなくてスマホだけです」, "no computer, only my
// phone").
func factValue(m *matcher, u utterance) string {
	v, _ := m.best(u)
	if v == "" {
		return ""
	}
	found := m.scores(u)
	if len(found) < 2 || !deniedValue(m, v, u) {
		return v
	}
	best, bestScore := "", 0
	for _, s := range found {
		if s.target != v && s.score > bestScore && !deniedValue(m, s.target, u) {
			best, bestScore = s.target, s.score
		}
	}
	if best == "" {
		return v
	}
	return best
}

// deniedValue reports whether every plain phrase of value found in u is denied right
// after it (「パソコン持ってなくて」「スマホじゃなくて」) or before it ("no computer", "don't
// have a pc").
func deniedValue(m *matcher, value string, u utterance) bool {
	denied := false
	for _, en := range m.entries {
		if en.target != value || en.p.compact == "" {
			continue
		}
		if en.p.ascii {
			i := strings.Index(u.spaced, en.p.spaced)
			if i < 0 {
				continue
			}
			before := u.spaced[:i+1]
			if !slices.ContainsFunc(enDenyBefore, func(d string) bool { return strings.HasSuffix(before, d) }) {
				return false
			}
			denied = true
			continue
		}
		i := strings.Index(u.compact, en.p.compact)
		if i < 0 {
			continue
		}
		after := u.compact[i+len(en.p.compact):]
		if !slices.ContainsFunc(jaDenyAfter, func(d string) bool { return strings.HasPrefix(after, d) }) &&
			!contrastSoon(after) {
			return false
		}
		denied = true
	}
	return denied
}

// contrastSoon reports whether "not this but" (じゃなくて, ではなく) follows within a few
// characters: 「コンビニで買ったカードじゃなくて、友達から…」.
func contrastSoon(after string) bool {
	r := []rune(after)
	window := string(r[:min(len(r), 10)])
	for _, w := range []string{"じゃなく", "ではなく", "じゃない", "ではない"} {
		if i := strings.Index(window, w); i >= 0 && !strings.ContainsAny(window[:i], "、。,") {
			return true
		}
	}
	return false
}

// Words that deny a fact's value next to it.
var (
	jaDenyAfter = []string{"持ってな", "もってな", "持っていな", "はな", "がな", "じゃな", "ではな", "無い", "ない", "なく",
		"は持ってな", "は使ってな", "使ってな", "は無", "じゃなく"}
	enDenyBefore = []string{" no ", " not ", " dont have ", " dont have a ", " without ", " without a ", " not on ", " not on my ",
		" not on a ", " not from ", " not from my ", " no access to ", " never used "}
)

// factNode returns the first input node of the flow, not yet answered, whose variable is
// one of the typed facts just read: a message that says only 「残高2,000円で請求額2,350円です」
// is about the balance question.
func (t *turn) factNode(typed []string) (string, bool) {
	for _, n := range t.e.flow.Nodes {
		if n.Kind == KindInput && slices.Contains(typed, n.Var) && n.ID != t.c.Node && !t.answered(n.ID) {
			return t.firstUnknownBefore(n.ID), true
		}
	}
	return "", false
}

// startInputOf returns the input node that an option of the start question leads to
// straight and whose variable was just typed, such as the code input for a pasted code.
func (t *turn) startInputOf(start *compiledNode, typed []string) (string, bool) {
	for _, o := range start.options {
		if in := t.e.nodes[o.Next]; in != nil && in.Kind == KindInput && slices.Contains(typed, in.Var) && !t.answered(in.ID) {
			return in.ID, true
		}
	}
	return "", false
}

// allInputsOf returns the first of two or more input nodes, one leading straight to the
// next, whose variables were all just read: 「残高4500円あります。送料入れて4,980円」 gives
// everything the balance check needs, which decides better than the words around it.
func (t *turn) allInputsOf(typed []string) (string, bool) {
	for _, n := range t.e.flow.Nodes {
		if n.Kind != KindInput || !slices.Contains(typed, n.Var) || t.answered(n.ID) {
			continue
		}
		next := t.e.nodes[n.Next]
		if next != nil && next.Kind == KindInput && slices.Contains(typed, next.Var) && !t.answered(next.ID) {
			return n.ID, true
		}
	}
	return "", false
}

// firstUnknownBefore returns the input node that leads straight to input id and whose
// variable is not known yet, going back as far as it can: a total said alone
// ("my order is 2000 yen") is asked after the balance, not instead of it.
func (t *turn) firstUnknownBefore(id string) string {
	for hops := 0; hops < 4; hops++ {
		prev := ""
		for _, n := range t.e.flow.Nodes {
			if n.Kind == KindInput && n.Next == id && t.c.Vars[n.Var] == "" && !t.answered(n.ID) {
				prev = n.ID
				break
			}
		}
		if prev == "" {
			return id
		}
		id = prev
	}
	return id
}

// carryOver answers question n, just entered, from the message that led there when that
// message also picks one of n's options clearly (「子供が勝手に使ったかもしれない、使用済みと
// 出る」 leads to "already used" and answers its "who used it?"). It is tried once a turn.
func (t *turn) carryOver(n *compiledNode) *Option {
	least := minCarryScore
	if t.carryMin > 0 {
		least, t.carryMin = t.carryMin, 0
	}
	return t.carryOverMin(n, least)
}

// carryOverMin is carryOver with the least score to accept.
func (t *turn) carryOverMin(n *compiledNode, least int) *Option {
	u := t.carry
	t.carry = nil
	if u == nil || n.Kind != KindQuestion && (n.Kind != KindInput || len(n.options) == 0) {
		return nil
	}
	if n.Kind == KindInput {
		// An input's options (「発行日が分からない」) are taken from the message that led
		// there only when it says so plainly (「いつ発行かはわからない」), not from a word.
		least = max(least, minInputCarryScore)
	}
	var local []candidate
	for _, s := range n.match.specificScores(*u) {
		if s.target == optUnknown && n.Kind == KindQuestion && deniesOwnUse(*u) {
			// "says already redeemed but I never used it": the message that led to the
			// question tells what the customer did not do, which rules out one answer
			// rather than answering "not sure"; the question is asked.
			continue
		}
		local = append(local, candidate{kind: MatchOption, target: s.target, dest: n.option(s.target).Next, score: s.score})
	}
	slices.SortStableFunc(local, func(a, b candidate) int { return b.score - a.score })
	win, _ := pick(local)
	if win == nil || win.score < least {
		return nil
	}
	return n.option(win.target)
}

// factsDeny reports whether u states, for a fact option o stands for, a value o does not
// give: the message names the fact, but not as o.
func (e *Engine) factsDeny(o *Option, u utterance) bool {
	for _, fv := range o.Facts {
		k, _, _ := strings.Cut(fv, "=")
		for i := range e.facts {
			f := &e.facts[i]
			if f.id != k {
				continue
			}
			v := f.value(u)
			if v != "" && !slices.Contains(o.Facts, k+"="+v) {
				return true
			}
		}
	}
	return false
}

// optUnknown is the id a flow gives a question's "not sure" option, which only a reply to
// the question chooses.
const optUnknown = "unknown"

// ownUseDenials say the customer did not use the card themselves.
var ownUseDenials = []string{" never ", " wasnt me ", " not me ", " didnt use ", " didnt redeem ", " havent used ", " have not used ",
	"覚えはない", "覚えがない", "覚えはありません", "覚えがありません", "使っていない", "使ってない", "使っていません", "使ってません",
	// Kept without using it (「引き出しに入れておいただけ」).
	"入れておいただけ", "入れていただけ", "入れてただけ", "しまっておいた", "入れっぱなし", " never touched ", " kept it "}

// deniesOwnUse reports whether u says the customer did not use the card themselves.
func deniesOwnUse(u utterance) bool {
	return u.saysAny(ownUseDenials)
}

// minInputCarryScore is the least score of an input's option found in the message that
// led to the input: two concepts close together (「いつ発行かはわからない」), not
// 「わからない」 alone.
const minInputCarryScore = 7

// minCarryScore is the least score (characters) of an option found in a message that led
// to its question; single English words ("amazon", "gift") never count, as they name the
// topic more often than the answer.
const minCarryScore = 3

// answered reports whether node id was answered earlier in the conversation.
func (t *turn) answered(id string) bool {
	for _, a := range t.c.Answers {
		if a.Node == id {
			return true
		}
	}
	return false
}

// knownOption returns the option of question n that the conversation's facts select, if
// exactly one does.
func (t *turn) knownOption(n *compiledNode) *Option {
	var found *Option
	for i := range n.options {
		o := &n.options[i]
		for _, fv := range o.Facts {
			k, v, _ := strings.Cut(fv, "=")
			if t.c.Vars[factPrefix+k] == v {
				if found != nil && found != o {
					return nil
				}
				found = o
				break
			}
		}
	}
	return found
}

// routeOption is knownOption for ranking: at a question, the option the facts select; at a
// decision, the branch the facts decide (a copy of the variables is judged, nothing is
// changed), as an option leading there. It lets a FAQ entry give way to the advice the flow
// would reach through a decision (「期限切れたギフト券、メルカリで買ったやつ」: expired, no
// issue date, bought from someone: the advice for a bought card).
func (t *turn) routeOption(n *compiledNode) *Option {
	if n.Kind != KindDecision {
		return t.knownOption(n)
	}
	d, ok := t.e.funcs.Decisions[n.Func]
	if !ok || d.Func == nil {
		return nil
	}
	outcome, err := d.Func(maps.Clone(t.c.Vars), t.now)
	if err != nil || n.Branches[outcome] == "" {
		return nil
	}
	return &Option{ID: outcome, Next: n.Branches[outcome]}
}

// autoAnswer answers n from what the customer already said, when it can: an input whose
// variable is known, or a question one of whose options the facts select. It reports false
// when n must be asked.
func (t *turn) autoAnswer(n *compiledNode) (bool, []Message, error) {
	if t.answered(n.ID) {
		return false, nil, nil
	}
	switch n.Kind {
	case KindInput:
		v := t.c.Vars[n.Var]
		if n.Var == "" || v == "" {
			return false, nil, nil
		}
		if !n.Confirm.IsZero() {
			t.say(n.Confirm)
		}
		t.c.Answers = append(t.c.Answers, Answer{Node: n.ID, Value: v, At: t.now})
		out, err := t.fire(n.ID, "parsed")
		return true, out, err
	case KindQuestion:
		o := t.knownOption(n)
		if o == nil {
			return false, nil, nil
		}
		if !n.Confirm.IsZero() {
			t.say(n.Confirm)
		} else {
			t.sayf(t.e.texts.KnownAnswer, o.Label.In(t.lang()))
		}
		out, err := t.choose(n, o)
		return true, out, err
	}
	return false, nil, nil
}

// redecideFrom finds the earliest answered node that one of the changed variables
// answered, for the conversation to go back there and decide again with the new value.
func (t *turn) redecideFrom(changed []string) (string, bool) {
	if len(changed) == 0 {
		return "", false
	}
	for i, a := range t.c.Answers {
		n := t.e.nodes[a.Node]
		if n == nil || a.Node == t.c.Node {
			continue
		}
		for _, k := range changed {
			if n.Kind == KindInput && n.Var == k {
				return t.c.Answers[i].Node, true
			}
			if o := n.option(a.Option); o != nil && strings.HasPrefix(k, factPrefix) {
				for _, fv := range o.Facts {
					if strings.HasPrefix(fv, strings.TrimPrefix(k, factPrefix)+"=") {
						return t.c.Answers[i].Node, true
					}
				}
			}
		}
	}
	return "", false
}

// correctionWords mark a message that corrects what the customer said before.
var correctionWords = []string{"間違", "まちが", "ごめん", "すみません", "すいません", "訂正", "じゃなく", "ではなく", "正しくは", "やっぱ",
	"見間違", "勘違い", "実は", "sorry", "actually", "wait", "correction", "i mean", "typo", "mistake", "oops", "not", "misread", "wrong"}

// correcting reports whether u says it corrects something said before.
func correcting(u utterance) bool {
	for _, w := range correctionWords {
		if isASCII(w) {
			if strings.Contains(" "+u.spaced+" ", " "+w+" ") {
				return true
			}
		} else if strings.Contains(u.compact, w) {
			return true
		}
	}
	return false
}

// correctInput reads a correction of a value typed at an input earlier ("sorry, it was
// 2014 not 2019", 「2019年じゃなくて2014年でした」), with that input's own parser, the latest
// answered input first; it stores the new value and returns the input to decide again
// from. Facts read in passing cover what names itself (「送料込みで5,210円」); this covers
// a bare value.
func (t *turn) correctInput(text string) (string, bool) {
	c, e := t.c, t.e
	for i := len(c.Answers) - 1; i >= 0; i-- {
		n := e.nodes[c.Answers[i].Node]
		if n == nil || n.Kind != KindInput || n.Var == "" || e.funcs.Inputs[n.Input] == nil {
			continue
		}
		parse := e.funcs.Inputs[n.Input]
		vars, err := parse(text, t.now)
		if err == nil && vars[""] == c.Vars[n.Var] {
			// 「2019年じゃなくて2014年」: the value after the denial is the new one.
			for _, w := range []string{"じゃなくて", "ではなくて", "じゃなく", "ではなく", " but "} {
				if _, after, ok := strings.Cut(text, w); ok {
					vars, err = parse(after, t.now)
					break
				}
			}
		}
		if err != nil || vars[""] == "" || vars[""] == c.Vars[n.Var] {
			continue
		}
		for k, v := range vars {
			key := n.Var
			if k != "" {
				key += "." + k
			}
			c.Vars[key] = v
		}
		return n.ID, true
	}
	return "", false
}

// redecide returns to node id, forgetting the answers given since, and answers it again
// from the facts.
func (t *turn) redecide(id string) ([]Message, error) {
	c := t.c
	for k := len(c.Answers) - 1; k >= 0; k-- {
		if c.Answers[k].Node == id {
			c.Answers = c.Answers[:k]
			break
		}
	}
	for j := len(c.Path) - 1; j >= 0; j-- {
		if c.Path[j] == id {
			c.Path = c.Path[:j]
			break
		}
	}
	return t.enter(id)
}

// recordFacts keeps the facts an option chosen by the customer stands for.
func (t *turn) recordFacts(o *Option) {
	seen := map[string]bool{}
	for _, fv := range o.Facts {
		k, v, _ := strings.Cut(fv, "=")
		if seen[k] {
			continue
		}
		seen[k] = true
		// The customer's own value stays when it is one of the option's.
		if cur := t.c.Vars[factPrefix+k]; cur != "" && slices.Contains(o.Facts, k+"="+cur) {
			continue
		}
		if t.c.Vars == nil {
			t.c.Vars = map[string]string{}
		}
		t.c.Vars[factPrefix+k] = v
	}
}

// withoutAnswers returns u without the phrases of advice n's yes and no, so that what
// remains of 「いいえ、ギフト券を選んでも先に進めません」 can answer the next question.
func (e *Engine) withoutAnswers(n *compiledNode, u utterance) utterance {
	spaced := u.spaced
	for _, en := range n.match.entries {
		if en.p.ascii {
			spaced = strings.ReplaceAll(spaced, en.p.spaced, " ")
		}
	}
	compact := strings.ReplaceAll(spaced, " ", "")
	for _, en := range n.match.entries {
		if !en.p.ascii {
			compact = strings.ReplaceAll(compact, en.p.compact, "")
			spaced = strings.ReplaceAll(spaced, en.p.compact, " ")
		}
	}
	return makeUtterance(spaced, compact)
}
