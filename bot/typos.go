package bot

import "strings"

// minTypoLen is the length from which an English word that the flow does not know is read
// as the flow's word one edit away ("invaild" → "invalid", "redeemd" → "redeemed"):
// shorter words have too many neighbours to guess.
const minTypoLen = 6

// typos corrects English words one edit (a letter added, dropped, changed, or two
// swapped) away from a word of the flow's phrases. It is built once and read-only after.
type typos struct {
	known map[string]bool   // every English word of the flow's phrases, and its stem
	dels  map[string]string // a long known word, and each of it with one letter dropped → the word ("" when two words share it)
	// lex is the search strings of the flow's phrases: typos learns every phrase once the
	// flow is compiled, so it also indexes them for the one-pass search (aho.go).
	lex *lexicon
}

func newTypos() *typos {
	return &typos{known: map[string]bool{}, dels: map[string]string{}, lex: newLexicon()}
}

// learn adds the English words of a phrase, and its search strings to the lexicon.
func (ty *typos) learn(p phrase) {
	ty.lex.learn(p)
	for _, g := range p.groups {
		for _, alt := range g.alts {
			ty.learn(alt)
		}
	}
	if !p.ascii || p.groups != nil {
		return
	}
	for _, w := range strings.Fields(p.spaced) {
		ty.known[w] = true
		ty.known[stem(w)] = true
		if len(w) < minTypoLen || !lettersOnly(w) {
			continue
		}
		ty.addDel(w, w)
		for i := range len(w) {
			ty.addDel(w[:i]+w[i+1:], w)
		}
	}
}

func (ty *typos) addDel(key, word string) {
	if old, ok := ty.dels[key]; ok && old != word {
		ty.dels[key] = ""
		return
	}
	ty.dels[key] = word
}

// chatShort are the short forms of chat that stand for a word the flow's phrases use
// ("hw do i redeem", "wat does it mean", "cuz"): too short for the one-edit guess.
var chatShort = map[string]string{"hw": "how", "hwo": "how", "wat": "what", "wht": "what", "whts": "whats", "u": "you",
	"ur": "your", "plz": "please", "cuz": "because", "bc": "because", "dnt": "dont", "acct": "account"}

// fix returns the known word a long unknown word w was meant as, or w.
func (ty *typos) fix(w string) string {
	if full, ok := chatShort[w]; ok && !ty.known[w] {
		return full
	}
	if len(w) < minTypoLen || ty.known[w] || ty.known[stem(w)] || !lettersOnly(w) || ty.inflected(w) {
		return w
	}
	found := ""
	try := func(key string) bool {
		v, ok := ty.dels[key]
		switch {
		case !ok:
			return true
		case v == "" || (found != "" && found != v):
			found = ""
			return false // ambiguous
		}
		found = v
		return true
	}
	if !try(w) {
		return w
	}
	for i := range len(w) {
		if !try(w[:i] + w[i+1:]) {
			return w
		}
	}
	if found == "" || found[0] != w[0] {
		return w // customers rarely mistype the first letter; other words differ there
	}
	return found
}

// inflected reports whether w is a known word with an ending the stemmer keeps ("issued"
// from "issue", "registered" from "register"): a word, not a typo.
func (ty *typos) inflected(w string) bool {
	for _, suf := range []string{"ed", "d", "er", "r", "ly", "ers"} {
		if base, ok := strings.CutSuffix(w, suf); ok && len(base) >= 3 && (ty.known[base] || ty.known[stem(base)]) {
			return true
		}
	}
	return false
}

// correct returns spaced text with its long unknown English words corrected.
func (ty *typos) correct(spaced string) string {
	if ty == nil || len(ty.dels) == 0 {
		return spaced
	}
	var b strings.Builder
	changed := false
	for i, w := range strings.Split(spaced, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		f := ty.fix(w)
		changed = changed || f != w
		b.WriteString(f)
	}
	if !changed {
		return spaced
	}
	return b.String()
}

func lettersOnly(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}
