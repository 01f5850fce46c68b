package bot

import (
	"slices"
	"sync"
	"sync/atomic"
)

// This file finds every phrase of a flow in a customer's message in one pass over the
// message, whatever the number of phrases: an Aho-Corasick automaton over the bytes of the
// flow's search strings (a phrase's compact text, an English phrase's stemmed text, the
// chunks of a looser match). phrase.score then looks its strings up in the index of the
// message instead of searching the message for each of them.

// textKind names the text of an utterance a search string is looked for in.
type textKind uint8

const (
	inCompact textKind = iota // utterance.compact
	inStemmed                 // utterance.stemmed
)

// lexicon is the search strings of a flow's phrases, each with an id, and the automata
// that find them. Phrases are learned while the engine is compiled; the automata are
// built at the end of that (NewEngine calls automata), or else on the first search, and
// the lexicon is read-only from then on. A phrase learned after that is simply searched
// for as before (strings.Index). Safe for concurrent use once learning is over.
type lexicon struct {
	mu   sync.Mutex
	ids  map[lexKey]int32
	pats []lexKey // by id
	auto atomic.Pointer[lexAutomata]
}

type lexKey struct {
	kind textKind
	text string
}

// lexAutomata finds the lexicon's strings in an utterance's compact and stemmed texts.
type lexAutomata struct {
	compact, stemmed *acAutomaton
}

// phraseRef is where a phrase's search strings are in a lexicon. It is shared by every
// copy of the phrase; nil lex means the phrase is not in one.
type phraseRef struct {
	lex     *lexicon
	compact int32   // phrase.compact, in compact text
	stemmed int32   // phrase.stemmed, in stemmed text (English phrases)
	chunks  []int32 // Japanese: each chunk in compact text; English: each chunk as " word " in stemmed text
}

func newLexicon() *lexicon { return &lexicon{ids: map[lexKey]int32{}} }

// learn adds the search strings of p, and of the words of a rule's groups, unless the
// automata are built already.
func (l *lexicon) learn(p phrase) {
	for _, g := range p.groups {
		for _, alt := range g.alts {
			l.learn(alt)
		}
	}
	r := p.ref
	if r == nil || p.groups != nil || p.compact == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.lex != nil || l.auto.Load() != nil {
		return
	}
	r.compact, r.stemmed = l.id(inCompact, p.compact), -1
	if p.ascii {
		r.stemmed = l.id(inStemmed, p.stemmed)
	}
	r.chunks = make([]int32, len(p.chunks))
	for i, ch := range p.chunks {
		if p.ascii {
			r.chunks[i] = l.id(inStemmed, " "+ch+" ")
		} else {
			r.chunks[i] = l.id(inCompact, ch)
		}
	}
	r.lex = l
}

// id returns the id of a search string, adding it; l.mu is held.
func (l *lexicon) id(kind textKind, text string) int32 {
	k := lexKey{kind, text}
	if id, ok := l.ids[k]; ok {
		return id
	}
	id := int32(len(l.pats))
	l.ids[k] = id
	l.pats = append(l.pats, k)
	return id
}

// automata returns the lexicon's automata, building them on the first call.
func (l *lexicon) automata() *lexAutomata {
	if a := l.auto.Load(); a != nil {
		return a
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.auto.Load(); a != nil {
		return a
	}
	var c, s []acPattern
	for id, k := range l.pats {
		if k.kind == inCompact {
			c = append(c, acPattern{id: int32(id), text: k.text})
		} else {
			s = append(s, acPattern{id: int32(id), text: k.text})
		}
	}
	a := &lexAutomata{compact: newAutomaton(c), stemmed: newAutomaton(s)}
	l.auto.Store(a)
	return a
}

// textIndex is where an utterance's texts hold the strings of a lexicon, found on the
// first look-up. It is shared by the copies of an utterance and, like the utterance,
// is not safe for concurrent use.
type textIndex struct {
	compact, stemmed string // the texts indexed
	lex              *lexicon
	found            *occurrences
}

// index returns where u's texts hold the strings of r's lexicon, or nil when r is in none
// (or u was made without an index, or changed since): then the phrase is searched for.
func (u *utterance) index(r *phraseRef) *occurrences {
	if r == nil {
		return nil
	}
	return u.indexOf(r.lex)
}

// indexOf returns where u's texts hold the strings of lex, or nil when lex is nil (or u
// was made without an index, or changed since).
func (u *utterance) indexOf(lex *lexicon) *occurrences {
	if lex == nil || u.idx == nil || u.idx.compact != u.compact || u.idx.stemmed != u.stemmed {
		return nil
	}
	x := u.idx
	if x.lex == lex {
		return x.found
	}
	found := lex.find(u.compact, u.stemmed)
	if x.lex == nil {
		x.lex, x.found = lex, found
	}
	return found
}

// absentIn reports whether o shows that the phrase of r occurs neither whole nor in
// pieces: not its text (nor, then, an exact match) and not its first chunk.
func (r *phraseRef) absentIn(o *occurrences, ascii bool) bool {
	id := r.compact
	if ascii {
		id = r.stemmed
	}
	return o.of(id) == nil && (len(r.chunks) == 0 || o.of(r.chunks[0]) == nil)
}

// find returns every occurrence of the lexicon's strings in compact and stemmed.
func (l *lexicon) find(compact, stemmed string) *occurrences {
	a := l.automata()
	// A guess at the number of occurrences that saves most of the growing.
	hits := make([]acHit, 0, (len(compact)+len(stemmed))/16)
	hits = a.compact.scan(compact, hits)
	hits = a.stemmed.scan(stemmed, hits)
	return newOccurrences(hits)
}

// occurrences holds, for each string found, the byte offsets where it starts, ascending.
type occurrences struct {
	slots  []occSlot // open addressing by id; len is a power of two
	starts []int32
	ids    []int32 // the strings found, each once
}

type occSlot struct {
	key    int32 // id+1; 0 for an empty slot
	off, n int32 // the id's starts are starts[off:off+n]
}

// newOccurrences indexes hits, which come in order of their end offsets, so that the
// starts of one string are ascending.
func newOccurrences(hits []acHit) *occurrences {
	o := &occurrences{}
	if len(hits) == 0 {
		return o
	}
	size := 8
	for size < 2*len(hits) && size < 2*1024 {
		size *= 2
	}
	o.slots = make([]occSlot, size)
	distinct := 0
	for _, h := range hits {
		s := o.slot(h.id)
		if s.key == 0 {
			s.key = h.id + 1
			o.ids = append(o.ids, h.id)
			if distinct++; 2*distinct > len(o.slots) {
				o.grow()
				s = o.slot(h.id)
			}
		}
		s.n++
	}
	off := int32(0)
	for i := range o.slots {
		if s := &o.slots[i]; s.key != 0 {
			s.off, off = off, off+s.n
			s.n = 0
		}
	}
	o.starts = make([]int32, len(hits))
	for _, h := range hits {
		s := o.slot(h.id)
		o.starts[s.off+s.n] = h.start
		s.n++
	}
	return o
}

// slot returns id's slot, or the empty slot where it belongs.
func (o *occurrences) slot(id int32) *occSlot {
	mask := uint32(len(o.slots) - 1)
	for i := (uint32(id) * 2654435761) & mask; ; i = (i + 1) & mask {
		if s := &o.slots[i]; s.key == id+1 || s.key == 0 {
			return s
		}
	}
}

// grow doubles the table, keeping its entries.
func (o *occurrences) grow() {
	old := o.slots
	o.slots = make([]occSlot, 2*len(old))
	for _, s := range old {
		if s.key != 0 {
			*o.slot(s.key - 1) = s
		}
	}
}

// of returns the starts of string id in ascending order; nil when it was not found.
func (o *occurrences) of(id int32) []int32 {
	if len(o.slots) == 0 {
		return nil
	}
	s := o.slot(id)
	if s.key == 0 {
		return nil
	}
	return o.starts[s.off : s.off+s.n]
}

// firstFrom returns the first start of string id at or after from, and whether there is one.
func (o *occurrences) firstFrom(id int32, from int) (int, bool) {
	starts := o.of(id)
	i, _ := slices.BinarySearch(starts, int32(from))
	if i == len(starts) {
		return 0, false
	}
	return int(starts[i]), true
}

// acPattern is a string an automaton finds, with its id.
type acPattern struct {
	id   int32
	text string
}

// acHit is one occurrence of a pattern.
type acHit struct{ id, start int32 }

// acAutomaton is an Aho-Corasick automaton over bytes: a trie of the patterns with, for
// each state, the longest proper suffix of its text that is also a trie state (fail) and
// the nearest such suffix that ends a pattern (dict). Read-only after newAutomaton.
type acAutomaton struct {
	root   [256]int32 // the root's transitions; 0 means stay at the root
	states []acState  // state 0 is the root
	edges  []acEdge   // the transitions of states other than the root, sorted by byte per state
	dense  []int32    // 256 transitions (-1 for none) per state with many
	outs   []acOut    // the patterns each state ends
}

type acState struct {
	edgeLo, edgeHi int32 // its edges; or dense[edgeLo:edgeLo+256] when edgeHi < 0
	fail           int32
	emit           int32 // the first state in the chain self, dict, dict of dict… that ends patterns; 0 for none
	dict           int32 // the next state in that chain after self; 0 for none
	outLo, outHi   int32
}

type acEdge struct {
	b    byte
	next int32
}

type acOut struct{ id, len int32 }

// denseFanout is the number of transitions from which a state gets a table of all 256:
// the states after the first byte of a kana or kanji have dozens.
const denseFanout = 8

// newAutomaton builds the automaton of patterns, none of them empty.
func newAutomaton(patterns []acPattern) *acAutomaton {
	// The trie, as one map of transitions (state<<8 | byte → state) while it is built.
	trans := map[int64]int32{}
	var kids [][]acEdge // each state's transitions
	var outs [][]acOut  // the patterns each state ends
	kids, outs = append(kids, nil), append(outs, nil)
	child := func(s int32, b byte) int32 {
		if nx, ok := trans[int64(s)<<8|int64(b)]; ok {
			return nx
		}
		return -1
	}
	for _, p := range patterns {
		s := int32(0)
		for i := 0; i < len(p.text); i++ {
			nx := child(s, p.text[i])
			if nx < 0 {
				nx = int32(len(kids))
				kids, outs = append(kids, nil), append(outs, nil)
				kids[s] = append(kids[s], acEdge{p.text[i], nx})
				trans[int64(s)<<8|int64(p.text[i])] = nx
			}
			s = nx
		}
		outs[s] = append(outs[s], acOut{p.id, int32(len(p.text))})
	}
	a := &acAutomaton{states: make([]acState, len(kids))}
	// States in breadth-first order, so that a state's fail is known before its children's.
	order := make([]int32, 0, len(kids))
	for _, e := range kids[0] {
		a.root[e.b] = e.next
		order = append(order, e.next)
	}
	for i := 0; i < len(order); i++ {
		s := order[i]
		for _, e := range kids[s] {
			f := a.states[s].fail
			for f != 0 && child(f, e.b) < 0 {
				f = a.states[f].fail
			}
			if f == 0 {
				a.states[e.next].fail = a.root[e.b]
			} else {
				a.states[e.next].fail = child(f, e.b)
			}
			order = append(order, e.next)
		}
	}
	for s := range kids {
		st := &a.states[s]
		st.outLo = int32(len(a.outs))
		a.outs = append(a.outs, outs[s]...)
		st.outHi = int32(len(a.outs))
		if s == 0 {
			continue
		}
		ks := kids[s]
		slices.SortFunc(ks, func(x, y acEdge) int { return int(x.b) - int(y.b) })
		if len(ks) >= denseFanout {
			st.edgeLo, st.edgeHi = int32(len(a.dense)), -1
			row := make([]int32, 256)
			for i := range row {
				row[i] = -1
			}
			for _, e := range ks {
				row[e.b] = e.next
			}
			a.dense = append(a.dense, row...)
			continue
		}
		st.edgeLo = int32(len(a.edges))
		a.edges = append(a.edges, ks...)
		st.edgeHi = int32(len(a.edges))
	}
	// The output chains, again breadth-first: a state's fail is shallower.
	for _, s := range order {
		st := &a.states[s]
		f := &a.states[st.fail]
		st.dict = f.emit
		st.emit = st.dict
		if st.outHi > st.outLo {
			st.emit = s
		}
	}
	return a
}

// next returns the state after reading b in state s.
func (a *acAutomaton) next(s int32, b byte) int32 {
	for s != 0 {
		st := &a.states[s]
		if st.edgeHi < 0 {
			if nx := a.dense[st.edgeLo+int32(b)]; nx >= 0 {
				return nx
			}
		} else {
			for _, e := range a.edges[st.edgeLo:st.edgeHi] {
				if e.b == b {
					return e.next
				}
				if e.b > b {
					break
				}
			}
		}
		s = st.fail
	}
	return a.root[b]
}

// scan appends every occurrence of the patterns in text to hits, in order of their end.
func (a *acAutomaton) scan(text string, hits []acHit) []acHit {
	if len(a.states) <= 1 {
		return hits
	}
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = a.next(s, text[i])
		for t := a.states[s].emit; t != 0; t = a.states[t].dict {
			st := &a.states[t]
			for _, o := range a.outs[st.outLo:st.outHi] {
				hits = append(hits, acHit{o.id, int32(i+1) - o.len})
			}
		}
	}
	return hits
}
