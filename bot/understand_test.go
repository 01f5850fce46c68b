package bot_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

// factFlow is testFlow with facts, an FAQ, a second device question and a typed "year"
// fact, for the engine's understanding of what customers say in passing.
func factFlow() *bot.Flow {
	f := testFlow()
	f.Facts = []bot.Fact{{ID: "device", Values: []bot.FactValue{
		{ID: "pc", Synonyms: bot.Words{JA: []string{"パソコン"}, EN: []string{"computer"}}},
		{ID: "sp", Synonyms: bot.Words{JA: []string{"スマホ"}, EN: []string{"phone"}}},
	}}}
	f.FAQ = []bot.FAQ{{ID: "hyphen", Section: "1", Questions: bot.Words{JA: []string{"ハイフンは必要"}, EN: []string{"need the hyphens"}},
		Text: tx("ハイフンは不要です。", "Hyphens are optional."), Steps: []bot.Text{tx("そのまま入力", "Type it as printed")}}}
	f.Intents = append(f.Intents,
		bot.Intent{ID: "card", Target: "advice_old", Synonyms: bot.Words{JA: []string{"クレカ"}, EN: []string{"visa"}}},
		bot.Intent{ID: "select", Target: "advice_new", Label: tx("選べない", "Can't select"),
			Synonyms: bot.Words{JA: []string{"クレカのまま", "クレカ払い"}, EN: []string{"keeps charging my"}}})
	for i := range f.Nodes {
		n := &f.Nodes[i]
		switch n.ID {
		case "ask_device":
			n.Options[0].Facts = []string{"device=pc"}
			n.Options[1].Facts = []string{"device=sp"}
		case "ask_date":
			n.Confirm = tx("{{year}}年ですね。", "So it's {{year}}.")
		}
	}
	return f
}

func newFactEngine(t *testing.T, clk *clock) *bot.Engine {
	t.Helper()
	funcs := testFuncs()
	funcs.Facts = func(text string, _ time.Time) map[string]string {
		// A year followed by 年 or "year" is a fact wherever it is said.
		for _, w := range strings.Fields(strings.NewReplacer("年", " 年 ", "、", " ").Replace(text)) {
			if y, err := strconv.Atoi(w); err == nil && y > 1990 && y < 2100 {
				return map[string]string{"year": w}
			}
		}
		return nil
	}
	e, err := bot.NewEngine(bot.EngineConfig{Flow: factFlow(), Funcs: funcs, Normalize: textnorm.Normalize, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEngineUnderstands(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "a fact said before its question answers it", steps: []step{
			{say: "スマホで登録したい", node: "advice_sp", want: "「スマホ」ですね"},
		}},
		{name: "a typed fact answers an input with its confirmation", steps: []step{
			{say: "2015年に買ったけど期限切れ", node: "advice_old", want: "2015年ですね"},
		}},
		{name: "a changed fact decides again", steps: []step{
			{say: "期限切れ"}, {say: "2020", node: "advice_new"},
			{say: "あ、2015年でした", node: "advice_old", want: "2015年ですね"},
		}},
		{name: "a changed device decides again", steps: []step{
			{say: "登録したい"}, {say: "パソコン", node: "advice_pc"},
			{say: "ごめんなさい、スマホでした", node: "advice_sp"},
		}},
		{name: "a specific phrase beats a word", steps: []step{
			{say: "レジでクレカのままになる", node: "advice_new"},
		}},
		{name: "a denied phrase does not count", steps: []step{
			{say: "登録したい"}, {say: "クレカは関係ないです", node: "ask_device", want: "うまく読み取れません"},
		}},
		{name: "english denial", steps: []step{
			{say: "hello there"}, {say: "it's not about my visa", node: "start", want: "didn't catch"},
		}},
		{name: "close calls are offered", steps: []step{
			{say: "やあ"}, {say: "期限切れかクレカのどっちか", node: "start", want: "もしかして"},
			{tap: "期限切れ", node: "advice_old"},
		}},
		{name: "a number typed after close calls picks a button", steps: []step{
			{say: "やあ"}, {say: "期限切れかクレカのどっちか", node: "start", want: "もしかして"},
			{say: "1", node: "ask_date"},
		}},
		{name: "an english plan closes as solved", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "I'll pay the rest by card", node: "solved"},
		}},
		{name: "a cause found closes as solved", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "聞いてみたら夫が使ってました", node: "solved"},
		}},
		{name: "a plan closes as solved", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "あとで家族に聞いてみる", node: "solved"},
		}},
		{name: "something still not found is not solved: the next advice", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "そのボタンが見当たらないんですけど", node: "advice_sp"},
		}},
		{name: "an english negative is not solved", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "the page isn't there", node: "advice_sp"},
		}},
		{name: "fine but then a problem is not solved", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "そこは大丈夫でした。でも別の画面が出ます", node: "advice_sp"},
		}},
		{name: "no problem named first asks without an apology", steps: []step{
			{follow: true}, {say: "えーと", node: "start", notWant: "読み取れません"},
			{say: "うーん", node: "start", want: "読み取れません"},
		}},
		{name: "an offered jump is labelled and tapped", steps: []step{
			{say: "やあ"}, {say: "期限切れでクレカ払い", node: "start", want: "[選べない]"},
			{tap: "選べない", node: "advice_new"},
		}},
		{name: "faq then the pending question", steps: []step{
			{say: "登録したい"}, {say: "ハイフンは必要ですか？", node: "ask_device", want: "ハイフンは不要です。\n1. そのまま入力|"},
		}},
		{name: "faq at advice re-asks only whether it solved", steps: []step{
			{say: "登録したい"}, {say: "パソコン"},
			{say: "do I need the hyphens?", node: "advice_pc", want: "ハイフンは不要です。"},
		}},
		{name: "faq answers a new conversation and asks the first question", steps: []step{
			{say: "ハイフンは必要？", node: "start", want: "どうしましたか?"},
		}},
		{name: "an acknowledgement closes", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "わかりました、やってみます", node: "solved"},
		}},
		{name: "a person asked for anywhere", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "ok, but can I talk to a human about it?", node: "handoff"},
		}},
		{name: "no and a new problem", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "いいえ、期限切れって出ます", node: "ask_date"},
		}},
		{name: "a command closing a sentence", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "あ、やっぱ違うかも。戻る", node: "ask_device"},
		}},
		{name: "an english command closing a sentence", steps: []step{
			{say: "登録したい"}, {say: "パソコン"}, {say: "hmm, that's not it. back", node: "ask_device"},
		}},
		{name: "a language request routes nowhere else", steps: []step{
			{say: "登録したい"}, {say: "sorry I can't read Japanese, English please?", node: "ask_device", want: "Which device?"},
		}},
		{name: "a language request and a problem", steps: []step{
			{follow: true}, {say: "sorry, English please. I want to register", node: "ask_device", want: "Which device?"},
		}},
		{name: "a one-word english greeting sets english", steps: []step{
			{follow: true}, {say: "hey!", node: "start", want: "What happened?"},
		}},
		{name: "english first words after a japanese start", steps: []step{
			{say: "I'd like to register", node: "ask_device", want: "Which device?"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
			e := newFactEngine(t, clk)
			c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u1"}, Lang: bot.Japanese}
			runSteps(t, e, c, tt.steps)
		})
	}
}

func TestInterpretRanks(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e := newFactEngine(t, clk)
	tests := []struct {
		node, text string
		kind       bot.MatchKind
		target     string
		suggest    []string
	}{
		{"start", "登録", bot.MatchOption, "device", nil},
		{"start", "クレカのまま", bot.MatchJump, "advice_new", nil},
		{"start", "it keeps charging my visa", bot.MatchJump, "advice_new", nil},
		{"start", "期限切れかクレカか", bot.MatchSuggest, "ask_date", []string{"ask_date", "advice_old"}},
		{"start", "期限切れで登録", bot.MatchJump, "ask_date", nil},
		{"start", "ハイフンは必要ですか", bot.MatchFAQ, "hyphen", nil},
		{"start", "英語でお願いします", bot.MatchCommand, "lang_en", nil},
		{"start", "日本語でお願いします", bot.MatchCommand, "lang_ja", nil},
		{"advice_pc", "ok, but can I talk to a human about it?", bot.MatchCommand, "agent", nil},
		{"advice_pc", "あ、やっぱ違うかも。戻る", bot.MatchCommand, "back", nil},
		{"advice_pc", "わかりました", bot.MatchOption, "solved", nil},
		{"advice_pc", "back of the card is scratched", bot.MatchNone, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			m := e.Interpret(tt.node, tt.text)
			if m.Kind != tt.kind || m.Target != tt.target || strings.Join(m.Suggest, ",") != strings.Join(tt.suggest, ",") {
				t.Errorf("Interpret(%s, %q) = %s %s %v, want %s %s %v", tt.node, tt.text, m.Kind, m.Target, m.Suggest, tt.kind, tt.target, tt.suggest)
			}
		})
	}
}
