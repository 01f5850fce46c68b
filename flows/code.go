package flows

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
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
	if isCodeSeparator(r) {
		return -1
	}
	return r
}

// isCodeSeparator reports whether r (after NFKC) may stand between the groups of a code:
// the code reader drops it, and RedactCodes joins groups across it.
func isCodeSeparator(r rune) bool {
	return isCodeHyphen(r) || unicode.IsSpace(r) || isZeroWidth(r)
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
		return isCodeHyphen(r) || unicode.IsSpace(r) || isZeroWidth(r)
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

// RedactCodes returns text with every gift-card code in it replaced by its MaskCode form,
// for transcripts, dead letters, Slack posts and logs. It finds codes by the one
// definition of what a code looks like that the code reader (the "code" input) also goes
// by: whatever that reader accepts as a code, RedactCodes masks. Unmatched text, including
// invalid UTF-8, is copied unchanged; RedactCodes never panics, is idempotent, and is safe
// for concurrent use.
//
// What a code looks like:
//
//  1. Characters. Letters and digits in any width or compatibility form NFKC folds to
//     ASCII (ＡＢＣ１２３), in either case. Between them, separators are what the reader drops:
//     hyphens and dashes of every kind (-, －, ー, –, …), any Unicode space (including
//     newlines, tabs, the ideographic, thin, en and narrow no-break spaces) and zero-width
//     characters (U+200B–U+200D, the word joiner U+2060, U+FEFF). Written as a JSON escape
//     (\n, \u200b, \uff21) or percent-encoded (%0A, %E2%80%8B, + for a space), as in a
//     stored request body, they count the same.
//  2. Groups. A group is a run of letters and digits. Neighbouring groups of at least 2
//     (3 when digits only, unlike the parts of a date) join across 1 to 8 separators holding a hyphen or a zero-width character; across
//     spaces only, when both are code-like (they hold a digit, or are upper-case letters),
//     or when one mixes letters and digits and neither is longer than 8. Three groups in the printed layout 4-6-5 or 4-6-4 (or 3-6-5, 3-6-4:
//     the first character dropped) join whatever their case, unless they are plain words
//     between plain spaces. Prose does not join: "have 3000 yen", "Amazon Gift Card".
//  3. Codes. In joined groups, a run of letters and digits is a code when it mixes letters
//     and digits and has 13 to 20 of them (a 14- or 15-character code, one with a
//     character missing or added), or 10 to 20 in several groups (a mistyped code); when
//     it is 13 to 16 upper-case letters, or letters in the printed layout; and when it is
//     exactly 16 digits (the card number). The printed layout is taken first, then all the
//     joined groups when they are one code, else runs from the left; a plain word at one
//     end is left out when the rest is a code of 13 or more by itself (plain words at both
//     ends: both or neither).
//  4. Exactly four letters or digits right after "****-" are an earlier mask and join
//     nothing, which keeps RedactCodes idempotent.
//
// So JSON keys and camel-case names (webhookEventId), lower-case words ("representative"),
// ids longer than a code (ULIDs, LINE user ids, reply tokens), UUIDs, Slack ids, durations,
// timestamps, dates, amounts and phone numbers are left alone. A code typed in lower case
// without a digit, as one group or grouped by spaces, is not told from words: the reader
// does not accept it as a code either, and asks again.
func RedactCodes(text string) string {
	out, _ := redactCodes(text)
	return out
}

// FindCode returns the first code of text by the definition of RedactCodes as it was
// typed, separators included, so that a code typed inside a sentence
// (「番号はABCD-EFGH12-JKLM3です」) can be checked, its grouping too (CheckCode). The result
// is a full code: mask it before storing or showing it.
func FindCode(text string) (string, bool) {
	_, codes := redactCodes(text)
	if len(codes) == 0 {
		return "", false
	}
	return codes[0], true
}

// redactCodes masks the codes of text and returns them, normalised.
func redactCodes(text string) (string, []string) {
	chunks := scanChunks(text)
	if len(chunks) == 0 {
		return text, nil
	}
	var spans [][2]int // chunk index ranges [i, j), in order
	for i := 0; i < len(chunks); {
		j := i + 1
		for j < len(chunks) && chunks[j-1].link {
			j++
		}
		if !uuidShaped(chunks[i:j]) {
			spans = append(spans, codeSpans(chunks, i, j)...)
		}
		i = j
	}
	if len(spans) == 0 {
		return text, nil
	}
	var b strings.Builder
	var found []string
	pos := 0
	for _, sp := range spans {
		first, last := chunks[sp[0]], chunks[sp[1]-1]
		code := NormalizeCode(joinAlnum(chunks[sp[0]:sp[1]]))
		found = append(found, text[first.start:last.end])
		b.WriteString(text[pos:first.start])
		b.WriteString(MaskCode(code))
		pos = last.end
	}
	b.WriteString(text[pos:])
	return b.String(), found
}

// The lengths of the runs RedactCodes takes for codes: at least spanMin letters and
// digits (spanMinJoined for groups joined by separators, where a mistyped code missing a
// group is still several groups of one), at most spanMax (a code typed with extra
// characters); a card number has exactly serialLen digits.
const (
	spanMin       = codeMinLen - 1
	spanMinJoined = 10
	spanMax       = 20
	spanMaxLetter = serialLen
)

// uuidShaped reports whether joined chunks are a UUID (8-4-4-4-12 hex digits), an
// identifier and not a code.
func uuidShaped(tok []redactChunk) bool {
	if len(tok) != 5 {
		return false
	}
	for i, n := range []int{8, 4, 4, 4, 12} {
		if len(tok[i].alnum) != n || strings.Trim(strings.ToLower(tok[i].alnum), "0123456789abcdef") != "" {
			return false
		}
	}
	return true
}

// codeSpans returns the codes among the joined chunks [lo, hi), as index ranges.
func codeSpans(chunks []redactChunk, lo, hi int) [][2]int {
	var spans [][2]int
	covered := make([]bool, hi-lo)
	// The printed layout first.
	for i := lo; i+3 <= hi; i++ {
		if tok := chunks[i : i+3]; !covered[i-lo] && printedLayout(tok) && isCode(tok, true) {
			spans = append(spans, [2]int{i, i + 3})
			covered[i-lo], covered[i+1-lo], covered[i+2-lo] = true, true, true
		}
	}
	whole := func(i, j int) bool { return isCode(chunks[i:j], false) && alnumLen(chunks[i:j]) >= spanMin }
	add := func(i, j int) {
		// A plain word at an end stays out when the rest is a whole code; when both ends
		// are plain words, both stay out or neither does (which of two words belongs to a
		// code cannot be told: mask both).
		if j-i >= 2 {
			lp, rp := chunks[i].class == classPlain, chunks[j-1].class == classPlain
			switch {
			case lp && rp:
				if j-i >= 3 && whole(i+1, j-1) {
					i, j = i+1, j-1
				}
			case lp && whole(i+1, j):
				i++
			case rp && whole(i, j-1):
				j--
			}
		}
		spans = append(spans, [2]int{i, j})
		for k := i; k < j; k++ {
			covered[k-lo] = true
		}
	}
	for a := lo; a < hi; {
		if covered[a-lo] {
			a++
			continue
		}
		b := a
		for b < hi && !covered[b-lo] {
			b++
		}
		if isCode(chunks[a:b], false) {
			add(a, b)
			a = b
			continue
		}
		// Too long for one code: take runs from the left.
		for i := a; i < b; {
			j, n := i, 0
			for j < b && n < spanMin {
				n += len(chunks[j].alnum)
				j++
			}
			// A run grown past the longest code by its last group may be a code without it.
			if j-i >= 2 && n > spanMax && !isCode(chunks[i:j], false) {
				j--
			}
			if isCode(chunks[i:j], false) {
				add(i, j)
				i = j
			} else {
				i++
			}
		}
		a = b
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	return spans
}

// isCode reports whether tok, joined chunks, is a code by its letters and digits (rule 3
// of RedactCodes); layout says it is in the printed layout.
func isCode(tok []redactChunk, layout bool) bool {
	n, d := alnumLen(tok), countDigits(tok)
	switch {
	case n > spanMax:
		return false
	case d == n:
		return n == serialLen
	case d > 0:
		return n >= spanMin || len(tok) > 1 && n >= spanMinJoined
	case n < spanMin || n > spanMaxLetter:
		return false
	}
	for _, c := range tok {
		if c.class != classCaps || strings.ToUpper(c.alnum) != c.alnum {
			return layout && len(tok) == 3
		}
	}
	return true
}

// linkKind is the kind of separators between two chunks.
type linkKind int

const (
	gapNone   linkKind = iota // not separators only, or too many
	gapSpace                  // spaces only
	gapHyphen                 // with a hyphen or a zero-width character
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
	alnum      string // the run, folded to ASCII
	class      chunkClass
	frozen     bool     // an earlier mask's last four characters
	gap        linkKind // the separators between it and the next chunk
	link       bool     // whether it joins the next chunk
}

// codeLike reports whether a chunk may be part of a code next to another code-like one:
// it holds a digit, or is upper-case letters.
func (c *redactChunk) codeLike() bool {
	return c.class == classDigits || c.class == classMixed || c.class == classCaps && strings.ToUpper(c.alnum) == c.alnum
}

// short reports whether the chunk is too short to join others: one character, or two
// digits (the parts of a date).
func (c *redactChunk) short() bool {
	return len(c.alnum) < 2 || len(c.alnum) < minGroup && c.class == classDigits
}

// The groups of a code: at most maxGap separators between two, each at least minGroup
// long when digits only and 2 otherwise; a word joins a group of letters and digits across spaces only when both are at
// most maxWordGroup long.
const (
	maxGap       = 8
	minGroup     = 3
	maxWordGroup = 8
)

// scanChunks splits text into chunks and decides which neighbours join (rule 2 of
// RedactCodes).
func scanChunks(text string) []redactChunk {
	var chunks []redactChunk
	var run []byte
	start, end := -1, 0
	gapRunes, gap := 0, gapSpace // the separators since the last chunk
	for i := 0; i < len(text); {
		r, size := decodeCodeRune(text, i)
		if c, ok := foldAlnum(r); ok {
			if start < 0 {
				if k := len(chunks) - 1; k >= 0 {
					chunks[k].gap = gap
				}
				start = i
			}
			run, end = append(run, c), i+size
			i += size
			continue
		}
		if start >= 0 {
			c := redactChunk{start: start, end: end, alnum: string(run), class: classify(run)}
			c.frozen = len(run) == 4 && strings.HasSuffix(text[:start], maskPrefix) && isCodeAlnum(c.alnum)
			chunks = append(chunks, c)
			run, start = run[:0], -1
			gapRunes, gap = 0, gapSpace
		}
		switch f := foldCodeRune(r); {
		case gap == gapNone:
		case isCodeSeparator(f) && gapRunes < maxGap:
			gapRunes++
			if !unicode.IsSpace(f) {
				gap = gapHyphen
			}
		default:
			gap = gapNone
		}
		i += size
	}
	if start >= 0 {
		c := redactChunk{start: start, end: end, alnum: string(run), class: classify(run)}
		c.frozen = len(run) == 4 && strings.HasSuffix(text[:start], maskPrefix) && isCodeAlnum(c.alnum)
		chunks = append(chunks, c)
	}
	for k := 0; k+1 < len(chunks); k++ {
		a, b := &chunks[k], &chunks[k+1]
		if a.frozen || b.frozen || a.short() || b.short() {
			a.gap = gapNone
		}
		switch a.gap {
		case gapSpace:
			a.link = a.codeLike() && b.codeLike() ||
				(a.class == classMixed || b.class == classMixed) && len(a.alnum) <= maxWordGroup && len(b.alnum) <= maxWordGroup
		case gapHyphen:
			a.link = true
		}
	}
	for k := 0; k+2 < len(chunks); k++ {
		tok := chunks[k : k+3]
		prose := countDigits(tok) == 0 && tok[0].gap == gapSpace && tok[1].gap == gapSpace &&
			tok[0].class == classPlain && tok[1].class == classPlain && tok[2].class == classPlain
		if tok[0].gap != gapNone && tok[1].gap != gapNone && printedLayout(tok) && !prose {
			tok[0].link, tok[1].link = true, true
		}
	}
	return chunks
}

// decodeCodeRune returns the rune at text[i:] and its length in bytes, reading a JSON
// escape (\n, \r, \t, \uXXXX with surrogate pairs) or percent-encoded UTF-8 (%0A,
// %E2%80%8B; + is a space) as the rune it stands for, so that a code in a stored request
// body is found as it is in plain text. Invalid UTF-8 is one byte of U+FFFD.
func decodeCodeRune(text string, i int) (rune, int) {
	switch text[i] {
	case '\\':
		if i+1 >= len(text) {
			break
		}
		switch text[i+1] {
		case 'n':
			return '\n', 2
		case 'r':
			return '\r', 2
		case 't':
			return '\t', 2
		case 'u':
			r, ok := hex4(text, i+2)
			if !ok {
				break
			}
			if utf16.IsSurrogate(r) && i+12 <= len(text) && text[i+6] == '\\' && text[i+7] == 'u' {
				if r2, ok := hex4(text, i+8); ok {
					if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
						return c, 12
					}
				}
			}
			return r, 6
		}
	case '%':
		var buf [utf8.UTFMax]byte
		n := 0
		for n < len(buf) && i+3*n+3 <= len(text) && text[i+3*n] == '%' {
			hi, ok1 := unhex(text[i+3*n+1])
			lo, ok2 := unhex(text[i+3*n+2])
			if !ok1 || !ok2 {
				break
			}
			buf[n] = hi<<4 | lo
			n++
			if utf8.FullRune(buf[:n]) {
				if r, size := utf8.DecodeRune(buf[:n]); size == n && r != utf8.RuneError {
					return r, 3 * n
				}
				break
			}
		}
	case '+':
		return ' ', 1
	}
	return utf8.DecodeRuneInString(text[i:])
}

// hex4 parses the four hex digits at text[i:].
func hex4(text string, i int) (rune, bool) {
	if i+4 > len(text) {
		return 0, false
	}
	var r rune
	for k := range 4 {
		d, ok := unhex(text[i+k])
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// printedLayout reports whether three chunks have the lengths 4-6-5, 4-6-4, 3-6-5 or 3-6-4.
func printedLayout(tok []redactChunk) bool {
	a, b, c := len(tok[0].alnum), len(tok[1].alnum), len(tok[2].alnum)
	return (a == 4 || a == 3) && b == 6 && (c == 5 || c == 4)
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

// foldCodeRune returns what NFKC makes of r when that is a single rune (full-width and
// other compatibility forms of letters, digits, spaces and dashes), and r otherwise.
func foldCodeRune(r rune) rune {
	if r < utf8.RuneSelf {
		return r
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	d := norm.NFKC.Properties(buf[:n]).Decomposition()
	if d == nil {
		return r
	}
	if f, size := utf8.DecodeRune(d); size == len(d) {
		return f
	}
	return r
}

// foldAlnum returns the ASCII letter or digit that r is, folding compatibility forms.
func foldAlnum(r rune) (byte, bool) {
	r = foldCodeRune(r)
	if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
		return byte(r), true
	}
	return 0, false
}
