package flows

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/giftdesk/giftdesk/bot"
)

// maxYen is the largest amount ParseYen accepts: ten billion yen, far above any gift-card
// balance or order, yet small enough that a typo is caught.
const maxYen = 10_000_000_000

// maxAmountLen bounds the text ParseYen looks at, so a pasted essay costs nothing.
const maxAmountLen = 64

// yenNumber is one number of an amount: digits with optional comma grouping by threes and
// an optional decimal part.
var yenNumber = regexp.MustCompile(`^(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$`)

// ParseYen parses an amount of yen as a customer types it: 3000, 3,000円, ¥3000, ￥3,000,
// \3000 (the yen key on a Japanese keyboard), ３０００円, 3000 yen, JPY 3,000, 3000えん, and
// Japanese units with Arabic digits: 3千円, 1万2千円, 1.5万円, 2千5百円, 1500万円, 3千万円,
// and kanji or kana numerals before 円: 五千円, 三万円, さんぜんえん.
// "10k" is ten thousand. White space is ignored. It rejects empty and negative amounts, text that is not an
// amount, amounts above 10,000,000,000 yen, and fractions of a yen (3000.5, 1.23456万).
// Error texts never repeat s. ParseYen is safe for concurrent use.
func ParseYen(s string) (int64, error) {
	if v, ok := plainYen(s); ok {
		return v, nil
	}
	return parseYen(s)
}

// parseYen is ParseYen for any text.
func parseYen(s string) (int64, error) {
	s = yenNumerals(strings.ToLower(norm.NFKC.String(s)))
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), "")
	if s == "" {
		return 0, errors.New("parse amount: empty")
	}
	if len(s) > maxAmountLen {
		return 0, errors.New("parse amount: too long")
	}
	for _, p := range []string{"jpy", "¥", `\`} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			break
		}
	}
	for _, suf := range []string{"円", "えん", "エン", "yen", "jpy"} {
		if rest, ok := strings.CutSuffix(s, suf); ok {
			s = rest
			break
		}
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−") || strings.HasPrefix(s, "▲") {
		return 0, errors.New("parse amount: negative")
	}
	thousands := false // "10k"
	if rest, ok := strings.CutSuffix(s, "k"); ok && rest != "" && yenNumber.MatchString(rest) {
		s, thousands = rest, true
	}
	v, err := parseYenUnits(s)
	if err != nil {
		return 0, err
	}
	if thousands {
		v.Mul(v, big.NewRat(1000, 1))
	}
	if !v.IsInt() {
		return 0, errors.New("parse amount: fraction of a yen")
	}
	if v.Cmp(big.NewRat(maxYen, 1)) > 0 {
		return 0, errors.New("parse amount: more than 10,000,000,000 yen")
	}
	return v.Num().Int64(), nil
}

// plainYen reads the amounts most messages hold, "3000", "3,000" or "3,000円", as ParseYen
// does, without its normalising and its fractions; false for anything else (and for an
// amount ParseYen rejects), which ParseYen then reads the long way.
func plainYen(s string) (int64, bool) {
	s, _ = strings.CutSuffix(s, "円")
	if s == "" || len(s) > maxAmountLen {
		return 0, false
	}
	// yenNumber without a decimal part: digits, or one to three digits and groups of three.
	grouped := strings.IndexByte(s, ',') >= 0
	if grouped && (s[0] == ',' || strings.IndexByte(s, ',') > 3 || (len(s)-strings.IndexByte(s, ','))%4 != 0) {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if grouped && (len(s)-i)%4 == 0 {
			if c != ',' {
				return 0, false
			}
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if v = v*10 + int64(c-'0'); v > maxYen {
			return 0, false
		}
	}
	return v, true
}

// yenUnit returns the value of a Japanese number unit and whether it is a large unit (万,
// 億), which may follow a group of small ones (千, 百, 十) as in 3千万.
func yenUnit(r rune) (value int64, large, ok bool) {
	switch r {
	case '億':
		return 100_000_000, true, true
	case '万':
		return 10_000, true, true
	case '千':
		return 1_000, false, true
	case '百':
		return 100, false, true
	case '十':
		return 10, false, true
	}
	return 0, false, false
}

// parseYenUnits evaluates a number with optional Japanese units: a sequence of numbers each
// followed by a unit, where small units decrease within a group, large units decrease
// overall, and a bare number may come last. A unit without a number counts once (千円).
func parseYenUnits(s string) (*big.Rat, error) {
	if s == "" {
		return nil, errors.New("parse amount: no number")
	}
	total, group := new(big.Rat), new(big.Rat)
	lastLarge, lastSmall := int64(0), int64(0) // 0: none yet
	groupUsed := false
	for s != "" {
		end := strings.IndexFunc(s, func(r rune) bool { _, _, ok := yenUnit(r); return ok })
		num, rest := s, ""
		if end >= 0 {
			num, rest = s[:end], s[end:]
		}
		n := big.NewRat(1, 1)
		if num != "" {
			if !yenNumber.MatchString(num) {
				return nil, errors.New("parse amount: not a number")
			}
			if _, ok := n.SetString(strings.ReplaceAll(num, ",", "")); !ok {
				return nil, errors.New("parse amount: not a number")
			}
		}
		if rest == "" { // a bare number ends the amount
			if lastSmall != 0 && n.Cmp(big.NewRat(lastSmall, 1)) >= 0 ||
				lastLarge != 0 && !groupUsed && n.Cmp(big.NewRat(lastLarge, 1)) >= 0 {
				return nil, errors.New("parse amount: units out of order")
			}
			group.Add(group, n)
			groupUsed = true
			break
		}
		r, size := utf8.DecodeRuneInString(rest)
		unit, large, _ := yenUnit(r)
		s = rest[size:]
		if large {
			if lastLarge != 0 && unit >= lastLarge {
				return nil, errors.New("parse amount: units out of order")
			}
			if num != "" || !groupUsed {
				group.Add(group, n)
			}
			total.Add(total, group.Mul(group, big.NewRat(unit, 1)))
			group, groupUsed = new(big.Rat), false
			lastLarge, lastSmall = unit, 0
			continue
		}
		if lastSmall != 0 && unit >= lastSmall {
			return nil, errors.New("parse amount: units out of order")
		}
		group.Add(group, n.Mul(n, big.NewRat(unit, 1)))
		groupUsed = true
		lastSmall = unit
	}
	return total.Add(total, group), nil
}

// Shortfall returns how much total exceeds balance, or 0 when the balance covers it.
func Shortfall(balance, total int64) int64 {
	if balance >= total {
		return 0
	}
	return total - balance
}

// FormatYen returns n with thousands separators in lang's usual form: "1,200円" in Japanese,
// "¥1,200" in English.
func FormatYen(n int64, lang bot.Lang) string {
	digits := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if lang == bot.English {
		return sign + "¥" + b.String()
	}
	return sign + b.String() + "円"
}

// Kanji and kana numerals before 円: 五千円, 三万二千円, 五〇〇〇円, さんぜんえん, いちまんえん.
var (
	kanjiYen = regexp.MustCompile(`[〇零一二三四五六七八九十百千万億]+(?:円|えん)`)
	kanaYen  = regexp.MustCompile(`(?:` + kanaNumeral + `)+(?:円|えん)`)
	kanaWord = regexp.MustCompile(kanaNumeral)
)

const kanaNumeral = `いち|いっ|に|さん|よん|ご|ろく|ろっ|なな|はち|はっ|きゅう|じゅう|じゅっ|ひゃく|びゃく|ぴゃく|せん|ぜん|まん|おく`

// kanaKanji spells the words of kanaNumeral in kanji.
var kanaKanji = map[string]string{"いち": "一", "いっ": "一", "に": "二", "さん": "三", "よん": "四", "ご": "五",
	"ろく": "六", "ろっ": "六", "なな": "七", "はち": "八", "はっ": "八", "きゅう": "九", "じゅう": "十", "じゅっ": "十",
	"ひゃく": "百", "びゃく": "百", "ぴゃく": "百", "せん": "千", "ぜん": "千", "まん": "万", "おく": "億"}

// yenNumerals rewrites amounts written in kanji or kana numerals (「五千円」「さんぜんえん」
// 「千円」) with Arabic digits and the units ParseYen reads (5千円, 3千円, 1千円). A kana
// number is rewritten only when it has a unit (じゅう, ひゃく, せん, まん, おく), so that a
// word that happens to end in えん is left alone.
func yenNumerals(s string) string {
	if !strings.ContainsAny(s, "円えん") {
		return s
	}
	// The patterns run only where a numeral stands right before 円 or えん: unanchored
	// on a long message they cost most of a turn.
	if numeralBeforeYen(s, kanaNumeralEnds) {
		s = kanaYen.ReplaceAllStringFunc(s, kanaYenDigits)
	}
	if !numeralBeforeYen(s, kanjiNumerals) {
		return s
	}
	return kanjiYenDigits(s)
}

// kanaNumeralEnds are the last characters of the words of kanaNumeral; kanjiNumerals the
// characters of kanjiYen's numbers.
const (
	kanaNumeralEnds = "ちっにんごくなう"
	kanjiNumerals   = "〇零一二三四五六七八九十百千万億"
)

// numeralBeforeYen reports whether a 円 or えん in s follows one of the characters of
// numerals.
func numeralBeforeYen(s, numerals string) bool {
	for _, unit := range []string{"円", "えん"} {
		for i := 0; ; {
			j := strings.Index(s[i:], unit)
			if j < 0 {
				break
			}
			if r, _ := utf8.DecodeLastRuneInString(s[:i+j]); strings.ContainsRune(numerals, r) {
				return true
			}
			i += j + len(unit)
		}
	}
	return false
}

// kanaYenDigits rewrites one kanaYen match in kanji, when it has a unit.
func kanaYenDigits(m string) string {
	var b strings.Builder
	unit := false
	for _, w := range kanaWord.FindAllString(m, -1) {
		k := kanaKanji[w]
		if _, _, ok := yenUnit([]rune(k)[0]); ok {
			unit = true
		}
		b.WriteString(k)
	}
	if !unit {
		return m
	}
	return b.String() + "円"
}

// kanjiYenDigits rewrites the kanjiYen amounts of s with Arabic digits.
func kanjiYenDigits(s string) string {
	locs := kanjiYen.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, loc := range locs {
		b.WriteString(s[prev:loc[0]])
		prev = loc[1]
		m := s[loc[0]:loc[1]]
		first, _ := utf8.DecodeRuneInString(m)
		before, _ := utf8.DecodeLastRuneInString(s[:loc[0]])
		if _, _, ok := yenUnit(first); ok && !unicode.IsDigit(before) {
			if first == '円' || first == 'え' {
				b.WriteString(m)
				continue
			}
			b.WriteByte('1')
		}
		for _, r := range m {
			if d := strings.IndexRune("〇一二三四五六七八九", r); d >= 0 {
				b.WriteByte(byte('0' + utf8.RuneCountInString("〇一二三四五六七八九"[:d])))
			} else if r == '零' {
				b.WriteByte('0')
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteString(s[prev:])
	return b.String()
}
