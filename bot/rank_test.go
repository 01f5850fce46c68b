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
		{"登録", "登録したけど選べない", 1},
		{"登録", "登録しましたが、レジで出てこない", 1},
	}
	for _, tt := range tests {
		p, _ := newPhrase(norm, tt.phrase)
		if got := p.score(newUtterance(norm, tt.text)); got != tt.want {
			t.Errorf("%q in %q: score %d, want %d", tt.phrase, tt.text, got, tt.want)
		}
	}
}

// TestSymptomYieldsToCause checks that a phrase marked as a symptom ("~登録できない")
// scores at most symptomScore, so that a cause named in another clause wins by the margin,
// while the symptom alone still finds its target.
func TestSymptomYieldsToCause(t *testing.T) {
	norm := strings.ToLower
	var m matcher
	m.add(norm, "register", "~登録できない")
	m.add(norm, "unreadable", "番号が読めない")
	m.add(norm, "mixed", "gift card and")
	m.add(norm, "stuck", "~wont go through")
	// best returns the best target, its score and its lead over the next one.
	best := func(text string) (string, int, int) {
		top, score, second := "", 0, 0
		for _, s := range m.scores(newUtterance(norm, text)) {
			switch {
			case s.score > score:
				top, score, second = s.target, s.score, score
			case s.score > second:
				second = s.score
			}
		}
		return top, score, score - second
	}
	tests := []struct {
		text, want string
		cause      bool // a cause that must win by the margin, or the symptom alone
	}{
		{"スクラッチ削ったら番号が読めない、登録できない", "unreadable", true},
		{"ずっと登録できないんです", "register", false},
		{"a gift card and headphones in the cart and it wont go through", "mixed", true},
		{"checkout wont go through", "stuck", false},
	}
	for _, tt := range tests {
		got, score, lead := best(tt.text)
		if got != tt.want || (tt.cause && lead < rankMargin) || (!tt.cause && score != symptomScore) {
			t.Errorf("%q: best %s (%d, ahead by %d), want %s", tt.text, got, score, lead, tt.want)
		}
	}
	if target, marked := cutSymptom(" ~登録できない"); target != "登録できない" || !marked {
		t.Errorf("cutSymptom: %q %v", target, marked)
	}
}

// TestGapStopsAtConjunction checks that an English phrase's words are not found across
// "and", "but" or "or": "bought it on ebay and amazon says" is not "bought it on amazon".
func TestGapStopsAtConjunction(t *testing.T) {
	norm := strings.ToLower
	p, _ := newPhrase(norm, "bought it on amazon")
	for text, want := range map[string]bool{
		"bought it on ebay and amazon says its been used": false,
		"bought it on ebay but amazon says used":          false,
		"bought it on the amazon site":                    true,
	} {
		if got := p.score(newUtterance(norm, text)) > 0; got != want {
			t.Errorf("%q in %q: matched %v, want %v", "bought it on amazon", text, got, want)
		}
	}
}
