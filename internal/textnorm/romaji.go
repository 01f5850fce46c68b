package textnorm

import (
	"strings"
	"unicode"
)

// romajiMarkers are words that show a message is Japanese typed in Latin letters
// (「gift ken ga tsukaenai」): particles, polite endings and the words gift-card problems
// are told in. Two of them make a message romaji.
var romajiMarkers = map[string]bool{
	"ga": true, "wo": true, "desu": true, "masu": true, "tte": true, "ken": true, "kudasai": true, "oshiete": true,
	"onegai": true, "touroku": true, "toroku": true, "houhou": true, "mukou": true, "deru": true, "dete": true,
	"dekinai": true, "tsukaenai": true, "tsukaemasen": true, "dekimasen": true, "shitai": true, "deshita": true,
	"mashita": true, "kedo": true, "desuka": true, "masuka": true, "zandaka": true, "kigen": true, "bangou": true,
	"shiyouzumi": true, "kigengire": true, "giftken": true, "amagifu": true, "nandesu": true, "naindesu": true,
}

// romajiKeep are words that read as romaji but are written so in Japanese messages too.
var romajiKeep = map[string]bool{"amazon": true, "line": true, "pin": true, "pc": true}

// romajiSyllables maps romaji syllables to hiragana, Hepburn and Kunrei spellings both.
var romajiSyllables = func() map[string]string {
	m := map[string]string{"a": "あ", "i": "い", "u": "う", "e": "え", "o": "お",
		"shi": "し", "si": "し", "chi": "ち", "ti": "ち", "tsu": "つ", "tu": "つ", "fu": "ふ", "hu": "ふ",
		"ji": "じ", "zi": "じ", "di": "ぢ", "du": "づ", "ya": "や", "yu": "ゆ", "yo": "よ", "wa": "わ", "wo": "を",
		"sha": "しゃ", "shu": "しゅ", "sho": "しょ", "cha": "ちゃ", "chu": "ちゅ", "cho": "ちょ",
		"ja": "じゃ", "ju": "じゅ", "jo": "じょ", "she": "しぇ", "che": "ちぇ", "je": "じぇ"}
	rows := map[string]string{
		"k": "かきくけこ", "s": "さしすせそ", "t": "たちつてと", "n": "なにぬねの", "h": "はひふへほ",
		"m": "まみむめも", "r": "らりるれろ", "g": "がぎぐげご", "z": "ざじずぜぞ", "d": "だぢづでど",
		"b": "ばびぶべぼ", "p": "ぱぴぷぺぽ",
	}
	small := []string{"ゃ", "ゅ", "ょ"}
	for c, kana := range rows {
		ks := []rune(kana)
		for i, v := range "aiueo" {
			if _, ok := m[c+string(v)]; !ok {
				m[c+string(v)] = string(ks[i])
			}
		}
		for i, v := range "auo" {
			m[c+"y"+string(v)] = string(ks[1]) + small[i]
		}
	}
	return m
}()

// romajiWord returns w in hiragana and true when w is made only of romaji syllables.
func romajiWord(w string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(w); {
		c := w[i]
		// A doubled consonant is a small つ (kitte, matcha).
		if i+1 < len(w) && c != 'n' && !strings.ContainsRune("aiueo", rune(c)) &&
			(w[i+1] == c || c == 't' && w[i+1] == 'c') {
			b.WriteString("っ")
			i++
			continue
		}
		if c == 'n' && (i+1 == len(w) || w[i+1] == 'n' || w[i+1] == '\'' || !strings.ContainsRune("aiueoy", rune(w[i+1]))) {
			b.WriteString("ん")
			i++
			if i < len(w) && w[i] == 'n' && (i+1 == len(w) || !strings.ContainsRune("aiueoy", rune(w[i+1]))) {
				i++ // "nn"
			}
			continue
		}
		found := false
		for l := 3; l >= 1; l-- {
			if i+l <= len(w) {
				if k, ok := romajiSyllables[w[i:i+l]]; ok {
					b.WriteString(k)
					i += l
					found = true
					break
				}
			}
		}
		if !found {
			return "", false
		}
	}
	return b.String(), true
}

// fromRomaji returns s (lower case, words separated by spaces) in hiragana when it is
// Japanese typed in Latin letters, with "gift ken" read as ギフト券; words that are not
// romaji ("amazon", "code") are kept, and the words converted are joined as Japanese is
// written, without spaces. Other text is returned as it is.
func fromRomaji(s string) string {
	for _, r := range s {
		if r >= 0x80 && !unicode.IsSpace(r) {
			return s // a word that is not Latin letters, as the loop below finds
		}
	}
	markers := 0
	for w := range strings.FieldsSeq(s) {
		if romajiMarkers[strings.Trim(w, ".,!?")] {
			markers++
		}
		for _, r := range w {
			if r >= 0x80 {
				return s
			}
		}
	}
	if markers < 2 {
		return s
	}
	words := strings.Fields(s)
	var b strings.Builder
	prevKana := false
	for i := 0; i < len(words); i++ {
		w := strings.Trim(words[i], ".,!?")
		k, ok := "", false
		switch {
		case w == "giftken" || w == "gift" && i+1 < len(words) && words[i+1] == "ken":
			k, ok = "ぎふとけん", true
			if w == "gift" {
				i++
			}
		case w == "wa":
			k, ok = "は", true
		case !romajiKeep[w]:
			k, ok = romajiWord(w)
		}
		if ok {
			if b.Len() > 0 && !prevKana {
				b.WriteByte(' ')
			}
			b.WriteString(k)
		} else {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[i])
		}
		prevKana = ok
	}
	return b.String()
}
