package flows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/flows"
)

func TestLintEmbeddedFlows(t *testing.T) {
	names := flows.Names()
	if len(names) == 0 {
		t.Fatal("no embedded flows")
	}
	for _, name := range names {
		data, err := flows.Source(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range flows.Lint(data) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

func TestLintBrokenFixtures(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // each must appear in one problem line
	}{
		{name: "unknown key", file: "unknown_key.yaml", want: []string{"field colour not found"}},
		{name: "dangling next", file: "dangling_next.yaml", want: []string{`node "start": option "b": next: unknown node "nowhere"`}},
		{name: "unreachable node", file: "unreachable.yaml", want: []string{`node "orphan": unreachable from the start node "start"`}},
		{name: "no way to an end", file: "no_end.yaml", want: []string{`node "start": cannot reach an end or handoff node`, `node "loop": cannot reach an end or handoff node`}},
		{name: "duplicate option", file: "duplicate_option.yaml", want: []string{`node "start": duplicate option id "a"`}},
		{name: "missing translation", file: "missing_translation.yaml", want: []string{`node "start": text: missing translation en`, `node "advice": step 1: missing translation en`}},
		{name: "too many options", file: "too_many_options.yaml", want: []string{`node "start": 14 options: at most 13`}},
		{name: "label too long", file: "long_label.yaml", want: []string{`label "This label is far too long for LINE" is 35 characters, LINE allows 20`}},
		{name: "decision branches", file: "decision_branches.yaml", want: []string{`no branch for outcome "unsure"`, `branch "sometimes" is not an outcome of expiry`}},
		{name: "unknown concept", file: "unknown_concept.yaml", want: []string{
			`concept "empty" has no words`,
			`intent "invalid": rule "@code + @invalid": unknown concept or empty part ["invalid"]`,
			`node "start": option "a": rule "@cod": unknown concept or empty part ["cod"]`,
		}},
		{name: "faq missing translation", file: "faq_missing_translation.yaml", want: []string{
			`faq "hyphens": questions: missing translation en`,
			`faq "hyphens": text: missing translation en`,
			`faq "hyphens": step 1: missing translation ja`,
		}},
		{name: "faq ids and sections", file: "faq_ids.yaml", want: []string{
			`faq "hyphens": duplicate id`,
			`faq "advice": id is also a node id`,
			`faq "expired": id is also an intent id`,
			`faq "expired": section "9" is not a section of any node`,
			`faq "nosection": section is missing`,
			`faq "advice": question "Do I need the dashes" is also a question of faq "hyphens"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "broken", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			probs := flows.Lint(data)
			if len(probs) == 0 {
				t.Fatalf("%s: no problems reported", tt.file)
			}
			all := strings.Join(probs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("%s: no problem mentions %q; got:\n%s", tt.file, w, all)
				}
			}
		})
	}
}
