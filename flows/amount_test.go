package flows

import (
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

func TestParseYen(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
	}{
		{name: "digits", in: "3000", want: 3000},
		{name: "comma and 円", in: "3,000円", want: 3000},
		{name: "yen sign", in: "¥3000", want: 3000},
		{name: "full-width yen sign", in: "￥3,000", want: 3000},
		{name: "backslash yen key", in: `\3000`, want: 3000},
		{name: "full width", in: "３０００円", want: 3000},
		{name: "yen word", in: "3000 yen", want: 3000},
		{name: "upper-case yen word", in: "3000YEN", want: 3000},
		{name: "jpy prefix", in: "JPY 3,000", want: 3000},
		{name: "hiragana", in: "3000えん", want: 3000},
		{name: "sen", in: "3千円", want: 3000},
		{name: "man and sen", in: "1万2千円", want: 12000},
		{name: "decimal man", in: "1.5万円", want: 15000},
		{name: "sen and hyaku", in: "2千5百円", want: 2500},
		{name: "man then digits", in: "1万2000円", want: 12000},
		{name: "digits then man", in: "1500万円", want: 15_000_000},
		{name: "sen man", in: "3千万円", want: 30_000_000},
		{name: "sen hyaku man", in: "2千3百万円", want: 23_000_000},
		{name: "bare sen", in: "千円", want: 1000},
		{name: "zero", in: "0円", want: 0},
		{name: "spaces", in: " ¥ 3,000 ", want: 3000},
		{name: "whole decimal", in: "3000.00", want: 3000},
		{name: "largest", in: "10,000,000,000円", want: 10_000_000_000},
		{name: "oku", in: "100億円", want: 10_000_000_000},
		{name: "kanji numerals", in: "五千円", want: 5000},
		{name: "kanji man sen hyaku", in: "一万二千五百円", want: 12500},
		{name: "kanji digits", in: "五〇〇〇円", want: 5000},
		{name: "kana numerals", in: "さんぜんえん", want: 3000},
		{name: "kana with sokuon", in: "いちまんはっせんえん", want: 18000},
		{name: "thousands", in: "10k yen", want: 10000},
		{name: "kana hyaku", in: "ろっぴゃくえん", want: 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseYen(tt.in)
			if err != nil {
				t.Fatalf("ParseYen(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseYen(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseYenRejects(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{name: "empty", in: ""},
		{name: "only a unit", in: "円"},
		{name: "only a sign", in: "¥"},
		{name: "negative", in: "-3000"},
		{name: "negative after yen sign", in: "¥-3,000"},
		{name: "minus sign", in: "−3000円"},
		{name: "full-width minus", in: "－３０００円"},
		{name: "words", in: "わかりません"},
		{name: "letters", in: "3000abc"},
		{name: "too large", in: "10,000,000,001円"},
		{name: "too large with units", in: "101億円"},
		{name: "fraction", in: "3000.5円"},
		{name: "fraction of man", in: "1.23456万円"},
		{name: "bad grouping", in: "3,00円"},
		{name: "trailing dot", in: "3000."},
		{name: "large units out of order", in: "3万2億円"},
		{name: "small units out of order", in: "3百2千円"},
		{name: "unit twice", in: "1万1万円"},
		{name: "trailing number too big", in: "1万20000円"},
		{name: "trailing number after sen", in: "2千1500円"},
		{name: "two numbers", in: "3000 4000 5000 6000 7000 8000 9000 10000 11000 12000 13000 14000"},
		{name: "gift card code", in: "AQ12-345678-ABCDE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseYen(tt.in)
			if err == nil {
				t.Fatalf("ParseYen(%q) = %d, want an error", tt.in, n)
			}
			if msg := err.Error(); len(tt.in) > 3 && strings.Contains(msg, tt.in) {
				t.Errorf("ParseYen(%q) error %q repeats the input", tt.in, msg)
			}
		})
	}
}

func TestShortfall(t *testing.T) {
	tests := []struct {
		name                 string
		balance, total, want int64
	}{
		{name: "short", balance: 2000, total: 3500, want: 1500},
		{name: "exact", balance: 3500, total: 3500, want: 0},
		{name: "more than enough", balance: 5000, total: 3500, want: 0},
		{name: "no balance", balance: 0, total: 1200, want: 1200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Shortfall(tt.balance, tt.total); got != tt.want {
				t.Errorf("Shortfall(%d, %d) = %d, want %d", tt.balance, tt.total, got, tt.want)
			}
		})
	}
}

func TestFormatYen(t *testing.T) {
	tests := []struct {
		name string
		n    int64
		lang bot.Lang
		want string
	}{
		{name: "ja", n: 1200, lang: bot.Japanese, want: "1,200円"},
		{name: "en", n: 1200, lang: bot.English, want: "¥1,200"},
		{name: "zero", n: 0, lang: bot.Japanese, want: "0円"},
		{name: "three digits", n: 999, lang: bot.English, want: "¥999"},
		{name: "millions", n: 12_345_678, lang: bot.Japanese, want: "12,345,678円"},
		{name: "negative", n: -1200, lang: bot.English, want: "-¥1,200"},
		{name: "unknown language is japanese", n: 1000, lang: "fr", want: "1,000円"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatYen(tt.n, tt.lang); got != tt.want {
				t.Errorf("FormatYen(%d, %q) = %q, want %q", tt.n, tt.lang, got, tt.want)
			}
		})
	}
}

func FuzzParseYen(f *testing.F) {
	for _, s := range []string{"3000", "3,000円", "¥3000", "￥3,000", "３０００円", "3000 yen", "JPY 3,000",
		"3千円", "1万2千円", "1.5万円", "3000えん", "-1", "1.5", "\xff円"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseYen(s)
		if err != nil {
			return
		}
		if n < 0 || n > maxYen {
			t.Fatalf("ParseYen(%q) = %d, out of range", s, n)
		}
		for _, lang := range bot.Langs {
			text := FormatYen(n, lang)
			if back, err := ParseYen(text); err != nil || back != n {
				t.Fatalf("ParseYen(%q) = %d; FormatYen gives %q, which parses as %d, %v", s, n, text, back, err)
			}
		}
	})
}

// yenShortcutTexts are amounts at the edges of plainYen's grammar.
var yenShortcutTexts = []string{"0", "3000", "3,000", "3,000円", "30,000円", "300,000", "1,000,000", "1234,567", ",000", "3,000,",
	"3,0000", "12,34", "0003000", "10000000000", "10000000001", "10,000,000,000円", "99999999999999999999", "円", "3000円円",
	"3000 円", "3.000", "3,000.5", "-3000", "٣٠٠٠", "１,０００", ""}

// FuzzParseYenShortcut holds plainYen, ParseYen's shortcut, to what the long way reads.
func FuzzParseYenShortcut(f *testing.F) {
	for _, s := range yenShortcutTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := plainYen(s)
		if !ok {
			return
		}
		if want, err := parseYen(s); err != nil || got != want {
			t.Errorf("plainYen(%q) = %d; the long way gives %d, %v", s, got, want, err)
		}
	})
}

func TestParseYenShortcutTaken(t *testing.T) {
	for _, s := range []string{"3000", "3,000円", "1,000,000", "0003000", "10000000000"} {
		if _, ok := plainYen(s); !ok {
			t.Errorf("plainYen(%q) falls back", s)
		}
	}
	for _, s := range []string{"1234,567", ",000", "3,000,", "3,0000", "12,34", "10000000001", "3000 円", "3.000"} {
		if _, ok := plainYen(s); ok {
			t.Errorf("plainYen(%q) reads it", s)
		}
	}
}
