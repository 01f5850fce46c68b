package bot

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// refDeniedBefore is deniedBefore as it was before it read the last words without
// allocating: the reference.
func refDeniedBefore(before string) bool {
	for _, d := range stemmedDenials {
		if strings.HasSuffix(before, d) {
			return true
		}
	}
	words := strings.Fields(before[max(0, len(before)-40):])
	for i := max(0, len(words)-3); i < len(words); i++ {
		switch words[i] {
		case "not", "isnt", "arent", "wasnt", "never":
			if i+1 < len(words) && slices.Contains(negatedStates, words[i+1]) {
				continue
			}
			return true
		}
	}
	return false
}

// refDenies is denies as it was before it looked at the first character: the reference.
func refDenies(rest string) bool {
	particle := ""
	for _, p := range jaParticles {
		if strings.HasPrefix(rest, p) {
			rest, particle = rest[len(p):], p
			break
		}
	}
	if particle == "の" {
		for _, n := range jaAbout {
			if after, ok := strings.CutPrefix(rest, n); ok {
				rest, particle = after, "は"
				for _, p := range []string{"は", "が", "とは"} {
					if strings.HasPrefix(rest, p) {
						rest = rest[len(p):]
						break
					}
				}
				break
			}
		}
	}
	if particle == "では" && (strings.HasPrefix(rest, "ない") || strings.HasPrefix(rest, "なく")) {
		return true
	}
	for _, d := range jaDenials {
		if strings.HasPrefix(rest, d) {
			if (particle == "が" || particle == "も" || particle == "の" || particle == "") && isDifferent(d) {
				continue
			}
			return true
		}
	}
	return false
}

// speedTexts are texts for the checks below: short and long, denials in both languages,
// spaces of every kind, cut characters.
var speedTexts = []string{"", " ", "not", "it is not the card company", "its not valid", "i never got it", "not enough money",
	"nothing to do with the visa", "no  need\tfor a\u3000code", "\u00a0not\u0085the", "x\xe3\x80", "\x80\x80 not",
	strings.Repeat("it isnt about my card ", 5), "カード会社は関係ない", "カード会社とは違う", "番号が違う", "カード会社の問題ではないと思う",
	"使用済みじゃなくて", "期限が切れてない", "ではなく", "の話は関係ない", "覚えはない", "ちがいます", "ギフト券"}

func TestDeniedBeforeSameAsReference(t *testing.T) {
	for _, text := range speedTexts {
		for i := 0; i <= len(text); i++ {
			if got, want := deniedBefore(text[:i]), refDeniedBefore(text[:i]); got != want {
				t.Errorf("deniedBefore(%q) = %v, reference %v", text[:i], got, want)
			}
			for _, n := range []int{1, 2, 3, 4} {
				buf := make([]string, n)
				all := strings.Fields(text[:i])
				if got, want := lastFields(buf, text[:i]), all[max(0, len(all)-n):]; !slices.Equal(got, want) {
					t.Errorf("lastFields(%d, %q) = %q, want %q", n, text[:i], got, want)
				}
			}
		}
		words := strings.Fields(text)
		for i := 0; i <= len(words); i++ {
			for _, n := range []int{0, 1, 5, 40} {
				whole := strings.Join(words[:i], " ")
				if got, want := joinTail(words[:i], n), whole[max(0, len(whole)-n):]; got != want {
					t.Errorf("joinTail(%q, %d) = %q, want %q", words[:i], n, got, want)
				}
			}
		}
	}
}

func TestDeniesSameAsReference(t *testing.T) {
	for _, text := range speedTexts {
		for i := range len(text) + 1 {
			if got, want := denies(text[i:]), refDenies(text[i:]); got != want {
				t.Errorf("denies(%q) = %v, reference %v", text[i:], got, want)
			}
		}
	}
}

// FuzzDenials compares the denial checks with their references on any text.
func FuzzDenials(f *testing.F) {
	for _, s := range speedTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if got, want := deniedBefore(text), refDeniedBefore(text); got != want {
			t.Errorf("deniedBefore(%q) = %v, reference %v", text, got, want)
		}
		if got, want := denies(text), refDenies(text); got != want {
			t.Errorf("denies(%q) = %v, reference %v", text, got, want)
		}
		if got, want := clauses(text), refClauses(text); !slices.Equal(got, want) {
			t.Errorf("clauses(%q) = %q, reference %q", text, got, want)
		}
		words := strings.Fields(text)
		whole := strings.Join(words, " ")
		if got, want := joinTail(words, deniedBeforeReach), whole[max(0, len(whole)-deniedBeforeReach):]; got != want {
			t.Errorf("joinTail(%q) = %q, want %q", words, got, want)
		}
	})
}

// refClauses is clauses as it was before it kept only the clauses it returns.
func refClauses(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(sentenceBreaks, r) })
	if len(parts) <= 4 {
		return parts
	}
	return []string{parts[0], parts[1], parts[len(parts)-2], parts[len(parts)-1]}
}

func TestClausesSameAsReference(t *testing.T) {
	texts := append([]string{"a。b", "。。a、、b,c.d!e", "あ、やっぱ違うかも。戻る", "\xffa.b\xfe", "1,2,3,4,5,6", "ok\n\nthanks…"}, speedTexts...)
	for _, text := range texts {
		for i := range len(text) + 1 {
			if got, want := clauses(text[:i]), refClauses(text[:i]); !slices.Equal(got, want) || (got == nil) != (want == nil) {
				t.Errorf("clauses(%q) = %q, reference %q", text[:i], got, want)
			}
		}
	}
}

// TestSparseConcurrent scores messages from several goroutines at once on a fresh engine,
// whose matchers and word groups build their indexes on first use, as the workers of a
// server step different conversations: each sees what one goroutine alone sees (and the
// race detector, when on, sees no race).
func TestSparseConcurrent(t *testing.T) {
	texts := []string{"ギフト券登録したのに、レジで支払いがクレカのままになってる", "I redeemed my gift card but at checkout it keeps charging my Visa",
		"カード会社は関係ないです", "番号が無効と出ます", "not the card company but the code", "残高でギフト券を買おうとしたら"}
	want := map[string]string{}
	ref := giftCardEngine(t)
	for _, text := range texts {
		want[text] = sparseSummary(ref, text)
	}
	e := giftCardEngine(t)
	const workers = 4
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range texts {
				got[w] = append(got[w], sparseSummary(e, texts[(i+w)%len(texts)]))
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		for i, g := range got[w] {
			if text := texts[(i+w)%len(texts)]; g != want[text] {
				t.Errorf("worker %d, %q:\n%s\nalone:\n%s", w, text, g, want[text])
			}
		}
	}
}

// sparseSummary is what every matcher of e finds in text.
func sparseSummary(e *Engine, text string) string {
	u := e.utter(text)
	var b strings.Builder
	ms := e.matchersForTest()
	names := make([]string, 0, len(ms))
	for name := range ms {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		m := ms[name]
		target, score := m.best(u)
		fmt.Fprintf(&b, "%s: %v %v %q %d\n", name, m.scores(u), m.specificScores(u), target, score)
	}
	return b.String()
}
