package slack

import (
	"strings"
	"testing"
	"time"
)

func TestPlainText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "コードが無効です", "コードが無効です"},
		{"entities", "a &lt;b&gt; &amp;lt; c", "a <b> &lt; c"},
		{"user", "<@U123> help", "@U123 help"},
		{"user with name", "<@U123|alice> help", "@alice help"},
		{"channel", "see <#C123|support>", "see #support"},
		{"channel without name", "see <#C123>", "see #C123"},
		{"here", "<!here> anyone?", "@here anyone?"},
		{"channel mention", "<!channel>", "@channel"},
		{"user group", "<!subteam^S123|@support-team> please", "@support-team please"},
		{"user group without label", "<!subteam^S123>", "@subteam"},
		{"date", "<!date^1392734382^{date}|Feb 18, 2014> ok", "Feb 18, 2014 ok"},
		{"link", "<https://example.com>", "https://example.com"},
		{"link with label", "<https://example.com/a?b=1&amp;c=2|the page>", "the page (https://example.com/a?b=1&c=2)"},
		{"link labelled with itself", "<https://example.com|https://example.com>", "https://example.com"},
		{"mailto", "<mailto:a@example.com|a@example.com>", "a@example.com"},
		{"unclosed", "a < b", "a < b"},
		{"escaped markup stays text", "&lt;!channel&gt;", "<!channel>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PlainText(tt.in); got != tt.want {
				t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"<!channel> & <@U1>", "a &amp; b", "><&", "普通の文"} {
		esc := escape(s)
		if strings.ContainsAny(esc, "<>") {
			t.Errorf("escape(%q) = %q still holds < or >", s, esc)
		}
		if got := PlainText(esc); got != s {
			t.Errorf("PlainText(escape(%q)) = %q", s, got)
		}
	}
}

func TestWithoutMention(t *testing.T) {
	tests := []struct {
		name, in, want string
		found          bool
	}{
		{"leading", "<@UBOT> my code is invalid", "my code is invalid", true},
		{"middle", "hi <@UBOT|giftdesk> help", "hi  help", true},
		{"other user", "<@UBOTX> hi", "<@UBOTX> hi", false},
		{"twice", "<@UBOT><@UBOT> x", "x", true},
		{"none", "hello", "hello", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := withoutMention(tt.in, "UBOT")
			if got != tt.want || found != tt.found {
				t.Errorf("withoutMention(%q) = %q, %v; want %q, %v", tt.in, got, found, tt.want, tt.found)
			}
		})
	}
}

func TestParseTS(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Time
		ok       bool
	}{
		{"micro", "1712345678.123456", time.Unix(1712345678, 123456000).UTC(), true},
		{"short fraction", "1712345678.5", time.Unix(1712345678, 500000000).UTC(), true},
		{"seconds", "1712345678", time.Unix(1712345678, 0).UTC(), true},
		{"empty", "", time.Time{}, false},
		{"junk", "abc.def", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTS(tt.in)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("parseTS(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		parts int
		sep   string // what the cuts removed: a line break, or nothing
	}{
		{"fits", "short", 1, ""},
		{"empty", "", 0, ""},
		{"blank", " \n ", 0, ""},
		{"at line breaks", strings.Repeat("0123456789\n", 600), 3, "\n"},
		{"one long line", strings.Repeat("あ", 7000), 3, ""},
		{"escaping counts", strings.Repeat("&", 1000), 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := splitText(tt.in, maxSectionText)
			if len(parts) != tt.parts {
				t.Fatalf("%d parts, want %d", len(parts), tt.parts)
			}
			for _, p := range parts {
				if n := escapedSize(p); n > maxSectionText {
					t.Errorf("part of %d escaped characters", n)
				}
			}
			if len(parts) > 0 && strings.Join(parts, tt.sep) != tt.in {
				t.Errorf("parts do not add up to the text")
			}
		})
	}
}
