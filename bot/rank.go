package bot

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ranking: free text is scored against the current node's options, the jump intents and
// the FAQ together. A score is the length in characters of the longest phrase found (an
// exact match counts 1000 more), so a specific phrase beats a single word:
// 「レジで支払いがクレカのままになってる」 finds "クレカのまま" before "クレカ". The best candidate
// wins when it is ahead by a margin; candidates that lead to the same place merge, and the
// current node's options win ties against jumps. When two or three different candidates
// are too close to call, the customer is asked which one was meant.

// rankMargin is how far the best candidate must be ahead of the next different one.
const rankMargin = 2

// globalMargin is how much more specific (in characters) a jump or FAQ entry must be to
// beat an option of the current question.
const globalMargin = 2

// faqQuestionBonus favours the FAQ for a message that asks a question.
const faqQuestionBonus = 3

// tailBonus is what a phrase found after "but" gains, except at the closing question.
const tailBonus = 2

// maxSuggestions is how many candidates a "did you mean" offers.
const maxSuggestions = 3

// candidate is one way to understand free text.
type candidate struct {
	kind   MatchKind // MatchOption, MatchJump or MatchFAQ
	target string    // option id, node id or FAQ id
	dest   string    // where it leads: the option's next node, the jump's target, "faq:ID"
	score  int
}

// rank collects the candidates for u at n, best first. Phrases found negated
// (「カード会社は関係ない」) do not count.
func (e *Engine) rank(n *compiledNode, u utterance, tail *utterance, question bool) []candidate {
	var out []candidate
	add := func(c candidate) {
		if c.score <= 0 {
			return
		}
		for i := range out {
			if out[i].dest == c.dest {
				// Same destination: an option of the current question (which records the
				// answer) with the better score.
				if out[i].kind != MatchOption && c.kind == MatchOption {
					out[i].kind, out[i].target = c.kind, c.target
				}
				out[i].score = max(out[i].score, c.score)
				return
			}
		}
		out = append(out, c)
	}
	// "Thanks, but it still doesn't work": at "did that solve it?", what follows a "but"
	// decides. Elsewhere it counts a little more (「期限切れかと思ったけど残高不足って出てる」),
	// as the clause before often names the cause (「裏面の数字を入れたけど登録できない」).
	withTail := func(m *matcher, s targetScore) int {
		if tail != nil {
			if ts := m.scoreOf(s.target, *tail) % 1000; ts > 0 { // a tail alone is no exact match
				if n.Kind == KindAdvice {
					return max(s.score, ts) + 500
				}
				return max(s.score, ts) + tailBonus
			}
		}
		return s.score
	}
	for _, s := range n.match.scores(u) {
		o := n.option(s.target)
		add(candidate{kind: MatchOption, target: s.target, dest: o.Next, score: withTail(&n.match, s)})
	}
	for _, s := range e.intents.scores(u) {
		if s.target == n.ID {
			continue
		}
		add(candidate{kind: MatchJump, target: s.target, dest: s.target, score: withTail(&e.intents, s)})
	}
	// A direct question is answered before the flow moves on; a statement
	// (「カード会社に止められたみたい」) describes the customer's problem, which the flow
	// diagnoses: the FAQ answers it only when nothing in the flow matches.
	if question || len(out) == 0 {
		for _, s := range e.faq.scores(u) {
			score := withTail(&e.faq, s)
			if question {
				score += faqQuestionBonus
			}
			add(candidate{kind: MatchFAQ, target: s.target, dest: "faq:" + s.target, score: score})
		}
	}
	slices.SortStableFunc(out, func(a, b candidate) int {
		if a.score != b.score {
			return b.score - a.score
		}
		return kindOrder(a.kind) - kindOrder(b.kind)
	})
	return out
}

func kindOrder(k MatchKind) int {
	switch k {
	case MatchOption:
		return 0
	case MatchFAQ:
		return 1
	}
	return 2
}

// decide picks the winner among ranked candidates at n, or the suggestions to offer when
// none is clearly ahead. weakOptions says the node's options are a yes/no that any
// specific jump or question overrides (the closing question of advice).
func decide(n *compiledNode, cands []candidate) (win *candidate, suggest []candidate) {
	if len(cands) == 0 {
		return nil, nil
	}
	var bestLocal, bestGlobal *candidate
	for i := range cands {
		c := &cands[i]
		if c.kind == MatchOption && bestLocal == nil {
			bestLocal = c
		}
		if c.kind != MatchOption && bestGlobal == nil {
			bestGlobal = c
		}
	}
	if bestLocal != nil {
		weak := n.Kind == KindAdvice && bestLocal.score < 1000
		switch {
		case bestGlobal == nil, bestLocal.score >= 1000,
			!weak && bestGlobal.score < bestLocal.score+globalMargin,
			weak && bestGlobal.score < 3:
			// The current question's options decide among themselves.
			return pick(onlyKind(cands, MatchOption, true))
		}
		// A jump or a question more specific than any option: the options drop out.
		return pick(onlyKind(cands, MatchOption, false))
	}
	return pick(cands)
}

// onlyKind returns the candidates of kind k (keep) or of the other kinds (!keep).
func onlyKind(cands []candidate, k MatchKind, keep bool) []candidate {
	var out []candidate
	for _, c := range cands {
		if (c.kind == k) == keep {
			out = append(out, c)
		}
	}
	return out
}

// pick returns the first candidate when it is ahead of the second by the margin, or the
// close ones as suggestions.
func pick(cands []candidate) (*candidate, []candidate) {
	switch {
	case len(cands) == 0:
		return nil, nil
	case len(cands) == 1 || cands[0].score >= cands[1].score+rankMargin:
		return &cands[0], nil
	}
	var sug []candidate
	for _, c := range cands {
		if len(sug) == maxSuggestions || c.score+rankMargin+1 < cands[0].score {
			break
		}
		sug = append(sug, c)
	}
	return nil, sug
}

// targetScore is the best score of one target.
type targetScore struct {
	target string
	score  int
}

// scores returns the best score of every target that matches u, in the order the targets
// were added.
func (m *matcher) scores(u utterance) []targetScore { return m.scoresOf(u, false) }

// specificScores is scores without single English words that name the topic rather than
// an answer: short ones and the gift card's own words ("amazon", "card"); a long word of
// the answer's own ("stolen", "hacked", "mercari") still counts.
func (m *matcher) specificScores(u utterance) []targetScore { return m.scoresOf(u, true) }

// topicWords are single English words that name what every message is about.
var topicWords = map[string]bool{"amazon": true, "gift": true, "giftcard": true, "card": true, "cards": true, "code": true,
	"codes": true, "balance": true, "account": true, "order": true, "money": true, "voucher": true, "amazons": true,
	"redeem": true, "register": true, "payment": true, "checkout": true, "bought": true, "purchase": true, "purchased": true,
	"myself": true, "someone": true, "friend": true}

// scoresOf is scores, without the phrases that are a single topic or short English word
// when specific.
func (m *matcher) scoresOf(u utterance, specific bool) []targetScore {
	var out []targetScore
	consider := func(en *matchEntry, broad bool) {
		if specific && broad {
			return
		}
		s := en.p.score(u)
		if s == 0 {
			return
		}
		for i := range out {
			if out[i].target == en.target {
				out[i].score = max(out[i].score, s)
				return
			}
		}
		out = append(out, targetScore{en.target, s})
	}
	var buf [wokenBuf]int32
	if woken, ix, ok := m.woken(u, buf[:0]); ok {
		// The entries not woken score 0; in the order of the entries, the targets come in
		// the same order.
		for _, i := range woken {
			broad := false
			if specific {
				if int(i) < len(ix.broad) {
					broad = ix.broad[i]
				} else {
					broad = isBroad(&m.entries[i].p)
				}
			}
			consider(&m.entries[i], broad)
		}
		return out
	}
	for i := range m.entries {
		consider(&m.entries[i], specific && isBroad(&m.entries[i].p))
	}
	return out
}

// scoreOf returns the best score of target's phrases for u.
func (m *matcher) scoreOf(target string, u utterance) int {
	best := 0
	var buf [wokenBuf]int32
	if woken, _, ok := m.woken(u, buf[:0]); ok {
		for _, i := range woken {
			if en := &m.entries[i]; en.target == target {
				best = max(best, en.p.score(u))
			}
		}
		return best
	}
	for _, en := range m.entries {
		if en.target == target {
			best = max(best, en.p.score(u))
		}
	}
	return best
}

// Negation: a phrase followed (Japanese) or preceded (English) by a denial does not count.
var (
	jaParticles = []string{"とは", "では", "って", "なんて", "は", "が", "も", "の"}
	jaDenials   = []string{"関係ない", "関係ありません", "関係なかった", "関係なく", "関係ねー", "じゃない", "じゃなく", "じゃありません",
		"ではない", "ではなく", "ではありません", "でもない", "でもありません", "ちがう", "違う", "違います", "ちがいます", "無関係",
		"問題ない", "問題ありません", "問題なかった", "大丈夫", "不要", "いらない", "要らない", "結構です",
		"せいではない", "せいじゃない", "せいでは", "原因ではない", "原因じゃない",
		// A verb's own negative: 「期限が切れてない」「使用されていない」.
		"てない", "ていない", "てません",
		// Not remembering doing it: 「自分で使った覚えはない」.
		"覚えはない", "覚えがない", "覚えない", "記憶はない", "記憶がない", "おぼえがない", "おぼえはない"}
	// jaAbout are the nouns a denial may follow: 「カード会社の問題ではない」.
	jaAbout   = []string{"問題", "せい", "原因", "話", "件"}
	enDenials = []string{" not", " isnt", " isnt the", " not the", " not a", " not my", " not about", " not about the",
		" nothing to do with", " nothing to do with the", " not related to", " not related to the", " wasnt", " no need for",
		" no need for a", " dont need", " dont need a", " dont need the", " never"}
)

// deniedAfter reports whether rest (the compact text after a Japanese phrase) denies it,
// also after the kana that end the phrase's word (「使用済」「み」「じゃなくて」).
func deniedAfter(rest string) bool {
	if denies(rest) {
		return true
	}
	for range 2 {
		r, size := utf8.DecodeRuneInString(rest)
		if !isHiragana(r) || slices.ContainsFunc(jaParticles, func(p string) bool { return strings.HasPrefix(rest, p) }) {
			return false
		}
		if rest = rest[size:]; denies(rest) {
			return true
		}
	}
	return false
}

// denies reports whether rest, right after a phrase, denies it.
func denies(rest string) bool {
	particle := ""
	for _, p := range jaParticles {
		if strings.HasPrefix(rest, p) {
			rest, particle = rest[len(p):], p
			break
		}
	}
	if particle == "の" {
		for _, n := range jaAbout {
			if after, ok := strings.CutPrefix(rest, n); ok {
				rest, particle = after, "は"
				for _, p := range []string{"は", "が", "とは"} {
					if strings.HasPrefix(rest, p) {
						rest = rest[len(p):]
						break
					}
				}
				break
			}
		}
	}
	if particle == "では" && (strings.HasPrefix(rest, "ない") || strings.HasPrefix(rest, "なく")) {
		// 「カード会社の問題ではないと思う」: the particle was part of the denial.
		return true
	}
	if r, _ := utf8.DecodeRuneInString(rest); !denialStarts[r] {
		// No denial starts so: most text after a phrase is told here.
		return false
	}
	for _, d := range jaDenials {
		if strings.HasPrefix(rest, d) {
			// 「番号が違う」 says the number is wrong; 「カード会社とは違う」 denies it.
			if (particle == "が" || particle == "も" || particle == "の" || particle == "") && isDifferent(d) {
				continue
			}
			return true
		}
	}
	return false
}

// denialStarts are the first characters of jaDenials.
var denialStarts = func() map[rune]bool {
	m := map[rune]bool{}
	for _, d := range jaDenials {
		r, _ := utf8.DecodeRuneInString(d)
		m[r] = true
	}
	return m
}()

// isDifferent reports whether a denial is 違う ("is different"), which denies only after
// a topic or contrast particle.
func isDifferent(d string) bool {
	return strings.HasPrefix(d, "違") || strings.HasPrefix(d, "ちが")
}

// stemmedDenials are enDenials with their words stemmed, as the text they are looked for in.
var stemmedDenials = func() []string {
	out := make([]string, len(enDenials))
	for i, d := range enDenials {
		ws := strings.Fields(d)
		for j, w := range ws {
			ws[j] = stem(w)
		}
		out[i] = " " + strings.Join(ws, " ")
	}
	return out
}()

// deniedBeforeReach is how many bytes before an English phrase deniedBefore reads: more
// than the longest of stemmedDenials.
const deniedBeforeReach = 40

// joinTail returns the last n bytes (all when shorter) of strings.Join(words, " "), which
// is all deniedBefore reads of it, without joining a long message's words.
func joinTail(words []string, n int) string {
	size, k := 0, len(words)
	for k > 0 && size < n {
		k--
		size += len(words[k])
		if k < len(words)-1 {
			size++ // the space after it
		}
	}
	t := strings.Join(words[k:], " ")
	if k > 0 {
		t = " " + t // the space before words[k]
	}
	return t[max(0, len(t)-n):]
}

// deniedBefore reports whether before (the stemmed text before an English phrase, without
// its trailing space) denies it: a denial right before it, or "not" among the three words
// before it ("it's not about my visa").
func deniedBefore(before string) bool {
	for _, d := range stemmedDenials {
		if strings.HasSuffix(before, d) {
			return true
		}
	}
	var buf [3]string
	words := lastFields(buf[:], before[max(0, len(before)-deniedBeforeReach):])
	for i, w := range words {
		switch w {
		case "not", "isnt", "arent", "wasnt", "never":
			// "not enough money", "isn't valid, the code": the negative tells a state,
			// not that what follows is beside the point.
			if i+1 < len(words) && slices.Contains(negatedStates, words[i+1]) {
				continue
			}
			return true
		}
	}
	return false
}

// lastFields returns the last len(buf) words of s (as strings.Fields splits it, fewer when
// s has fewer), in order, in buf: deniedBefore reads them on every occurrence of an English
// phrase, without allocating.
func lastFields(buf []string, s string) []string {
	n := 0
	end := len(s)
	for i := len(s); i > 0 && n < len(buf); {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsSpace(r) {
			if end > i {
				n++
				buf[len(buf)-n] = s[i:end]
			}
			end = i - size
		}
		i -= size
	}
	if n < len(buf) && end > 0 {
		n++
		buf[len(buf)-n] = s[:end]
	}
	return buf[len(buf)-n:]
}

// negatedStates follow a negative that describes the problem ("not enough", "not valid")
// rather than denying the words after it. Stemmed, as the text they are found in.
var negatedStates = []string{"enough", "valid", "work", "accepted", "applied", "us", "used", "show", "available",
	"recognized", "recognised", "there", "listed", "selectabl", "be", "abl", "allowed", "go", "choos", "select", "tak"}

// Language requests, found anywhere in a message: "sorry I can't read Japanese, English
// please?", 「日本語でお願いします」.
var (
	enRequestWords = []string{" english ", " eng ", "英語", "えいご"}
	jaRequestWords = []string{" in japanese ", " japanese please ", " japanese pls ", " nihongo ", "日本語で", "日本語に",
		"日本語がいい", "日本語希望", "日本語でお願い"}
	jaRejections = []string{" cant read japanese ", " cannot read japanese ", " dont understand japanese ",
		" dont speak japanese ", " cant understand japanese ", " no japanese ", " dont read japanese ", " not japanese ",
		" cant speak japanese ", "日本語わから", "日本語が分から", "日本語がわから", "日本語分から", "日本語読めない",
		"日本語が読めない", "日本語できない", "日本語が苦手", "日本語苦手"}
)

// langRequest returns the language command a message asks for, if any.
func langRequest(u utterance) (string, bool) {
	has := func(words []string) bool {
		for _, w := range words {
			if strings.Contains(u.spaced, w) || (!strings.HasPrefix(w, " ") && strings.Contains(u.compact, w)) {
				return true
			}
		}
		return false
	}
	en := has(enRequestWords) || has(jaRejections)
	ja := has(jaRequestWords) && !has(jaRejections)
	switch {
	case en && !ja:
		return cmdEnglish, true
	case ja && !en && !describesJapanese(u):
		return cmdJapanese, true
	}
	return "", false
}

// japaneseDescribed are English words that say something is in Japanese ("the site is in
// Japanese"), which asks for no language.
var japaneseDescribed = []string{" is in japanese ", " are in japanese ", " all in japanese ", " everything in japanese ",
	" written in japanese ", " shows in japanese ", " its in japanese ", " was in japanese ", " site in japanese ", " page in japanese "}

// describesJapanese reports whether u tells that something is in Japanese, without asking
// for Japanese replies (「日本語で」, "japanese please", "reply in japanese").
func describesJapanese(u utterance) bool {
	sp := " " + u.spaced + " "
	for _, w := range []string{" japanese please ", " japanese pls ", " reply in japanese ", " answer in japanese ", " in japanese please ", " nihongo "} {
		if strings.Contains(sp, w) {
			return false
		}
	}
	if !isASCII(strings.TrimSpace(u.spaced)) {
		return false
	}
	for _, w := range japaneseDescribed {
		if strings.Contains(sp, w) {
			return true
		}
	}
	return false
}

// strongAgentWords ask for a person wherever they appear in a message ("ok, but can I talk
// to a human about it?"), unless denied.
var strongAgentWords = []string{"担当者", "オペレーター", "オペレータ", "人と話したい", "人間と話したい", "有人対応", "人に相談したい",
	"スタッフの方", "直接話したい", "人と直接", "スタッフさんと", "人間の方", "担当の方", "担当の人", "担当者の方",
	"人に代わって", "人につないで", "人と話せ", "スタッフと話", "talk to a person", "talk to a human", "speak to a human",
	"speak to a person", "real person", "representative", "speak to someone", "talk to someone", "live agent",
	"human agent", "a human", "an agent", "real human", "talk to an agent", "speak to an agent", "speak with someone",
	"人に相談", "誰かに相談", "誰か人に", "人と相談", "誰かと話", "だれかと話", "どなたかと話", "直接話せ", "人に代わ", "人に聞き", "人に見て",
	"talk with someone", "speak with a person", "a person look", "someone look at", "someone to look", "a human look", "talk with a person", "speak to somebody", "talk to somebody", "can someone help", "could someone help", "someone help me", "a person help",
	"want a person", "need a person", "a person to", "want someone to", "need someone to", "人に確認", "人に見てもら", "人に対応"}

// sentenceBreaks split a message into clauses for commands said at its start or end
// (「あ、やっぱ違うかも。戻る」).
const sentenceBreaks = "。．.！!？?、,\n;；…"

// clauses returns the first two and last two clauses of s (all when there are fewer).
func clauses(s string) []string {
	// The clauses as strings.FieldsFunc splits s, keeping only the first two and the last
	// two: a long message is not split whole.
	var first, last [2]string
	n := 0
	start := -1
	add := func(c string) {
		if n < 2 {
			first[n] = c
		}
		last[0], last[1] = last[1], c
		n++
	}
	for i, r := range s {
		if strings.ContainsRune(sentenceBreaks, r) {
			if start >= 0 {
				add(s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		add(s[start:])
	}
	switch {
	case n <= 2:
		return append([]string{}, first[:n]...)
	case n == 3:
		return []string{first[0], first[1], last[1]}
	}
	return []string{first[0], first[1], last[0], last[1]}
}

// Question markers: a message that asks rather than tells.
var (
	jaQuestionEnds  = []string{"か", "かな", "かね", "の", "っけ", "のでしょう", "でしょうか", "ですかね", "は", "って"}
	jaQuestionWords = []string{"方法は", "どうやって", "どうすれば", "どうしたら", "なぜ", "なんで", "何で", "いつまで", "どのくらい",
		"何年", "どこで", "どこに", "できますか", "できる?", "ますか", "ですか", "って何", "とは", "教えて", "知りたい",
		"ありますか", "あるの", "でしょうか"}
	enQuestionStarts = []string{"how ", "what ", "why ", "when ", "where ", "which ", "can ", "could ", "do ", "does ", "is ",
		"are ", "should ", "will ", "would ", "may ", "am "}
)

// isQuestion reports whether a message asks something: a question mark, a Japanese
// question ending or word, or an English question word first.
func isQuestion(raw string, u utterance) bool {
	if strings.ContainsAny(raw, "?？") {
		return true
	}
	for _, w := range jaQuestionWords {
		if strings.Contains(u.compact, w) {
			return true
		}
	}
	for _, w := range jaQuestionEnds {
		if strings.HasSuffix(u.compact, w) {
			return true
		}
	}
	lead := strings.TrimLeft(u.spaced, " ")
	for i, w := range enQuestionStarts {
		if strings.HasPrefix(lead, w) || strings.Contains(u.spaced, enQuestionAfterI[i]) {
			return true
		}
	}
	return false
}

// enQuestionAfterI are enQuestionStarts with " i " before them, as isQuestion looks for
// them inside a message; built once.
var enQuestionAfterI = func() []string {
	out := make([]string, len(enQuestionStarts))
	for i, w := range enQuestionStarts {
		out[i] = " i " + w
	}
	return out
}()
