package bot

// Texts are the engine's own user-visible strings. A flow may override any of them.
type Texts struct {
	Greeting      Text `yaml:"greeting"`
	SolvedPrompt  Text `yaml:"solved_prompt"`
	SolvedYes     Text `yaml:"solved_yes"`
	SolvedNo      Text `yaml:"solved_no"`
	NotUnderstood Text `yaml:"not_understood"`
	OfferHuman    Text `yaml:"offer_human"`
	TalkToPerson  Text `yaml:"talk_to_person"`
	StartOver     Text `yaml:"start_over"`
	IdleRestart   Text `yaml:"idle_restart"`
	FlowChanged   Text `yaml:"flow_changed"`
	Help          Text `yaml:"help"`
	CannotGoBack  Text `yaml:"cannot_go_back"`
	StaleChoice   Text `yaml:"stale_choice"`
	LangSwitched  Text `yaml:"lang_switched"`
	Error         Text `yaml:"error"`
	// HandoffWaiting answers a customer who writes while waiting for a person.
	HandoffWaiting Text `yaml:"handoff_waiting"`
}

// defaultTexts are used for every text a flow leaves empty.
var defaultTexts = Texts{
	Greeting: Text{
		JA: "こんにちは。Amazonギフト券が使えないときの原因を、いくつかの質問で一緒に確認します。",
		EN: "Hello! Let's find out why your Amazon gift card isn't working, one question at a time.",
	},
	SolvedPrompt: Text{JA: "解決しましたか?", EN: "Did that solve it?"},
	SolvedYes:    Text{JA: "はい、解決しました", EN: "Yes, solved"},
	SolvedNo:     Text{JA: "いいえ、まだです", EN: "No, not yet"},
	NotUnderstood: Text{
		JA: "すみません、うまく読み取れませんでした。選択肢から選ぶか、別の言葉でお書きください。",
		EN: "Sorry, I didn't catch that. Please pick an option or try other words.",
	},
	OfferHuman: Text{
		JA: "担当者におつなぎすることもできます。",
		EN: "I can also connect you with a person.",
	},
	TalkToPerson: Text{JA: "担当者と話す", EN: "Talk to a person"},
	StartOver:    Text{JA: "最初から", EN: "Start over"},
	IdleRestart: Text{
		JA: "前回のやり取りから時間が経ったため、最初からご案内します。",
		EN: "It's been a while since we last talked, so let's start over.",
	},
	FlowChanged: Text{
		JA: "ご案内の内容が更新されたため、最初からご案内します。",
		EN: "Our guide has been updated, so let's start over.",
	},
	Help: Text{
		JA: "選択肢をタップするか、状況を文章でお書きください。いつでも「最初から」「戻る」「担当者」「English」と入力できます。",
		EN: "Tap an option or describe the problem in your own words. At any time you can type \"start over\", \"back\", \"agent\" or \"日本語\".",
	},
	CannotGoBack: Text{JA: "これより前には戻れません。", EN: "There is nothing to go back to."},
	StaleChoice: Text{
		JA: "その選択肢は前の質問のものです。いまの質問にお答えください。",
		EN: "That button belongs to an earlier question. Please answer this one.",
	},
	LangSwitched: Text{JA: "日本語でご案内します。", EN: "I'll continue in English."},
	Error: Text{
		JA: "申し訳ありません、うまく処理できませんでした。",
		EN: "Sorry, something went wrong on our side.",
	},
	HandoffWaiting: Text{
		JA: "担当者におつなぎしています。返信まで少しお待ちください。最初からやり直す場合は「最初から」と送ってください。",
		EN: "You're in line for a person, who will reply here shortly. To start over instead, send \"start over\".",
	},
}

// fields lists every text, in declaration order.
func (t *Texts) fields() []*Text {
	return []*Text{
		&t.Greeting, &t.SolvedPrompt, &t.SolvedYes, &t.SolvedNo, &t.NotUnderstood,
		&t.OfferHuman, &t.TalkToPerson, &t.StartOver, &t.IdleRestart, &t.FlowChanged,
		&t.Help, &t.CannotGoBack, &t.StaleChoice, &t.LangSwitched, &t.Error, &t.HandoffWaiting,
	}
}

// withDefaults returns t with every empty text taken from the defaults.
func (t Texts) withDefaults() Texts {
	d := defaultTexts
	defs := d.fields()
	for i, f := range t.fields() {
		if f.JA == "" {
			f.JA = defs[i].JA
		}
		if f.EN == "" {
			f.EN = defs[i].EN
		}
	}
	return t
}
