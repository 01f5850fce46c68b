// Package textnorm normalises customer text for matching: NFKC, width folding, case,
// katakana to hiragana, long-vowel and dash variants, and punctuation.
package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize returns s folded for matching free text against synonyms. Full-width and
// half-width forms become one (NFKC), letters are lower-cased, katakana become hiragana,
// dash and long-vowel variants become "ー", punctuation and symbols become spaces, runs
// of spaces collapse to one, and common polite negatives become plain ones (使えません →
// 使えない). Invalid UTF-8 is dropped. Normalize is safe for concurrent use.
func Normalize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := true // suppress leading spaces
	for _, r := range s {
		switch {
		case r >= 'ァ' && r <= 'ヶ':
			r -= 'ァ' - 'ぁ'
		case isDash(r):
			r = 'ー'
		case r == '\'' || r == '’' || r == '‘' || r == '`':
			continue // "can't" matches "cant"
		case unicode.IsSpace(r), unicode.IsPunct(r), unicode.IsSymbol(r), unicode.IsControl(r):
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		default:
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
		space = false
	}
	out := strings.TrimRight(b.String(), " ")
	// Long-vowel marks typed twice ("すごーーい") match the single form.
	for strings.Contains(out, "ーー") {
		out = strings.ReplaceAll(out, "ーー", "ー")
	}
	// Folding may bring a new stem next to a following ません (「ありませんません」): repeat;
	// every pass shortens the text.
	for strings.Contains(out, "ません") {
		folded := politeNegatives.Replace(out)
		if folded == out {
			break
		}
		out = folded
	}
	return out
}

// politeNegatives folds the polite negative of the verbs customers use most into the plain
// one, so that 「使えません」「進めませんでした」「分かりません」 match 「使えない」「進めなかった」
// 「分からない」: e-row stems (potential and ichidan verbs), できる, いる, ある and 分かる.
var politeNegatives = func() *strings.Replacer {
	var pairs []string
	add := func(stem, plainStem string) {
		pairs = append(pairs, stem+"ませんでした", plainStem+"なかった", stem+"ません", plainStem+"ない")
	}
	add("でき", "でき")
	add("わかり", "わから")
	add("分かり", "分から")
	add("あり", "")
	add("い", "い")
	for _, e := range "えけせてねへめれべげぜでぺ" {
		add(string(e), string(e))
	}
	return strings.NewReplacer(pairs...)
}()

func isDash(r rune) bool {
	switch r {
	case '-', 'ー', 'ｰ', '‐', '‑', '‒', '–', '—', '―', '−', '〜', '～', '~':
		return true
	}
	return false
}
