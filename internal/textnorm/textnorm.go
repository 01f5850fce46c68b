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
// of spaces collapse to one, Japanese typed in Latin letters is read in kana ("gift ken ga
// tsukaenai" → 「ぎふと券が使えない」), and common polite negatives become plain ones (使えません →
// 使えない). Invalid UTF-8 is dropped. Normalize is safe for concurrent use.
func Normalize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	// Lower-case first: a letter lower-cased after NFKC may compose with a following mark
	// (Y + ring → y + ring → ẙ) and change on a second pass.
	if settled, upper := inert(s); settled {
		// Most messages: lower-casing changes only ASCII letters, and NFKC nothing.
		if upper {
			s = strings.ToLower(s)
		}
	} else {
		s = norm.NFKC.String(strings.ToLower(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	space := true // suppress leading spaces
	prev := ' '
	inNamed := false // in a run of dashes read as the word
	run := -1        // the start of the plain runes not yet written
	for i, r := range s {
		last := prev
		prev = r
		if plainRune(r) {
			// Kana, kanji, small letters and digits: written as they are, a run at a time.
			inNamed = false
			space = false
			if run < 0 {
				run = i
			}
			continue
		}
		if run >= 0 {
			b.WriteString(s[run:i])
			run = -1
		}
		if !isDash(r) {
			inNamed = false
		}
		switch {
		case r >= 'ァ' && r <= 'ヶ':
			r -= 'ァ' - 'ぁ'
		case isDash(r) && inNamed:
			continue
		case isDash(r) && namedDash(last, s[i+utf8.RuneLen(r):]):
			// A dash standing alone is the symbol talked about (「番号の「-」って要る？」),
			// not a long vowel: it is read as the word.
			inNamed = true
			if !space {
				b.WriteByte(' ')
			}
			b.WriteString("はいふん ")
			space = true
			continue
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
	if run >= 0 {
		b.WriteString(s[run:])
	}
	// Japanese typed in Latin letters (「gift ken ga tsukaenai」) is read in kana.
	out := fromRomaji(strings.TrimRight(b.String(), " "))
	// Long-vowel marks typed twice ("すごーーい") match the single form.
	for strings.Contains(out, "ーー") {
		out = strings.ReplaceAll(out, "ーー", "ー")
	}
	// Spellings: a fold may complete another (「つかえねー」 → 「使えねー」 → 「使えない」), so
	// repeat until nothing changes; no fold undoes another, and none lengthens the text.
	for range 8 {
		// Each replacer runs only on text that may hold one of its words: spellings are
		// Japanese, englishWords are small Latin letters.
		folded := out
		if hasByte(folded, utf8.RuneSelf, 0xff) {
			folded = spellings.Replace(folded)
		}
		if hasByte(folded, 'a', 'z') {
			folded = englishWords.Replace(" " + folded + " ")
		}
		folded = strings.TrimSpace(folded)
		if folded == out {
			break
		}
		out = folded
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

// spellings folds the ways customers write the same Japanese word: 「アマギフ」 and
// 「ギフトカード」 for 「ギフト券」, kana for the kanji of
// the words gift-card problems are told in (「とうろく」 → 「登録」, 「つかえない」 →
// 「使えない」), 出来 for でき, casual negatives (「使えねー」「できへん」 → 「使えない」
// 「できない」) and the potential without ら (「入れられない」 → 「入れれない」, both read
// as one).
var spellings = strings.NewReplacer(
	"ぎふとけん", "ぎふと券", "あまぎふ", "ぎふと券", "ぎふとかーど", "ぎふと券", "ぎふと件", "ぎふと券", "とうろく", "登録", "ばんごう", "番号", "きげん", "期限", "ざんだか", "残高",
	"しようずみ", "使用済み", "つかえ", "使え", "つかわ", "使わ", "つかっ", "使っ", "つかう", "使う", "つかい", "使い",
	"しはらい", "支払い", "ちがいま", "違いま", "いれれ", "入れれ", "けずっ", "削っ", "けずれ", "削れ", "けずり", "削り", "足らな", "足りな", "てくれない", "ない", "てくれません", "ない", "てもらえない", "ない", "いれたら", "入れたら", "いれても", "入れても", "いれる", "入れる", "いれた", "入れた", "まちがい", "間違い", "まちがっ", "間違っ", "まちがえ", "間違え", "ちがう", "違う", "ちがって", "違って", "ってで", "って出", "えらべ", "選べ", "けっさい", "決済", "むこう", "無効", "ききたい", "聞きたい", "よめな", "読めな", "よめま", "読めま", "みえな", "見えな", "みえま", "見えま",
	// Voice input writes a homophone (「投録」「機嫌」); elderly customers say 「アマゾン券」.
	"投録", "登録", "機嫌", "期限", "あまぞん券", "ぎふと券",
	"出来", "でき", "えねー", "えない", "えねえ", "えない", "われへん", "えない", "えへん", "えない", "きねー", "きない", "きねえ", "きない", "きへん", "きない",
	"られな", "れな",
)

// englishWords folds English negatives written in two words into the contracted one that
// normalising "doesn't" gives ("does not work" → "doesnt work"), and the names customers
// give a gift card ("gc", "giftcard", "voucher") into "gift card", and "acct" into
// "account", on word boundaries.
var englishWords = strings.NewReplacer(
	" gc ", " gift card ", " gcs ", " gift cards ", " giftcard ", " gift card ", " giftcards ", " gift cards ",
	" voucher ", " gift card ", " vouchers ", " gift cards ", " acct ", " account ", " acc ", " account ",
	" does not ", " doesnt ", " do not ", " dont ", " did not ", " didnt ", " is not ", " isnt ", " are not ", " arent ",
	" was not ", " wasnt ", " were not ", " werent ", " can not ", " cant ", " cannot ", " cant ", " will not ", " wont ",
	" has not ", " hasnt ", " have not ", " havent ", " could not ", " couldnt ", " would not ", " wouldnt ",
)

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

// namedDash reports whether a dash between prev and the text after it stands alone: after
// neither kana nor a letter or digit (a long vowel follows kana, a code's or a date's
// separator a letter or digit), and, with the dashes that follow it, before neither a letter
// nor a digit.
func namedDash(prev rune, after string) bool {
	if unicode.IsLetter(prev) || unicode.IsDigit(prev) || isDash(prev) {
		return false
	}
	after = strings.TrimLeftFunc(after, isDash)
	next, _ := utf8.DecodeRuneInString(after)
	return !unicode.IsLetter(next) && !unicode.IsDigit(next)
}

func isDash(r rune) bool {
	switch r {
	case '-', 'ー', 'ｰ', '‐', '‑', '‒', '–', '—', '―', '−', '〜', '～', '~':
		return true
	}
	return false
}

// plainRune reports whether Normalize writes r as it is, with no test of its class:
// hiragana, the unified kanji, small ASCII letters and digits (TestPlainRunes checks it
// against the tests it skips).
func plainRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'ぁ' && r <= 'ゖ' || r >= 0x4E00 && r <= 0x9FFF
}

// inert reports whether s is made only of characters that lower-casing leaves alone (or,
// for ASCII capitals, lower-cases to ASCII) and that NFKC leaves as they are whatever
// surrounds them (NFKC quick check yes, combining class 0): ASCII, hiragana and katakana,
// the unified kanji and the common Japanese punctuation. upper reports ASCII capitals.
// TestInertRunes checks the set against the tables.
func inert(s string) (ok, upper bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			upper = upper || c >= 'A' && c <= 'Z'
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !inertRune(r) {
			return false, upper
		}
		i += size
	}
	return true, upper
}

// inertRune is the non-ASCII part of inert's set; U+FFFD (invalid UTF-8) is not in it.
func inertRune(r rune) bool {
	switch {
	case r >= 'ぁ' && r <= 'ゖ', r >= 'ァ' && r <= 'ヺ', r >= 0x4E00 && r <= 0x9FFF:
		return true
	}
	switch r {
	case '、', '。', '「', '」', '『', '』', '・', 'ー', '〜':
		return true
	}
	return false
}

// hasByte reports whether s holds a byte from lo to hi.
func hasByte(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= lo && s[i] <= hi {
			return true
		}
	}
	return false
}
