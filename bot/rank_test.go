package bot

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextLang(t *testing.T) {
	tests := []struct {
		text string
		lang Lang
		ok   bool
	}{
		{"my gift card doesn't work", English, true},
		{"ギフト券が使えない", Japanese, true},
		{"iPhoneです", Japanese, true},
		{"iPhone", "", false},
		{"1", "", false},
		{"AQ3K-7HN2PX-XY9Z8", "", false},
		{"ok thanks", English, true},
		{"hi, my ギフト券 code says invalid", English, true},
		{"ギフト券 expired って出る, I bought it on Mercari", English, true},
		{"Amazon gift card の code が invalid って出る", Japanese, true},
		{"ギフト券 balance gone, what happen?", English, true},
		{"アマゾン ギフト券 残高 zero", Japanese, true},
		{"Amazonギフト券 コード 無効 error", Japanese, true},
	}
	for _, tt := range tests {
		l, ok := textLang(tt.text)
		if ok != tt.ok || (ok && l != tt.lang) {
			t.Errorf("textLang(%q) = %s %v, want %s %v", tt.text, l, ok, tt.lang, tt.ok)
		}
	}
}

func TestLangRequest(t *testing.T) {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("'", "", ",", " ", "?", " ", "、", "", "。", "").Replace(s))
	}
	tests := []struct {
		text, want string
	}{
		{"sorry I can't read Japanese, English please?", cmdEnglish},
		{"English", cmdEnglish},
		{"英語でお願いします", cmdEnglish},
		{"日本語わからないです", cmdEnglish},
		{"すみません、日本語でお願いします", cmdJapanese},
		{"in japanese please", cmdJapanese},
		{"my card came from a japanese site", ""},
		{"ギフト券が使えない", ""},
	}
	for _, tt := range tests {
		got, _ := langRequest(newUtterance(norm, tt.text))
		if got != tt.want {
			t.Errorf("langRequest(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestIsQuestion(t *testing.T) {
	norm := func(s string) string { return strings.ToLower(strings.TrimRight(s, "?？")) }
	tests := []struct {
		text string
		want bool
	}{
		{"ハイフンって入れるんですか", true},
		{"スマホで有効期限を確認する方法は？", true},
		{"do I need to type the dashes", true},
		{"カード会社に止められたみたい", false},
		{"my card company blocked the payment", false},
	}
	for _, tt := range tests {
		if got := isQuestion(tt.text, newUtterance(norm, tt.text)); got != tt.want {
			t.Errorf("isQuestion(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("あ", 1000) + "戻る"
	got := clip(long)
	if n := utf8.RuneCountInString(got); n != clipHead+clipTail+1 {
		t.Errorf("clip: %d characters, want %d", n, clipHead+clipTail+1)
	}
	if !strings.HasSuffix(got, "戻る") || !strings.HasPrefix(got, "あ") {
		t.Errorf("clip lost the head or the tail")
	}
	if short := "スマホです"; clip(short) != short {
		t.Errorf("clip changed a short message")
	}
}

func TestPhraseDenied(t *testing.T) {
	norm := strings.ToLower
	tests := []struct {
		phrase, text string
		want         bool
	}{
		{"カード会社", "カード会社は関係ないです", false},
		{"カード会社", "カード会社に止められた", true},
		{"カード会社", "カード会社じゃなくて、カード会社の請求が", true},
		{"card company", "its not the card company", false},
		{"card company", "the card company blocked it", true},
		{"not enough balance", "not enough balance", true},
		{"ギフト券でギフト券", "もらったギフト券がこのギフト券は使用済み", false},
		{"ギフト券の登録", "ギフト券登録のところ", true},
		{"足りない分をクレカ", "足りない分はクレカで払えますか", true},
		{"money", "not enough money on the card", true},
		{"code", "isn't valid, the code", true},
		{"期限が切れて", "期限が切れてないか確かめたい", false},
		{"期限が切れ", "期限が切れてないか確かめたい", false},
		{"カード会社", "カード会社の問題ではないと思う", false},
		{"番号", "番号が違う", true},
		{"使用済", "使用済みじゃなくて無効", false},
		{"カード会社の問題", "カード会社の問題ではないと思う", false},
	}
	for _, tt := range tests {
		p, _ := newPhrase(norm, tt.phrase)
		if got := p.score(newUtterance(norm, tt.text)) > 0; got != tt.want {
			t.Errorf("%q in %q: matched %v, want %v", tt.phrase, tt.text, got, tt.want)
		}
	}
}

// TestPhraseCircumstance checks that a phrase named as what the customer was doing counts
// half: 「登録しようとしたら」, "when I redeem it".
func TestPhraseCircumstance(t *testing.T) {
	norm := strings.ToLower
	tests := []struct {
		phrase, text string
		want         int
	}{
		{"redeem", "when i redeem it says already used", 3},
		{"redeem", "while trying to redeem it the page froze", 3},
		{"redeem", "i want to redeem a gift card", 6},
		{"登録", "登録しようとしたら使用済み", 1},
		{"登録", "登録できない", 2},
		{"自分で使った", "自分で使った覚えはないです", 0},
		{"チャージ", "チャージ済みの残高で払いたい", 2},
		{"登録", "登録したのに選べない", 1},
	}
	for _, tt := range tests {
		p, _ := newPhrase(norm, tt.phrase)
		if got := p.score(newUtterance(norm, tt.text)); got != tt.want {
			t.Errorf("%q in %q: score %d, want %d", tt.phrase, tt.text, got, tt.want)
		}
	}
}
