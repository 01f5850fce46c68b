package flows_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

// minAccuracy is the share of labelled utterances the engine must understand as labelled.
const minAccuracy = 0.90

func newGiftCardEngine(t testing.TB, now func() time.Time) *bot.Engine {
	t.Helper()
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	e, err := bot.NewEngine(bot.EngineConfig{Flow: f, Funcs: flows.Funcs(), Normalize: textnorm.Normalize, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestFreeTextAccuracy reads testdata/utterances.tsv (node, what a customer typed there,
// the expected understanding: option:ID, command:NAME, jump:NODE, input or none) and
// reports how many the engine understands as labelled.
func TestFreeTextAccuracy(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	e := newGiftCardEngine(t, now)
	f, err := os.Open("testdata/utterances.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, correct := 0, 0
	langs := map[string]int{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 3 {
			t.Fatalf("utterances.tsv:%d: want 3 tab-separated columns, got %d", line, len(cols))
		}
		node, utt, want := cols[0], cols[1], cols[2]
		got := e.Interpret(node, utt)
		gotLabel := string(got.Kind)
		if got.Target != "" {
			gotLabel += ":" + got.Target
		}
		total++
		if strings.ContainsFunc(utt, func(r rune) bool { return r > 0x2E80 }) {
			langs["ja"]++
		} else {
			langs["en"]++
		}
		if gotLabel == want {
			correct++
			continue
		}
		t.Logf("utterances.tsv:%d: at %s %q: got %s, want %s", line, node, utt, gotLabel, want)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if total < 150 || langs["ja"] < 50 || langs["en"] < 50 {
		t.Fatalf("need at least 150 utterances with 50 per language, have %d (%v)", total, langs)
	}
	acc := float64(correct) / float64(total)
	t.Logf("free-text accuracy: %d/%d = %.1f%% (ja %d, en %d)", correct, total, 100*acc, langs["ja"], langs["en"])
	if acc < minAccuracy {
		t.Errorf("accuracy %.1f%% is below %.0f%%", 100*acc, 100*minAccuracy)
	}
}
