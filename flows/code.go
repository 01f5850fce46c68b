package flows

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A gift-card claim code is cash: whoever types it into an account gets the balance. The
// functions in this file therefore never put a code into an error, and the values they hand
// back for storing or showing are masked with MaskCode.

// NormalizeCode returns s the way the Amazon form reads a claim code: NFKC-folded (full-width
// letters and digits become ASCII), with hyphens of every kind (-, ‐, ‑, ‒, –, —, ―, −, ー,
// ｰ, －, ﹣), white space (including the ideographic space U+3000 and tabs) and zero-width
// characters removed, and upper-cased. Other characters are kept, so the caller can tell a
// code with stray characters from a clean one; invalid UTF-8 becomes U+FFFD. The result is
// still the full code: mask it before storing or logging it. NormalizeCode is safe for
// concurrent use.
func NormalizeCode(s string) string {
	// norm passes invalid UTF-8 through together with the bytes after it, unnormalised, so
	// make it valid first.
	s = strings.ToValidUTF8(s, "\ufffd")
	s = strings.Map(dropCodeSeparator, norm.NFKC.String(s))
	// Upper-casing can produce sequences NFKC composes ("i" + U+0307 becomes "İ"), so
	// normalise once more; the result is then stable under NormalizeCode.
	return norm.NFKC.String(strings.ToUpper(s))
}

// dropCodeSeparator maps separators to -1 (dropped by strings.Map) and keeps other runes.
func dropCodeSeparator(r rune) rune {
	if isCodeHyphen(r) || unicode.IsSpace(r) || isZeroWidth(r) {
		return -1
	}
	return r
}

// isCodeHyphen reports whether r is one of the dashes customers type between code groups.
func isCodeHyphen(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−', 'ー', 'ｰ', '－', '﹣':
		return true
	}
	return false
}

// isZeroWidth reports whether r is an invisible character that copy-paste leaves behind.
func isZeroWidth(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return true
	}
	return false
}

// CodeProblem is what CheckCode found wrong with a typed claim code. The values are the
// outcomes of the "code_check" decision.
type CodeProblem string

// The results of CheckCode.
const (
	CodeOK           CodeProblem = "ok"            // 14 or 15 letters and digits
	CodeDroppedFirst CodeProblem = "dropped_first" // grouping shows the first character missing
	CodeWrongLength  CodeProblem = "wrong_length"  // any other length
	CodeBadChars     CodeProblem = "bad_chars"     // something other than A–Z and 0–9
	CodeSerialNumber CodeProblem = "serial_number" // the 16-digit number on the card's back
	CodeEmpty        CodeProblem = "empty"         // nothing but separators
)

// The lengths of claim codes and card numbers. Current codes are printed 4-6-5
// (AQXX-XXXXXX-XXXXX), older ones 4-6-4; the card number on the back has 16 digits.
const (
	codeMinLen = 14
	codeMaxLen = 15
	serialLen  = 16
)

// CheckCode normalises raw with NormalizeCode and says whether it looks like an Amazon (JP)
// gift-card claim code. The rules, in order:
//
//   - Nothing left after normalising: CodeEmpty.
//   - Any character other than A–Z and 0–9: CodeBadChars (a stray "。", a kana, "O" typed as
//     "〇"); claim codes are letters and digits only.
//   - Exactly 16 digits: CodeSerialNumber. That is the number printed on the back of a card,
//     which customer service asks for when the code is unreadable (article 6-1), not the code.
//   - Typed in three groups of 3-6-5 or 3-6-4 (split by hyphens or spaces): CodeDroppedFirst.
//     The layout is 4-6-5 (or 4-6-4 on older cards), so the first group is one short — the
//     copy-paste slip the article names in 1-4. This is judged from the grouping only: a
//     13-character code typed without separators may miss any character, so it is
//     CodeWrongLength. A 3-6-5 entry is CodeDroppedFirst even though 14 is a valid length,
//     since no card prints a 3-character first group.
//   - A length other than 14 or 15: CodeWrongLength. Other groupings (5-5-5, 4-5-5) are not
//     judged, because customers regroup codes freely.
//   - Otherwise CodeOK.
//
// CheckCode returns the normalised code, which is the full code: the caller must mask it
// (MaskCode) before storing, logging or showing it. CheckCode is safe for concurrent use.
func CheckCode(raw string) (normalized string, problem CodeProblem) {
	normalized = NormalizeCode(raw)
	switch {
	case normalized == "":
		return normalized, CodeEmpty
	case !isCodeAlnum(normalized):
		return normalized, CodeBadChars
	case len(normalized) == serialLen && isDigits(normalized):
		return normalized, CodeSerialNumber
	case droppedFirstGroup(raw):
		return normalized, CodeDroppedFirst
	case len(normalized) < codeMinLen || len(normalized) > codeMaxLen:
		return normalized, CodeWrongLength
	}
	return normalized, CodeOK
}

// droppedFirstGroup reports whether raw is typed in the groups 3-6-5 or 3-6-4.
func droppedFirstGroup(raw string) bool {
	groups := strings.FieldsFunc(norm.NFKC.String(strings.ToValidUTF8(raw, "\ufffd")), func(r rune) bool {
		return isCodeHyphen(r) || unicode.IsSpace(r)
	})
	if len(groups) != 3 {
		return false
	}
	a, b, c := utf8.RuneCountInString(groups[0]), utf8.RuneCountInString(groups[1]), utf8.RuneCountInString(groups[2])
	return a == 3 && b == 6 && (c == 5 || c == 4)
}

// isCodeAlnum reports whether s holds only A–Z and 0–9.
func isCodeAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isDigits reports whether s is non-empty and holds only ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// maskPrefix starts every masked code; RedactCodes recognises it to stay idempotent.
const maskPrefix = "****-"

// MaskCode returns s normalised (NormalizeCode) and masked for storing and showing: "****-"
// followed by its last four characters, so a customer can still recognise their code, or
// "****" alone when the code is shorter than 8 characters, so little of a fragment shows.
// The result never holds more than four characters of the code. MaskCode is safe for
// concurrent use.
func MaskCode(s string) string {
	r := []rune(NormalizeCode(s))
	if len(r) < 8 {
		return "****"
	}
	return maskPrefix + string(r[len(r)-4:])
}

// RedactCodes returns text with everything that looks like a gift-card code replaced by its
// MaskCode form, for logs and transcripts. Unmatched text, including invalid UTF-8, is
// copied unchanged; RedactCodes never panics, is idempotent, and is safe for concurrent use.
//
// Finding codes in free text is a heuristic; it errs towards masking, since a leaked code is
// lost money while a masked word only reads oddly. It works like this:
//
//  1. Full-width letters and digits count as ASCII. A chunk is a maximal run of letters and
//     digits, so a code stops at kana and kanji: 「コードはＡＢＣＤ－１２３４５６－ＸＹＺＷ９です」.
//  2. Neighbouring chunks of at least 3 characters join into one token when the text between
//     them is 1–3 spaces or hyphens (of any kind) holding at most one hyphen. A hyphen always
//     joins. A space joins unless it looks like prose: a plain word (all lower case, or
//     Capitalised) joins across a space only with a chunk that mixes letters and digits, so
//     "have 3000 yen", "Amazon Gift Card" and "May 2016" stay apart. Three chunks in a
//     printed layout (4-6-5, 4-6-4, 3-6-5, 3-6-4) with at least two digits among them join
//     across spaces whatever they look like ("abcd 123456 efghi").
//  3. A plain word of fewer than 10 letters at either end of a token, joined to it by a
//     space, is dropped from the token when what remains still has at least 14 characters
//     (a whole code) and the word does not complete a printed layout — so in
//     "ABCD-123456-XYZW9 but it says" the "but" stays readable, while "abcd 12ef56 klmno"
//     stays one token.
//  4. A token of n letters and digits, d of them digits, is masked when n ≥ 10 and
//     – it is all digits and n ≥ 14 (codes, the 16-digit card number, long account
//     numbers; phone numbers, postal codes and amounts are shorter), or
//     – d ≥ 2, or
//     – n ≥ 14 (a lower-case code may have no digits), or
//     – n ≥ 12 and it holds a chunk that is not a plain word (upper case, mixed case, or
//     letters with a digit).
//  5. Exactly four ASCII upper-case letters or digits right after "****-" are an earlier
//     mask: they are left alone and join nothing, which keeps RedactCodes idempotent.
//
// Left alone: "Amazon", "smartphone" (too short, no digits), 2016/5/1 and 2017年4月24日 (short
// chunks split by other characters), 3,000円, 090-1234-5678 (11 digits).
// Masked although not codes: runs of 14 or more letters ("congratulations",
// "user-friendly-interface"), shouted text such as "AMAZON GIFT CARD", 17-digit order
// numbers, and amounts glued to words ("3000yen balance").
// Missed: a code typed in lower case and grouped by spaces, not in the printed layout with
// two digits, where two neighbouring groups are both letters-only or a letters-only group
// meets a digits-only one ("abcd efghij klmno", "abcde 12345 fghij"): it reads like words
// and numbers, and its groups are masked only if they are code-like on their own. Groups
// shorter than 3 characters never join, and a code typed right after "****-" loses its
// first group to rule 5.
func RedactCodes(text string) string {
	out, _ := redactCodes(text)
	return out
}

// FindCode returns the first code-like token of text (by the rules of RedactCodes) as it
// was typed, separators included, so that a code typed inside a sentence
// (「番号はABCD-EFGH12-JKLM3です」) can be checked, its grouping too (CheckCode). The result
// is a full code: mask it before storing or showing it.
func FindCode(text string) (string, bool) {
	_, codes := redactCodes(text)
	if len(codes) == 0 {
		return "", false
	}
	return codes[0], true
}

// redactCodes masks the code-like tokens of text and returns them.
func redactCodes(text string) (string, []string) {
	var found []string
	chunks := redactScan(text)
	if len(chunks) == 0 {
		return text, nil
	}
	var b strings.Builder
	pos := 0
	for i := 0; i < len(chunks); {
		j := i + 1
		for j < len(chunks) && chunks[j-1].link != linkNone {
			j++
		}
		lo, hi := redactTrim(chunks[i:j])
		if span := chunks[i+lo : i+hi]; len(span) > 0 && codeLike(span) {
			b.WriteString(text[pos:span[0].start])
			code := joinAlnum(span)
			found = append(found, text[span[0].start:span[len(span)-1].end])
			b.WriteString(MaskCode(code))
			pos = span[len(span)-1].end
		}
		i = j
	}
	if pos == 0 {
		return text, found
	}
	b.WriteString(text[pos:])
	return b.String(), found
}

// linkKind says how a chunk is joined to the one after it.
type linkKind int

const (
	linkNone linkKind = iota
	linkHyphen
	linkSpace
)

// chunkClass sorts chunks by how much they look like words.
type chunkClass int

const (
	classPlain  chunkClass = iota // letters only, lower case or Capitalised: a word
	classDigits                   // digits only
	classMixed                    // letters and digits
	classCaps                     // letters only, upper case or mixed case ("ABCD", "iPhone")
)

// redactChunk is a run of letters and digits in text given to RedactCodes.
type redactChunk struct {
	start, end int    // byte offsets in the text
	alnum      string // the run, width-folded to ASCII
	class      chunkClass
	frozen     bool     // an earlier mask's last four characters
	gap        linkKind // how the gap to the next chunk could join it
	link       linkKind // how it joins the next chunk
}

// redactScan splits text into chunks and decides which neighbours join.
func redactScan(text string) []redactChunk {
	var chunks []redactChunk
	var run []byte
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		c := redactChunk{start: start, end: end, alnum: string(run), class: classify(run)}
		c.frozen = end-start == 4 && strings.HasSuffix(text[:start], maskPrefix) &&
			isCodeAlnum(c.alnum)
		chunks = append(chunks, c)
		run, start = run[:0], -1
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if c, ok := foldAlnum(r); ok {
			if start < 0 {
				start = i
			}
			run = append(run, c)
		} else {
			flush(i)
		}
		i += size
	}
	flush(len(text))
	for k := 0; k+1 < len(chunks); k++ {
		a, b := &chunks[k], &chunks[k+1]
		a.gap = gapKind(a, b, text[a.end:b.start])
		a.link = a.gap
		if a.gap == linkSpace && (a.class == classPlain && b.class != classMixed ||
			b.class == classPlain && a.class != classMixed) {
			a.link = linkNone // prose: "have 3000 yen", "Amazon Gift Card"
		}
		if a.gap == linkSpace && (lowerWord(a, text) && hasUpper(b, text) || lowerWord(b, text) && hasUpper(a, text)) {
			a.link = linkNone // a code in capitals, then a word: "4TQ8XM2KPH doesn't work"
		}
	}
	for k := 0; k+2 < len(chunks); k++ {
		if tok := chunks[k : k+3]; tok[0].gap != linkNone && tok[1].gap != linkNone &&
			printedLayout(tok) && countDigits(tok) >= 2 {
			tok[0].link, tok[1].link = tok[0].gap, tok[1].gap
		}
	}
	return chunks
}

// gapKind says how chunk a may join chunk b across gap, going by the gap and the chunks'
// lengths alone.
func gapKind(a, b *redactChunk, gap string) linkKind {
	if a.frozen || b.frozen || len(a.alnum) < 3 || len(b.alnum) < 3 {
		return linkNone
	}
	runes, hyphens := 0, 0
	for _, r := range gap {
		runes++
		switch {
		case isCodeHyphen(r):
			hyphens++
		case r == ' ' || r == '\t' || r == '\u3000' || r == '\u00a0':
		default:
			return linkNone
		}
	}
	switch {
	case runes > 3 || hyphens > 1:
		return linkNone
	case hyphens == 1:
		return linkHyphen
	}
	return linkSpace
}

// redactTrim returns the part [lo, hi) of a token that is left after dropping plain words
// at its ends (rule 3 of RedactCodes).
func redactTrim(tok []redactChunk) (lo, hi int) {
	lo, hi = 0, len(tok)
	if hi-lo >= 2 && trimmable(tok[lo], tok[lo].link) && alnumLen(tok[lo+1:hi]) >= codeMinLen &&
		!(hi-lo >= 3 && printedLayout(tok[lo:lo+3]) && codeLike(tok[lo:lo+3])) {
		lo++
	}
	if hi-lo >= 2 && trimmable(tok[hi-1], tok[hi-2].link) && alnumLen(tok[lo:hi-1]) >= codeMinLen &&
		!(hi-lo >= 3 && printedLayout(tok[hi-3:hi]) && codeLike(tok[hi-3:hi])) {
		hi--
	}
	return lo, hi
}

// trimmable reports whether c, joined to the rest of its token by link, may be dropped from
// the token's end. Words of 10 or more letters stay, so that a trimmed word is never masked
// on its own later (RedactCodes must be idempotent).
func trimmable(c redactChunk, link linkKind) bool {
	return c.class == classPlain && link == linkSpace && len(c.alnum) < 10
}

// printedLayout reports whether three chunks have the lengths 4-6-5, 4-6-4, 3-6-5 or 3-6-4.
func printedLayout(tok []redactChunk) bool {
	a, b, c := len(tok[0].alnum), len(tok[1].alnum), len(tok[2].alnum)
	return (a == 4 || a == 3) && b == 6 && (c == 5 || c == 4)
}

// codeLike reports whether a token should be masked (rule 4 of RedactCodes).
func codeLike(tok []redactChunk) bool {
	n, d, worded := alnumLen(tok), countDigits(tok), true
	for _, c := range tok {
		if c.class == classCaps || c.class == classMixed {
			worded = false
		}
	}
	switch {
	case n < 10:
		return false
	case d == n:
		return n >= codeMinLen
	case d >= 2, n >= codeMinLen:
		return true
	}
	return n >= 12 && !worded
}

// alnumLen returns the number of letters and digits in tok.
func alnumLen(tok []redactChunk) int {
	n := 0
	for _, c := range tok {
		n += len(c.alnum)
	}
	return n
}

// countDigits returns the number of digits in tok.
func countDigits(tok []redactChunk) int {
	d := 0
	for _, c := range tok {
		for i := 0; i < len(c.alnum); i++ {
			if c.alnum[i] >= '0' && c.alnum[i] <= '9' {
				d++
			}
		}
	}
	return d
}

// joinAlnum returns the letters and digits of tok.
func joinAlnum(tok []redactChunk) string {
	var b strings.Builder
	for _, c := range tok {
		b.WriteString(c.alnum)
	}
	return b.String()
}

// classify sorts a run of ASCII letters and digits.
func classify(run []byte) chunkClass {
	var digits, upper, lower int
	for _, c := range run {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'A' && c <= 'Z':
			upper++
		default:
			lower++
		}
	}
	switch {
	case digits == len(run):
		return classDigits
	case digits > 0:
		return classMixed
	case upper == 0, upper == 1 && run[0] >= 'A' && run[0] <= 'Z' && lower > 0:
		return classPlain
	}
	return classCaps
}

// foldAlnum returns the ASCII letter or digit that r is, folding full-width forms.
func foldAlnum(r rune) (byte, bool) {
	if r >= 0xff01 && r <= 0xff5e {
		r -= 0xfee0
	}
	if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
		return byte(r), true
	}
	return 0, false
}

// lowerWord reports whether chunk c is written in lower-case letters only, as a word of a
// sentence is and a printed code never is.
func lowerWord(c *redactChunk, text string) bool {
	if c.class != classPlain {
		return false
	}
	for _, r := range text[c.start:c.end] {
		if !unicode.IsLower(r) {
			return false
		}
	}
	return true
}

// hasUpper reports whether chunk c is written with a capital letter.
func hasUpper(c *redactChunk, text string) bool {
	return strings.IndexFunc(text[c.start:c.end], unicode.IsUpper) >= 0
}
