package bot

import "testing"

func TestStem(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"ing", "redeeming", "redeem"},
		{"s", "redeems", "redeem"},
		{"es and e", "charges", "charge"},
		{"ing and e", "charging", "charge"},
		{"doubled consonant", "stopping", "stop"},
		{"ies", "companies", "company"},
		{"plural", "codes", "code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if stem(tt.a) != stem(tt.b) {
				t.Errorf("stem(%q) = %q, stem(%q) = %q; want the same", tt.a, stem(tt.a), tt.b, stem(tt.b))
			}
		})
	}
	for _, pair := range [][2]string{{"expired", "expire"}, {"claimed", "claim"}, {"use", "us"}} {
		if stem(pair[0]) == stem(pair[1]) {
			t.Errorf("stem(%q) = stem(%q) = %q; want them apart", pair[0], pair[1], stem(pair[0]))
		}
	}
}

func TestTypos(t *testing.T) {
	ty := newTypos()
	for _, w := range []string{"invalid code", "already redeemed", "checkout", "register", "doesnt work", "card"} {
		p, _ := newPhrase(func(s string) string { return s }, w)
		ty.learn(p)
	}
	tests := []struct{ name, in, want string }{
		{"swapped letters", " code invaild ", " code invalid "},
		{"letters dropped", " alredy redeemd ", " already redeemed "},
		{"letter added", " checkoutt ", " checkout "},
		{"letter changed", " regester ", " register "},
		{"stemmed form is known", " registering ", " registering "},
		{"short words are left", " cart ", " cart "},
		{"two edits are left", " chekcuot ", " chekcuot "},
		{"unrelated word", " yesterday ", " yesterday "},
		{"swapped in a contraction", " dosent work ", " doesnt work "},
		{"an inflection is a word", " carded ", " carded "},
		{"first letter differs", " vheckout ", " vheckout "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ty.correct(tt.in); got != tt.want {
				t.Errorf("correct(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestChatShortForms(t *testing.T) {
	ty := newTypos()
	for _, w := range []string{"how do i redeem", "what is one click", "invalid code"} {
		p, _ := newPhrase(func(s string) string { return s }, w)
		ty.learn(p)
	}
	for in, want := range map[string]string{
		"hw do i redeem":   "how do i redeem",
		"wat is one click": "what is one click",
		"how do i redeem":  "how do i redeem",
	} {
		if got := ty.correct(in); got != want {
			t.Errorf("correct(%q) = %q, want %q", in, got, want)
		}
	}
}
