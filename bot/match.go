package bot

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// utterance is customer text prepared for matching.
type utterance struct {
	spaced  string // normalised, padded with spaces: " i cant use it "
	compact string // normalised without spaces: "icantuseit"
	// stemmed is spaced with every word stemmed (" i cant us it "), where English phrases
	// are found: "redeemed", "redeeming" and "redeem" are one word.
	stemmed string
	// memo holds what rule word groups found in this utterance.
	memo map[*wordGroup]*groupFound
	// idx holds where compact and stemmed hold the flow's phrases, found in one pass on
	// the first look-up (see aho.go); nil for an utterance made without one.
	idx   *textIndex
	words []string // the words of spaced
}

// saysAny reports whether u holds one of words: a word that starts with a space is looked
// for as whole words among u's spaced words (" never "), any other in u's compact text
// (「使っていない」).
func (u utterance) saysAny(words []string) bool {
	for _, w := range words {
		if strings.HasPrefix(w, " ") && strings.Contains(" "+u.spaced+" ", w) || !strings.HasPrefix(w, " ") && strings.Contains(u.compact, w) {
			return true
		}
	}
	return false
}

func newUtterance(normalize func(string) string, s string) utterance {
	return correctedUtterance(normalize, nil, s)
}

// correctedUtterance is newUtterance with long English words that the flow does not know
// read as the flow's words they are one typo away from.
func correctedUtterance(normalize func(string) string, ty *typos, s string) utterance {
	spaced := ty.correct(" " + splitScripts(normalize(s)) + " ")
	return makeUtterance(spaced, strings.ReplaceAll(spaced, " ", ""))
}

func makeUtterance(spaced, compact string) utterance {
	u := plainUtterance(spaced, compact)
	u.memo = make(map[*wordGroup]*groupFound, memoSize)
	return u
}

// plainUtterance prepares text for a quick search of a few phrases: nothing remembered.
func plainUtterance(spaced, compact string) utterance {
	u := utterance{spaced: spaced, compact: compact, words: strings.Fields(spaced)}
	for i, w := range u.words {
		u.words[i] = stem(w)
	}
	u.stemmed = " " + strings.Join(u.words, " ") + " "
	u.idx = &textIndex{compact: u.compact, stemmed: u.stemmed}
	return u
}

// splitScripts puts a space where Latin letters or digits meet other text, so that English
// words inside Japanese (「iPhoneです」, 「PCから」) match on word boundaries.
func splitScripts(s string) string {
	var b strings.Builder
	prev := rune(' ')
	for _, r := range s {
		if r != ' ' && prev != ' ' && isLatin(r) != isLatin(prev) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func isLatin(r rune) bool { return r < utf8.RuneSelf }

// phrase is a normalised synonym or label.
type phrase struct {
	spaced  string // " cant use "
	compact string // "cantuse"
	stemmed string // " cant us ": what an English phrase is searched for
	ascii   bool   // matched on word boundaries rather than as a substring
	runes   int
	// ref is where the phrase's search strings are in the flow's lexicon, for a search
	// of the utterance's index instead of its text; shared by the phrase's copies.
	ref *phraseRef
	// groups make the phrase a rule ("@code + @invalid"): a word of every group must be
	// found, in any order; nil for a plain phrase.
	groups []*wordGroup
	// chunks are the phrase's content words for a looser match when the whole phrase is
	// not found: 「残高でギフト券を買」 also finds 「残高で別のギフト券を買う」, "do gift cards
	// expire" also finds "do amazon gift cards expire". Nil for short phrases.
	chunks []string
	// seps are the particles between a Japanese phrase's chunks: text between two chunks
	// must hold the particle, be another particle alone, or be empty (a particle dropped:
	// 「ギフト券登録」).
	seps []string
	// symptom marks a phrase that tells what goes wrong but not why (「登録できない」,
	// 「ギフト券で払えない」, "checkout is stuck"): written "~登録できない" in the flow, it
	// scores at most symptomScore, so that a cause named in another clause of the message
	// (「使用済みって出て登録できない」, "a gift card and headphones in the cart and it won't
	// go through") decides, while the symptom alone still finds its option.
	symptom bool
}

// symptomMark starts a synonym that names a symptom rather than a cause.
const symptomMark = "~"

// symptomScore is the most a symptom phrase scores: less than any cause phrase of two
// characters more, so a named cause wins by the ranking margin.
const symptomScore = 4

// cutSymptom strips the symptom mark from a synonym and says whether it was there.
func cutSymptom(w string) (string, bool) {
	t := strings.TrimSpace(w)
	if strings.HasPrefix(t, symptomMark) {
		return strings.TrimSpace(t[len(symptomMark):]), true
	}
	return w, false
}

func newPhrase(normalize func(string) string, s string) (phrase, bool) {
	n := normalize(s)
	if n == "" {
		return phrase{}, false
	}
	c := strings.ReplaceAll(n, " ", "")
	ascii := true
	for i := 0; i < len(c); i++ {
		if c[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	p := phrase{spaced: " " + n + " ", compact: c, ascii: ascii, runes: utf8.RuneCountInString(c), ref: &phraseRef{}}
	search := c
	if ascii {
		ws := strings.Fields(n)
		for i, w := range ws {
			ws[i] = stem(w)
		}
		search = strings.Join(ws, " ")
		p.stemmed = " " + search + " "
	}
	if ascii {
		if ws := strings.Fields(search); len(ws) >= 3 {
			p.chunks = ws
		}
	} else {
		p.chunks, p.seps = jaChunks(c)
	}
	return p, true
}

// jaParticlesSplit are the particles that separate content words in a Japanese phrase
// when they follow a kanji, katakana or Latin character (not inside a hiragana word such
// as ありがとう).
var jaParticlesSplit = []string{"って", "を", "が", "に", "で", "は", "も", "と", "の"}

// jaChunks splits a Japanese phrase at its particles, returning the chunks and the
// particle after each (「ギフト券と」「ほかの商品」 → ギフト券, ほかの商品 and と); nil unless
// it has two or more chunks of two or more characters each.
func jaChunks(c string) (chunks, seps []string) {
	start := 0
	var prev rune
	for i, r := range c {
		if i > start && prev != 0 && !isHiragana(prev) {
			for _, pt := range jaParticlesSplit {
				if strings.HasPrefix(c[i:], pt) {
					chunks = append(chunks, c[start:i])
					seps = append(seps, pt)
					start = i + len(pt)
					break
				}
			}
		}
		prev = r
	}
	chunks = append(chunks, c[start:])
	if len(chunks) < 2 {
		return nil, nil
	}
	for _, ch := range chunks {
		if utf8.RuneCountInString(ch) < 2 {
			return nil, nil
		}
	}
	return chunks, seps
}

func isHiragana(r rune) bool { return r >= 'ぁ' && r <= 'ゖ' }

// maxGap is how much text may come between two chunks of a phrase: bytes in Japanese
// (about four characters), words in English.
const (
	maxGapBytes = 12
	maxGapWords = 2
)

// gapScore scores a looser match of p's chunks in order with little text between them; 0
// when they are not all found. It counts one less than the chunks' characters, so a phrase
// found whole beats the same phrase found in pieces.
func (p phrase) gapScore(u utterance) int {
	return p.gapScoreIn(u, u.index(p.ref))
}

// gapScoreIn is gapScore with u's index o of p's lexicon, or nil to search u.
func (p *phrase) gapScoreIn(u utterance, o *occurrences) int {
	if p.chunks == nil {
		return 0
	}
	if p.ascii {
		return p.gapScoreWords(u, o)
	}
	runes := 0
	for _, ch := range p.chunks {
		runes += utf8.RuneCountInString(ch)
	}
	text := u.compact
	if o != nil {
		return p.gapScoreIndexed(text, o, runes)
	}
	for off := 0; ; {
		i := strings.Index(text[off:], p.chunks[0])
		if i < 0 {
			return 0
		}
		i += off
		end := i + len(p.chunks[0])
		ok := true
		for k, ch := range p.chunks[1:] {
			window := text[end:min(len(text), end+maxGapBytes+len(ch))]
			j := strings.Index(window, ch)
			if j < 0 || (j > 0 && !strings.Contains(window[:j], p.seps[k]) && !slices.Contains(jaParticlesSplit, window[:j])) {
				ok = false
				break
			}
			end += j + len(ch)
		}
		if ok && !p.deniedBy(text[end:]) {
			if circumstance(text[end:]) {
				return max(1, (runes-1)/2)
			}
			return runes - 1
		}
		off = i + len(p.chunks[0])
	}
}

// gapScoreIndexed is gapScore for a Japanese phrase with the index of text: the same
// occurrences, looked up instead of searched for.
func (p *phrase) gapScoreIndexed(text string, o *occurrences, runes int) int {
	first := p.chunks[0]
	off := 0
	for _, start := range o.of(p.ref.chunks[0]) {
		i := int(start)
		if i < off {
			continue
		}
		end := i + len(first)
		ok := true
		for k, ch := range p.chunks[1:] {
			// The first occurrence from end, no further than maxGapBytes from it: what
			// strings.Index finds in text[end:end+maxGapBytes+len(ch)].
			at, found := o.firstFrom(p.ref.chunks[k+1], end)
			if !found || at-end > maxGapBytes {
				ok = false
				break
			}
			if j := at - end; j > 0 && !strings.Contains(text[end:at], p.seps[k]) && !slices.Contains(jaParticlesSplit, text[end:at]) {
				ok = false
				break
			}
			end = at + len(ch)
		}
		if ok && !p.deniedBy(text[end:]) {
			if circumstance(text[end:]) {
				return max(1, (runes-1)/2)
			}
			return runes - 1
		}
		off = i + len(first)
	}
	return 0
}

// gapStops are English words that join two things or two clauses: a phrase's words are not
// looked for across them ("bought it on ebay and amazon says it's used" is not "bought it on
// amazon").
var gapStops = map[string]bool{"and": true, "or": true, "but": true, "so": true, "then": true, "because": true, "cuz": true, "plus": true}

// gapScoreWords finds an English phrase's words in order, with at most maxGapWords other
// words between two of them, none of them a gapStops word.
func (p *phrase) gapScoreWords(u utterance, o *occurrences) int {
	if o != nil {
		// Every word must be there; most phrases are rejected here.
		for _, id := range p.ref.chunks {
			if o.of(id) == nil {
				return 0
			}
		}
	}
	words := u.words
	for i, w := range words {
		if w != p.chunks[0] {
			continue
		}
		k, gap := 1, 0
		for j := i + 1; j < len(words) && k < len(p.chunks); j++ {
			if words[j] == p.chunks[k] {
				k, gap = k+1, 0
				continue
			}
			if gap++; gap > maxGapWords || gapStops[words[j]] {
				break
			}
		}
		if k == len(p.chunks) && !deniedBefore(joinTail(words[:i], deniedBeforeReach)) {
			return p.runes - 2
		}
	}
	return 0
}

// score says how well p matches u: 0 for no match; an exact match beats any containment,
// and a longer contained phrase beats a shorter one ("解決しない" beats "解決"). An occurrence
// that the text denies (「カード会社は関係ない」, "it's not the card company") does not count.
func (p phrase) score(u utterance) int {
	return p.capped(p.rawScore(u))
}

// capped is a raw score s of p with a symptom's cap.
func (p *phrase) capped(s int) int {
	if p.symptom && s > symptomScore && s < 1000 {
		return symptomScore
	}
	return s
}

// rawScore is score before a symptom's cap.
func (p phrase) rawScore(u utterance) int {
	if p.groups != nil {
		return p.ruleScore(u)
	}
	if u.compact == p.compact {
		return 1000 + p.runes
	}
	o := u.index(p.ref)
	if o != nil && p.ref.absentIn(o, p.ascii) {
		// Most phrases: neither whole nor in pieces in the text.
		return 0
	}
	if start, end, ok := p.wholeIn(u, o); ok {
		if p.ascii && enCircumstance(u.stemmed[:start]) {
			// "when I redeem it, it says already used": what was being done.
			return max(1, p.runes/2)
		}
		if !p.ascii && circumstance(u.compact[end:]) {
			// 「登録しようとしたら使用済み」: what was being done, not what went wrong.
			return max(1, p.runes/2)
		}
		return p.runes
	}
	return p.gapScoreIn(u, o)
}

// whole reports whether p occurs in u as a whole, not denied, and where (in stemmed for
// English phrases, in compact for Japanese ones).
func (p phrase) whole(u utterance) (start, end int, ok bool) {
	return p.wholeIn(u, u.index(p.ref))
}

// wholeIn is whole with u's index o of p's lexicon, or nil to search u.
func (p *phrase) wholeIn(u utterance, o *occurrences) (start, end int, ok bool) {
	if o != nil {
		return p.wholeIndexed(u, o)
	}
	if p.ascii {
		for off := 0; ; {
			i := strings.Index(u.stemmed[off:], p.stemmed)
			if i < 0 {
				return 0, 0, false
			}
			i += off
			if !deniedBefore(u.stemmed[:i]) {
				return i, i + len(p.stemmed), true
			}
			off = i + 1
		}
	}
	for off := 0; ; {
		i := strings.Index(u.compact[off:], p.compact)
		if i < 0 {
			return 0, 0, false
		}
		i += off
		end := i + len(p.compact)
		if !p.deniedBy(u.compact[end:]) {
			return i, end, true
		}
		off = end
	}
}

// wholeIndexed is whole with u's index: the same occurrences, looked up instead of
// searched for.
func (p *phrase) wholeIndexed(u utterance, o *occurrences) (start, end int, ok bool) {
	if p.ascii {
		// Every occurrence in turn, overlapping ones included.
		for _, i := range o.of(p.ref.stemmed) {
			if !deniedBefore(u.stemmed[:i]) {
				return int(i), int(i) + len(p.stemmed), true
			}
		}
		return 0, 0, false
	}
	// After a denied occurrence, the next one that starts after it ends.
	off := 0
	for _, s := range o.of(p.ref.compact) {
		i := int(s)
		if i < off {
			continue
		}
		end := i + len(p.compact)
		if !p.deniedBy(u.compact[end:]) {
			return i, end, true
		}
		off = end
	}
	return 0, 0, false
}

// deniedBy reports whether rest, the text after Japanese phrase p, denies it
// (deniedAfter), or makes a verb's て-form negative (「期限が切れて」「ないか」).
func (p phrase) deniedBy(rest string) bool {
	if (strings.HasSuffix(p.compact, "て") || strings.HasSuffix(p.compact, "で")) && strings.HasPrefix(rest, "ない") {
		return true
	}
	return deniedAfter(rest)
}

// circumstanceMarks follow what the customer was doing when the problem came up
// (「登録しようとしたら」「入れたら」).
var circumstanceMarks = []string{"しようとしたら", "しようとすると", "しようとした", "しようと", "したら", "すると", "したところ", "する時", "するとき",
	// 「登録した直後に」「登録したあと」: when it happened.
	"した直後", "した後", "したあと", "してすぐ",
	// Done already (「チャージ済みの残高で」「登録したのに」): the state, not what is asked.
	"済み", "済", "したのに", "してあるのに", "できてるのに", "できているのに",
	// 「登録したけど」「登録はしたんですけど」: done already, told before the trouble.
	"したけど", "したんだけど", "したんですけど", "しましたけど", "しましたが", "してあるけど", "してるけど", "できたけど", "できたんだけど", "できましたが"}

// enCircumstanceMarks precede what the customer was doing when the problem came up ("when
// I redeem it", "while trying to add it"), as stemmed text ends.
var enCircumstanceMarks = []string{" when i", " when", " whenever i", " while", " while i", " as i", " after i",
	" tri to", " try to", " trying to", " tried to", " when i tri to", " when i try to"}

// enCircumstance reports whether before, the stemmed text before an English phrase, marks
// the phrase as the circumstance of the problem rather than the problem.
func enCircumstance(before string) bool {
	before = " " + strings.TrimRight(before, " ")
	for _, m := range enCircumstanceMarks {
		if strings.HasSuffix(before, m) {
			return true
		}
	}
	return false
}

// circumstance reports whether rest, the text after a Japanese phrase, marks the phrase as
// the circumstance of the problem rather than the problem.
func circumstance(rest string) bool {
	for _, m := range circumstanceMarks {
		if strings.HasPrefix(rest, m) {
			return true
		}
	}
	return false
}

// matcher finds the best target for an utterance among phrases.
type matcher struct {
	entries []matchEntry
	// sparseIx finds the entries that may score on an utterance (match_speed.go); nil for
	// a matcher made without add, which then scores every entry.
	sparseIx *sparseOnce
}

type matchEntry struct {
	target string
	p      phrase
}

func (m *matcher) add(normalize func(string) string, target string, words ...string) {
	if m.sparseIx == nil {
		m.sparseIx = &sparseOnce{}
	}
	for _, w := range words {
		w, symptom := cutSymptom(w)
		if p, ok := newPhrase(normalize, w); ok {
			p.symptom = symptom
			m.entries = append(m.entries, matchEntry{target: target, p: p})
		}
	}
}

// addRules adds words, some of which may be rules over the book's concepts.
func (m *matcher) addRules(book *ruleBook, target string, words ...string) {
	if m.sparseIx == nil {
		m.sparseIx = &sparseOnce{}
	}
	normalize := book.normalize
	for _, w := range words {
		w, symptom := cutSymptom(w)
		if isRule(w) {
			if p, unknown := book.newRule(w); len(unknown) == 0 {
				p.symptom = symptom
				m.entries = append(m.entries, matchEntry{target: target, p: p})
			}
			continue
		}
		if p, ok := newPhrase(normalize, w); ok {
			p.symptom = symptom
			m.entries = append(m.entries, matchEntry{target: target, p: p})
		}
	}
}

// best returns the target with the highest score, or "" when nothing matches. When two
// targets tie, the utterance is ambiguous and nothing matches.
func (m *matcher) best(u utterance) (string, int) {
	bestTarget, bestScore, tie := "", 0, false
	consider := func(e *matchEntry) {
		s := e.p.score(u)
		switch {
		case s > bestScore:
			bestTarget, bestScore, tie = e.target, s, false
		case s == bestScore && s > 0 && e.target != bestTarget:
			tie = true
		}
	}
	var buf [wokenBuf]int32
	if woken, _, ok := m.woken(u, buf[:0]); ok {
		// The entries not woken score 0, which changes neither the best nor a tie.
		for _, i := range woken {
			consider(&m.entries[i])
		}
	} else {
		for i := range m.entries {
			consider(&m.entries[i])
		}
	}
	if tie {
		return "", 0
	}
	return bestTarget, bestScore
}

// anyIn reports whether any phrase of m occurs in u's compact text, denied or not.
func (m *matcher) anyIn(u utterance) bool {
	for _, en := range m.entries {
		if o := u.index(en.p.ref); o != nil {
			if o.of(en.p.ref.compact) != nil {
				return true
			}
			continue
		}
		if strings.Contains(u.compact, en.p.compact) {
			return true
		}
	}
	return false
}

// optionNumber returns n when the utterance is just the number n (1-based), as typed in a
// terminal or by a customer reading a numbered list.
func optionNumber(u utterance) (int, bool) {
	n, err := strconv.Atoi(u.compact)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// contrastMarkers introduce the clause that carries what the customer means.
var contrastMarkers = []string{" but ", " however ", " though ", "でも", "けど", "けれど", "しかし", "ただ "}

// afterContrast returns the part of u after its last contrast marker, if any.
func afterContrast(u utterance) (utterance, bool) {
	cut := -1
	for _, m := range contrastMarkers {
		if i := strings.LastIndex(u.spaced, m); i >= 0 && i+len(m) > cut {
			cut = i + len(m)
		}
	}
	if cut < 0 || strings.TrimSpace(u.spaced[cut:]) == "" {
		return utterance{}, false
	}
	tail := strings.TrimSpace(u.spaced[cut:])
	return makeUtterance(" "+tail+" ", strings.ReplaceAll(tail, " ", "")), true
}

// stem folds the inflections of an English word so that "redeeming" and "redeems" find
// "redeem", and "charges", "charging" and "charge" one another: it drops -ing, -es or -s,
// then a final e, and turns a final y or ies into i, keeping at least three letters; a
// doubled consonant left by -ing is undone ("stopping" → "stop"). The past participle
// keeps its -ed, as it often tells a state ("expired", "claimed") that the verb does not
// ("when does it expire", "claim code"). Other words are returned as they are.
func stem(w string) string {
	if len(w) < 4 || w[0] >= utf8.RuneSelf {
		return w
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return w
		}
	}
	cut := false
	switch {
	case strings.HasSuffix(w, "ies") && len(w) >= 5:
		w, cut = w[:len(w)-3]+"i", true
	case strings.HasSuffix(w, "ing") && len(w) >= 6:
		w, cut = w[:len(w)-3], true
	case strings.HasSuffix(w, "es") && len(w) >= 5 && !strings.HasSuffix(w, "ses"):
		w, cut = w[:len(w)-2], true
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	switch {
	case len(w) >= 4 && w[len(w)-1] == 'e':
		w = w[:len(w)-1]
	case len(w) >= 4 && w[len(w)-1] == 'y':
		w = w[:len(w)-1] + "i"
	}
	if n := len(w); cut && n >= 4 && w[n-1] == w[n-2] && !strings.ContainsRune("aeioulsz", rune(w[n-1])) {
		w = w[:n-1]
	}
	return w
}

// ruleBonus is what each group of a rule after the first adds to the characters found: a
// rule is more specific than any one of its words.
const ruleBonus = 2

// Rule windows: the words of a rule must be close, as the words of one clause are
// (「期限切れかと思ったけど残高不足って出てる」 is not "expired" and "shown"): at most
// ruleWindowJA bytes (about twelve characters) of Japanese between two of them, or
// ruleWindowEN bytes (about eight words) of English.
const (
	ruleWindowJA = 36
	ruleWindowEN = 48
)

// wordGroup is one part of a rule: a concept's words, or words joined by "|". A concept
// used by several rules is one group, found once per utterance.
type wordGroup struct {
	alts []phrase
	uses int // the rules naming it: the fewer, the more telling a word of it is
	// sparse finds the words that may occur in an utterance (match_speed.go).
	sparse sparseOnce
}

// hit is where a word was found: in compact for Japanese, in stemmed for English.
type hit struct{ start, end int }

// groupFound is what a word group found in an utterance.
type groupFound struct {
	best    int   // the best score of its words, exact matches counting as contained
	at      hit   // where the best word is
	located bool  // at is known (the best word was found whole)
	hits    []hit // where each word found whole is
	scripts int   // the best word's: 1 Japanese, 2 English, 3 found in pieces
}

// find returns what g finds in u, once per utterance.
func (g *wordGroup) find(u utterance) *groupFound {
	if f, ok := u.memo[g]; ok {
		return f
	}
	f := &groupFound{}
	var buf [wokenBuf]int32
	woken, all := g.woken(u, buf[:0])
	for k := 0; all && k < len(g.alts) || !all && k < len(woken); k++ {
		// The words not woken score 0, which changes nothing below.
		i := k
		if !all {
			i = int(woken[k])
		}
		alt := &g.alts[i]
		s, start, end, ok := alt.scoreWhole(u)
		if s >= 1000 {
			s -= 1000
		}
		if s == 0 {
			continue
		}
		if s > f.best {
			f.best, f.at, f.located = s, hit{start, end}, ok
			switch {
			case !ok:
				f.scripts = 3
			case alt.ascii:
				f.scripts = 2
			default:
				f.scripts = 1
			}
		}
		if ok {
			f.hits = append(f.hits, hit{start, end})
		}
	}
	if u.memo != nil {
		u.memo[g] = f
	}
	return f
}

// ruleScore scores a rule: the characters of the best word found of each group, plus
// ruleBonus for each group after the first; 0 unless every group is found within the
// window of a word of the first group. Words found in pieces, or in both scripts, are not
// held to the window.
func (p phrase) ruleScore(u utterance) int {
	total := ruleBonus * (len(p.groups) - 1)
	scripts := 0
	var buf [4]*groupFound // rules have a few groups: no allocation
	found := buf[:0]
	for _, g := range p.groups {
		f := g.find(u)
		if f.best == 0 {
			return 0
		}
		found = append(found, f)
		total += f.best
		scripts |= f.scripts
	}
	anchor := found[0]
	if !anchor.located || (scripts != 1 && scripts != 2) {
		return total
	}
	text, window := u.compact, ruleWindowJA
	if scripts == 2 {
		text, window = u.stemmed, ruleWindowEN
	}
	// Every other group needs a word close to a word of the first group, in the same clause.
	for _, a := range anchor.hits {
		if allNear(a, found[1:], text, window) {
			return total
		}
	}
	return 0
}

// allNear reports whether each group found a word within window of a, in its clause.
func allNear(a hit, found []*groupFound, text string, window int) bool {
	for _, f := range found {
		near := false
		for _, h := range f.hits {
			lo, hi := max(a.start, h.start), min(a.end, h.end)
			if lo-hi <= window && (lo <= hi || !contrasts(text[hi:lo])) {
				near = true
				break
			}
		}
		if !near {
			return false
		}
	}
	return true
}

// contrasts reports whether the text between the words of a rule turns from a guess to
// another clause (「エラーかと思ったけど残高不足って出てる」, "i thought it expired but
// the balance is short").
func contrasts(between string) bool {
	for _, m := range contrastMarkers {
		i := strings.Index(between, strings.TrimSpace(m))
		if i < 0 {
			continue
		}
		for _, h := range hedges {
			if strings.Contains(between[:i], h) {
				return true
			}
		}
	}
	return false
}

// hedges mark a clause as a guess the customer goes on to correct.
var hedges = []string{"かと思", "と思った", "かも", "thought", "maybe", "guess"}

// isRule reports whether a synonym is a rule: parts joined by "+", or a concept alone.
func isRule(w string) bool {
	return strings.Contains(w, "+") || strings.HasPrefix(strings.TrimSpace(w), "@")
}

// ruleBook compiles rules: the flow's concepts, and the word groups compiled so far, so
// that rules naming one concept share its group.
type ruleBook struct {
	normalize func(string) string
	concepts  map[string]Words
	groups    map[string]*wordGroup
}

// newRule compiles a rule synonym with the concepts' words; it reports the concepts it
// names that do not exist.
func (b *ruleBook) newRule(w string) (phrase, []string) {
	var p phrase
	var unknown []string
	for _, part := range strings.Split(w, "+") {
		part = strings.TrimSpace(part)
		if g := b.groups[part]; g != nil {
			g.uses++
			p.groups = append(p.groups, g)
			continue
		}
		var words []string
		if name, ok := strings.CutPrefix(part, "@"); ok {
			c, found := b.concepts[name]
			if !found {
				unknown = append(unknown, name)
				continue
			}
			words = c.All()
		} else {
			words = strings.Split(part, "|")
		}
		g := &wordGroup{}
		for _, cw := range words {
			if q, ok := newPhrase(b.normalize, cw); ok {
				g.alts = append(g.alts, q)
			}
		}
		if len(g.alts) == 0 {
			unknown = append(unknown, part)
			continue
		}
		if b.groups == nil {
			b.groups = map[string]*wordGroup{}
		}
		b.groups[part] = g
		g.uses++
		p.groups = append(p.groups, g)
	}
	p.compact, p.spaced, p.runes = w, w, 0
	return p, unknown
}
