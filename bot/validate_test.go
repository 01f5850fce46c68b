package bot_test

import (
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

// sectionedFlow is a small valid flow whose nodes name article sections, with one FAQ entry.
func sectionedFlow() *bot.Flow {
	return &bot.Flow{
		ID: "faq", Start: "start",
		FAQ: []bot.FAQ{{
			ID: "hyphens", Section: "1-4",
			Questions: bot.Words{JA: []string{"ハイフンって入れる"}, EN: []string{"type the dashes"}},
			Text:      tx("ハイフンは不要です。", "You don't need the dashes."),
			Steps:     []bot.Text{tx("番号だけ入力します。", "Type the code alone.")},
		}},
		Nodes: []bot.Node{
			{ID: "start", Kind: bot.KindQuestion, Section: "0", Text: tx("どうしましたか?", "What happened?"), Options: []bot.Option{
				{ID: "a", Label: tx("登録", "Register"), Next: "advice"},
				{ID: "b", Label: tx("番号", "Code"), Next: "advice"},
			}},
			{ID: "advice", Kind: bot.KindAdvice, Section: "1-4", Title: tx("番号", "Code"), Steps: []bot.Text{tx("確認", "Check")}},
			{ID: "solved", Kind: bot.KindEnd, Section: "0", Text: tx("よかったです", "Glad to help")},
			{ID: "handoff", Kind: bot.KindHandoff, Section: "0", Text: tx("おつなぎします", "Connecting you"), Reason: "customer_request"},
		},
	}
}

func TestValidateFAQ(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *bot.Flow)
		want   string // "" means no problem
	}{
		{name: "valid", change: func(*bot.Flow) {}},
		{name: "sub-section of a node's section", change: func(f *bot.Flow) { f.FAQ[0].Section = "1-4-2" }},
		{name: "any section when no node names one", change: func(f *bot.Flow) {
			for i := range f.Nodes {
				f.Nodes[i].Section = ""
			}
			f.FAQ[0].Section = "9"
		}},
		{name: "section of no node", change: func(f *bot.Flow) { f.FAQ[0].Section = "1" },
			want: `faq "hyphens": section "1" is not a section of any node`},
		{name: "prefix that is not a sub-section", change: func(f *bot.Flow) { f.FAQ[0].Section = "1-40" },
			want: `faq "hyphens": section "1-40" is not a section of any node`},
		{name: "no section", change: func(f *bot.Flow) { f.FAQ[0].Section = "" },
			want: `faq "hyphens": section is missing`},
		{name: "no id", change: func(f *bot.Flow) { f.FAQ[0].ID = "" },
			want: `faq #1 has no id`},
		{name: "id of a node", change: func(f *bot.Flow) { f.FAQ[0].ID = "advice" },
			want: `faq "advice": id is also a node id`},
		{name: "no English question", change: func(f *bot.Flow) { f.FAQ[0].Questions.EN = nil },
			want: `faq "hyphens": questions: missing translation en`},
		{name: "empty question", change: func(f *bot.Flow) { f.FAQ[0].Questions.JA = append(f.FAQ[0].Questions.JA, " ") },
			want: `faq "hyphens": questions: an empty question`},
		{name: "no answer", change: func(f *bot.Flow) { f.FAQ[0].Text = bot.Text{} },
			want: `faq "hyphens": text is missing`},
		{name: "untranslated step", change: func(f *bot.Flow) { f.FAQ[0].Steps[0].EN = "" },
			want: `faq "hyphens": step 1: missing translation en`},
		{name: "answer at LINE's limit", change: func(f *bot.Flow) {
			// 4994 + "\n1. " (4) + the step (2) = 5000 units.
			f.FAQ[0].Text.JA = strings.Repeat("あ", 4994)
			f.FAQ[0].Steps[0].JA = "確認"
		}},
		{name: "answer over LINE's limit", change: func(f *bot.Flow) {
			f.FAQ[0].Text.JA = strings.Repeat("あ", 4995)
			f.FAQ[0].Steps[0].JA = "確認"
		}, want: `faq "hyphens": the ja answer is 5001 UTF-16 units, LINE allows 5000`},
		{name: "characters outside the BMP count twice", change: func(f *bot.Flow) {
			// 2500 × 2 + "\n1. " (4) + "Type the code alone." (20).
			f.FAQ[0].Text.EN = strings.Repeat("🎁", 2500)
		}, want: `faq "hyphens": the en answer is 5024 UTF-16 units`},
		{name: "question asked by two entries", change: func(f *bot.Flow) {
			f.FAQ = append(f.FAQ, bot.FAQ{ID: "dashes", Section: "1-4",
				Questions: bot.Words{JA: []string{"ダッシュ"}, EN: []string{"Type the dashes"}},
				Text:      tx("不要です。", "Not needed.")})
		}, want: `faq "dashes": question "Type the dashes" is also a question of faq "hyphens"`},
		{name: "duplicate id", change: func(f *bot.Flow) {
			f.FAQ = append(f.FAQ, bot.FAQ{ID: "hyphens", Section: "1-4",
				Questions: bot.Words{JA: []string{"ダッシュ"}, EN: []string{"dash"}},
				Text:      tx("不要です。", "Not needed.")})
		}, want: `faq "hyphens": duplicate id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sectionedFlow()
			tt.change(f)
			var got []string
			for _, p := range bot.Validate(f, bot.Funcs{}) {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			switch {
			case tt.want == "" && len(got) > 0:
				t.Fatalf("Validate reported problems:\n%s", all)
			case tt.want != "" && !strings.Contains(all, tt.want):
				t.Fatalf("no problem mentions %q; got:\n%s", tt.want, all)
			}
		})
	}
}

// TestValidateSymptomMark checks the "~" that marks a symptom synonym: a phrase or a rule
// after it is checked like any other, and a mark alone is reported.
func TestValidateSymptomMark(t *testing.T) {
	tests := []struct {
		synonym string
		want    string // "" means no problem
	}{
		{synonym: "~登録できない"},
		{synonym: "~ can't register"},
		{synonym: "~", want: `option "a": a symptom mark "~" with no phrase after it`},
		{synonym: "~@nosuch + @other", want: `rule "@nosuch + @other": unknown concept`},
	}
	for _, tt := range tests {
		f := sectionedFlow()
		f.Nodes[0].Options[0].Synonyms = bot.Words{JA: []string{tt.synonym}, EN: []string{"register"}}
		var got []string
		for _, p := range bot.Validate(f, bot.Funcs{}) {
			got = append(got, p.String())
		}
		all := strings.Join(got, "\n")
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%q: Validate reported problems:\n%s", tt.synonym, all)
		case tt.want != "" && !strings.Contains(all, tt.want):
			t.Errorf("%q: no problem mentions %q; got:\n%s", tt.synonym, tt.want, all)
		}
	}
}
