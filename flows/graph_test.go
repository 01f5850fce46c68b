package flows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
)

// TestGraphGolden keeps docs/flows/giftcard.mmd equal to `giftdesk flow graph`.
func TestGraphGolden(t *testing.T) {
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	got := bot.Mermaid(f, bot.Japanese)
	path := filepath.Join("..", "docs", "flows", "giftcard.mmd")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./flows -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s is out of date (go test ./flows -update):\n%s", path, diff(string(want), got))
	}
	// Every node appears as a state and every edge names existing states.
	for _, n := range f.Nodes {
		if !strings.Contains(got, " as "+n.ID+"\n") {
			t.Errorf("node %s has no state in the diagram", n.ID)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.ContainsAny(strings.SplitN(line, " : ", 2)[0], "\"") && !strings.Contains(line, "state \"") {
			t.Errorf("unescaped quote outside a label: %s", line)
		}
	}
}
