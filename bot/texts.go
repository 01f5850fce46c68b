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
	// DidYouMean introduces the closest readings of a message that was too close to call.
	DidYouMean Text `yaml:"did_you_mean"`
	// KnownAnswer names the option chosen from what the customer already said (%s is its
	// label), for a question without its own Confirm.
	KnownAnswer Text `yaml:"known_answer"`
	Error       Text `yaml:"error"`
	// HandoffWaiting answers a customer who writes while waiting for a person.
	HandoffWaiting Text `yaml:"handoff_waiting"`
	// GroupGreeting is said once when the bot is added to a group chat: what it does and
	// how to ask it there.
	GroupGreeting Text `yaml:"group_greeting"`

	// The hand-off's texts for the customer.
	OutOfHours       Text `yaml:"out_of_hours"` // %s is the next opening time
	TicketPosted     Text `yaml:"ticket_posted"`
	KeepWaiting      Text `yaml:"keep_waiting"`
	CannotCancel     Text `yaml:"cannot_cancel"`
	LongWait         Text `yaml:"long_wait"`
	KeepWaitingLabel Text `yaml:"keep_waiting_label"`
	SelfHelpLabel    Text `yaml:"self_help_label"`
	ResolvedThanks   Text `yaml:"resolved_thanks"`
	RatingPrompt     Text `yaml:"rating_prompt"`
	RatingThanks     Text `yaml:"rating_thanks"`
	BackToBot        Text `yaml:"back_to_bot"`
	TicketLimit      Text `yaml:"ticket_limit"` // too many tickets in the last hour
	// The hand-off's texts for agents (shown in Japanese in the team's workspace).
	Customer       Text `yaml:"customer"`
	NoteCancelled  Text `yaml:"note_cancelled"`
	NoteUnfollowed Text `yaml:"note_unfollowed"`
	NoteRemoved    Text `yaml:"note_removed"` // the bot was removed from the group chat
	NoteReturned   Text `yaml:"note_returned"`
	NoteUnrated    Text `yaml:"note_unrated"`
	AlreadyClaimed Text `yaml:"already_claimed"` // %s is who has it
	TicketGone     Text `yaml:"ticket_gone"`
	NoteAskedAgain Text `yaml:"note_asked_again"` // %d is the tickets of the last hour
	NoteHeld       Text `yaml:"note_held"`        // %d is how many messages came at once
}

// defaultTexts are used for every text a flow leaves empty.
var defaultTexts = Texts{
	// The core knows no product: a flow names its own in texts.greeting.
	Greeting: Text{
		JA: "こんにちは。いくつかの質問で、お困りごとの原因を一緒に確認します。",
		EN: "Hello! Let's find out what's wrong, one question at a time.",
	},
	GroupGreeting: Text{
		JA: "グループに追加していただきありがとうございます。ギフト券のお困りごと(コードが使えない、残高が違うなど)をご案内します。このグループで質問するときは、メッセージの中で私をメンション(@)してください。",
		EN: "Thanks for adding me! I help with gift card problems (a code that won't redeem, a wrong balance, …). To ask me something in this group, mention me (@) in your message.",
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
	DidYouMean:   Text{JA: "もしかして、次のどれかですか?", EN: "Did you mean one of these?"},
	KnownAnswer:  Text{JA: "「%s」ですね。", EN: "Got it: %s."},
	Error: Text{
		JA: "申し訳ありません、うまく処理できませんでした。",
		EN: "Sorry, something went wrong on our side.",
	},
	HandoffWaiting: Text{
		JA: "担当者におつなぎしています。返信まで少しお待ちください。最初からやり直す場合は「最初から」と送ってください。",
		EN: "You're in line for a person, who will reply here shortly. To start over instead, send \"start over\".",
	},
	OutOfHours: Text{
		JA: "ただいま営業時間外のため、担当者からのご返信は %s 以降になります。",
		EN: "We're outside business hours right now, so a person will reply from %s (Japan time).",
	},
	TicketPosted: Text{
		JA: "担当チャンネルにチケットを投稿しました。",
		EN: "I've posted a ticket for the team.",
	},
	KeepWaiting: Text{
		JA: "承知しました。担当者が対応するまでこのままお待ちください。",
		EN: "All right — please keep this chat open; a person will reply here.",
	},
	CannotCancel: Text{
		JA: "担当者が対応中です。このままメッセージをお送りください。",
		EN: "A person is already looking after you: just keep writing here.",
	},
	LongWait: Text{
		JA: "お待たせしてしまい申し訳ありません。担当者が対応できるまで、もう少しお時間をいただいています。このままお待ちになりますか?それとも、もう一度ご自身で確認できる手順をご覧になりますか?",
		EN: "Sorry for the wait — it's taking a little longer for a person to be free. Would you like to keep waiting, or go through the self-help steps again?",
	},
	KeepWaitingLabel: Text{JA: "このまま待つ", EN: "Keep waiting"},
	SelfHelpLabel:    Text{JA: "手順をもう一度見る", EN: "Self-help steps"},
	ResolvedThanks: Text{
		JA: "担当者の対応が完了しました。お問い合わせありがとうございました。",
		EN: "Our team has marked this as resolved. Thank you for contacting us.",
	},
	RatingPrompt: Text{
		JA: "今回の対応はいかがでしたか?5段階で評価してください(★5が最高です)。",
		EN: "How did we do? Please rate us from 1 to 5 stars (5 is best).",
	},
	RatingThanks: Text{
		JA: "ご評価ありがとうございました。またいつでもご相談ください。",
		EN: "Thanks for your rating! Write to us anytime.",
	},
	TicketLimit: Text{
		JA: "担当者へのご依頼が短い間に続いたため、新しい受付をしばらく止めています。お手数ですが、少し時間をおいてからもう一度「担当者」とお送りください。",
		EN: "You've asked for a person several times in a short while, so new requests are paused for now. Please send \"agent\" again a little later.",
	},
	BackToBot: Text{
		JA: "担当者との対応は終了しました。ここからは自動案内でお手伝いします。",
		EN: "Our team has handed you back to the automatic assistant.",
	},
	Customer:       Text{JA: "お客様", EN: "Customer"},
	NoteCancelled:  Text{JA: "お客様が待つのをやめ、自動案内に戻りました。", EN: "The customer stopped waiting and went back to the bot."},
	NoteUnfollowed: Text{JA: "お客様がアカウントをブロックしました。チケットを終了します。", EN: "The customer blocked the account; the ticket is closed."},
	NoteRemoved:    Text{JA: "ボットがグループトークから退出させられました。チケットを終了します。", EN: "The bot was removed from the group chat; the ticket is closed."},
	NoteReturned:   Text{JA: "自動案内に戻しました。", EN: "Returned to the bot."},
	NoteUnrated:    Text{JA: "お客様は評価せずに次のご用件に移りました。", EN: "The customer moved on without rating."},
	AlreadyClaimed: Text{JA: "このチケットは %s が対応中です。", EN: "%s already has this ticket."},
	TicketGone:     Text{JA: "このチケットは終了しています(お客様には届きません)。", EN: "This ticket is closed; nothing reaches the customer."},
	NoteAskedAgain: Text{JA: "お客様がもう一度担当者を呼びました(直近1時間で%d件目のため、新しいチケットは作成していません)。", EN: "The customer asked for a person again (ticket %d of the last hour: no new ticket opened)."},
	NoteHeld:       Text{JA: "(短時間に届いた%d件のメッセージをまとめて表示しています)", EN: "(%d messages that came in quick succession, shown together)"},
}

// fields lists every text, in declaration order.
func (t *Texts) fields() []*Text {
	return []*Text{
		&t.Greeting, &t.SolvedPrompt, &t.SolvedYes, &t.SolvedNo, &t.NotUnderstood,
		&t.OfferHuman, &t.TalkToPerson, &t.StartOver, &t.IdleRestart, &t.FlowChanged,
		&t.Help, &t.CannotGoBack, &t.StaleChoice, &t.LangSwitched, &t.DidYouMean, &t.KnownAnswer, &t.Error, &t.HandoffWaiting,
		&t.GroupGreeting,
		&t.OutOfHours, &t.TicketPosted, &t.KeepWaiting, &t.CannotCancel, &t.LongWait, &t.KeepWaitingLabel,
		&t.SelfHelpLabel, &t.ResolvedThanks, &t.RatingPrompt, &t.RatingThanks, &t.BackToBot, &t.TicketLimit,
		&t.Customer, &t.NoteCancelled, &t.NoteUnfollowed, &t.NoteRemoved, &t.NoteReturned, &t.NoteUnrated, &t.AlreadyClaimed, &t.TicketGone,
		&t.NoteAskedAgain, &t.NoteHeld,
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
