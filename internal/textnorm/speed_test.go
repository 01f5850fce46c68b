package textnorm

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// refNormalize is Normalize as it was before its shortcuts for plain text (inert,
// plainRune): the reference they are held to.
func refNormalize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	s = norm.NFKC.String(strings.ToLower(s))
	var b strings.Builder
	b.Grow(len(s))
	space := true
	prev := ' '
	inNamed := false
	for i, r := range s {
		last := prev
		prev = r
		if !isDash(r) {
			inNamed = false
		}
		switch {
		case r >= 'ァ' && r <= 'ヶ':
			r -= 'ァ' - 'ぁ'
		case isDash(r) && inNamed:
			continue
		case isDash(r) && namedDash(last, s[i+utf8.RuneLen(r):]):
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
			continue
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
	out := fromRomaji(strings.TrimRight(b.String(), " "))
	for strings.Contains(out, "ーー") {
		out = strings.ReplaceAll(out, "ーー", "ー")
	}
	for range 8 {
		folded := spellings.Replace(out)
		folded = strings.TrimSpace(englishWords.Replace(" " + folded + " "))
		if folded == out {
			break
		}
		out = folded
	}
	for strings.Contains(out, "ません") {
		folded := politeNegatives.Replace(out)
		if folded == out {
			break
		}
		out = folded
	}
	return out
}

// TestPlainRunes checks that the runes Normalize writes without a look at their class
// are ones that every test it skips would let through unchanged.
func TestPlainRunes(t *testing.T) {
	n := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !plainRune(r) {
			continue
		}
		n++
		if isDash(r) || r >= 'ァ' && r <= 'ヶ' || strings.ContainsRune("'’‘`", r) || unicode.IsSpace(r) || unicode.IsPunct(r) ||
			unicode.IsSymbol(r) || unicode.IsControl(r) || unicode.ToLower(r) != r {
			t.Errorf("plainRune(%U) but Normalize changes it", r)
		}
	}
	if n < 1000 {
		t.Errorf("only %d plain runes", n)
	}
}

// TestInertRunes checks inert's set against the Unicode tables: lower-casing leaves a
// non-ASCII rune of it alone, and NFKC leaves it alone whatever surrounds it.
func TestInertRunes(t *testing.T) {
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if !inertRune(r) {
			continue
		}
		s := string(r)
		p := norm.NFKC.PropertiesString(s)
		// Normal alone, and the start of a segment of its own: a string of such runes is
		// normal (a rune of it composes with nothing before it).
		if unicode.ToLower(r) != r || !norm.NFKC.IsNormalString(s) || p.CCC() != 0 || !p.BoundaryBefore() {
			t.Errorf("inertRune(%U), but lower-casing or NFKC may change it", r)
		}
		for _, ctx := range []string{"a", "Z", "か", "ア", "漢", "ー", "。"} {
			if got := norm.NFKC.String(ctx + s + ctx); got != ctx+s+ctx {
				t.Errorf("NFKC(%q) = %q", ctx+s+ctx, got)
			}
		}
	}
	for c := 0; c < utf8.RuneSelf; c++ {
		s := string(rune(c))
		if p := norm.NFKC.PropertiesString(s); norm.NFKC.String(s) != s || !norm.NFKC.IsNormalString(s) || !p.BoundaryBefore() {
			t.Errorf("ASCII %q is not NFKC", s)
		}
	}
}

// normCorpus returns the labelled utterances of the gift-card flow and a few texts of
// every kind Normalize folds.
func normCorpus(t testing.TB) []string {
	t.Helper()
	texts := []string{"", "ＡＭＡＺＯＮ　ギフト券", "ｽﾏﾎｱﾌﾟﾘ", "カ〜ド", "I can't use it.", "a\xffb", "①", "使えませんでした",
		"Gift ken ga tsukaenai desu", "番号の間の「-」って要るんですか？", "ABCD-EFGH", "えー、使えない", "Ｙ\u030a", "が", "か\u3099",
		"ｶﾞｰﾄﾞ", "ﾞ", "〜〜", "ギフト券『使えない』・どうして", "MY AMAZON GC", "㍿", "ℌello"}
	f, err := os.Open("../../flows/testdata/utterances.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Split(sc.Text(), "\t"); len(fields) >= 2 {
			texts = append(texts, fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return texts
}

func TestNormalizeSameAsReference(t *testing.T) {
	texts := normCorpus(t)
	if len(texts) < 500 {
		t.Fatalf("only %d texts", len(texts))
	}
	for _, s := range texts {
		if got, want := Normalize(s), refNormalize(s); got != want {
			t.Errorf("Normalize(%q) = %q, reference %q", s, got, want)
		}
	}
}

// FuzzNormalizeSameAsReference compares Normalize with the reference on any text.
func FuzzNormalizeSameAsReference(f *testing.F) {
	for _, s := range normCorpus(f)[:40] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Normalize(s), refNormalize(s); got != want {
			t.Errorf("Normalize(%q) = %q, reference %q", s, got, want)
		}
	})
}
