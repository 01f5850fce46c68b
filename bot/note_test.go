package bot_test

import (
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

// NoteSpellings are the ways agents write an internal note in a ticket's thread, as
// they reach the desk (Slack markup already turned into plain text: a mention is "@U…").
// Every one must be kept internal. internal/slack's suite sends them through Slack.
var noteSpellings = []string{
	"note: 返金の可能性あり",
	"Note: refund likely",
	"NOTE: refund likely",
	"note : refund likely",
	"note - check the order",
	"note-check the order",
	"note — check the order",
	"notes: two cards",
	"note",
	"*note:* refund likely",
	"*Note*: refund likely",
	"_note:_ refund likely",
	"~note:~ refund likely",
	"`note:` refund likely",
	"> note: refund likely",
	">note: refund likely",
	"- note: refund likely",
	"  note: leading spaces",
	"@U0AGENT2 note: can you check?",
	"@bob @alice note: both of you",
	"\u200bnote: zero-width space",
	"\u200c\u200dnote: zero-width joiners",
	"\u2060note: word joiner",
	"\ufeffnote: byte-order mark",
	"＊note:＊ full-width asterisks",
	"ＮＯＴＥ：全角",
	"ｎｏｔｅ: full-width letters",
	"note：全角コロン",
	"memo: refund likely",
	"Memo - refund likely",
	"internal: refund likely",
	"Internal note: refund likely",
	"internal-note: refund likely",
	"internal_note: refund likely",
	"private note: refund likely",
	"private: refund likely",
	"staff note: refund likely",
	"note to self: refund likely",
	"internal only: refund likely",
	"[note] refund likely",
	"[NOTE]refund likely",
	"(note) refund likely",
	"(memo) refund likely",
	"<internal> refund likely",
	"[internal note] refund likely",
	"［note］ full-width brackets",
	"メモ: 返金の可能性あり",
	"メモ：返金の可能性あり",
	"メモ 返金の可能性あり",
	"メモ　返金の可能性あり",
	"ﾒﾓ: 半角カナ",
	"内部メモ: 返金の可能性あり",
	"内部メモ 返金の可能性あり",
	"ノート: 返金の可能性あり",
	"社内: 返金の可能性あり",
	"社内メモ：返金の可能性あり",
	"社内用: 返金の可能性あり",
	"社外秘: 返金の可能性あり",
	"【メモ】返金の可能性あり",
	"【社内メモ】返金の可能性あり",
	"「メモ」返金の可能性あり",
	"（メモ）返金の可能性あり",
	"〔内部〕返金の可能性あり",
	"*【メモ】* 返金の可能性あり",
	"📝 refund likely",
	":memo: refund likely",
	":lock: refund likely",
	"*Note* refund likely",
	"_memo_ refund likely",
	"`internal` refund likely",
	"*メモ* 返金の可能性あり",
	"note\nrefund likely",
	"NOTE\r\nrefund likely",
}

// replySpellings are ordinary replies to the customer, some with a note word later or
// as part of another word: every one must still be relayed.
var replySpellings = []string{
	"Note that your code may take a few minutes to appear.",
	"Notes on your order are below.",
	"Please note: the code is case-insensitive.",
	"Noteworthy: nothing. Your balance is fine.",
	"Your internal error is fixed now.",
	"Internal errors like this one are rare; please try again.",
	"Memory cards are not affected.",
	"I've made a note of your order number.",
	"Thanks for your note!",
	"確認しますね。少々お待ちください。",
	"社内で確認いたしますので、少々お待ちください。",
	"メモ帳アプリに控えておいてください。",
	"ノートパソコンからもお試しください。",
	"内部エラーが出ている場合は時間をおいてお試しください。",
	"【重要】コードの有効期限をご確認ください。",
	"(ご参考) ヘルプページはこちらです。",
	"Privately, I'd suggest contacting your bank.",
	"@here is not something we can help with.",
	"*Please note* the code is case-insensitive.",
	"Note that *your* code is fine.",
	"Noted, thanks!\nI'll check.",
}

func TestIsNote(t *testing.T) {
	if len(noteSpellings) < 30 || len(replySpellings) < 10 {
		t.Fatalf("%d note spellings and %d replies, want at least 30 and 10", len(noteSpellings), len(replySpellings))
	}
	for _, s := range noteSpellings {
		t.Run("note/"+s, func(t *testing.T) {
			if !bot.IsNote(s) {
				t.Errorf("IsNote(%q) = false: a note would reach the customer", s)
			}
		})
	}
	for _, s := range replySpellings {
		t.Run("reply/"+s, func(t *testing.T) {
			if bot.IsNote(s) {
				t.Errorf("IsNote(%q) = true: a reply would not reach the customer", s)
			}
		})
	}
}
