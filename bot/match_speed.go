package bot

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// This file scores only the phrases of a matcher that can match: a phrase scores nothing
// unless the one-pass search (aho.go) found its text or its first chunk in the utterance,
// and a rule scores nothing unless every one of its word groups found a word. So each
// matcher keeps, per search string of the lexicon, the entries that string wakes, and a
// turn scores the entries woken by the strings found in the message instead of every
// entry of the flow.

// sparseIndex is the entries of a matcher that each search string of lex wakes. Built
// once, when the lexicon is complete; read-only after.
type sparseIndex struct {
	lex  *lexicon
	n    int               // the entries indexed; later ones are always scored
	wake map[int32][]int32 // lexicon id → the entries it wakes, ascending
	// always are the entries that no search string stands for (a phrase outside the
	// lexicon, a rule with such a word): scored on every utterance. Ascending.
	always []int32
	// broad marks the entries that specificScores leaves out: a single short or topic
	// English word.
	broad []bool
}

// sparseOnce builds a matcher's sparseIndex on first use; safe for concurrent use. A
// matcher's copies share it.
type sparseOnce struct {
	mu sync.Mutex
	ix atomic.Pointer[sparseIndex]
}

// sparse returns m's index, building it when the lexicon of m's phrases is complete; nil
// when there is no such lexicon yet (then every entry is scored).
func (m *matcher) sparse() *sparseIndex {
	if m.sparseIx == nil {
		return nil
	}
	return m.sparseIx.get(func() []matchEntry { return m.entries })
}

// get returns the index of entries, building it on the first call that can.
func (so *sparseOnce) get(entries func() []matchEntry) *sparseIndex {
	if ix := so.ix.Load(); ix != nil {
		return ix
	}
	so.mu.Lock()
	defer so.mu.Unlock()
	if ix := so.ix.Load(); ix != nil {
		return ix
	}
	ix := newSparseIndex(entries())
	if ix != nil {
		so.ix.Store(ix)
	}
	return ix
}

// memoSize is room for the word groups an utterance finds, so that the memo seldom grows.
const memoSize = 32

// woken appends to buf the indexes of g's words that may occur in u, ascending; all is
// true when u has no index to tell them by, or when trying every word is as quick.
func (g *wordGroup) woken(u utterance, buf []int32) (woken []int32, all bool) {
	ix := g.sparse.get(func() []matchEntry {
		entries := make([]matchEntry, len(g.alts))
		for i, alt := range g.alts {
			entries[i].p = alt
		}
		return entries
	})
	if ix == nil {
		return buf, true
	}
	o := u.indexOf(ix.lex)
	if o == nil || len(o.ids) >= len(g.alts) {
		return buf, true
	}
	out := append(buf, ix.always...)
	for _, id := range o.ids {
		out = append(out, ix.wake[id]...)
	}
	slices.Sort(out)
	return slices.Compact(out), false
}

// isBroad reports whether specificScores leaves p out.
func isBroad(p *phrase) bool {
	w := strings.TrimSpace(p.spaced)
	return p.ascii && !strings.Contains(w, " ") && (len(w) < 5 || topicWords[w])
}

// newSparseIndex indexes entries by the lexicon their phrases are in; nil when that
// lexicon is still learning (its automata are not built), as an index built then would
// miss the phrases learned later.
func newSparseIndex(entries []matchEntry) *sparseIndex {
	var lex *lexicon
	for i := range entries {
		if lex = phraseLexicon(&entries[i].p); lex != nil {
			break
		}
	}
	if lex == nil || lex.auto.Load() == nil {
		return nil
	}
	ix := &sparseIndex{lex: lex, n: len(entries), wake: map[int32][]int32{}, broad: make([]bool, len(entries))}
	for i := range entries {
		p := &entries[i].p
		ix.broad[i] = isBroad(p)
		ids, ok := wakers(p, lex)
		if !ok {
			ix.always = append(ix.always, int32(i))
			continue
		}
		for _, id := range ids {
			// Entries come in order, so each list stays ascending; a phrase's strings may
			// repeat (its text and its first chunk).
			if w := ix.wake[id]; len(w) == 0 || w[len(w)-1] != int32(i) {
				ix.wake[id] = append(w, int32(i))
			}
		}
	}
	return ix
}

// phraseLexicon returns the lexicon of p, or of the first word of a rule that has one.
func phraseLexicon(p *phrase) *lexicon {
	if p.groups == nil {
		if p.ref != nil {
			return p.ref.lex
		}
		return nil
	}
	for _, g := range p.groups {
		for i := range g.alts {
			if lex := phraseLexicon(&g.alts[i]); lex != nil {
				return lex
			}
		}
	}
	return nil
}

// wakers returns the search strings of lex one of which u must hold for p to score; false
// when there are none (p is outside lex: it is always scored).
//
// A plain phrase scores only when its text is found (an exact match is found too) or its
// first chunk is (a looser match): see rawScore's absentIn. A rule scores only when every
// group finds a word: the words of its least used group wake it.
func wakers(p *phrase, lex *lexicon) ([]int32, bool) {
	if p.groups == nil {
		r := p.ref
		if r == nil || r.lex != lex {
			return nil, false
		}
		ids := []int32{r.compact}
		if p.ascii {
			ids = append(ids, r.stemmed)
		}
		if len(r.chunks) > 0 {
			ids = append(ids, r.chunks[0])
		}
		return ids, true
	}
	g := p.groups[0]
	for _, h := range p.groups[1:] {
		if h.uses < g.uses {
			g = h
		}
	}
	var ids []int32
	for i := range g.alts {
		alt := &g.alts[i]
		if alt.groups != nil {
			return nil, false
		}
		w, ok := wakers(alt, lex)
		if !ok {
			return nil, false
		}
		ids = append(ids, w...)
	}
	return ids, true
}

// wokenBuf is the room for woken entries kept on the stack: most utterances wake fewer.
const wokenBuf = 128

// woken appends to buf the indexes of m's entries that may score on u, ascending, and
// reports whether u has an index to tell them by; when it has none, every entry must be
// scored.
func (m *matcher) woken(u utterance, buf []int32) ([]int32, *sparseIndex, bool) {
	ix := m.sparse()
	if ix == nil {
		return buf, nil, false
	}
	o := u.indexOf(ix.lex)
	if o == nil {
		return buf, nil, false
	}
	out := append(buf, ix.always...)
	for _, id := range o.ids {
		out = append(out, ix.wake[id]...)
	}
	for i := ix.n; i < len(m.entries); i++ {
		out = append(out, int32(i))
	}
	slices.Sort(out)
	return slices.Compact(out), ix, true
}

// scoreWhole returns p.score(u) and, when it is not 0, p.whole(u): the one search of the
// phrase serves both.
func (p *phrase) scoreWhole(u utterance) (score, start, end int, ok bool) {
	if p.groups != nil {
		if score = p.score(u); score == 0 {
			return 0, 0, 0, false
		}
		start, end, ok = p.whole(u)
		return score, start, end, ok
	}
	o := u.index(p.ref)
	if u.compact == p.compact {
		score = 1000 + p.runes
		start, end, ok = p.wholeIn(u, o)
		return p.capped(score), start, end, ok
	}
	if o != nil && p.ref.absentIn(o, p.ascii) {
		return 0, 0, 0, false
	}
	if start, end, ok = p.wholeIn(u, o); ok {
		switch {
		case p.ascii && enCircumstance(u.stemmed[:start]):
			score = max(1, p.runes/2)
		case !p.ascii && circumstance(u.compact[end:]):
			score = max(1, p.runes/2)
		default:
			score = p.runes
		}
		return p.capped(score), start, end, true
	}
	return p.capped(p.gapScoreIn(u, o)), 0, 0, false
}
