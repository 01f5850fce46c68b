package flows_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	"github.com/giftdesk/giftdesk/internal/term"
)

var update = flag.Bool("update", false, "rewrite golden files")

// recordingStore remembers every node a committed conversation was at.
type recordingStore struct {
	bot.Store
	mu    sync.Mutex
	nodes map[string]bool
}

func (s *recordingStore) CommitTurn(ctx context.Context, t *bot.Turn) error {
	s.mu.Lock()
	for _, n := range t.Conversation.Path {
		s.nodes[n] = true
	}
	s.mu.Unlock()
	return s.Store.CommitTurn(ctx, t)
}

// TestGoldenTranscripts runs every script in testdata/transcripts (one answer per line; the
// file name's second part is the language: section1.ja.txt) through the terminal chat on a
// SQLite store and compares the conversation with the .golden file next to it. Refresh
// with `go test ./flows -update`. It also checks that the scripts reach every advice node
// of the flow in both languages.
func TestGoldenTranscripts(t *testing.T) {
	scripts, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) == 0 {
		t.Fatal("no scripts in testdata/transcripts")
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	engine := newGiftCardEngine(t, now)
	desk, err := bot.NewDesk(bot.DeskConfig{Engine: engine, Redact: flows.RedactCodes})
	if err != nil {
		t.Fatal(err)
	}
	reached := map[bot.Lang]map[string]bool{bot.Japanese: {}, bot.English: {}}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".txt")
		lang, ok := bot.ParseLang(filepath.Ext(name)[1:])
		if !ok {
			t.Fatalf("%s: name it NAME.ja.txt or NAME.en.txt", script)
		}
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			st, err := sqlite.New(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "chat.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rec := &recordingStore{Store: st, nodes: reached[lang]}
			var out bytes.Buffer
			err = term.Run(context.Background(), term.Config{
				Bot: bot.New(desk, rec), Key: bot.Key{Channel: "term", User: name}, Lang: lang,
				In: bytes.NewReader(in), Out: &out, Redact: flows.RedactCodes,
			})
			if err != nil {
				t.Fatal(err)
			}
			assertNoCodes(t, in, out.String())
			golden := strings.TrimSuffix(script, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./flows -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("transcript differs from %s (go test ./flows -update to accept):\n%s", golden, diff(string(want), out.String()))
			}
		})
	}
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range bot.Langs {
		var missing []string
		for _, n := range f.Nodes {
			if n.Kind == bot.KindAdvice && !reached[lang][n.ID] {
				missing = append(missing, n.ID)
			}
		}
		slices.Sort(missing)
		if len(missing) > 0 {
			t.Errorf("no %s script reaches these advice nodes: %s", lang, strings.Join(missing, ", "))
		}
	}
}

// diff shows the first differing line of two texts with a little context.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(equal lines, different bytes)"
}

// assertNoCodes fails when a gift-card code typed in the script appears in the transcript:
// codes are cash, and transcripts show them masked.
func assertNoCodes(t *testing.T, script []byte, transcript string) {
	t.Helper()
	folded := flows.NormalizeCode(transcript)
	for _, line := range strings.Split(string(script), "\n") {
		code, problem := flows.CheckCode(line)
		digits := strings.Count(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return 'd'
			}
			return -1
		}, code), "d")
		// Only lines that look like a code: 10-20 letters and digits, at least 2 digits.
		if problem == flows.CodeEmpty || problem == flows.CodeBadChars || len(code) < 10 || len(code) > 20 || digits < 2 {
			continue
		}
		if strings.Contains(folded, code) {
			t.Errorf("the transcript shows the code typed as %q unmasked", flows.MaskCode(code))
		}
	}
}
