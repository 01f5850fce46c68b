package bot

import (
	"strings"
	"testing"
)

func TestRuleScore(t *testing.T) {
	concepts := map[string]Words{
		"code":    {JA: []string{"番号", "コード"}, EN: []string{"code", "claim code"}},
		"invalid": {JA: []string{"無効", "エラー", "違う"}, EN: []string{"invalid", "rejected", "wrong"}},
		"shown":   {JA: []string{"と出", "って出", "表示"}, EN: []string{"says"}},
		"expired": {JA: []string{"期限切れ", "期限が切れ"}},
	}
	norm := strings.ToLower
	tests := []struct {
		name, rule, text string
		want             int // 0: no match
	}{
		{name: "both in order", rule: "@code + @invalid", text: "コードを入れたらエラーになる", want: 3 + 3 + ruleBonus},
		{name: "both reversed", rule: "@code + @invalid", text: "エラーになるコード", want: 3 + 3 + ruleBonus},
		{name: "english", rule: "@code + @invalid", text: "the claim code i typed got rejected", want: 9 + 8 + ruleBonus},
		{name: "one missing", rule: "@code + @invalid", text: "コードの入れ方", want: 0},
		{name: "three concepts", rule: "@code + @invalid + @shown", text: "番号が違うって出る", want: 2 + 2 + 3 + 2*ruleBonus},
		{name: "literal alternatives", rule: "@code + wrong|bad", text: "wrong code", want: 4 + 5 + ruleBonus},
		{name: "denied word", rule: "@code + @invalid", text: "番号は違うではない", want: 0},
		{name: "too far apart", rule: "@invalid + @shown", text: "エラーかと思ったけど残高不足って出てる", want: 0},
		{name: "a guess corrected, with a word found in pieces too", rule: "@expired + @shown", text: "期限切れかと思ったけど残高不足って出てる", want: 0},
		{name: "too far apart in english", rule: "@code + @invalid", text: "the code came in an email from my aunt last week and i think something is wrong", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			book := &ruleBook{normalize: norm, concepts: concepts}
			p, unknown := book.newRule(tt.rule)
			if len(unknown) > 0 {
				t.Fatalf("unknown %v", unknown)
			}
			if got := p.score(newUtterance(norm, tt.text)); got != tt.want {
				t.Errorf("%q in %q: score %d, want %d", tt.rule, tt.text, got, tt.want)
			}
		})
	}
}

func TestLabelIsNotARule(t *testing.T) {
	var m matcher
	m.add(strings.ToLower, "mixed", "Gift card + items")
	if target, score := m.best(newUtterance(strings.ToLower, "cannot buy this item with my gift card")); target != "" {
		t.Errorf("label matched as a rule: %s %d", target, score)
	}
}
