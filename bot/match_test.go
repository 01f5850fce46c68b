package bot

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/giftdesk/giftdesk/internal/textnorm"
)

// The tests in this file show that the one-pass search (aho.go) finds what the search of
// one phrase at a time found: the earlier implementation is kept below as the reference
// (ref*), and both are run over every phrase of the gift-card flow for the labelled
// utterances, the development evaluation sets and fuzzed text.

// refUtterance is an utterance as the reference reads it: the texts and words, with the
// pairs of consecutive characters it rejected phrases by.
type refUtterance struct {
	u     utterance
	pairs map[[2]rune]struct{}
	memo  map[*wordGroup]*groupFound
}

func newRefUtterance(u utterance) refUtterance {
	r := refUtterance{u: u, pairs: map[[2]rune]struct{}{}, memo: map[*wordGroup]*groupFound{}}
	for _, s := range []string{u.stemmed, u.compact} {
		prev := rune(-1)
		for _, c := range s {
			if prev >= 0 {
				r.pairs[[2]rune{prev, c}] = struct{}{}
			}
			prev = c
		}
	}
	return r
}

// refFirst is the first two characters of what the reference searched for.
func refFirst(p phrase) [2]rune {
	search := p.compact
	if p.ascii {
		search = p.stemmed[1 : len(p.stemmed)-1]
	}
	r0, n0 := utf8.DecodeRuneInString(search)
	r1, n1 := utf8.DecodeRuneInString(search[n0:])
	if n0 == 0 || n1 == 0 {
		return [2]rune{}
	}
	return [2]rune{r0, r1}
}

func refMayContain(p phrase, r refUtterance) bool {
	first := refFirst(p)
	if first[1] == 0 {
		return true
	}
	_, ok := r.pairs[first]
	return ok
}

func refScore(p phrase, r refUtterance) int {
	u := r.u
	if p.groups != nil {
		return refRuleScore(p, r)
	}
	if u.compact == p.compact {
		return 1000 + p.runes
	}
	if !refMayContain(p, r) {
		return 0
	}
	if start, end, ok := refWhole(p, u); ok {
		if p.ascii && enCircumstance(u.stemmed[:start]) {
			return max(1, p.runes/2)
		}
		if !p.ascii && circumstance(u.compact[end:]) {
			return max(1, p.runes/2)
		}
		return p.runes
	}
	return refGapScore(p, u)
}

func refWhole(p phrase, u utterance) (start, end int, ok bool) {
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

func refGapScore(p phrase, u utterance) int {
	if p.chunks == nil {
		return 0
	}
	if p.ascii {
		return refGapScoreWords(p, u)
	}
	runes := 0
	for _, ch := range p.chunks {
		runes += utf8.RuneCountInString(ch)
	}
	text := u.compact
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

func refGapScoreWords(p phrase, u utterance) int {
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
		if k == len(p.chunks) && !deniedBefore(strings.Join(words[:i], " ")) {
			return p.runes - 2
		}
	}
	return 0
}

func refFind(g *wordGroup, r refUtterance) *groupFound {
	if f, ok := r.memo[g]; ok {
		return f
	}
	f := &groupFound{}
	for _, alt := range g.alts {
		s := refScore(alt, r)
		if s >= 1000 {
			s -= 1000
		}
		if s == 0 {
			continue
		}
		start, end, ok := refWhole(alt, r.u)
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
	r.memo[g] = f
	return f
}

func refRuleScore(p phrase, r refUtterance) int {
	u := r.u
	total := ruleBonus * (len(p.groups) - 1)
	scripts := 0
	found := make([]*groupFound, len(p.groups))
	for i, g := range p.groups {
		f := refFind(g, r)
		if f.best == 0 {
			return 0
		}
		found[i] = f
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
	for _, a := range anchor.hits {
		if allNear(a, found[1:], text, window) {
			return total
		}
	}
	return 0
}

func refAnyIn(m *matcher, u utterance) bool {
	for _, en := range m.entries {
		if strings.Contains(u.compact, en.p.compact) {
			return true
		}
	}
	return false
}

// refScoresOf is scoresOf as it was before the sparse scoring (match_speed.go): every
// entry scored.
func refScoresOf(m *matcher, u utterance, specific bool) []targetScore {
	var out []targetScore
	for _, en := range m.entries {
		if w := strings.TrimSpace(en.p.spaced); specific && en.p.ascii && !strings.Contains(w, " ") && (len(w) < 5 || topicWords[w]) {
			continue
		}
		s := en.p.score(u)
		if s == 0 {
			continue
		}
		found := false
		for i := range out {
			if out[i].target == en.target {
				out[i].score = max(out[i].score, s)
				found = true
				break
			}
		}
		if !found {
			out = append(out, targetScore{en.target, s})
		}
	}
	return out
}

// refBest is best as it was before the sparse scoring.
func refBest(m *matcher, u utterance) (string, int) {
	bestTarget, bestScore, tie := "", 0, false
	for _, e := range m.entries {
		s := e.p.score(u)
		switch {
		case s > bestScore:
			bestTarget, bestScore, tie = e.target, s, false
		case s == bestScore && s > 0 && e.target != bestTarget:
			tie = true
		}
	}
	if tie {
		return "", 0
	}
	return bestTarget, bestScore
}

// refScoreOf is scoreOf as it was before the sparse scoring.
func refScoreOf(m *matcher, target string, u utterance) int {
	best := 0
	for _, en := range m.entries {
		if en.target == target {
			best = max(best, en.p.score(u))
		}
	}
	return best
}

// diffMatcher returns how m's sparse scoring differs from the reference on u.
func diffMatcher(m *matcher, u utterance) []string {
	var diffs []string
	for _, specific := range []bool{false, true} {
		if got, want := m.scoresOf(u, specific), refScoresOf(m, u, specific); !slices.Equal(got, want) {
			diffs = append(diffs, fmt.Sprintf("scores (specific %v) %v, reference %v", specific, got, want))
		}
	}
	gt, gs := m.best(u)
	if wt, ws := refBest(m, u); gt != wt || gs != ws {
		diffs = append(diffs, fmt.Sprintf("best %q %d, reference %q %d", gt, gs, wt, ws))
	}
	var targets []string
	for _, en := range m.entries {
		if !slices.Contains(targets, en.target) {
			targets = append(targets, en.target)
		}
	}
	for _, target := range targets {
		if got, want := m.scoreOf(target, u), refScoreOf(m, target, u); got != want {
			diffs = append(diffs, fmt.Sprintf("scoreOf %q %d, reference %d", target, got, want))
		}
	}
	return diffs
}

// giftCardEngine compiles flows/giftcard.yaml as the product does, with stand-in input and
// decision functions (only the matching is under test here).
func giftCardEngine(t testing.TB) *Engine {
	t.Helper()
	data, err := os.ReadFile("../flows/giftcard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f Flow
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	funcs := Funcs{Inputs: map[string]InputFunc{}, Decisions: map[string]Decision{}}
	for _, n := range f.Nodes {
		switch n.Kind {
		case KindInput:
			funcs.Inputs[n.Input] = func(string, time.Time) (map[string]string, error) { return nil, nil }
		case KindDecision:
			d := funcs.Decisions[n.Func]
			for o := range n.Branches {
				if !slices.Contains(d.Outcomes, o) {
					d.Outcomes = append(d.Outcomes, o)
				}
			}
			funcs.Decisions[n.Func] = d
		}
	}
	e, err := NewEngine(EngineConfig{Flow: &f, Funcs: funcs, Normalize: textnorm.Normalize})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// matchers returns every matcher of e, named.
func (e *Engine) matchersForTest() map[string]*matcher {
	ms := map[string]*matcher{"commands": &e.commands, "intents": &e.intents, "faq": &e.faq, "agent": &e.agent,
		"openers": &e.openers, "plans": &e.plans}
	for i := range e.facts {
		ms["fact "+e.facts[i].id] = &e.facts[i].match
	}
	for id, n := range e.nodes {
		ms["node "+id] = &n.match
	}
	return ms
}

// utterancesForTest returns the utterances the engine reads text as: clipped and whole,
// after its last contrast, and plain (as commands inside clauses are read).
// Plain utterances remember nothing, so only the commands are read in them, as the
// engine does.
func utterancesForTest(e *Engine, text string) (us []utterance, plain utterance) {
	us = []utterance{e.utter(clip(text))}
	if clip(text) != text {
		us = append(us, e.utter(text))
	}
	if tu, ok := afterContrast(us[0]); ok {
		us = append(us, tu)
	}
	n := e.normalize(text)
	return us, plainUtterance(" "+splitScripts(n)+" ", strings.ReplaceAll(n, " ", ""))
}

// diffMatch returns how the indexed search and the reference differ on text, at most a few.
func diffMatch(e *Engine, ms map[string]*matcher, text string) []string {
	var diffs []string
	add := func(format string, args ...any) bool {
		diffs = append(diffs, fmt.Sprintf(format, args...))
		return len(diffs) < 5
	}
	us, plain := utterancesForTest(e, text)
	for i, u := range append(us, plain) {
		r := newRefUtterance(u)
		for name, m := range ms {
			if i == len(us) && name != "commands" {
				continue
			}
			for _, en := range m.entries {
				p := en.p
				if got, want := p.rawScore(u), refScore(p, r); got != want { // before a symptom's cap
					if !add("%s %q: score %d, reference %d (text %q)", name, p.compact, got, want, u.compact) {
						return diffs
					}
				}
				if p.groups != nil {
					continue
				}
				s, e, ok := p.whole(u)
				rs, re, rok := refWhole(p, u)
				if s != rs || e != re || ok != rok {
					if !add("%s %q: whole %d,%d,%v, reference %d,%d,%v", name, p.compact, s, e, ok, rs, re, rok) {
						return diffs
					}
				}
				if sc, s2, e2, ok2 := p.scoreWhole(u); sc != p.score(u) || (sc != 0 && (s2 != rs || e2 != re || ok2 != rok)) {
					if !add("%s %q: scoreWhole %d %d,%d,%v, reference %d %d,%d,%v", name, p.compact, sc, s2, e2, ok2, p.score(u), rs, re, rok) {
						return diffs
					}
				}
				if got, want := p.gapScore(u), refGapScore(p, u); got != want {
					if !add("%s %q: gapScore %d, reference %d", name, p.compact, got, want) {
						return diffs
					}
				}
			}
			for _, d := range diffMatcher(m, u) {
				if !add("%s: %s (text %q)", name, d, u.compact) {
					return diffs
				}
			}
			if got, want := m.anyIn(u), refAnyIn(m, u); got != want {
				if !add("%s: anyIn %v, reference %v", name, got, want) {
					return diffs
				}
			}
		}
		for name, g := range e.rules.groups {
			if i == len(us) {
				break
			}
			if got, want := g.find(u), refFind(g, r); !reflect.DeepEqual(got, want) {
				if !add("group %s: found %+v, reference %+v", name, got, want) {
					return diffs
				}
			}
		}
	}
	return diffs
}

// corpusForTest returns the labelled utterances and every text of the development
// evaluation sets (never the held-out set).
func corpusForTest(t testing.TB) []string {
	t.Helper()
	var texts []string
	f, err := os.Open("../flows/testdata/utterances.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if fields := strings.Split(line, "\t"); len(fields) >= 2 {
			texts = append(texts, fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	devs, err := filepath.Glob("../flows/testdata/eval/dev*.yaml")
	if err != nil || len(devs) == 0 {
		t.Fatalf("no development sets: %v", err)
	}
	for _, name := range devs {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		texts = appendStrings(texts, doc)
	}
	return texts
}

// appendStrings appends every string in a decoded YAML document.
func appendStrings(texts []string, v any) []string {
	switch v := v.(type) {
	case string:
		return append(texts, v)
	case []any:
		for _, x := range v {
			texts = appendStrings(texts, x)
		}
	case map[string]any:
		for _, x := range v {
			texts = appendStrings(texts, x)
		}
	}
	return texts
}

func TestIndexedMatchSameAsSearch(t *testing.T) {
	e := giftCardEngine(t)
	ms := e.matchersForTest()
	texts := corpusForTest(t)
	slices.Sort(texts)
	texts = slices.Compact(texts)
	if len(texts) < 500 {
		t.Fatalf("only %d texts read", len(texts))
	}
	// Long and repeated text, as the turn benchmark sends.
	texts = append(texts,
		strings.Repeat("ギフト券を登録しようとしたら、番号が無効と出ました。スマホから何度も試しています。残高は3,000円です。", 20),
		strings.Repeat("I redeemed my gift card but at checkout it keeps charging my Visa, not the balance. ", 20),
		strings.Repeat("カード会社は関係ない", 100), strings.Repeat("あ", 500), strings.Repeat("the the code code ", 50))
	step := 1
	if raceEnabled || testing.Short() {
		step = 8 // a sample: the whole corpus takes seconds, several times that under -race
	}
	for i, text := range texts {
		if i%step != 0 && i < len(texts)-5 {
			continue
		}
		if d := diffMatch(e, ms, text); len(d) > 0 {
			t.Errorf("%q:\n%s", text, strings.Join(d, "\n"))
		}
	}
	t.Logf("%d texts (every %d), %d matchers", len(texts), step, len(ms))
}

// FuzzIndexedMatch compares the indexed search with the reference on any text. Run it with
//
//	go test ./bot -run '^$' -fuzz FuzzIndexedMatch -fuzztime 2m
func FuzzIndexedMatch(f *testing.F) {
	for _, s := range []string{"", "ギフト券が使えない", "カード会社は関係ないです", "I can't redeem my gift card, it says invalid",
		"残高でギフト券を買おうとしたら", "not the card company but the code", "ギフト券とほかの商品を一緒に", "ああああ", "\xff\xfeギフト"} {
		f.Add(s)
	}
	e := giftCardEngine(f)
	ms := e.matchersForTest()
	f.Fuzz(func(t *testing.T, text string) {
		if d := diffMatch(e, ms, text); len(d) > 0 {
			t.Errorf("%q:\n%s", text, strings.Join(d, "\n"))
		}
	})
}

func TestAutomatonFindsEveryOccurrence(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		text     string
	}{
		{name: "overlapping", patterns: []string{"he", "she", "his", "hers"}, text: "ushers and his sheep, she said"},
		{name: "suffix of another", patterns: []string{"abcd", "bcd", "cd", "d", "bc"}, text: "abcdabcbcd"},
		{name: "repeated", patterns: []string{"aa", "aaa"}, text: "aaaaaa"},
		{name: "japanese", patterns: []string{"ギフト券", "券", "使えない", "えな", "ギフト"}, text: "ギフト券が使えないギフト券ギフ"},
		{name: "many children", patterns: []string{"あい", "あう", "あえ", "あお", "あか", "あき", "あく", "あけ", "あこ", "いか"}, text: "あいあうあこいかあかあ"},
		{name: "no match", patterns: []string{"xyz"}, text: "abc"},
		{name: "empty text", patterns: []string{"a"}, text: ""},
		{name: "invalid utf-8", patterns: []string{"\xe3\x81", "\x81\x82"}, text: "\xe3\x81\x82\xe3\x81"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []acPattern
			for i, p := range tt.patterns {
				ps = append(ps, acPattern{id: int32(i), text: p})
			}
			o := newOccurrences(newAutomaton(ps).scan(tt.text, nil))
			for i, p := range tt.patterns {
				var want []int32
				for off := 0; ; {
					j := strings.Index(tt.text[off:], p)
					if j < 0 {
						break
					}
					want = append(want, int32(off+j))
					off += j + 1
				}
				if got := o.of(int32(i)); !slices.Equal(got, want) {
					t.Errorf("%q: starts %v, want %v", p, got, want)
				}
			}
		})
	}
}

func TestIndexFallsBack(t *testing.T) {
	norm := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	lex := newLexicon()
	p, _ := newPhrase(norm, "gift card")
	lex.learn(p)
	u := newUtterance(norm, "my gift card")
	if u.index(p.ref) == nil {
		t.Fatal("a learned phrase is not looked up in the index")
	}
	// Learned after the automata were built: searched for, and still found.
	late, _ := newPhrase(norm, "my gift")
	lex.learn(late)
	if late.ref.lex != nil {
		t.Error("a phrase learned after the automata were built is in the lexicon")
	}
	if got := late.score(u); got != late.runes {
		t.Errorf("late phrase scores %d, want %d", got, late.runes)
	}
	// An utterance whose text changed since it was made is searched, not looked up.
	v := u
	v.compact, v.stemmed = "nothing", " noth "
	if v.index(p.ref) != nil {
		t.Error("a changed utterance is looked up in the index of its old text")
	}
	if got := p.score(v); got != 0 {
		t.Errorf("changed utterance scores %d, want 0", got)
	}
}

// BenchmarkScoreEveryPhrase scores every phrase of the gift-card flow on a message, with
// the index (index) and as the reference searched for each phrase (search), the utterance
// made afresh each time as in a turn.
func BenchmarkScoreEveryPhrase(b *testing.B) {
	e := giftCardEngine(b)
	ms := e.matchersForTest()
	long := strings.Repeat("ギフト券を登録しようとしたら、番号が無効と出ました。スマホから何度も試しています。残高は3,000円です。", 100)
	texts := []struct{ name, text string }{
		{"short", "ギフト券登録したのに、レジで支払いがクレカのままになってる"},
		{"5000 ja", string([]rune(long)[:5000])},
		{"5000 en", strings.Repeat("I redeemed my gift card but at checkout it keeps charging my Visa, not the balance. ", 60)[:5000]},
		{"repeated kana", strings.Repeat("あ", 5000)},
	}
	for _, tt := range texts {
		text := clip(tt.text)
		b.Run(tt.name+"/index", func(b *testing.B) {
			for b.Loop() {
				u := e.utter(text)
				for _, m := range ms {
					for _, en := range m.entries {
						en.p.score(u)
					}
				}
			}
		})
		b.Run(tt.name+"/search", func(b *testing.B) {
			for b.Loop() {
				r := newRefUtterance(e.utter(text))
				for _, m := range ms {
					for _, en := range m.entries {
						refScore(en.p, r)
					}
				}
			}
		})
	}
}
