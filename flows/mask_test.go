package flows

import (
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// codeSeparators are every separator the code reader accepts between groups.
var codeSeparators = []string{
	"-", "--", " - ", " ", "  ", "\n", "\r\n", "\t", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
	"\u2009", "\u2002", "\u2003", "\u202f", "\u00a0", "\u3000", "－", "ー", "ｰ", "‐", "‑", "‒", "–", "—", "―", "−", "﹣",
}

// codeGroupings are ways of grouping a code of n characters.
func codeGroupings(n int) [][]int {
	return [][]int{{n}, {4, 6, n - 10}, {5, 5, n - 10}, {4, 4, 4, n - 12}, {3, 4, 4, n - 11}, {7, n - 7}, {2, 4, 4, n - 10}}
}

// leftOf reports the four-character runs of code, other than its last four, that text
// still holds once folded as the reader folds a code.
func leftOf(text, code string) []string {
	folded := NormalizeCode(text)
	last := code[len(code)-4:]
	var left []string
	for i := 0; i+4 < len(code); i++ {
		if w := code[i : i+4]; w != last && strings.Contains(folded, w) {
			left = append(left, w)
		}
	}
	return left
}

// embeddings put typed text where codes are met: alone, in sentences, in a JSON string (as
// a webhook body holds it, with and without \u escapes), and in a form (a Slack request).
// Each returns the text and how to read the masked text back.
var embeddings = []struct {
	name   string
	embed  func(string) string
	decode func(string) (string, bool)
}{
	{"alone", func(s string) string { return s }, plain},
	{"japanese", func(s string) string { return "コードは" + s + "です。使えません" }, plain},
	{"english", func(s string) string { return "my code is " + s + " but it says used" }, plain},
	{"line json", func(s string) string {
		b, _ := json.Marshal(map[string]any{"events": []any{map[string]any{"webhookEventId": "01HXYZ", "message": map[string]string{"type": "text", "text": s}}}})
		return string(b)
	}, fromJSON},
	{"escaped json", func(s string) string {
		var b strings.Builder
		for _, r := range `{"text":"` {
			b.WriteRune(r)
		}
		for _, r := range s {
			if r < 0x20 || r > 0x7e {
				b.WriteString(`\u` + strings.ToLower(hexRune(r)))
			} else {
				b.WriteRune(r)
			}
		}
		b.WriteString(`"}`)
		return b.String()
	}, fromJSON},
	{"form", func(s string) string { return url.Values{"text": {s}, "command": {"/giftdesk"}}.Encode() }, fromForm},
}

func plain(s string) (string, bool) { return s, true }

func fromJSON(s string) (string, bool) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "", false
	}
	b, _ := json.Marshal(v) // re-encoded without escapes of non-ASCII
	return string(b), true
}

func fromForm(s string) (string, bool) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return "", false
	}
	return v.Get("text") + " " + v.Get("command"), true
}

func hexRune(r rune) string {
	if r > 0xffff {
		return "fffd"
	}
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15]})
}

// TestMaskCoversReader is the property that ties the mask to the reader: for random codes
// in every separator, grouping, width and case, embedded in sentences, JSON and forms,
// whenever the code input reads the typing as a whole code, RedactCodes leaves no four
// characters of it but the last four, and the masked text still decodes.
func TestMaskCoversReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	tried, read := 0, 0
	for range 40 {
		b := make([]byte, 14+rng.IntN(2))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		code := string(b)
		for _, grouping := range codeGroupings(len(code)) {
			var groups []string
			rest := code
			for _, n := range grouping {
				groups, rest = append(groups, rest[:n]), rest[n:]
			}
			for _, sep := range codeSeparators {
				typed := strings.Join(groups, sep)
				for _, form := range []string{typed, strings.ToLower(typed), fullWidth(typed), fullWidth(strings.ToLower(typed))} {
					vars, err := codeInput(form, testNow())
					if err != nil || !complete(CodeProblem(vars["problem"])) {
						if strings.ToUpper(form) == form && slices.Min(grouping) >= 3 {
							t.Errorf("code input refused %q, typed in upper case: %v %v", form, vars, err)
						}
						continue
					}
					tried++
					for _, e := range embeddings {
						in := e.embed(form)
						out := RedactCodes(in)
						back, ok := e.decode(out)
						if !ok {
							t.Errorf("%s: masking %q broke it: %q", e.name, in, out)
							continue
						}
						if left := leftOf(back, code); len(left) > 0 {
							t.Errorf("%s: RedactCodes(%q) = %q leaves %v of %s", e.name, in, out, left, code)
						}
					}
					read++
				}
			}
		}
	}
	// Most typings are read: what is refused is lower case the mask cannot tell from words.
	if total := 40 * len(codeGroupings(15)) * len(codeSeparators) * 4; read < total*3/5 {
		t.Errorf("the reader took only %d of %d typings for codes", read, total)
	}
	t.Logf("%d typings read as codes, each masked in %d embeddings", tried, len(embeddings))
}

func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f {
			return r + 0xfee0
		}
		return r
	}, s)
}

// TestMaskLeavesNonCodes: identifiers, keys, durations and words in logs and bodies are
// not codes.
func TestMaskLeavesNonCodes(t *testing.T) {
	tests := []string{
		`{"destination":"U0123456789abcdef0123456789abcdef","events":[{"type":"message","webhookEventId":"01HXYZ5K3QW8ZJ9Y7T4N2M6P8R","deliveryContext":{"isRedelivery":false},"timestamp":1701234567890}]}`,
		`"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","mode":"active"`,
		"ticket 01HXYZ5K3QW8ZJ9Y7T4N2M6CHAS claimed",
		`{"in":"1.2345678953s","took":"153.21ms","duration_ms":12.503}`,
		"550e8400-e29b-41d4-a716-446655440000",
		"conversation line:U4af4980629aaaaaaaaaaaaaaaaaaaaaa1 event line:01HXYZ5K3QW8ZJ9Y7T4N2M6P8R",
		"channel C0123456789 user U012AB3CDE ts 1701234567.123456",
		"messageId 444573844083572737 quoteToken q3Plxr4AgKd",
		"webhookEventId deliveryContext isRedelivery quoteToken mentionees",
		"I would like to talk to a representative about troubleshooting",
		"sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"GIFTDESK_WEBHOOK_MEMORY=64MiB, GIFTDESK_SHUTDOWN_GRACE=10s",
		"2026-12-03 14:15:16 +0900 JST",
		"2026-12-03T14:15:16.123456789Z",
		"I have 3000 yen balance left, total 12000 yen",
		"090-1234-5678 and 0120-123-456",
	}
	for _, in := range tests {
		if out := RedactCodes(in); out != in {
			t.Errorf("RedactCodes(%q) = %q, want it unchanged", in, out)
		}
	}
	if !utf8.ValidString(RedactCodes("x")) {
		t.Fatal("unreachable")
	}
}
