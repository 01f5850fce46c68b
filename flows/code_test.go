package flows

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalizeCode(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "AQ12-345678-ABCDE", want: "AQ12345678ABCDE"},
		{name: "no separators", in: "AQ12345678ABCDE", want: "AQ12345678ABCDE"},
		{name: "lower case", in: "aq12-345678-abcde", want: "AQ12345678ABCDE"},
		{name: "full width", in: "ＡＱ１２－３４５６７８－ＡＢＣＤＥ", want: "AQ12345678ABCDE"},
		{name: "half-width long vowel", in: "AQ12ｰ345678ｰABCDE", want: "AQ12345678ABCDE"},
		{name: "katakana long vowel", in: "AQ12ー345678ーABCDE", want: "AQ12345678ABCDE"},
		{name: "every hyphen", in: "A-B‐C‑D‒E–F—G―H−IーJｰK－L﹣M", want: "ABCDEFGHIJKLM"},
		{name: "spaces and tabs", in: " AQ12 345678\tABCDE ", want: "AQ12345678ABCDE"},
		{name: "ideographic space", in: "AQ12　345678　ABCDE", want: "AQ12345678ABCDE"},
		{name: "zero width", in: "AQ12\u200b345678\ufeffABCDE", want: "AQ12345678ABCDE"},
		{name: "other characters kept", in: "ab。cd", want: "AB。CD"},
		{name: "invalid utf8", in: "ab\xffcd", want: "AB\ufffdCD"},
		{name: "empty", in: "", want: ""},
		{name: "separators only", in: " - ー ", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeCode(tt.in); got != tt.want {
				t.Errorf("NormalizeCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckCode(t *testing.T) {
	tests := []struct {
		name, in string
		want     CodeProblem
	}{
		{name: "printed 4-6-5", in: "AQ12-345678-ABCDE", want: CodeOK},
		{name: "old 4-6-4", in: "AQ12-345678-ABCD", want: CodeOK},
		{name: "15 without separators", in: "AQ12345678ABCDE", want: CodeOK},
		{name: "14 without separators", in: "AQ12345678ABCD", want: CodeOK},
		{name: "spaces", in: "AQ12 345678 ABCDE", want: CodeOK},
		{name: "full width lower case", in: "ａｑ１２－３４５６７８－ａｂｃｄｅ", want: CodeOK},
		{name: "regrouped 5-5-5", in: "AQ123-45678-ABCDE", want: CodeOK},
		{name: "first char dropped 3-6-5", in: "Q12-345678-ABCDE", want: CodeDroppedFirst},
		{name: "first char dropped 3-6-4", in: "Q12-345678-ABCD", want: CodeDroppedFirst},
		{name: "first char dropped with spaces", in: "Q12 345678 ABCDE", want: CodeDroppedFirst},
		{name: "first char dropped full width", in: "Ｑ１２－３４５６７８－ＡＢＣＤＥ", want: CodeDroppedFirst},
		{name: "13 without separators", in: "Q12345678ABCD", want: CodeWrongLength},
		{name: "middle char dropped", in: "AQ12-34567-ABCD", want: CodeWrongLength},
		{name: "last char dropped", in: "AQ12-345678-ABC", want: CodeWrongLength},
		{name: "two groups", in: "345678-ABCDE", want: CodeWrongLength},
		{name: "16 letters and digits", in: "AQ12-345678-ABCDEF", want: CodeWrongLength},
		{name: "too long", in: "AQ12-345678-ABCDE-12345", want: CodeWrongLength},
		{name: "serial number", in: "1234567890123456", want: CodeSerialNumber},
		{name: "serial number grouped", in: "1234 5678 9012 3456", want: CodeSerialNumber},
		{name: "serial number full width", in: "１２３４－５６７８－９０１２－３４５６", want: CodeSerialNumber},
		{name: "15 digits", in: "123456789012345", want: CodeOK},
		{name: "stray full stop", in: "AQ12-345678-ABCDE。", want: CodeBadChars},
		{name: "kanji zero", in: "AQ12-345678-ABCD〇", want: CodeBadChars},
		{name: "sentence", in: "番号が読めません", want: CodeBadChars},
		{name: "underscore", in: "AQ12_345678_ABCDE", want: CodeBadChars},
		{name: "empty", in: "", want: CodeEmpty},
		{name: "separators only", in: " －　", want: CodeEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			norm, got := CheckCode(tt.in)
			if got != tt.want {
				t.Errorf("CheckCode(%q) problem = %q, want %q", tt.in, got, tt.want)
			}
			if norm != NormalizeCode(tt.in) {
				t.Errorf("CheckCode(%q) normalized = %q, want NormalizeCode's %q", tt.in, norm, NormalizeCode(tt.in))
			}
		})
	}
}

func TestMaskCode(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "printed", in: "AQ12-345678-ABCDE", want: "****-BCDE"},
		{name: "full width lower case", in: "ａｑ１２－３４５６７８－ａｂｃｄｅ", want: "****-BCDE"},
		{name: "eight characters", in: "ABCD1234", want: "****-1234"},
		{name: "seven characters", in: "ABC1234", want: "****"},
		{name: "separators do not count", in: "AB-CD-12-3", want: "****"},
		{name: "empty", in: "", want: "****"},
		{name: "kana", in: "ギフト券の番号です", want: "****-番号です"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskCode(tt.in)
			if got != tt.want {
				t.Errorf("MaskCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if shown := utf8.RuneCountInString(strings.TrimLeft(got, "*-")); shown > 4 {
				t.Errorf("MaskCode(%q) = %q shows %d characters", tt.in, got, shown)
			}
		})
	}
}

func TestRedactCodes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Codes.
		{name: "printed", in: "AQ12-345678-ABCDE", want: "****-BCDE"},
		{name: "in a japanese sentence", in: "コードはＡＢＣＤ－１２３４５６－ＸＹＺＷ９です", want: "コードは****-YZW9です"},
		{name: "in an english sentence", in: "My code is ABCD-123456-XYZW9 but it says used",
			want: "My code is ****-YZW9 but it says used"},
		{name: "spaces", in: "番号 ABCD 123456 XYZW9 が使えません", want: "番号 ****-YZW9 が使えません"},
		{name: "ideographic spaces", in: "番号：ＡＢＣＤ　１２３４５６　ＸＹＺＷ９", want: "番号：****-YZW9"},
		{name: "no separators", in: "ABCD123456XYZW9を登録", want: "****-YZW9を登録"},
		{name: "lower case", in: "code: abcd-123456-xyzw9.", want: "code: ****-YZW9."},
		{name: "lower case spaces", in: "abcd 12ef56 klmno thanks", want: "****-LMNO thanks"},
		{name: "word before code", in: "code abcd12ef56klmno", want: "code ****-LMNO"},
		{name: "lower case printed layout", in: "abcd 123456 efghi です", want: "****-FGHI です"},
		{name: "katakana long vowels", in: "ABCDー123456ーXYZW9", want: "****-YZW9"},
		{name: "hyphen with spaces", in: "ABCD - 123456 - XYZW9", want: "****-YZW9"},
		{name: "old card", in: "ABCD-123456-XYZ9", want: "****-XYZ9"},
		{name: "first char dropped", in: "BCD-123456-XYZW9", want: "****-YZW9"},
		{name: "no digits upper case", in: "ABCD-EFGHIJ-KLMNO", want: "****-LMNO"},
		{name: "no digits lower case hyphens", in: "abcd-efghij-klmno", want: "****-LMNO"},
		{name: "one digit upper case", in: "ABCDEFGHIJKL1", want: "****-JKL1"},
		{name: "two codes", in: "ABCD-123456-XYZW9とEFGH-654321-QRST8", want: "****-YZW9と****-RST8"},
		{name: "serial number", in: "裏の番号は1234 5678 9012 3456です", want: "裏の番号は****-3456です"},
		{name: "invalid utf8", in: "\xffABCD123456XYZW9\xfe", want: "\xff****-YZW9\xfe"},
		{name: "already masked", in: "コードは****-YZW9です", want: "コードは****-YZW9です"},

		// Ordinary text.
		{name: "amazon", in: "Amazonのギフト券", want: "Amazonのギフト券"},
		{name: "smartphone", in: "smartphone app", want: "smartphone app"},
		{name: "amazon gift card", in: "Amazon Gift Card balance", want: "Amazon Gift Card balance"},
		{name: "kanji date", in: "2017年4月24日以降", want: "2017年4月24日以降"},
		{name: "slash date", in: "2016/5/1に買いました", want: "2016/5/1に買いました"},
		{name: "iso date", in: "2016-05-01", want: "2016-05-01"},
		{name: "amount", in: "3,000円と¥12,000", want: "3,000円と¥12,000"},
		{name: "amount with word", in: "I have 3000 yen balance left", want: "I have 3000 yen balance left"},
		{name: "words in the printed layout", in: "I have sorted those files", want: "I have sorted those files"},
		{name: "mobile number", in: "090-1234-5678", want: "090-1234-5678"},
		{name: "toll free number", in: "0120-123-456", want: "0120-123-456"},
		{name: "english date", in: "May 1, 2016 and 1 May 2016", want: "May 1, 2016 and 1 May 2016"},
		{name: "short model number", in: "iPhone 15 Pro", want: "iPhone 15 Pro"},
		{name: "ten digit number", in: "1234567890", want: "1234567890"},
		{name: "japanese only", in: "ギフト券が使えない", want: "ギフト券が使えない"},
		{name: "empty", in: "", want: ""},

		{name: "long word", in: "congratulations!", want: "congratulations!"},
		{name: "long words", in: "I want a representative", want: "I want a representative"},
		{name: "order number", in: "注文番号250-1234567-1234567", want: "注文番号250-1234567-1234567"},
		{name: "lower case without digits", in: "abcdefghijklmno", want: "abcdefghijklmno"},

		// Masked on purpose although not codes: see RedactCodes.
		{name: "shouting", in: "AMAZON GIFT CARD", want: "****-CARD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactCodes(tt.in)
			if got != tt.want {
				t.Errorf("RedactCodes(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := RedactCodes(got); again != got {
				t.Errorf("RedactCodes not idempotent: %q -> %q -> %q", tt.in, got, again)
			}
		})
	}
}

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"AQ12-345678-ABCDE", "ａｑ１２－３４５６７８", "i\u0307", "ß", "\xff", "\xf1ʳ", "ー ｰ　－"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeCode(s)
		if !utf8.ValidString(n) {
			t.Fatalf("NormalizeCode(%q) = %q: invalid UTF-8", s, n)
		}
		for _, r := range n {
			if isCodeHyphen(r) || unicode.IsSpace(r) || isZeroWidth(r) || r >= 'a' && r <= 'z' {
				t.Fatalf("NormalizeCode(%q) = %q: kept %q", s, n, r)
			}
		}
		if again := NormalizeCode(n); again != n {
			t.Fatalf("NormalizeCode not idempotent: %q -> %q -> %q", s, n, again)
		}
		_, _ = CheckCode(s)
		if m := MaskCode(s); utf8.RuneCountInString(strings.TrimPrefix(m, "****-")) > 4 {
			t.Fatalf("MaskCode(%q) = %q shows too much", s, m)
		}
	})
}

// typedCode is a random claim code and the way a customer typed it.
type typedCode struct {
	code   string   // 14 or 15 characters, A–Z and 0–9
	groups []string // as typed, before width and case
	sep    string
	lower  bool
	typed  string
}

// randomTypedCode returns a random code typed in a random style.
func randomTypedCode(rng *rand.Rand) typedCode {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var c typedCode
	b := make([]byte, 14+rng.IntN(2))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	c.code = string(b)
	switch rng.IntN(3) {
	case 0:
		c.groups = []string{c.code}
	case 1: // printed: 4-6-5 or 4-6-4
		c.groups = []string{c.code[:4], c.code[4:10], c.code[10:]}
	default: // groups of 3 to 6
		for rest := c.code; rest != ""; {
			n := len(rest)
			if n > 6 {
				n = 3 + rng.IntN(min(6, n-3)-2)
			}
			c.groups, rest = append(c.groups, rest[:n]), rest[n:]
		}
	}
	seps := []string{"-", " ", "－", "ー", "ｰ", "　", "‐", "–", "−", " - ", "\t"}
	c.sep = seps[rng.IntN(len(seps))]
	c.lower = rng.IntN(3) == 0
	typed := strings.Join(c.groups, c.sep)
	if c.lower {
		typed = strings.ToLower(typed)
	}
	if rng.IntN(3) == 0 { // full width
		typed = strings.Map(func(r rune) rune {
			if r > ' ' && r < 0x7f {
				return r + 0xfee0
			}
			return r
		}, typed)
	}
	c.typed = typed
	return c
}

// blindSpot reports whether c is typed in a way that RedactCodes does not tell from words,
// and the code reader therefore does not take for a code: letters only in lower case
// (unless hyphenated in the printed layout), or in lower case grouped by spaces with two
// neighbouring groups that are not both digits and neither mixing letters and digits
// (unless in the printed layout with a digit).
func (c typedCode) blindSpot() bool {
	if !c.lower {
		return false
	}
	hyphen := strings.ContainsFunc(c.sep, isCodeHyphen)
	layout := len(c.groups) == 3 && len(c.groups[0]) == 4 && len(c.groups[1]) == 6
	if !strings.ContainsAny(c.code, "0123456789") {
		return !(hyphen && layout)
	}
	if hyphen || layout || len(c.groups) < 2 {
		return false
	}
	kind := func(g string) string {
		switch {
		case isDigits(g):
			return "digits"
		case !strings.ContainsAny(g, "0123456789"):
			return "letters"
		}
		return "mixed"
	}
	for i := 0; i+1 < len(c.groups); i++ {
		a, b := kind(c.groups[i]), kind(c.groups[i+1])
		if a != "mixed" && b != "mixed" && !(a == "digits" && b == "digits") {
			return true
		}
	}
	return false
}

func FuzzRedactCodes(f *testing.F) {
	f.Add("コードは", "です", uint64(1))
	f.Add("My code is", "but it says used", uint64(2))
	f.Add("****-", "", uint64(3))
	f.Add("2016/5/1 3,000円", "090-1234-5678", uint64(4))
	f.Add("abc", "xyz9 thanks", uint64(5))
	f.Add("\xff", "\xfe", uint64(6))
	f.Fuzz(func(t *testing.T, prefix, suffix string, seed uint64) {
		// Any text: no panic, idempotent.
		for _, s := range []string{prefix, suffix} {
			out := RedactCodes(s)
			if again := RedactCodes(out); again != out {
				t.Fatalf("RedactCodes not idempotent: %q -> %q -> %q", s, out, again)
			}
		}

		// A code embedded in the text never survives.
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		bounds := []string{"", " ", "は", "：", "\n", "「", "」です", "-", "　", ", ", "(", "。"}
		c := randomTypedCode(rng)
		before := prefix + bounds[rng.IntN(len(bounds))]
		in := before + c.typed + bounds[rng.IntN(len(bounds))] + suffix
		out := RedactCodes(in)
		if again := RedactCodes(out); again != out {
			t.Fatalf("RedactCodes not idempotent: %q -> %q -> %q", in, out, again)
		}
		after := in[len(before)+len(c.typed):]
		if c.blindSpot() || strings.HasSuffix(before, maskPrefix) || !hardBoundary(before, true) || !hardBoundary(after, false) {
			return // a code run into other letters, digits or separators is not told apart
		}
		if strings.Contains(NormalizeCode(out), c.code) {
			t.Fatalf("RedactCodes(%q) = %q still holds the code", in, out)
		}
	})
}

// hardBoundary reports whether the text next to a code (the end of text before it, or the
// start of text after it) ends the code: no letter, digit, separator or escape.
func hardBoundary(text string, before bool) bool {
	if text == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(text)
	if before {
		r, _ = utf8.DecodeLastRuneInString(text)
	}
	_, alnum := foldAlnum(r)
	return !alnum && !isCodeSeparator(foldCodeRune(r)) && !strings.ContainsRune("\\%+\ufffd", r)
}

func TestFindCode(t *testing.T) {
	tests := []struct {
		name, text, want string
		problem          CodeProblem
	}{
		{name: "grouping kept", text: "I copy pasted it from the email: QM8-4XT2KP-9RW7H and it says invalid", want: "QM8-4XT2KP-9RW7H", problem: CodeDroppedFirst},
		{name: "code then a word", text: "code 4TQ8XM2KPHR7W doesn't work", want: "4TQ8XM2KPHR7W", problem: CodeWrongLength},
		// Shorter than 13 characters is no code to the mask, so it is not read as one either.
		{name: "too short to be a code", text: "code 4TQ8XM2KPH doesn't work"},
		{name: "in an english sentence", text: "it's 9HQX-4MN2PW-8HT3", want: "9HQX-4MN2PW-8HT3", problem: CodeOK},
		{name: "in japanese", text: "番号はABCD-EFGH12-JKLM3です", want: "ABCD-EFGH12-JKLM3", problem: CodeOK},
		{name: "serial number", text: "6021 4478 3390 1157 を入れても無効", want: "6021 4478 3390 1157", problem: CodeSerialNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindCode(tt.text)
			if ok != (tt.want != "") || got != tt.want {
				t.Fatalf("FindCode(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
			}
			if !ok {
				return
			}
			if _, p := CheckCode(got); p != tt.problem {
				t.Errorf("CheckCode(%q) = %s, want %s", got, p, tt.problem)
			}
		})
	}
}
