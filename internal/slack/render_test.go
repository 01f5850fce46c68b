package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func choices(n int, label string) []bot.Choice {
	out := make([]bot.Choice, n)
	for i := range out {
		out[i] = bot.Choice{Label: label + strconv.Itoa(i+1), Data: "o:node:opt" + strconv.Itoa(i+1)}
	}
	return out
}

// TestRenderLimits renders turns at and beyond Slack's limits and checks the result with
// the fake Slack's validator.
func TestRenderLimits(t *testing.T) {
	hostile := "<!channel> <!here> @channel @here <@U0ALICE> &amp; <https://evil.example|click> *bold*"
	tests := []struct {
		name  string
		msgs  []bot.Message
		posts int
	}{
		{"question", []bot.Message{
			{Kind: bot.MsgText, Text: "Hello"},
			{Kind: bot.MsgQuestion, Text: "What is happening?", Choices: choices(12, "option ")},
		}, 1},
		{"advice", []bot.Message{
			{Kind: bot.MsgSteps, Title: "Choosing the gift card", Text: "Once registered…", Steps: []string{"a", "b", "c"}, Note: "Note"},
			{Kind: bot.MsgQuestion, Text: "Did that solve it?", Choices: choices(2, "answer ")},
		}, 1},
		{"hostile text", []bot.Message{
			{Kind: bot.MsgSteps, Title: hostile, Text: hostile, Steps: []string{hostile}, Note: hostile},
			{Kind: bot.MsgQuestion, Text: hostile, Choices: []bot.Choice{{Label: hostile, Data: hostile}}},
		}, 1},
		{"long everything", []bot.Message{
			{Kind: bot.MsgQuestion, Text: strings.Repeat("長い文章<&>。\n", 2000),
				Choices: []bot.Choice{{Label: strings.Repeat("ラベル", 40), Data: strings.Repeat("d", 3000)}}},
		}, 1},
		{"many buttons", []bot.Message{{Kind: bot.MsgQuestion, Text: "Pick", Choices: choices(60, "b")}}, 1},
		{"many messages", func() []bot.Message {
			var ms []bot.Message
			for i := range 60 {
				ms = append(ms, bot.Message{Kind: bot.MsgText, Text: "line " + strconv.Itoa(i)})
			}
			return ms
		}(), 2},
		{"huge advice", []bot.Message{{Kind: bot.MsgSteps, Title: "Steps",
			Steps: strings.Split(strings.Repeat(strings.Repeat("x", 2900)+"\n", 120), "\n")}}, 3},
		{"empty", []bot.Message{{Kind: bot.MsgText}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			posts := render(tt.msgs)
			if len(posts) != tt.posts {
				t.Fatalf("%d posts, want %d", len(posts), tt.posts)
			}
			for i, p := range posts {
				raw, err := json.Marshal(p.blocks)
				if err != nil {
					t.Fatal(err)
				}
				for _, prob := range slacktest.CheckBlocks(raw) {
					t.Errorf("post %d: %s", i, prob)
				}
				for _, prob := range slacktest.CheckText(p.text) {
					t.Errorf("post %d text: %s", i, prob)
				}
			}
		})
	}
}

// TestRenderGolden compares the Block Kit JSON of typical turns with
// testdata/render/*.golden; go test -update rewrites them.
func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		msgs []bot.Message
	}{
		{"question", []bot.Message{
			{Kind: bot.MsgText, Text: "Hello! Let's find out why your Amazon gift card isn't working."},
			{Kind: bot.MsgQuestion, Text: "What is happening?", Choices: []bot.Choice{
				{Label: "How to register", Data: "o:start:register"}, {Label: "Code is invalid", Data: "o:start:invalid"},
			}},
		}},
		{"advice", []bot.Message{
			{Kind: bot.MsgSteps, Title: "【Choosing the gift card at checkout】", Text: "Once the code is registered…",
				Steps: []string{"Proceed to checkout.", "Click 「変更」 (Change).", "Tick Amazon gift card."},
				Note:  "If your balance covers the total, the whole amount is paid from the gift card."},
			{Kind: bot.MsgQuestion, Text: "Did that solve it?", Choices: []bot.Choice{
				{Label: "Yes, solved", Data: "o:advice:solved"}, {Label: "No, not yet", Data: "o:advice:not_solved"},
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			for _, p := range render(tt.msgs) {
				out, err := json.MarshalIndent(map[string]any{"text": p.text, "blocks": p.blocks}, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				b.Write(out)
				b.WriteByte('\n')
			}
			path := filepath.Join("testdata", "render", tt.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("render differs from %s (go test -update rewrites it):\n%s", path, b.String())
			}
		})
	}
}
