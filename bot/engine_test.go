package bot_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

func tx(ja, en string) bot.Text { return bot.Text{JA: ja, EN: en} }

// testFlow is a small flow exercising every node kind.
func testFlow() *bot.Flow {
	return &bot.Flow{
		ID: "test", Start: "start", Version: "v1",
		Intents: []bot.Intent{
			{ID: "expired", Target: "ask_date", Synonyms: bot.Words{JA: []string{"期限切れ"}, EN: []string{"expired"}}},
		},
		Nodes: []bot.Node{
			{ID: "start", Kind: bot.KindQuestion, Text: tx("どうしましたか?", "What happened?"), Options: []bot.Option{
				{ID: "device", Label: tx("登録したい", "Register"), Synonyms: bot.Words{JA: []string{"登録"}, EN: []string{"register"}}, Next: "ask_device"},
				{ID: "date", Label: tx("期限を確認", "Check expiry"), Next: "ask_date"},
			}},
			{ID: "ask_device", Kind: bot.KindQuestion, Text: tx("端末は?", "Which device?"), Options: []bot.Option{
				{ID: "pc", Label: tx("パソコン", "PC"), Synonyms: bot.Words{JA: []string{"PC"}, EN: []string{"computer"}}, Next: "advice_pc"},
				{ID: "sp", Label: tx("スマホ", "Smartphone"), Synonyms: bot.Words{JA: []string{"携帯"}, EN: []string{"phone"}}, Next: "advice_sp"},
			}},
			{ID: "advice_pc", Kind: bot.KindAdvice, Title: tx("PCで登録", "Register on PC"),
				Steps: []bot.Text{tx("サインイン", "Sign in"), tx("登録", "Register")}, Next: "advice_sp"},
			{ID: "advice_sp", Kind: bot.KindAdvice, Title: tx("スマホで登録", "Register on a phone"),
				Steps: []bot.Text{tx("アプリを開く", "Open the app")}},
			{ID: "ask_date", Kind: bot.KindInput, Text: tx("発行日は?", "Issue date?"), Input: "year", Var: "year",
				Hint: tx("例: 2016", "e.g. 2016"), Next: "check",
				Options: []bot.Option{{ID: "unknown", Label: tx("分からない", "Don't know"), Next: "handoff"}}},
			{ID: "check", Kind: bot.KindDecision, Func: "old", Branches: map[string]string{"old": "advice_old", "new": "advice_new"}},
			{ID: "advice_old", Kind: bot.KindAdvice, Title: tx("期限切れ", "Expired"), Steps: []bot.Text{tx("{{year}}年発行です", "Issued in {{year}}")}},
			{ID: "advice_new", Kind: bot.KindAdvice, Title: tx("有効", "Valid"), Steps: []bot.Text{tx("使えます", "It works")}},
			{ID: "solved", Kind: bot.KindEnd, Text: tx("よかったです", "Glad to help")},
			{ID: "handoff", Kind: bot.KindHandoff, Text: tx("おつなぎします", "Connecting you"), Reason: "customer_request"},
		},
	}
}

func testFuncs() bot.Funcs {
	return bot.Funcs{
		Inputs: map[string]bot.InputFunc{
			"year": func(raw string, _ time.Time) (map[string]string, error) {
				if len(raw) != 4 || strings.Trim(raw, "0123456789") != "" {
					return nil, errors.New("not a year")
				}
				if raw > "2026" {
					return nil, &bot.InputError{Hint: tx("未来の年です", "That year is in the future"), Err: errors.New("future")}
				}
				return map[string]string{"": raw}, nil
			},
		},
		Decisions: map[string]bot.Decision{
			"old": {Outcomes: []string{"old", "new"}, Func: func(vars map[string]string, _ time.Time) (string, error) {
				switch {
				case vars["year"] == "":
					return "", errors.New("no year")
				case vars["year"] < "2017":
					return "old", nil
				}
				return "new", nil
			}},
		},
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestEngine(t *testing.T, clk *clock) *bot.Engine {
	t.Helper()
	e, err := bot.NewEngine(bot.EngineConfig{Flow: testFlow(), Funcs: testFuncs(), Normalize: textnorm.Normalize, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// step is one customer action in a scripted test: typed text, or the label of a choice
// of the last question to tap.
type step struct {
	say, tap string
	follow   bool // a follow event (the customer adds the bot) instead of a message
	// want is a substring the bot's answer must contain, notWant one it must not; node is
	// the node it must be at.
	want, notWant, node string
}

func runSteps(t *testing.T, e *bot.Engine, c *bot.Conversation, steps []step) {
	t.Helper()
	seen := map[string]string{} // every choice shown so far, by label: old buttons stay tappable
	for i, s := range steps {
		in := bot.Inbound{Kind: bot.InText, Text: s.say}
		if s.tap != "" {
			data, ok := seen[s.tap]
			if !ok {
				t.Fatalf("step %d: no choice %q was shown", i, s.tap)
			}
			in = bot.Inbound{Kind: bot.InPostback, Postback: data, Text: s.tap}
		}
		if s.follow {
			in = bot.Inbound{Kind: bot.InFollow}
		}
		out, err := e.Step(context.Background(), c, in)
		if err != nil {
			t.Fatalf("step %d (%+v): %v", i, s, err)
		}
		text := dump(out)
		if s.want != "" && !strings.Contains(text, s.want) {
			t.Errorf("step %d (%+v): answer lacks %q:\n%s", i, s, s.want, text)
		}
		if s.notWant != "" && strings.Contains(text, s.notWant) {
			t.Errorf("step %d (%+v): answer has %q:\n%s", i, s, s.notWant, text)
		}
		if s.node != "" && c.Node != s.node {
			t.Errorf("step %d (%+v): at node %q, want %q", i, s, c.Node, s.node)
		}
		for _, m := range out {
			for _, ch := range m.Choices {
				seen[ch.Label] = ch.Data
			}
		}
	}
}

func dump(msgs []bot.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Title + "|" + m.Text + "|" + strings.Join(m.Steps, "/") + "|" + m.Note + "|")
		for _, c := range m.Choices {
			b.WriteString("[" + c.Label + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestEngineSteps(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		lang  bot.Lang
		end   bot.Status
	}{
		{name: "tap to advice and solved", steps: []step{
			{say: "こんにちは", want: "どうしましたか?", node: "start"},
			{tap: "登録したい", want: "端末は?", node: "ask_device"},
			{tap: "パソコン", want: "サインイン/登録", node: "advice_pc"},
			{tap: "はい、解決しました", want: "よかったです", node: "solved"},
		}, end: bot.StatusEnded},
		{name: "free text synonyms and width", steps: []step{
			{say: "ギフト券を登録したいです", want: "端末は?", node: "ask_device"},
		}},
		{name: "free text after greeting", steps: []step{
			{say: "hello", want: "What happened?"},
			{say: "I want to register", node: "ask_device"},
			{say: "my PHONE", node: "advice_sp", want: "Open the app"},
			{say: "no, still not working", node: "handoff"},
		}, lang: bot.English, end: bot.StatusHandoff},
		{name: "option number", steps: []step{
			{say: "やあ"}, {say: "1", node: "ask_device"}, {say: "２", node: "advice_sp"},
		}},
		{name: "advice not solved goes next", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {tap: "パソコン"}, {say: "まだ解決しない", node: "advice_sp"},
		}},
		{name: "intent at the start", steps: []step{
			{say: "期限切れかも", want: "発行日は?", node: "ask_date"},
		}},
		{name: "intent from another question", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {say: "it expired", node: "ask_date"},
		}},
		{name: "input parses then decides", steps: []step{
			{say: "期限切れ"}, {say: "2015", node: "advice_old", want: "2015年発行です"},
		}},
		{name: "input does not parse", steps: []step{
			{say: "期限切れ"}, {say: "去年", node: "ask_date", want: "例: 2016"},
			{say: "昔", node: "ask_date", want: "担当者と話す"},
			{say: "2020", node: "advice_new"},
		}},
		{name: "input shortcut option", steps: []step{
			{say: "期限切れ"}, {tap: "分からない", node: "handoff", want: "おつなぎします"},
		}, end: bot.StatusHandoff},
		{name: "two misses offer a person", steps: []step{
			{say: "やあ"},
			{say: "ふーむ", want: "うまく読み取れません", node: "start"},
			{say: "ぬぬぬ", want: "[担当者と話す]", node: "start"},
			{tap: "担当者と話す", node: "handoff"},
		}, end: bot.StatusHandoff},
		{name: "back", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {tap: "パソコン", node: "advice_pc"},
			{say: "戻る", node: "ask_device", want: "端末は?"},
			{say: "戻る", node: "start"},
			{say: "戻る", node: "start", want: "これより前には戻れません"},
		}},
		{name: "restart", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {say: "最初から", node: "start", want: "どうしましたか?"},
		}},
		{name: "help re-asks", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {say: "ヘルプ", node: "ask_device", want: "いつでも「最初から」"},
		}},
		{name: "help inside a sentence is not the command", steps: []step{
			{say: "hi"}, {say: "please help me register my card", node: "ask_device"},
		}, lang: bot.English},
		{name: "agent command", steps: []step{
			{say: "やあ"}, {say: "人と話したい", node: "handoff"},
		}, end: bot.StatusHandoff},
		{name: "switch language", steps: []step{
			{say: "やあ"}, {say: "English", want: "What happened?", node: "start"},
			{say: "日本語で", want: "どうしましたか?"},
		}},
		{name: "stale choice", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {tap: "パソコン"}, {tap: "スマホ", want: "前の質問のもの", node: "advice_pc"},
		}},
		{name: "input error with its own hint", steps: []step{
			{say: "期限切れ"}, {say: "2030", node: "ask_date", want: "未来の年です"},
		}},
		{name: "waiting for a person", steps: []step{
			{say: "やあ"}, {say: "人と話したい", node: "handoff"},
			{say: "まだですか?", node: "handoff", want: "お待ちください"},
			{say: "1", node: "handoff", want: "お待ちください"},
			{say: "最初からお願いします", node: "start", want: "どうしましたか?"},
		}},
		{name: "polite command", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {say: "最初からやり直したいです", node: "start"},
		}},
		{name: "polite english command", steps: []step{
			{say: "hi"}, {say: "can i talk to a real person please", node: "handoff"},
		}, end: bot.StatusHandoff},
		{name: "english word inside japanese", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {say: "PCです", node: "advice_pc"},
		}},
		{name: "the clause after but counts", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {tap: "パソコン"}, {say: "ありがとう、でもまだ使えない", node: "advice_sp"},
		}},
		{name: "negated solved", steps: []step{
			{say: "やあ"}, {tap: "登録したい"}, {tap: "パソコン"}, {say: "解決しませんでした", node: "advice_sp"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
			e := newTestEngine(t, clk)
			c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u1"}}
			runSteps(t, e, c, tt.steps)
			if tt.lang != "" && c.Lang != tt.lang {
				t.Errorf("lang = %q, want %q", c.Lang, tt.lang)
			}
			want := tt.end
			if want == "" {
				want = bot.StatusActive
			}
			if c.Status != want {
				t.Errorf("status = %q, want %q", c.Status, want)
			}
		})
	}
}

func TestEngineIdleRestart(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e := newTestEngine(t, clk)
	c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u1"}}
	runSteps(t, e, c, []step{{say: "やあ"}, {tap: "登録したい", node: "ask_device"}})
	c.Revision = 2 // as if saved
	clk.t = clk.t.Add(31 * time.Minute)
	out, err := e.Step(context.Background(), c, bot.Inbound{Kind: bot.InText, Text: "パソコン"})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(out); !strings.Contains(got, "最初からご案内します") || c.Node != "start" {
		t.Errorf("after idle: node %q, answer:\n%s", c.Node, got)
	}
	if len(c.Answers) != 0 {
		t.Errorf("answers kept after restart: %+v", c.Answers)
	}
}

func TestEngineFlowChanged(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e := newTestEngine(t, clk)
	c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u1"}, Status: bot.StatusActive,
		Node: "removed_node", FlowVersion: "old", Revision: 3, UpdatedAt: clk.t}
	out, err := e.Step(context.Background(), c, bot.Inbound{Kind: bot.InText, Text: "パソコン"})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(out); !strings.Contains(got, "更新されたため") || c.Node != "start" || c.FlowVersion != "v1" {
		t.Errorf("node %q version %q, answer:\n%s", c.Node, c.FlowVersion, got)
	}
}

func TestEngineDecisionErrorHandsOff(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	funcs := testFuncs()
	funcs.Decisions["old"] = bot.Decision{Outcomes: []string{"old", "new"}, Func: func(map[string]string, time.Time) (string, error) {
		return "", errors.New("cannot judge")
	}}
	e, err := bot.NewEngine(bot.EngineConfig{Flow: testFlow(), Funcs: funcs, Normalize: textnorm.Normalize, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u1"}}
	runSteps(t, e, c, []step{{say: "期限切れ"}, {say: "2015", node: "handoff", want: "うまく処理できませんでした"}})
	if c.Status != bot.StatusHandoff {
		t.Errorf("status = %q, want handoff", c.Status)
	}
}

func TestEngineFollowUnfollow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e := newTestEngine(t, clk)
	c := &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}}
	out, err := e.Step(context.Background(), c, bot.Inbound{Kind: bot.InFollow, Lang: bot.English})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(out); !strings.Contains(got, "Hello!") || !strings.Contains(got, "What happened?") {
		t.Errorf("follow answer:\n%s", got)
	}
	out, err = e.Step(context.Background(), c, bot.Inbound{Kind: bot.InUnfollow})
	if err != nil || len(out) != 0 || c.Status != bot.StatusEnded {
		t.Errorf("unfollow: out %v err %v status %q", out, err, c.Status)
	}
}

func TestEngineCancelledContext(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e := newTestEngine(t, clk)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u1"}}
	for _, text := range []string{"やあ", "1", "1"} {
		if _, err := e.Step(ctx, c, bot.Inbound{Kind: bot.InText, Text: text}); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
	}
	if c.Node != "advice_pc" {
		t.Errorf("node = %q, want advice_pc", c.Node)
	}
}

func BenchmarkEngineStep(b *testing.B) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e, err := bot.NewEngine(bot.EngineConfig{Flow: testFlow(), Funcs: testFuncs(), Normalize: textnorm.Normalize, Now: clk.now})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u1"}, Status: bot.StatusActive,
			Node: "ask_device", Path: []string{"start", "ask_device"}, FlowVersion: "v1", Revision: 1, UpdatedAt: clk.t}
		if _, err := e.Step(ctx, c, bot.Inbound{Kind: bot.InText, Text: "スマホです"}); err != nil {
			b.Fatal(err)
		}
	}
}
