package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/looplab/fsm"
)

// Postback data prefixes. Choice data is "o:<node>:<option>" for an option of a node and
// "c:<command>" for a global command, so a tap on an old question's button is recognised.
const (
	postbackOption  = "o:"
	postbackCommand = "c:"
	postbackJump    = "j:" // j:<node>: a "did you mean" jump
	postbackFAQ     = "f:" // f:<faq id>: a "did you mean" question
)

// Built-in option ids of advice nodes.
const (
	optSolved    = "solved"
	optNotSolved = "not_solved"
)

// Global commands.
const (
	cmdRestart  = "restart"
	cmdBack     = "back"
	cmdHelp     = "help"
	cmdAgent    = "agent"
	cmdEnglish  = "lang_en"
	cmdJapanese = "lang_ja"
)

// commandWords are the built-in synonyms of the global commands.
var commandWords = map[string]Words{
	cmdRestart: {
		JA: []string{"最初から", "はじめから", "最初に戻る", "最初からやり直す", "最初からやり直したい", "やり直し", "やりなおし",
			"やり直したい", "リセット", "メニュー"},
		EN: []string{"restart", "start over", "reset", "start again", "from the beginning", "menu"},
	},
	cmdBack: {
		JA: []string{"戻る", "戻って", "戻りたい", "前の質問", "ひとつ前", "一つ前", "前に戻る", "前の質問に戻る",
			"前の質問に戻りたい", "前に戻りたい", "一つ前に戻って", "ひとつ前に戻って", "一つ前に戻る", "前の質問に戻って",
			// Polite forms, matched before politeness is stripped from a clause.
			"戻ります", "戻れます", "戻っても"},
		EN: []string{"back", "go back", "previous", "previous question"},
	},
	cmdHelp: {
		JA: []string{"ヘルプ", "使い方", "使いかた", "どう使う"},
		EN: []string{"help", "how to use", "how does this work"},
	},
	cmdAgent: {
		JA: []string{"担当者", "担当者と話したい", "担当者につないで", "オペレーター", "オペレータ", "オペレーターにつないで",
			"人と話したい", "人間と話したい", "有人対応", "有人", "スタッフ", "人に相談したい", "人に代わって", "人につないで"},
		EN: []string{"agent", "human", "operator", "person", "talk to a person", "talk to a human", "real person",
			"representative", "staff", "speak to someone", "customer support agent", "talk to someone", "live agent"},
	},
	cmdEnglish:  {JA: []string{"英語", "英語で", "英語にして"}, EN: []string{"english", "in english", "english please"}},
	cmdJapanese: {JA: []string{"日本語", "日本語で"}, EN: []string{"japanese", "in japanese", "nihongo"}},
}

// EngineConfig configures an Engine. A zero field means the default.
type EngineConfig struct {
	Flow  *Flow
	Funcs Funcs
	// Normalize folds text for matching (width, case, kana); default lower-casing only.
	Normalize func(string) string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// IdleTimeout is how long a conversation may rest before the next message starts over;
	// default 30 minutes.
	IdleTimeout time.Duration
	// MaxMisses is how many answers in a row may go not understood before a human is
	// offered; default 2.
	MaxMisses int
}

// Engine steps conversations through a compiled flow. It holds no per-conversation state
// and is safe for concurrent use; each Step builds its own state machine.
type Engine struct {
	flow      *Flow
	funcs     Funcs
	texts     Texts
	normalize func(string) string
	now       func() time.Time
	idle      time.Duration
	maxMisses int

	nodes    map[string]*compiledNode
	events   map[string][]fsm.EventDesc // the flow as looplab/fsm events, by source node
	commands matcher
	intents  matcher
	faq      matcher // FAQ id by question
	faqs     map[string]*FAQ
	facts    []factMatcher
	agent    matcher  // strongAgentWords
	openers  matcher  // openerWords
	plans    matcher  // planWords
	fillers  []string // normalised fillerWords, longest first; English ones padded with spaces
	typos    *typos   // the English words of every phrase, for reading typos
	rules    *ruleBook
}

// utter prepares customer text for matching.
func (e *Engine) utter(s string) utterance {
	return correctedUtterance(e.normalize, e.typos, s)
}

type compiledNode struct {
	*Node
	options []Option // the node's options, with the engine's own for advice and the offer
	match   matcher  // option id by label or synonym
}

// NewEngine validates cfg.Flow and compiles it. It returns an error listing every problem
// Validate finds.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Flow == nil {
		return nil, errors.New("new engine: no flow")
	}
	if probs := Validate(cfg.Flow, cfg.Funcs); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.String()
		}
		return nil, fmt.Errorf("flow %s: %s", cfg.Flow.ID, strings.Join(msgs, "; "))
	}
	e := &Engine{
		flow:      cfg.Flow,
		funcs:     cfg.Funcs,
		texts:     cfg.Flow.Texts.withDefaults(),
		normalize: cfg.Normalize,
		now:       cfg.Now,
		idle:      cfg.IdleTimeout,
		maxMisses: cfg.MaxMisses,
		nodes:     make(map[string]*compiledNode, len(cfg.Flow.Nodes)+1),
		events:    make(map[string][]fsm.EventDesc, len(cfg.Flow.Nodes)+1),
	}
	if e.normalize == nil {
		e.normalize = func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	}
	e.rules = &ruleBook{normalize: e.normalize, concepts: cfg.Flow.Concepts}
	if e.now == nil {
		e.now = time.Now
	}
	if e.idle == 0 {
		e.idle = 30 * time.Minute
	}
	if e.maxMisses == 0 {
		e.maxMisses = 2
	}
	for i := range cfg.Flow.Nodes {
		e.compile(&cfg.Flow.Nodes[i])
	}
	for _, f := range fillerWords {
		if p, ok := newPhrase(e.normalize, f); ok {
			if p.ascii {
				e.fillers = append(e.fillers, p.spaced) // whole words: " me "
			} else {
				e.fillers = append(e.fillers, p.compact)
			}
		}
	}
	slices.SortFunc(e.fillers, func(a, b string) int { return len(b) - len(a) })
	for cmd, w := range commandWords {
		e.commands.add(e.normalize, cmd, w.All()...)
	}
	for _, in := range cfg.Flow.Intents {
		e.intents.addRules(e.rules, in.Target, in.Synonyms.All()...)
	}
	e.faqs = make(map[string]*FAQ, len(cfg.Flow.FAQ))
	for i := range cfg.Flow.FAQ {
		q := &cfg.Flow.FAQ[i]
		e.faqs[q.ID] = q
		e.faq.addRules(e.rules, q.ID, q.Questions.All()...)
	}
	for _, f := range cfg.Flow.Facts {
		fm := factMatcher{id: f.ID, item: f.Item}
		for _, v := range f.Values {
			fm.match.addRules(e.rules, v.ID, v.Synonyms.All()...)
			if strings.HasPrefix(v.ID, notValuePrefix) {
				for _, w := range v.Synonyms.All() {
					if w = strings.TrimSpace(splitScripts(e.normalize(w))); w != "" && !isRule(w) {
						fm.notValue = append(fm.notValue, w)
					}
				}
			}
		}
		e.facts = append(e.facts, fm)
	}
	e.agent.add(e.normalize, cmdAgent, strongAgentWords...)
	e.openers.add(e.normalize, "opener", openerWords...)
	e.openers.add(e.normalize, "opener", e.flow.Topics.All()...)
	e.plans.add(e.normalize, optSolved, planWords...)
	e.typos = newTypos()
	ms := []*matcher{&e.commands, &e.intents, &e.faq, &e.agent, &e.openers, &e.plans}
	for i := range e.facts {
		ms = append(ms, &e.facts[i].match)
	}
	for _, n := range e.nodes {
		ms = append(ms, &n.match)
	}
	for _, m := range ms {
		for _, en := range m.entries {
			e.typos.learn(en.p)
		}
	}
	e.typos.lex.automata() // the one-pass search of every phrase, built now rather than on the first message
	return e, nil
}

func (e *Engine) solvedNode() string  { return orDefault(e.flow.Solved, "solved") }
func (e *Engine) handoffNode() string { return orDefault(e.flow.Handoff, "handoff") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// compile turns one node into its looplab/fsm events and its option matcher.
func (e *Engine) compile(n *Node) {
	cn := &compiledNode{Node: n, options: n.Options}
	if n.Kind == KindAdvice {
		// Advice that is the flow's last word: a customer it did not help is handed to a
		// person ("the seller isn't replying").
		notSolved := n.Next
		if notSolved == "" {
			notSolved = e.handoffNode()
		}
		cn.options = []Option{
			{ID: optSolved, Label: e.texts.SolvedYes, Next: e.solvedNode(), Synonyms: solvedWords},
			{ID: optNotSolved, Label: e.texts.SolvedNo, Next: notSolved, Synonyms: notSolvedWords},
		}
	}
	var evs []fsm.EventDesc
	for _, o := range cn.options {
		evs = append(evs, fsm.EventDesc{Name: o.ID, Src: []string{n.ID}, Dst: o.Next})
		cn.match.add(e.normalize, o.ID, o.Label.JA, o.Label.EN)
		cn.match.addRules(e.rules, o.ID, o.Synonyms.All()...)
	}
	switch n.Kind {
	case KindInput:
		evs = append(evs, fsm.EventDesc{Name: "parsed", Src: []string{n.ID}, Dst: n.Next})
	case KindDecision:
		for outcome, next := range n.Branches {
			evs = append(evs, fsm.EventDesc{Name: outcome, Src: []string{n.ID}, Dst: next})
		}
	}
	e.nodes[n.ID] = cn
	e.events[n.ID] = evs
}

// Words for the yes/no answers of advice nodes, in addition to their labels.
var (
	solvedWords = Words{
		JA: []string{"はい", "解決", "解決した", "解決しました", "できた", "できました", "使えた", "使えました", "登録できた",
			"大丈夫", "ありがとう", "OK", "うん", "いけた", "いけました", "直った", "なおった", "ばっちり",
			// Acknowledgements: the advice is understood and will be followed.
			"わかりました", "分かりました", "了解", "りょうかい", "承知しました", "なるほど", "電話してみます", "問い合わせてみます",
			"連絡してみます", "やってみます", "試してみます", "確認してみます", "そうします", "そうしてみます", "してみます",
			"連絡します", "電話します", "問い合わせます", "電話してみる", "連絡してみる", "やってみる", "試してみる",
			// Acceptance, and the cause found: nothing more to do here.
			"そっか", "そうか", "あきらめ", "諦め", "仕方ない", "しかたない", "しょうがない", "残念", "てたみたい", "だったみたい",
			"わかった", "判明", "原因がわか", "見れました", "見られました", "できました!", "いけました", "通りました",
			// Casual yeses and thanks.
			"はーい", "おっけー", "オッケー", "おけです", "あざす", "あざっす", "さんきゅ", "サンキュー", "助かりました", "助かった", "感謝",
			"おけ", "おけまる", "りょ", "りょです", "りょーかい", "あざまる", "あざます", "ありがと", "承知",
			"できそう", "いけそう", "でけた", "おおきに",
			// Relief (「じゃあまだ使えるんですね よかった」): the worry is gone.
			"よかった", "良かった", "安心しました", "安心した", "ほっとしました", "ほっとした",
			// Romaji replies from customers who type Japanese in Latin letters.
			"dekita", "dekimashita", "arigatou", "arigato", "daijoubu", "wakarimashita", "wakatta"},
		EN: []string{"yes", "yep", "yeah", "solved", "it worked", "worked", "fixed", "thanks", "thank you", "ok", "great",
			"that did it", "all good", "perfect", "got it", "understood", "i see", "will do", "ill try", "i will try",
			"ill call", "i will call", "ill contact", "ill give it a try", "ill do that", "makes sense", "alright", "okay",
			"ill reach out", "ill contact them", "ill call them", "ill try that", "will try that", "thanks ill",
			"oh well", "done", "all set", "sorted", "went through", "that fixed it", "figured it out", "cheers", "ty", "thx",
			"appreciate it", "sounds good", "noted", "will try", "that worked", "worked now", "got it working", "k", "kk", "yup", "that was it", "yay", "woohoo", "worked like a charm",
			"found it", "turns out", "my bad", "my mistake", "forgot to", "makes sense now", "i see now", "sure", "cool", "fine",
			"appreciate", "helped", "that helped", "good to know", "phew", "relieved", "thats a relief", "what a relief", "glad",
			"ta", "ta very much", "lesson learned", "welp", "fair enough", "never mind", "nevermind", "no worries"},
	}
	notSolvedWords = Words{
		JA: []string{"いいえ", "まだ", "解決しない", "解決していない", "解決してない", "解決しませんでした", "解決しなかった",
			"解決できない", "解決できません", "解決できず", "だめ", "ダメ", "できない", "できません", "できませんでした",
			"使えない", "使えません", "使えなかった", "変わらない", "変わりません", "うまくいかない", "無理", "むり", "同じ",
			"いや", "いえ", "違う", "ちがう", "違います", "関係ない", "関係ありません", "変わらず", "直らない", "同じエラー",
			"見つからない", "見当たらない", "効果なし", "ダメでした", "返事がない", "返信がない", "連絡がつかない", "連絡つかない",
			"無視され", "試しました", "試した", "もうやった", "やりました", "やったけど", "試したけど", "やってみたけど", "試してみたけど", "相変わらず",
			// Still failing in other words, and a request for another way: not solved.
			"グレー", "灰色", "結局どう", "どうにもならない", "どうにかならない", "なんとかならない", "はずなん", "はずなのに",
			"はずだけど", "はずですけど", "退会", "連絡取れな", "連絡とれな", "エラー出ます", "エラーが出ます", "エラーになります", "エラー出る", "エラーが出る", "別の方法", "他の方法", "ほかの方法",
			"dekinai", "dekimasen", "dame", "mada",
			"あかん", "あかんかった", "納得いかない", "納得できない", "分からないって", "わからないって", "分からないと言われ", "わからないと言われ", "できないって", "できないと言われ"},
		EN: []string{"no", "nope", "not yet", "not solved", "didnt work", "doesnt work", "still", "still not", "not working",
			"cant", "not really", "same problem", "still the same", "did not work", "does not work", "didnt help",
			"doesnt help", "same error", "no luck", "still getting", "still says", "not fixed", "didnt fix", "blocked me",
			"no reply", "not replying", "wont reply", "ignored", "ignoring", "no response", "not responding", "already tried",
			"already did", "tried that", "did that already", "nah", "negative", "nothing i can do", "nothing else i can do", "greyed out", "grayed out", "same", "same thing", "another way", "other way",
			"anything else",
			// Indignation at the advice: it settled nothing for the customer.
			"ridiculous", "unacceptable", "thats a joke", "this is a joke", "i just lose", "not fair", "unfair", "outrageous", "rip off", "ripoff"},
	}
)

// Step applies one inbound event to c and returns the messages to send. It mutates c
// (the caller saves it) and does no I/O. ctx is used only to fire state-machine events and
// is never cancelled there (a cancelled context wedges looplab/fsm v1.0.3).
func (e *Engine) Step(ctx context.Context, c *Conversation, in Inbound) ([]Message, error) {
	now := e.now()
	t := &turn{e: e, ctx: ctx, c: c, now: now}
	if in.Lang != "" && c.Lang == "" {
		c.Lang = in.Lang
	}
	switch in.Kind {
	case InUnfollow:
		c.Status = StatusEnded
		c.UpdatedAt = now
		return nil, nil
	case InFollow:
		t.reset(in)
		t.say(e.texts.Greeting)
		return t.enter(e.flow.Start)
	case InJoin:
		// Added to a group: nobody's language is known, so both; the flow starts when
		// someone asks.
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		c.UpdatedAt = now
		g := e.texts.GroupGreeting
		return []Message{{Kind: MsgText, Text: g.JA + "\n\n" + g.EN}}, nil
	}

	if c.Status == StatusHandoff && now.Sub(c.UpdatedAt) <= e.idle {
		// A person has been asked for: the flow does not answer, but the customer can
		// start over.
		if in.Kind == InText {
			u := e.utter(in.Text)
			if cmd, score := e.commands.best(u); cmd == cmdRestart && e.isCommand(u, score) {
				return t.command(cmdRestart)
			}
		}
		if in.Kind == InPostback && in.Postback == postbackCommand+cmdRestart {
			return t.command(cmdRestart)
		}
		t.say(e.texts.HandoffWaiting)
		return t.out, nil
	}
	var notice *Text
	switch {
	case c.Node == "" || c.Status != StatusActive:
		t.reset(in)
		if c.Revision == 0 {
			t.say(e.texts.Greeting)
		}
	case now.Sub(c.UpdatedAt) > e.idle:
		notice = &e.texts.IdleRestart
	case e.nodes[c.Node] == nil || !e.nodes[c.Node].Kind.waits():
		notice = &e.texts.FlowChanged
	}
	if notice != nil {
		t.reset(in)
		t.say(*notice)
	}
	c.FlowVersion = e.flow.Version
	if in.Kind == InText {
		t.detectLang(clip(in.Text))
	}
	if c.Node == "" {
		// A new conversation: the first words may already answer the first question or
		// name the problem; if they do not, the first question is simply asked.
		if in.Kind != InText {
			return t.enter(e.flow.Start)
		}
		c.Node, c.Path = e.flow.Start, []string{e.flow.Start}
		t.fresh = true
	}
	return t.answer(in)
}

// detectLang takes the conversation's language from the customer's first words that
// show one, even when a greeting already went out in the channel's profile language.
func (t *turn) detectLang(text string) {
	c := t.c
	if c.Vars[langSetVar] != "" {
		return
	}
	l, ok := textLang(text)
	if !ok {
		return
	}
	if l == English && t.e.normalize != nil && !strings.ContainsFunc(text, isJapaneseRune) {
		// Japanese typed in Latin letters reads as kana once normalised (an English
		// sentence around a Japanese word was told apart above).
		if jl, _ := textLang(t.e.normalize(text)); jl == Japanese {
			l = Japanese
		}
	}
	if c.Vars == nil {
		c.Vars = map[string]string{}
	}
	c.Vars[langSetVar] = "text"
	c.Lang = l
}

// stillSame reports whether a reply says the problem goes on ("no, and I still want that
// charge moved", 「いいえ、まだ使えません」) rather than telling a new one.
func stillSame(u utterance) bool {
	return strings.Contains(u.spaced, " still ") || strings.Contains(u.compact, "まだ") ||
		strings.Contains(u.compact, "相変わらず") || strings.Contains(u.compact, "やっぱり")
}

// isJapaneseRune reports whether r is kana or kanji.
func isJapaneseRune(r rune) bool {
	return unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han)
}

// textLang says which language text is written in: kana or kanji mean Japanese, unless an
// English sentence carries them ("hi, my ギフト券 code says invalid": two English function
// words and more Latin letters than Japanese characters); two or more words of Latin
// letters, and no Japanese, mean English. Numbers, a code, a single word ("iPhone") say
// nothing.
func textLang(s string) (Lang, bool) {
	words, function, latin, japanese, hiragana := 0, 0, 0, 0, 0
	split := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) && r != 0x27 }
	for _, w := range strings.FieldsFunc(s, split) {
		letters, other := 0, false
		for _, r := range w {
			switch {
			case unicode.In(r, unicode.Hiragana):
				japanese++
				hiragana++
			case unicode.In(r, unicode.Katakana, unicode.Han):
				japanese++
			case r < 0x80 && unicode.IsLetter(r):
				letters++
			case r < 0x80 && unicode.IsDigit(r):
				other = true
			}
		}
		latin += letters
		if slices.Contains(englishFunctionWords, strings.ToLower(strings.ReplaceAll(w, "'", ""))) {
			function++
		}
		if letters >= 2 && !other {
			words++
		}
	}
	if japanese > 0 {
		if function >= 2 && latin > japanese {
			return English, true
		}
		// A Japanese name in an English sentence ("ギフト券 balance gone, what happen?"):
		// without hiragana there is no Japanese grammar around it.
		if hiragana == 0 && words >= 3 && latin > 2*japanese {
			return English, true
		}
		return Japanese, true
	}
	if words == 1 {
		// A greeting or a plea alone ("hey", "help") is English enough; a brand or a code
		// ("iPhone") is not.
		if w := strings.ToLower(strings.Trim(s, " !?.,")); slices.Contains(englishAlone, w) {
			return English, true
		}
	}
	return English, words >= 2
}

// englishFunctionWords are words only an English sentence has.
var englishFunctionWords = []string{"i", "my", "me", "it", "its", "the", "a", "an", "is", "was", "on", "in", "to",
	"from", "and", "but", "says", "said", "with", "of", "this", "that", "for", "do", "does", "can", "cant", "dont"}

// englishAlone are the single English words that set the conversation's language.
var englishAlone = []string{"hi", "hello", "hey", "help", "thanks", "please", "sorry", "hiya", "yo", "expire", "expired",
	"invalid", "redeem", "refund"}

// Prompt returns the messages that ask c's current question again, as when a terminal chat
// resumes a stored conversation. It does not change c.
func (e *Engine) Prompt(c *Conversation) []Message {
	n := e.nodes[c.Node]
	if n == nil || c.Status != StatusActive {
		return nil
	}
	t := &turn{e: e, c: c, now: e.now()}
	t.render(n)
	return t.out
}

// Restart starts c over at the flow's first question and returns the messages that ask it.
func (e *Engine) Restart(c *Conversation) []Message {
	t := &turn{e: e, c: c, now: e.now(), ctx: context.Background()}
	t.reset(Inbound{})
	out, err := t.enter(e.flow.Start)
	if err != nil { // the start node is a validated question: cannot happen
		return nil
	}
	return out
}

// Explain describes c's diagnosis for a person, in lang: one line per answer given
// ("question → answer") and the last advice shown, if any.
func (e *Engine) Explain(c *Conversation, lang Lang) (path []string, advice string) {
	for _, a := range c.Answers {
		n := e.nodes[a.Node]
		if n == nil {
			continue
		}
		q := shorten(n.Text.In(lang), 60)
		if n.Kind == KindAdvice {
			q = n.Title.In(lang)
		}
		ans := a.Value
		if o := n.option(a.Option); o != nil {
			ans = o.Label.In(lang)
		} else if a.Option != "" {
			ans = a.Option
		}
		path = append(path, q+" → "+ans)
	}
	for i := len(c.Path) - 1; i >= 0; i-- {
		if n := e.nodes[c.Path[i]]; n != nil && n.Kind == KindAdvice {
			advice = n.Title.In(lang)
			break
		}
	}
	return path, advice
}

// turn is the work of one Step.
type turn struct {
	e   *Engine
	ctx context.Context
	c   *Conversation
	now time.Time
	out []Message
	// fresh is set for a new conversation's first words: when they do not name the
	// problem, the first question is asked without a "not understood".
	fresh bool
	// carry is the message being handled, for the next question it leads to (carryOver);
	// carryMin, when set, is the least score it needs there (default minCarryScore).
	carry    *utterance
	carryMin int
}

func (t *turn) lang() Lang {
	if t.c.Lang == "" {
		return Japanese
	}
	return t.c.Lang
}

func (t *turn) say(text Text) {
	t.out = append(t.out, Message{Kind: MsgText, Text: t.fill(text.In(t.lang()))})
}

// sayf says text with %s replaced by arg.
func (t *turn) sayf(text Text, arg string) {
	t.out = append(t.out, Message{Kind: MsgText, Text: strings.Replace(text.In(t.lang()), "%s", arg, 1)})
}

// reset starts the conversation over, keeping its key, language and creation time.
func (t *turn) reset(in Inbound) {
	c := t.c
	if c.CreatedAt.IsZero() {
		c.CreatedAt = t.now
	}
	if c.Lang == "" {
		c.Lang = in.Lang
	}
	if c.Lang == "" && in.Kind == InText {
		c.Lang = detectLang(in.Text)
	}
	c.Status = StatusActive
	c.Node = ""
	c.Path = nil
	c.Answers = nil
	langSet := c.Vars[langSetVar]
	c.Vars = map[string]string{}
	if langSet != "" && in.Kind != InFollow {
		// The language the customer chose or wrote in outlives a restart.
		c.Vars[langSetVar] = langSet
	}
	c.Misses = 0
	c.FlowVersion = t.e.flow.Version
	c.UpdatedAt = t.now
}

// detectLang guesses the language of a customer's first words: any kana or kanji means
// Japanese, Latin letters alone mean English.
func detectLang(s string) Lang {
	latin := false
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return Japanese
		}
		if r < 0x80 && unicode.IsLetter(r) {
			latin = true
		}
	}
	if latin {
		return English
	}
	return Japanese
}

// answer handles an answer to the current node.
func (t *turn) answer(in Inbound) ([]Message, error) {
	c, e := t.c, t.e
	n := e.nodes[c.Node]
	if data, ok := t.suggested(in); ok {
		// 「2」 or a button's label typed after 「もしかして…」: that button.
		in = Inbound{Kind: InPostback, Postback: data, Text: in.Text}
	}
	if in.Kind == InPostback {
		switch {
		case strings.HasPrefix(in.Postback, postbackCommand):
			return t.command(strings.TrimPrefix(in.Postback, postbackCommand))
		case strings.HasPrefix(in.Postback, postbackJump):
			if target := strings.TrimPrefix(in.Postback, postbackJump); e.nodes[target] != nil {
				return t.enter(target)
			}
		case strings.HasPrefix(in.Postback, postbackFAQ):
			if q := e.faqs[strings.TrimPrefix(in.Postback, postbackFAQ)]; q != nil {
				return t.faqAnswer(n, q)
			}
		case strings.HasPrefix(in.Postback, postbackOption):
			node, opt, _ := strings.Cut(strings.TrimPrefix(in.Postback, postbackOption), ":")
			if node != c.Node {
				t.say(e.texts.StaleChoice)
				t.render(n)
				return t.out, nil
			}
			if o := n.option(opt); o != nil {
				return t.choose(n, o)
			}
		}
		// Unknown postback data: treat the label the channel showed as typed text.
		in = Inbound{Kind: InText, Text: in.Text}
	}
	text := clip(in.Text)
	u := e.utter(text)
	if n.Kind == KindAdvice && turnsToAnother(u) {
		// "no, and also my other card says already used": a new problem, with facts of its own.
		t.forgetItem()
	}
	changed, typed := t.readFacts(text, u)
	m := e.interpret(n, text, u, t.now, t.routeOption)
	if m.Kind == MatchOption && n.Kind == KindQuestion {
		// "on my phone, i dont have a computer": an option whose fact the message itself
		// states otherwise (its word found denied) gives way to the option of that fact.
		if o := n.option(m.Target); o != nil && e.factsDeny(o, u) {
			if k := t.knownOption(n); k != nil && k != o {
				m.Target = k.ID
			}
		}
	}
	if m.Kind != MatchCommand {
		// A fact that changed after the question it answered: decide again from there
		// ("oh wait, with shipping it's 5,210 yen").
		if id, ok := t.redecideFrom(changed); ok {
			return t.redecide(id)
		}
		// At "did that solve it?", a value typed earlier corrected without naming what
		// it is ("sorry, it was 2014 not 2019"): the same.
		if n.Kind == KindAdvice && len(changed) == 0 && correcting(u) {
			if id, ok := t.correctInput(text); ok {
				return t.redecide(id)
			}
		}
	}
	if n.ID == e.flow.Start && m.Kind != MatchCommand {
		if id, ok := t.allInputsOf(typed); ok {
			// Every value a check needs, stated at once: the check decides.
			t.carry = &u
			return t.enter(id)
		}
		// 「登録できない！番号→AQ7K-…」: a value that an option of the first question asks
		// for, typed beside no more than a symptom, goes to that input, whose check decides.
		if m.Kind == MatchNone || m.Kind == MatchOption && n.match.scoreOf(m.Target, u)%1000 <= symptomScore {
			if id, ok := t.startInputOf(n, typed); ok && (m.Kind == MatchNone || n.option(m.Target).Next != id) {
				t.carry = &u
				return t.enter(id)
			}
		}
	}
	if m.unsure {
		// "hmm not sure": nothing was misunderstood; the closing question and its buttons
		// again, without the advice or an apology.
		t.c.UpdatedAt = t.now
		t.reprompt(n)
		return t.out, nil
	}
	switch m.Kind {
	case MatchOption:
		carry := u
		if n.Kind == KindAdvice {
			// A yes or no to "did that solve it?" says nothing about the next question;
			// what else the message says may.
			carry = e.withoutAnswers(n, u)
		}
		t.carry = &carry
		if n.Kind == KindAdvice && m.Target == optNotSolved {
			// "no. my other gift card says invalid too": a new problem where the advice
			// leads to no question that could take it is read from the start question.
			o := n.option(optNotSolved)
			if next := e.nodes[o.Next]; next != nil && next.Kind != KindQuestion && !stillSame(u) {
				start := e.nodes[e.flow.Start]
				probe := &turn{e: e, c: c, carry: &carry}
				if so := probe.carryOverMin(start, minCarryScore); so != nil && so.Next != n.ID {
					t.carry = &carry
					return t.enter(start.ID)
				}
			}
			// What follows a no is about the next question (「まだです、無効って出ます」):
			// a word of one of its options is enough.
			t.carryMin = 2
		}
		return t.choose(n, n.option(m.Target))
	case MatchCommand:
		if m.Target == cmdEnglish || m.Target == cmdJapanese {
			// "sorry, English please. My code is rejected": the language, then the rest.
			if rest := e.withoutLangRequest(text); rest != "" {
				ru := e.utter(rest)
				// A person asked for beside the language ("english ok? i want to talk to a
				// human") is that too; another language request is not read again.
				if rm := e.interpret(n, rest, ru, t.now, t.routeOption); rm.Kind != MatchNone &&
					(rm.Kind != MatchCommand || rm.Target == cmdAgent) {
					t.switchLang(m.Target)
					return t.answer(Inbound{Kind: InText, Text: rest})
				}
			}
		}
		return t.command(m.Target)
	case MatchInput:
		return t.parsed(n, m.vars)
	case MatchJump:
		if o := n.option(optNotSolved); n.Kind == KindAdvice && o != nil &&
			(m.Target == n.ID || stillSame(u) || e.routesTo(m.Target, n.ID, t.routeOption)) {
			// The problem the advice was for, told again or said to go on ("no, and I
			// still want that charge moved"): the advice did not solve it; sending it or
			// a neighbour again would not.
			carry := e.withoutAnswers(n, u)
			t.carry = &carry
			return t.choose(n, o)
		}
		t.carry = &u
		return t.enter(m.Target)
	case MatchFAQ:
		if !isQuestion(text, u) && n.Kind != KindInput {
			// 「残高¥4,800 / 合計¥5,150（送料込み）です」: a statement of facts a question asks
			// for is about that question, not the FAQ its words touch.
			if id, ok := t.factNode(typed); ok {
				return t.enter(id)
			}
			// At "did that solve it?", a statement the FAQ touches (「期限内なのに急に使え
			// なくなりました」) tells that the advice did not solve it; it asks nothing.
			if o := n.option(optNotSolved); n.Kind == KindAdvice && o != nil {
				carry := e.withoutAnswers(n, u)
				t.carry = &carry
				return t.choose(n, o)
			}
		}
		return t.faqAnswer(n, e.faqs[m.Target])
	case MatchSuggest:
		return t.suggest(n, m.suggest)
	}
	if n.Kind == KindAdvice && n.Next != "" {
		// Not a yes or no, but an answer to the question that follows the advice
		// (「登録しようとしたら無効って出ます」 after the registration steps): not solved,
		// and that question answered.
		if q := e.nodes[n.Next]; q != nil && q.Kind == KindQuestion {
			probe := &turn{e: e, c: c, carry: &u}
			if probe.carryOverMin(q, 2) != nil {
				t.carry, t.carryMin = &u, 2
				return t.choose(n, n.option(optNotSolved))
			}
		}
	}
	if n.Kind == KindQuestion {
		// 「ジモティーで個人から買ったんです」 names no option but a fact one of them stands for.
		if o := t.knownOption(n); o != nil {
			return t.choose(n, o)
		}
	}
	if id, ok := t.factNode(typed); ok && n.Kind != KindInput {
		// Nothing else was understood, but the message states a fact a question asks for.
		return t.enter(id)
	}
	quiet := n.ID == e.flow.Start && len(c.Answers) == 0 && c.Misses == 0 && c.Vars[reaskedVar] == ""
	if t.fresh || (n.ID == e.flow.Start && m.opener) || quiet {
		// The customer's first words name no problem we know (「すみませーん」, "hi"): the
		// start question asks for it, without an apology; a second such message is not
		// understood.
		c.Vars[reaskedVar] = "1"
		// 「Amazonギフト券が使えない」: the problem is not named yet, which is what the first
		// question asks; nothing was misunderstood.
		t.c.UpdatedAt = t.now
		t.render(n)
		return t.out, nil
	}
	if n.Kind == KindInput {
		var ie *InputError
		if errors.As(m.err, &ie) && !ie.Hint.IsZero() {
			return t.miss(n, ie.Hint)
		}
		return t.miss(n, n.Hint)
	}
	return t.miss(n, e.texts.NotUnderstood)
}

// faqAnswer answers a direct question, then asks the pending question again (a
// digression): for advice, only "did that solve it?".
func (t *turn) faqAnswer(n *compiledNode, q *FAQ) ([]Message, error) {
	lang := t.lang()
	text := t.fill(q.Text.In(lang))
	for i, s := range q.Steps {
		text += "\n" + strconv.Itoa(i+1) + ". " + t.fill(s.In(lang))
	}
	t.out = append(t.out, Message{Kind: MsgText, Text: text, FAQ: q.ID})
	t.c.UpdatedAt = t.now
	t.c.Misses = 0
	if n.ID == t.e.flow.Start {
		// 「ギフト券で払えない商品ってあるの？」 as the first message: answered, then the
		// question of the entry's own section (what are you trying to buy?) rather than
		// the first question again.
		if id := t.e.ownQuestion(q.Section); id != "" {
			return t.enter(id)
		}
	}
	t.reprompt(n)
	return t.out, nil
}

// ownQuestion returns the first question of the flow whose article section is sec itself,
// a whole section ("4", not "4-1"), whose text shows no variable and none of whose options
// hands over to a person: the question that opens the section's diagnosis. "" when there
// is none.
func (e *Engine) ownQuestion(sec string) string {
	if sec == "" || strings.Contains(sec, "-") {
		return ""
	}
	for _, fn := range e.flow.Nodes {
		if fn.ID == e.flow.Start || fn.Kind != KindQuestion || fn.Section != sec || strings.Contains(fn.Text.JA+fn.Text.EN, "{{") {
			continue
		}
		if !slices.ContainsFunc(fn.Options, func(o Option) bool {
			next := e.nodes[o.Next]
			return next != nil && next.Kind == KindHandoff
		}) {
			return fn.ID
		}
	}
	return ""
}

// reprompt asks n again after a digression.
func (t *turn) reprompt(n *compiledNode) {
	if n.Kind == KindAdvice {
		t.out = append(t.out, Message{Kind: MsgQuestion, Text: t.e.texts.SolvedPrompt.In(t.lang()), Choices: t.choices(n)})
		return
	}
	t.render(n)
}

// suggest offers the candidates that were too close to call as buttons, beside the
// current question's own.
func (t *turn) suggest(n *compiledNode, cands []candidate) ([]Message, error) {
	lang := t.lang()
	var choices []Choice
	for _, c := range cands {
		switch c.kind {
		case MatchOption:
			choices = append(choices, Choice{Label: n.option(c.target).Label.In(lang), Data: postbackOption + n.ID + ":" + c.target})
		case MatchJump:
			choices = append(choices, Choice{Label: t.e.jumpLabel(c.target).In(lang), Data: postbackJump + c.target})
		case MatchFAQ:
			choices = append(choices, Choice{Label: shorten(t.e.faqs[c.target].Questions.first(lang), MaxLabelRunes), Data: postbackFAQ + c.target})
		}
	}
	t.c.UpdatedAt = t.now
	t.out = append(t.out, Message{Kind: MsgQuestion, Text: t.e.texts.DidYouMean.In(lang), Choices: choices})
	if t.c.Vars == nil {
		t.c.Vars = map[string]string{}
	}
	var mem []string
	for _, ch := range choices {
		mem = append(mem, ch.Data, ch.Label)
	}
	t.c.Vars[suggestVar] = strings.Join(mem, "\n")
	return t.out, nil
}

// reaskedVar marks a conversation whose start question was asked again, without an
// apology, after words that named no problem.
const reaskedVar = "_reasked"

// suggestVar keeps the buttons of the last 「もしかして…」 for one turn, as postback data
// and label on alternate lines, so that a number or a label typed next is that button.
const suggestVar = "_suggest"

// suggested returns the postback data of the button that text typed right after a
// 「もしかして…」 names (its number or its label), and forgets the buttons.
func (t *turn) suggested(in Inbound) (string, bool) {
	mem := t.c.Vars[suggestVar]
	if mem == "" {
		return "", false
	}
	delete(t.c.Vars, suggestVar)
	if in.Kind != InText {
		return "", false
	}
	lines := strings.Split(mem, "\n")
	u := t.e.utter(in.Text)
	if i, ok := optionNumber(u); ok && 2*i <= len(lines) {
		return lines[2*(i-1)], true
	}
	for i := 0; i+1 < len(lines); i += 2 {
		if l := t.e.utter(lines[i+1]); l.compact != "" && l.compact == u.compact {
			return lines[i], true
		}
	}
	return "", false
}

// jumpLabel names a jump target on a button: the intent's label, a start option leading
// there, or the target's title or text, shortened.
func (e *Engine) jumpLabel(target string) Text {
	for _, in := range e.flow.Intents {
		if in.Target == target && !in.Label.IsZero() {
			return in.Label
		}
	}
	if start := e.nodes[e.flow.Start]; start != nil {
		for _, o := range start.options {
			if o.Next == target {
				return o.Label
			}
		}
	}
	n := e.nodes[target]
	t := n.Title
	if t.IsZero() {
		t = n.Text
	}
	return Text{JA: shorten(t.JA, MaxLabelRunes), EN: shorten(t.EN, MaxLabelRunes)}
}

// MatchKind says how free text was understood.
type MatchKind string

// The ways free text can be understood, in the order they are tried.
const (
	MatchOption  MatchKind = "option"  // an option of the current node
	MatchCommand MatchKind = "command" // a global command
	MatchInput   MatchKind = "input"   // a value the current input node parsed
	MatchJump    MatchKind = "jump"    // an intent leading to another node
	MatchFAQ     MatchKind = "faq"     // a direct question the flow answers
	MatchSuggest MatchKind = "suggest" // too close to call: the closest are offered
	MatchNone    MatchKind = "none"    // not understood
)

// Match is how free text was understood at a node: Target is the option id, the command,
// or the node jumped to.
type Match struct {
	Kind   MatchKind
	Target string
	// Suggest lists the targets offered when Kind is MatchSuggest, closest first.
	Suggest []string
	vars    map[string]string
	err     error // why an input node's parser rejected the text
	suggest []candidate
	opener  bool // nothing matched, but the text is about a gift card not working
	unsure  bool // a reply to "did that solve it?" that is neither yes nor no
}

// Interpret returns how text typed at node would be understood, without changing anything:
// the node's options first, then global commands, then (at an input node) the value, then
// jump intents. It is what Step does with free text, exposed for accuracy tests and reports.
func (e *Engine) Interpret(node, text string) Match {
	n := e.nodes[node]
	if n == nil {
		return Match{Kind: MatchNone}
	}
	text = clip(text)
	return e.interpret(n, text, e.utter(text), e.now(), nil)
}

// Long messages are read in part: the first clipHead and the last clipTail characters,
// which is where customers say what they want; a pasted page in between is skipped. This
// keeps a turn well under a millisecond whatever arrives.
const (
	clipHead = 300
	clipTail = 100
)

// clip returns s, or its first clipHead and last clipTail characters when it is longer.
func clip(s string) string {
	if len(s) <= (clipHead+clipTail)*utf8.UTFMax && utf8.RuneCountInString(s) <= clipHead+clipTail {
		return s
	}
	head, n := 0, 0
	for i := range s {
		if n == clipHead {
			head = i
			break
		}
		n++
	}
	tail, n := len(s), 0
	for tail > 0 && n < clipTail {
		_, size := utf8.DecodeLastRuneInString(s[:tail])
		tail -= size
		n++
	}
	if tail < head {
		return s
	}
	return s[:head] + "\n" + s[tail:]
}

// interpret is Interpret on a prepared utterance; known, when not nil, says which option
// of a question the conversation's facts already answer.
func (e *Engine) interpret(n *compiledNode, text string, u utterance, now time.Time, known func(*compiledNode) *Option) Match {
	// A language request is only that ("sorry I can't read Japanese, English please?").
	if cmd, ok := langRequest(u); ok {
		return Match{Kind: MatchCommand, Target: cmd}
	}
	var tail *utterance
	if tu, ok := afterContrast(u); ok {
		tail = &tu
	}
	local, localScore := n.match.best(u)
	if localScore >= 1000 {
		return Match{Kind: MatchOption, Target: local}
	}
	if n.Kind == KindAdvice && isQuestion(text, u) {
		// 「ありがとう、あとハイフンって要る？」: a question after the thanks is answered (and
		// "did that solve it?" asked again) rather than lost in a yes.
		if parts := clauses(text); len(parts) > 1 {
			last := parts[len(parts)-1]
			lu := e.utter(last)
			if id, score := e.faq.best(lu); id != "" && score%1000 >= 4 && isQuestion(last, lu) {
				return Match{Kind: MatchFAQ, Target: id}
			}
		}
	}
	if i, ok := optionNumber(u); ok && i <= len(n.options) {
		return Match{Kind: MatchOption, Target: n.options[i-1].ID}
	}
	if cmd, ok := e.commandIn(n, text, u, local); ok {
		return Match{Kind: MatchCommand, Target: cmd}
	}
	if n.Kind == KindAdvice && unsure(u) && n.match.scoreOf(optSolved, u) == 0 && n.match.scoreOf(optNotSolved, u) == 0 {
		// "hmm not sure", 「微妙です」: neither yes nor no; the closing question is asked
		// again with its buttons rather than closed either way. A yes or a no beside the
		// hesitation (「ん〜ダメっぽい」) decides.
		return Match{Kind: MatchNone, unsure: true}
	}
	if n.Kind == KindAdvice && rulesOut(u) {
		// 「カード会社は問題ないって言われました」, "they said there's nothing wrong with the
		// card": the cause the advice named is ruled out; the problem remains.
		return Match{Kind: MatchOption, Target: optNotSolved}
	}
	if n.Kind == KindAdvice {
		// 「わかりました、Amazonに連絡します」「別々に注文してみる」: the customer will act on
		// the advice.
		if _, plan := e.plans.best(u); plan > 0 || plansAction(u) {
			if tail == nil || n.match.scoreOf(optNotSolved, *tail) == 0 {
				return Match{Kind: MatchOption, Target: optSolved}
			}
		}
		// 「期限は大丈夫でした。でも残高が減ってます」「選べました！でも合計が残高より多いみたい」:
		// what follows "but" is what is wrong.
		if tail != nil && (n.match.scoreOf(optSolved, u) > 0 || strings.Contains(u.compact, "ました")) &&
			n.match.scoreOf(optSolved, *tail) == 0 &&
			utf8.RuneCountInString(e.stripFillers(*tail)) >= 3 {
			return Match{Kind: MatchOption, Target: optNotSolved}
		}
	}
	if n.Kind == KindAdvice && endsSolved(n, text, e.utter) {
		return Match{Kind: MatchOption, Target: optSolved}
	}
	cands := e.rank(n, u, tail, isQuestion(text, u))
	if n.ID == e.flow.Start {
		cands = e.preferAdvice(cands, known)
	}
	win, sug := decide(n, cands)
	if win != nil && win.kind == MatchJump && n.Kind == KindQuestion && n.ID != e.flow.Start && win.score%1000 < minMidJump {
		// 「ギフト券を登録した直後です」 at "where did you get it?": another problem's words
		// told as what happened before (counted half) do not leave the question.
		win = nil
	}
	if win != nil && win.kind == MatchOption {
		return Match{Kind: MatchOption, Target: win.target}
	}
	var inputErr error
	if n.Kind == KindInput {
		vars, err := e.funcs.Inputs[n.Input](text, now)
		if err == nil {
			return Match{Kind: MatchInput, vars: vars}
		}
		inputErr = err
	}
	switch {
	case win != nil:
		return Match{Kind: win.kind, Target: win.target}
	case len(sug) > 1:
		m := Match{Kind: MatchSuggest, Target: sug[0].target, suggest: sug}
		for _, c := range sug {
			m.Suggest = append(m.Suggest, c.target)
		}
		return m
	}
	if n.Kind == KindAdvice {
		// 「そうなんですね」 alone: the advice is taken in; with more after it, the rest decides.
		if strings.HasPrefix(u.compact, "そうなん") && utf8.RuneCountInString(u.compact) <= 8 {
			return Match{Kind: MatchOption, Target: optSolved}
		}
		// 「👍」「🙏」「😭」: a reply of emoji alone says yes or no by its faces and hands.
		switch emojiPolarity(text) {
		case 1:
			return Match{Kind: MatchOption, Target: optSolved}
		case -1:
			return Match{Kind: MatchOption, Target: optNotSolved}
		}
	}
	if n.Kind == KindAdvice {
		// 「えー😭」「おおー👏」: words that say nothing either way; the emoji decide.
		switch emojiTone(text) {
		case 1:
			return Match{Kind: MatchOption, Target: optSolved}
		case -1:
			return Match{Kind: MatchOption, Target: optNotSolved}
		}
	}
	if n.Kind == KindAdvice && asksWhatNow(u) {
		// 「え、どうしたらいいんですか」, "what now?": nothing else understood, the customer
		// asks what to do next; the advice did not settle it.
		return Match{Kind: MatchOption, Target: optNotSolved}
	}
	if n.Kind == KindAdvice && saysNo(u) {
		// 「顔マークが見つからないです」, "the seller isn't replying": still stuck.
		return Match{Kind: MatchOption, Target: optNotSolved}
	}
	if n.Kind == KindAdvice && reportsFinding(u) && !e.answersNext(n, u) {
		// 「聞いてみたら夫が使ってました」「チェック入れ忘れてました！」: what was wrong is found.
		return Match{Kind: MatchOption, Target: optSolved}
	}
	if n.Kind == KindAdvice && statesPlan(u) && !e.answersNext(n, u) {
		// 「分けて買います」「あとでやります」「警察行きます」: what the customer will do, in a
		// polite verb that names no symptom and answers nothing the flow asks next.
		return Match{Kind: MatchOption, Target: optSolved}
	}
	if n.Kind == KindAdvice && reacts(u) {
		// 「まじか…」「そんなぁ」: the news is taken in, but neither yes nor no; the closing
		// question again, without an apology.
		return Match{Kind: MatchNone, unsure: true}
	}
	_, opener := e.openers.best(u)
	return Match{Kind: MatchNone, err: inputErr, opener: opener > 0}
}

// minMidJump is the least score of a jump away from a question in the middle of a
// diagnosis: not two characters, nor a phrase counted half as the circumstance.
const minMidJump = 3

// endsSolved reports whether the last clause of a reply to "did that solve it?" says it
// is solved, whatever came before (「チェックが入ってなかった、もう大丈夫です」, "the box
// wasn't ticked, all good now"), unless the reply opens with a bare no ("no, thanks").
func endsSolved(n *compiledNode, text string, utter func(string) utterance) bool {
	parts := clauses(text)
	if len(parts) < 2 {
		return false
	}
	first := utter(parts[0])
	if n.match.scoreOf(optNotSolved, first) > 0 && n.match.scoreOf(optSolved, first) == 0 &&
		len(first.words) <= 2 && len([]rune(first.compact)) <= 4 {
		return false
	}
	last := utter(parts[len(parts)-1])
	return n.match.scoreOf(optSolved, last) > 0 && n.match.scoreOf(optNotSolved, last) == 0 && !saysNo(last)
}

// Emoji that say yes (thanks, OK, a smile) or no (thumbs down, crossed arms, tears) when a
// reply is made of nothing else.
var (
	yesEmoji = "👍👌🙆🙏🙇😊😄😀😁😆☺🥰😍🤗🎉✨💯⭕✅🆗👏🥳😉"
	noEmoji  = "👎🙅😭😢😞😔😩😫😰😱❌✖🙁☹😖😣😤💢🥲😿"
)

// emojiPolarity returns 1 when text is emoji that all say yes, -1 when they all say no, and
// 0 otherwise (mixed, or anything but emoji, marks and spaces in the text).
func emojiPolarity(text string) int {
	yes, no := false, false
	for _, r := range text {
		switch {
		case strings.ContainsRune(yesEmoji, r):
			yes = true
		case strings.ContainsRune(noEmoji, r):
			no = true
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Sk, r) ||
			r == 0x200d || r == 0xfe0f || r == '♀' || r == '♂' || r == '～' || r == '〜' || r == 'ー':
		default:
			return 0
		}
	}
	switch {
	case yes && !no:
		return 1
	case no && !yes:
		return -1
	}
	return 0
}

// emojiTone returns 1 when the emoji in text all say yes, -1 when they all say no, and 0
// when there are none or they disagree; the rest of the text is not looked at.
func emojiTone(text string) int {
	yes, no := false, false
	for _, r := range text {
		yes = yes || strings.ContainsRune(yesEmoji, r)
		no = no || strings.ContainsRune(noEmoji, r)
	}
	switch {
	case yes && !no:
		return 1
	case no && !yes:
		return -1
	}
	return 0
}

// unsurePhrases say that the customer cannot tell whether the advice worked.
var unsurePhrases = []string{" not sure ", " unsure ", " idk ", " dunno ", " maybe ", " perhaps ", " sort of ", " kind of ",
	" kinda ", " hmm ", " not certain "}

// unsureJA are the Japanese for the same, in a short reply.
var unsureJA = []string{"よくわから", "わかんない", "たぶん", "多分", "微妙", "いまいち", "イマイチ", "どうだろう", "どうかな", "うーん", "んー"}

// unsure reports whether a short reply to "did that solve it?" says neither yes nor no but
// that the customer is not sure ("hmm not sure", 「微妙です」, "maybe?").
func unsure(u utterance) bool {
	if len(u.words) > 4 {
		return false
	}
	for _, p := range unsurePhrases {
		if strings.Contains(" "+u.spaced+" ", p) {
			return true
		}
	}
	if utf8.RuneCountInString(u.compact) > 10 {
		return false
	}
	for _, p := range unsureJA {
		if strings.Contains(u.compact, p) {
			return true
		}
	}
	return false
}

// answersNext reports whether u picks an option of the question advice n leads to when it
// did not help (「やってみたら無効って出ました」 after the registration steps): that is not
// the cause found but the next answer.
func (e *Engine) answersNext(n *compiledNode, u utterance) bool {
	q := e.nodes[n.Next]
	if q == nil || q.Kind != KindQuestion {
		return false
	}
	for _, s := range q.match.specificScores(u) {
		if s.score >= 2 {
			return true
		}
	}
	return false
}

// Endings of a reply to "did that solve it?" that tell a plan (「聞いてみます」「分けて注文
// してみる」「登録しときます」) or that something still does not work (「見つからないです」).
var (
	planEndings = []string{"てみます", "でみます", "てみる", "でみる", "てみよう", "でみよう", "ときます", "ておきます", "とく",
		"ておく", "とこう", "ておこう", "てきます", "てくる", "てこよう", "します", "しよう", "します!", "諦めます", "あきらめます", "払います", "待ちます", "待ってみます"}
	negativeEndings = []string{"ない", "なかった", "ず", "ないです", "なかったです", "ないんです", "ないんですけど", "ないけど",
		"ないみたい", "ないみたいです", "だめ", "だめです", "だめでした", "無理", "無理です", "無理でした", "ません", "ませんでした"}
	// notNegative are polite endings in ません that say nothing is wrong.
	notNegative = []string{"すみません", "すいません", "かまいません", "構いません", "問題ありません", "申し訳ありません"}
	enNegatives = []string{"isnt", "not", "doesnt", "didnt", "wont", "cant", "nothing", "never", "couldnt", "havent", "hasnt",
		"arent", "wasnt", "still", "no"}
)

// trimEnd returns u's compact text without the politeness and marks that close a message.
func trimEnd(u utterance) string {
	c := u.compact
	for _, suf := range []string{"〜", "~", "ー", "。", "!", "w", "と思います", "と思う", "と思ってます", "かな", "よ", "ね", "よね", "です", "ですね"} {
		c = strings.TrimSuffix(c, suf)
	}
	return c
}

// enPlanStarts are in an English reply that says what the customer will do ("I'll pay
// the rest by card", "sure, I'll give them a call", "going to call them").
var enPlanStarts = []string{" ill ", " i will ", " will ", " im going to ", " going to ", " gonna ", " i am going to "}

// plansAction reports whether a reply says what the customer will do: a Japanese reply
// by its ending, an English one by its start, without a negative.
func plansAction(u utterance) bool {
	for _, s := range enPlanStarts {
		if strings.Contains(u.spaced, s) {
			return !saysNo(u)
		}
	}
	c := trimEnd(u)
	for _, end := range planEndings {
		if strings.HasSuffix(c, end) {
			return true
		}
	}
	return false
}

// whatNowWords ask what to do next.
var whatNowWords = []string{"どうしたらいい", "どうすればいい", "どうしたら", "どうすれば", "どうしよう", " what should i do ",
	" what do i do ", " what now ", " now what ", " what can i do ", " what next ", " whats next "}

// asksWhatNow reports whether u asks what to do next.
func asksWhatNow(u utterance) bool {
	for _, w := range whatNowWords {
		if isASCII(w) {
			if strings.Contains(" "+u.spaced+" ", w) {
				return true
			}
		} else if strings.Contains(u.compact, w) {
			return true
		}
	}
	return false
}

// statesPlan reports whether a Japanese reply to "did that solve it?" ends in an
// affirmative polite verb (〜ます) that tells what the customer will do, not what the site
// shows: not a symptom's verb (出ます, なります, されます), not a state (〜てます), not a
// question or a negative.
func statesPlan(u utterance) bool {
	c := trimEnd(u)
	if !strings.HasSuffix(c, "ます") || strings.Contains(c, "まだ") {
		return false
	}
	for _, end := range symptomEndings {
		if strings.HasSuffix(c, end) {
			return false
		}
	}
	return true
}

// symptomEndings are polite verb endings that tell what happens rather than what the
// customer will do: 「エラーが出ます」「使用済みになります」「表示されます」「ちゃんと入れてます」.
var symptomEndings = []string{"出ます", "でます", "なります", "されます", "られます", "かれます", "てます", "ています", "でいます",
	"てきます", "かかります", "ちゃいます", "じゃいます", "わかります", "あります"}

// reactionWords are short reactions to bad news, in a reply that says nothing else.
var reactionWords = []string{"まじか", "マジか", "まじで", "マジで", "そんな", "ショック", "ひどい", "うそ", "ウソ", "がーん", "ガーン",
	"えー", "ええ", "えぇ", "damn", "ugh", "wow", "seriously", "oh man", "bummer"}

// reacts reports whether a short reply is only a reaction (「まじか…」「えー、ショック」,
// "damn").
func reacts(u utterance) bool {
	if utf8.RuneCountInString(u.compact) > 10 || len(u.words) > 3 {
		return false
	}
	for _, w := range reactionWords {
		if isASCII(w) {
			if strings.Contains(" "+u.spaced+" ", " "+w+" ") {
				return true
			}
		} else if strings.HasPrefix(u.compact, w) {
			return true
		}
	}
	return false
}

// ruledOut are what a customer says when the cause an advice named turned out not to be it.
var ruledOut = []string{"は問題ない", "は問題なかった", "は問題ありません", "には問題", "も問題ない", "問題ないって言われ", "問題ないと言われ",
	"は関係ない", "は関係なかった", "とは関係", "原因ではな", "原因じゃな", "異常はな", "異常ないって", "異常なしと",
	" nothing wrong with ", " no issue on their ", " no problem on their ", " not the problem ", " not the issue ", " said its fine ",
	" said everything is fine ", " said it was fine ", " said everything was fine "}

// rulesOut reports whether u says the cause checked was not it.
func rulesOut(u utterance) bool {
	return u.saysAny(ruledOut)
}

// reportsFinding reports whether a Japanese reply to "did that solve it?" tells what
// happened, in the past and without a negative (「…使ってました」「安心しました」).
func reportsFinding(u utterance) bool {
	c := trimEnd(u)
	return strings.HasSuffix(c, "ました") || strings.HasSuffix(c, "でした") || strings.HasSuffix(c, "てた") ||
		strings.HasSuffix(c, "だった")
}

// saysNo reports whether a reply to "did that solve it?" says that something still does
// not work: a Japanese negative at its end, or an English negative word.
func saysNo(u utterance) bool {
	c := u.compact
	// 「顔のマークがないんですが」「見当たらないんだけど」: a negative before a trailing "but".
	for _, suf := range []string{"んですが", "んですけど", "んだけど", "のですが", "のですけど", "ですが", "ですけど", "けど", "けれど", "が"} {
		if rest, ok := strings.CutSuffix(c, suf); ok && rest != "" {
			c = rest
			break
		}
	}
	if strings.HasSuffix(c, "ない") && !strings.HasSuffix(u.compact, "ない") && !strings.HasSuffix(c, "問題ない") {
		return true
	}
	c = u.compact
	for _, end := range negativeEndings {
		if strings.HasSuffix(c, end) && !slices.ContainsFunc(notNegative, func(p string) bool { return strings.HasSuffix(c, p) }) {
			return true
		}
	}
	for _, w := range u.words {
		for _, neg := range enNegatives {
			if w == stem(neg) {
				return true
			}
		}
	}
	return false
}

// preferAdvice merges, at the start question, a FAQ entry into a flow candidate that
// leads (through questions the facts answer) to advice of the same article section: the
// advice says as much and asks whether it solved the problem, where the FAQ answer would
// leave the customer at the start question (「スマホで期限の確認ってできますか？」,
// "can I use my gift card with 1-click?").
func (e *Engine) preferAdvice(cands []candidate, known func(*compiledNode) *Option) []candidate {
	var out, faqs []candidate
	for _, c := range cands {
		if c.kind == MatchFAQ {
			faqs = append(faqs, c)
		} else {
			out = append(out, c)
		}
	}
	for _, c := range faqs {
		sec := e.faqs[c.target].Section
		merged := false
		for i := range out {
			if out[i].kind != MatchFAQ && (e.adviceSection(out[i].dest, known) == sec || e.questionUnder(out[i].dest, sec, known)) {
				out[i].score = max(out[i].score, c.score)
				merged = true
				break
			}
		}
		if !merged {
			if q := e.sectionQuestion(sec, known); q != "" {
				// 「期限切れたギフト券、メルカリで買ったやつなんだけど返金される？」: the facts
				// the message states answer a question of the entry's own section, which
				// gives that section's advice for them.
				c = candidate{kind: MatchJump, target: q, dest: q, score: c.score}
			}
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b candidate) int {
		if a.score != b.score {
			return b.score - a.score
		}
		return kindOrder(a.kind) - kindOrder(b.kind)
	})
	return out
}

// sectionQuestion returns the first question within article section sec whose option the
// facts select and whose answer gives advice within sec; "" when there is none. Questions
// that show a variable in their text (the issue date) are left to the flow.
func (e *Engine) sectionQuestion(sec string, known func(*compiledNode) *Option) string {
	if sec == "" || known == nil {
		return ""
	}
	within := func(s string) bool { return s != "" && (s == sec || strings.HasPrefix(s, sec+"-")) }
	for _, fn := range e.flow.Nodes {
		n := e.nodes[fn.ID]
		if n == nil || n.Kind != KindQuestion || !within(n.Section) || strings.Contains(n.Text.JA+n.Text.EN, "{{") {
			continue
		}
		if o := known(n); o != nil && within(e.adviceSection(o.Next, known)) {
			return n.ID
		}
	}
	return ""
}

// questionUnder reports whether node id leads (through questions the facts answer) to a
// question all of whose answers give advice within article section sec: 「アマギフってどう
// やって使うの？」 (section 1) is the device question, whose answers are 1-1 and 1-2.
func (e *Engine) questionUnder(id, sec string, known func(*compiledNode) *Option) bool {
	if sec == "" {
		return false
	}
	for hops := 0; hops < 4; hops++ {
		n := e.nodes[id]
		if n == nil || n.Kind != KindQuestion {
			return false
		}
		if known != nil {
			if o := known(n); o != nil {
				id = o.Next
				continue
			}
		}
		advice := 0
		for _, o := range n.options {
			a := e.nodes[o.Next]
			if a == nil || a.Kind != KindAdvice {
				continue
			}
			if a.Section != sec && !strings.HasPrefix(a.Section, sec+"-") {
				return false
			}
			advice++
		}
		return advice > 0
	}
	return false
}

// routesTo reports whether node from leads, through questions and decisions the facts
// answer, to node to: 「メニューにギフト券の登録が見当たりません」 after the smartphone
// registration steps names the registration, which the known device leads back to.
func (e *Engine) routesTo(from, to string, known func(*compiledNode) *Option) bool {
	for hops := 0; hops < 4; hops++ {
		if from == to {
			return true
		}
		n := e.nodes[from]
		if n == nil || known == nil || n.Kind != KindQuestion && n.Kind != KindDecision {
			return false
		}
		o := known(n)
		if o == nil {
			return false
		}
		from = o.Next
	}
	return false
}

// adviceSection returns the section of the advice that node id leads to, following
// questions whose answer known gives; "" when it leads elsewhere.
func (e *Engine) adviceSection(id string, known func(*compiledNode) *Option) string {
	for hops := 0; hops < 4; hops++ {
		n := e.nodes[id]
		switch {
		case n == nil:
			return ""
		case n.Kind == KindAdvice:
			return n.Section
		case (n.Kind == KindQuestion || n.Kind == KindDecision) && known != nil:
			o := known(n)
			if o == nil {
				return ""
			}
			id = o.Next
		default:
			return ""
		}
	}
	return ""
}

// commandIn finds a global command in text: the whole text (with politeness around it),
// a clause at its start or end that is only a command (「あ、やっぱ違うかも。戻る」), or a
// request for a person anywhere ("ok, but can I talk to a human about it?").
// local is the node's best option for u.
func (e *Engine) commandIn(n *compiledNode, text string, u utterance, local string) (string, bool) {
	if cmd, score := e.commands.best(u); cmd != "" && e.isCommand(u, score) && !(cmd == cmdBack && somethingBack(u)) {
		switch {
		case local == "", cmd == cmdRestart || cmd == cmdBack:
			// Going back is never an option's answer ("hmm no, actually go back" where
			// "no" would hand over).
			return cmd, true
		case n.option(local).Next == e.handoffNode():
			return "", false // the question's own option for a person
		case cmd == cmdAgent:
			return cmd, true
		}
	}
	// A clause can hold a command only if the whole message does.
	if cl := clauses(text); len(cl) > 1 && e.commands.anyIn(u) {
		for _, part := range cl {
			pn := e.normalize(part)
			cu := plainUtterance(" "+splitScripts(pn)+" ", strings.ReplaceAll(pn, " ", ""))
			rest := e.stripFillers(cu)
			if rest == "" {
				continue
			}
			cmd, score := e.commands.best(plainUtterance(" "+rest+" ", rest))
			if cmd == "" {
				// 「やっぱ戻ります」: a polite form the stripping cut.
				cmd, score = e.commands.best(cu)
			}
			if cmd != cmdBack && cmd != cmdAgent && cmd != cmdRestart || cmd == cmdBack && somethingBack(cu) {
				continue
			}
			// A clause that is only the command (「戻る」), or, in Japanese, mostly the
			// command (「ちょっと待って、前の質問に戻りたい」); an English clause such as
			// "back to the cart" is not.
			if score >= 1000 || (!isASCII(rest) && score >= 3 && e.isCommand(cu, score)) {
				return cmd, true
			}
		}
	}
	if _, score := e.agent.best(u); score > 0 {
		if local != "" && n.option(local).Next == e.handoffNode() {
			return "", false // the question's own option for a person
		}
		return cmdAgent, true
	}
	return "", false
}

// somethingBack reports whether a word of going back has a subject of its own: 「アカウントは
// 戻りますか」「お金が戻ってくる」 ask whether something comes back, not to go back.
func somethingBack(u utterance) bool {
	return strings.Contains(u.compact, "は戻") || strings.Contains(u.compact, "が戻") || strings.Contains(u.compact, "も戻")
}

// stripFillers returns u's compact text without politeness and framing words.
func (e *Engine) stripFillers(u utterance) string {
	rest := u.spaced
	for _, f := range e.fillers {
		rest = strings.ReplaceAll(rest, f, " ")
	}
	return strings.ReplaceAll(rest, " ", "")
}

// planWords tell what the customer will do next with the advice: at "did that solve it?"
// they close the conversation as solved, whatever else the message names.
var planWords = []string{"連絡します", "電話します", "問い合わせます", "連絡してみます", "電話してみます", "問い合わせてみます",
	"連絡してみる", "電話してみる", "問い合わせてみる", "やってみます", "試してみます", "確認してみます", "やってみる", "試してみる",
	"ill call", "ill contact", "ill reach out", "ill try", "i will call", "i will contact", "i will try", "ill give it a try",
	"ill check", "ill ask", "going to call", "going to contact"}

// openerWords say that something is wrong without saying what: at the first question they
// (and the flow's Topics) are answered by asking it, not by "not understood".
var openerWords = []string{"使えない", "使えません", "使えなかった", "使えん", "使えへん", "困って", "困りました", "助けて",
	"問題", "トラブル",
	"聞きたい", "教えて", "質問があ", "わからない", "分からない",
	"gift card", "giftcard", "doesnt work", "does not work", "not working", "cant use", "cannot use", "wont work",
	"problem", "issue", "trouble", "help",
	// Greetings and preambles: the customer has not said what is wrong yet.
	"こんにちは", "こんばんは", "おはよう", "はじめまして", "すみません", "質問", "相談", "お願いします",
	"hi", "hello", "hey", "good morning", "question", "excuse me"}

// isCommand reports whether a command phrase that scored score is the point of u rather
// than a word in passing: "help" alone, or with politeness around it ("help please",
// 「最初からお願いします」), is a command; "please help me register" is not.
func (e *Engine) isCommand(u utterance, score int) bool {
	if score >= 1000 {
		return true
	}
	return 2*score >= utf8.RuneCountInString(e.stripFillers(u))
}

// fillerWords are politeness and framing that do not change what a command asks for.
var fillerWords = []string{
	"お願いします", "おねがいします", "お願い", "ください", "下さい", "できますか", "ますか", "したいです",
	"したい", "です", "ます", "ちょっと", "今すぐ", "すぐ",
	// Discourse markers around a change of mind (「やっぱ戻る」, "hmm no, actually go back").
	"やっぱり", "やっぱ", "えっと", "actually", "hmm", "wait", "oh", "sorry", "just",
	"please", "pls", "can i", "could i", "can you", "could you", "i want to", "i would like to", "id like to",
	"i need", "i want", "let me", "me", "to", "a", "the", "now",
}

func (n *compiledNode) option(id string) *Option {
	for i := range n.options {
		if n.options[i].ID == id {
			return &n.options[i]
		}
	}
	return nil
}

// miss re-asks the current node after an answer that was not understood, offering a
// person once the customer has missed MaxMisses times in a row.
func (t *turn) miss(n *compiledNode, why Text) ([]Message, error) {
	t.c.Misses++
	t.c.UpdatedAt = t.now
	if !why.IsZero() {
		t.say(why)
	}
	t.render(n)
	if t.c.Misses >= t.e.maxMisses {
		last := &t.out[len(t.out)-1]
		last.Text += "\n" + t.e.texts.OfferHuman.In(t.lang())
		if last.Kind == MsgText {
			last.Kind = MsgQuestion
		}
		if len(last.Choices) < 13 {
			last.Choices = append(last.Choices, Choice{
				Label: t.e.texts.TalkToPerson.In(t.lang()), Data: postbackCommand + cmdAgent,
			})
		}
	}
	return t.out, nil
}

func (t *turn) choose(n *compiledNode, o *Option) ([]Message, error) {
	t.recordFacts(o)
	t.c.Answers = append(t.c.Answers, Answer{Node: n.ID, Option: o.ID, At: t.now})
	return t.fire(n.ID, o.ID)
}

func (t *turn) parsed(n *compiledNode, vars map[string]string) ([]Message, error) {
	if t.c.Vars == nil {
		t.c.Vars = map[string]string{}
	}
	for k, v := range vars {
		key := n.Var
		if k != "" {
			key += "." + k
		}
		t.c.Vars[key] = v
	}
	t.c.Answers = append(t.c.Answers, Answer{Node: n.ID, Value: vars[""], At: t.now})
	return t.fire(n.ID, "parsed")
}

// fire builds a state machine at node from and fires event on it, then enters the state
// it lands in.
func (t *turn) fire(from, event string) ([]Message, error) {
	m := fsm.NewFSM(from, t.e.events[from], nil)
	if err := fireEvent(t.ctx, m, event); err != nil {
		var noTransition fsm.NoTransitionError
		if !errors.As(err, &noTransition) {
			return nil, fmt.Errorf("node %s: event %s: %w", from, event, err)
		}
	}
	return t.enter(m.Current())
}

// enter moves the conversation to node id, evaluates decisions on the way, and renders the
// node that waits for the customer (or closes the conversation at a handoff or end).
func (t *turn) enter(id string) ([]Message, error) {
	c := t.c
	for hops := 0; ; hops++ {
		n := t.e.nodes[id]
		if n == nil || hops > len(t.e.nodes) {
			return nil, fmt.Errorf("enter node %q: no such node or a decision loop", id)
		}
		c.Node = id
		c.Misses = 0
		c.UpdatedAt = t.now
		c.Path = append(c.Path, id)
		if n.Kind != KindDecision {
			if ok, out, err := t.autoAnswer(n); ok {
				return out, err
			}
			if o := t.carryOver(n); o != nil {
				return t.choose(n, o)
			}
			t.render(n)
			return t.out, nil
		}
		d := t.e.funcs.Decisions[n.Func]
		outcome, err := d.Func(c.Vars, t.now)
		if err != nil {
			// The answers cannot be judged: a person will look at it.
			t.say(t.e.texts.Error)
			id = t.e.handoffNode()
			continue
		}
		m := fsm.NewFSM(id, t.e.events[id], nil)
		if err := fireEvent(t.ctx, m, outcome); err != nil {
			return nil, fmt.Errorf("decision %s: outcome %q: %w", id, outcome, err)
		}
		id = m.Current()
	}
}

// render appends the messages that present node n.
func (t *turn) render(n *compiledNode) {
	lang := t.lang()
	switch n.Kind {
	case KindQuestion, KindInput:
		m := Message{Kind: MsgText, Text: t.fill(n.Text.In(lang))}
		if len(n.options) > 0 {
			m.Kind = MsgQuestion
			m.Choices = t.choices(n)
		}
		t.out = append(t.out, m)
	case KindAdvice:
		steps := make([]string, len(n.Steps))
		for i, s := range n.Steps {
			steps[i] = t.fill(s.In(lang))
		}
		t.out = append(t.out, Message{
			Kind: MsgSteps, Title: t.fill(n.Title.In(lang)), Text: t.fill(n.Text.In(lang)),
			Steps: steps, Note: t.fill(n.Note.In(lang)),
		}, Message{Kind: MsgQuestion, Text: t.e.texts.SolvedPrompt.In(lang), Choices: t.choices(n)})
	case KindHandoff:
		t.c.Status = StatusHandoff
		t.out = append(t.out, Message{Kind: MsgHandoff, Text: t.fill(n.Text.In(lang)), Reason: n.Reason})
	case KindEnd:
		t.c.Status = StatusEnded
		t.out = append(t.out, Message{Kind: MsgText, Text: t.fill(n.Text.In(lang))})
	}
}

func (t *turn) choices(n *compiledNode) []Choice {
	out := make([]Choice, len(n.options))
	for i, o := range n.options {
		out[i] = Choice{Label: o.Label.In(t.lang()), Data: postbackOption + n.ID + ":" + o.ID}
	}
	return out
}

// fill replaces {{name}} with the conversation's variables and the flow's display
// variables; an unknown name becomes empty.
func (t *turn) fill(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	vars := t.c.Vars
	var display map[string]string
	if t.e.funcs.Vars != nil {
		display = t.e.funcs.Vars(vars, t.lang())
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			break
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		v, ok := display[name]
		if !ok {
			v = vars[name]
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// command runs a global command.
func (t *turn) command(cmd string) ([]Message, error) {
	c, e := t.c, t.e
	switch cmd {
	case cmdRestart:
		t.reset(Inbound{})
		return t.enter(e.flow.Start)
	case cmdAgent:
		c.Answers = append(c.Answers, Answer{Node: c.Node, Option: cmdAgent, At: t.now})
		return t.enter(e.handoffNode())
	case cmdHelp:
		t.say(e.texts.Help)
	case cmdBack:
		if !t.back() {
			t.say(e.texts.CannotGoBack)
		}
	case cmdEnglish, cmdJapanese:
		t.switchLang(cmd)
	default:
		return t.miss(e.nodes[c.Node], e.texts.NotUnderstood)
	}
	c.UpdatedAt = t.now
	t.render(e.nodes[c.Node])
	return t.out, nil
}

// switchLang sets the conversation's language as a language command asks and says so.
func (t *turn) switchLang(cmd string) {
	t.c.Lang = English
	if cmd == cmdJapanese {
		t.c.Lang = Japanese
	}
	t.say(t.e.texts.LangSwitched)
}

// withoutLangRequest returns the clauses of text that do not ask for a language, each read
// as the whole message is ("I don't speak japanese" is "dont speak japanese").
func (e *Engine) withoutLangRequest(text string) string {
	var rest []string
	for _, cl := range clauses(text) {
		if _, ok := langRequest(e.utter(cl)); !ok && strings.TrimSpace(cl) != "" {
			rest = append(rest, strings.TrimSpace(cl))
		}
	}
	return strings.Join(rest, "、")
}

// back returns to the previous node that waited for an answer, forgetting the answers given
// since. It reports false at the first question.
func (t *turn) back() bool {
	c := t.c
	for j := len(c.Path) - 2; j >= 0; j-- {
		n := t.e.nodes[c.Path[j]]
		if n == nil || !n.Kind.waits() {
			continue
		}
		target := c.Path[j]
		c.Path = c.Path[:j+1]
		for k := len(c.Answers) - 1; k >= 0; k-- {
			if c.Answers[k].Node == target {
				c.Answers = c.Answers[:k]
				break
			}
		}
		c.Node = target
		c.Misses = 0
		return true
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
