package textnorm

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "full-width ascii", in: "ＡＭＡＺＯＮ　ギフト券", want: "amazon ぎふと券"},
		{name: "half-width katakana", in: "ｽﾏﾎｱﾌﾟﾘ", want: "すまほあぷり"},
		{name: "katakana to hiragana", in: "スマホ", want: "すまほ"},
		{name: "long vowel variants", in: "カ〜ド", want: "かーど"},
		{name: "repeated long vowel", in: "すごーーーい", want: "すごーい"},
		{name: "punctuation becomes space", in: "使えない!?どうして…", want: "使えない どうして"},
		{name: "apostrophe dropped", in: "I can't use it.", want: "i cant use it"},
		{name: "spaces collapse", in: "  a \t\n b  ", want: "a b"},
		{name: "invalid utf8", in: "a\xffb", want: "a b"},
		{name: "circled digits", in: "①", want: "1"},
		{name: "empty", in: "", want: ""},
		{name: "polite negative", in: "使えません", want: "使えない"},
		{name: "polite negative past", in: "進めませんでした", want: "進めなかった"},
		{name: "polite wakaru", in: "わかりません", want: "わからない"},
		{name: "polite aru", in: "関係ありません", want: "関係ない"},
		{name: "polite dekiru", in: "注文できません", want: "注文できない"},
		{name: "polite negatives in a row", in: "ありませんません", want: "ないない"},
		{name: "kana for kanji", in: "とうろくできない", want: "登録できない"},
		{name: "kana verb and casual negative", in: "ギフトケンつかえねー", want: "ぎふと券使えない"},
		{name: "dekiru in kanji", in: "登録出来ません", want: "登録できない"},
		{name: "potential without ra", in: "入れられない", want: "入れれない"},
		{name: "english negative in two words", in: "It does not work", want: "it doesnt work"},
		{name: "english negative at the end", in: "it is not", want: "it isnt"},
		{name: "cannot", in: "I cannot redeem", want: "i cant redeem"},
		{name: "amagifu", in: "アマギフとギフトカード", want: "ぎふと券とぎふと券"},
		{name: "gc", in: "my Amazon GC", want: "my amazon gift card"},
		{name: "acct", in: "on my acct", want: "on my account"},
		{name: "not inside a word", in: "nothing is notable", want: "nothing is notable"},
		{name: "kana for yomenai", in: "番号がよめない", want: "番号が読めない"},
		{name: "voice input homophones", in: "ギフト券の投録、機嫌切れ", want: "ぎふと券の登録 期限切れ"},
		{name: "amazon ken", in: "アマゾン券", want: "ぎふと券"},
		{name: "romaji", in: "Gift ken ga tsukaenai desu", want: "ぎふと券が使えないです"},
		{name: "romaji with english words", in: "amazon gift card no code ga mukou tte deru", want: "amazon gift card の code が無効って出る"},
		{name: "romaji sokuon and n", in: "giftken no touroku houhou oshiete", want: "ぎふと券の登録ほうほうおしえて"},
		{name: "kansai potential negative", in: "アマギフ使われへんねんけど", want: "ぎふと券使えないねんけど"},
		{name: "a dash named alone", in: "番号の間の「-」って要るんですか？", want: "番号の間の はいふん って要るんですか"},
		{name: "a dash after kana is a long vowel", in: "えー、使えない", want: "えー 使えない"},
		{name: "a dash between letters is kept", in: "ABCD-EFGH", want: "abcdーefgh"},
		{name: "english is not romaji", in: "I bought a gift card on amazon", want: "i bought a gift card on amazon"},
		{name: "one marker is not romaji", in: "my kid gave me a code", want: "my kid gave me a code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ギフト券", "ｶｰﾄﾞ", "can't", "\xff", "ーー", "使えませんでした", "ありません"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Errorf("not idempotent: %q -> %q -> %q", s, n, Normalize(n))
		}
	})
}

// BenchmarkNormalize normalises a message of each kind a turn reads (a long one is
// clipped to 400 characters before it is normalised).
func BenchmarkNormalize(b *testing.B) {
	ja := strings.Repeat("ギフト券を登録しようとしたら、番号が無効と出ました。スマホから何度も試しています。残高は3,000円です。", 8)
	en := strings.Repeat("I redeemed my gift card but at checkout it keeps charging my Visa, not the balance. ", 5)
	for _, tt := range []struct{ name, text string }{
		{"short", "ギフト券登録したのに、レジで支払いがクレカのままになってる"},
		{"ja", string([]rune(ja)[:400])},
		{"en", en[:400]},
		{"romaji", "gift ken ga tsukaenai desu, touroku dekimasen"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				Normalize(tt.text)
			}
		})
	}
}
