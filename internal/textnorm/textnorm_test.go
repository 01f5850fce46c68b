package textnorm

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "full-width ascii", in: "ＡＭＡＺＯＮ　ギフト券", want: "amazon ぎふと券"},
		{name: "half-width katakana", in: "ｷﾞﾌﾄｶｰﾄﾞ", want: "ぎふとかーど"},
		{name: "katakana to hiragana", in: "スマホ", want: "すまほ"},
		{name: "long vowel variants", in: "カ〜ド", want: "かーど"},
		{name: "repeated long vowel", in: "すごーーーい", want: "すごーい"},
		{name: "punctuation becomes space", in: "使えない!?どうして…", want: "使えない どうして"},
		{name: "apostrophe dropped", in: "I can't use it.", want: "i cant use it"},
		{name: "spaces collapse", in: "  a \t\n b  ", want: "a b"},
		{name: "invalid utf8", in: "a\xffb", want: "a b"},
		{name: "circled digits", in: "①", want: "1"},
		{name: "empty", in: "", want: ""},
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
	for _, s := range []string{"ギフト券", "ｶｰﾄﾞ", "can't", "\xff", "ーー"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Errorf("not idempotent: %q -> %q -> %q", s, n, Normalize(n))
		}
	})
}
