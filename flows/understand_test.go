package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// turnWant is one customer action and what must follow: typed text (or, with tap, the
// label of a button shown before), the node the conversation must be at, substrings the
// answer must and must not contain, and the language it must be in.
type turnWant struct {
	say, tap  string
	node      string
	want, not []string
	lang      bot.Lang
	follow    bool // a LINE follow event instead of text
}

// TestUnderstandCustomer walks the gift-card flow through what issue 12 found missing:
// language, openers, the closing question, facts, ranking, negations and FAQ.
func TestUnderstandCustomer(t *testing.T) {
	tests := []struct {
		name    string
		profile bot.Lang // the channel's language before any text
		turns   []turnWant
	}{
		{name: "a code corrected at the closing question is checked again", profile: bot.Japanese, turns: []turnWant{
			{say: "番号が無効ですってエラー出ます", node: "ask_code"},
			{say: "これです 6TP-3KW8RM-2QX7N", node: "advice_code_dropped"},
			{say: "すみません、ちゃんとコピーしたらこっちでした R6TP-3KW8RM-2QX7N", node: "advice_code_format_ok", not: []string{"R6TP-3KW8RM"}},
		}},
		{name: "a denial of one's own use leaves the cause question asked", profile: bot.English, turns: []turnWant{
			{say: "amazon says this code was already claimed, i never used it", node: "used_cause"},
			{say: "no idea", node: "advice_used_check"},
		}},
		{name: "not knowing where it was used, said at once, answers the cause question", profile: bot.Japanese, turns: []turnWant{
			{say: "使用済みと出ますが、どこで使われたのか全くわかりません", node: "advice_used_check"},
		}},
		{name: "a card just received and what to do with it", profile: bot.English, turns: []turnWant{
			{say: "my aunt emailed me an amazon gift card, what do i do with it", node: "ask_device_register"},
		}},
		{name: "a received card with a problem named goes to the problem", profile: bot.English, turns: []turnWant{
			{say: "my aunt emailed me an amazon gift card but it says expired, now what", node: "expired_source"},
		}},
		{name: "the face icon is the phone's", profile: bot.Japanese, turns: []turnWant{
			{say: "人型のアイコンを押したけど、ギフト券の登録ってどこからやるんですか", node: "advice_register_phone"},
		}},
		{name: "a card used in part whose rest fails stopped partway", profile: bot.English, turns: []turnWant{
			{say: "i spent part of the card last month and the rest wont work now", node: "fraud_source"},
		}},
		{name: "a card got for points is no gift", profile: bot.Japanese, turns: []turnWant{
			{say: "ポイントを交換してもらったギフト券の残高が消えました", node: "ask_issue_date"},
			{say: "わかりません", node: "ask_device_expiry"},
			{say: "パソコン", node: "advice_expiry_check_pc"},
			{say: "確認したら期限切れでした", node: "expired_source"},
		}},
		{name: "a card kept unused, told at the cause question, is no use known", profile: bot.English, turns: []turnWant{
			{say: "it says the gift card was already redeemed", node: "used_cause"},
			{say: "it just sat in my wallet since christmas, never touched it", node: "advice_used_check"},
		}},
		{name: "how to contact them, after an advice that names Amazon", profile: bot.English, turns: []turnWant{
			{say: "the silver coating took half the code with it, cant read it", node: "advice_unreadable"},
			{say: "whats their number?", node: "advice_unreadable", want: []string{"contact Amazon customer service"}},
		}},
		{name: "a device said not to be had gives way to the one named", profile: bot.English, turns: []turnWant{
			{say: "how do i check the expiry date of my gift card", node: "ask_device_expiry"},
			{say: "on my phone, i dont have a computer", node: "advice_expiry_check_phone"},
		}},
		{name: "the cause the advice named, ruled out, is not solved", profile: bot.Japanese, turns: []turnWant{
			{say: "クレカが止められてギフト券が使えない", node: "advice_card_company"},
			{say: "カード会社に電話したら、カードには問題ないと言われました", node: "advice_contact_cs"},
		}},
		{name: "a site said to be in Japanese asks for no Japanese", profile: bot.English, turns: []turnWant{
			{say: "trying to add my gift card but the whole site is in Japanese, how do I do it?", node: "ask_device_register", lang: bot.English},
		}},
		{name: "a year the card is from, with will it still work, is checked", profile: bot.English, turns: []turnWant{
			{say: "gift card from my grandma is from 2012, will it still work?", node: "expired_source_dated"},
		}},
		{name: "relief closes", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券の期限切れかどうか知りたいです", node: "ask_issue_date"},
			{say: "2021年3月です", node: "advice_expiry_valid"},
			{say: "ならまだ使えるってことですね 良かった", node: "solved"},
		}},
		{name: "what happened before, told at a question, does not leave it", profile: bot.Japanese, turns: []turnWant{
			{say: "アカウントがロックされた", node: "fraud_source"},
			{say: "ギフト券を登録した直後です", node: "fraud_source"},
			{say: "こちらのサイトで買ったものです", node: "handoff_refund"},
		}},
		{name: "a question about a whole section, answered, then its own question", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券で払えない商品ってあるの？", node: "ask_item", want: []string{"何を購入しようとしていますか"}},
			{say: "ギフト券と洗剤を一緒にカートに入れてます", node: "advice_item_mixed"},
		}},
		{name: "a code pasted beside a symptom is checked", profile: bot.Japanese, turns: []turnWant{
			{say: "登録できない！番号→9QTX-4KM2RP-H7WZ3", node: "advice_code_format_ok", not: []string{"9QTX-4KM2RP"}},
		}},
		{name: "the PC site a phone opens is not a computer", profile: bot.Japanese, turns: []turnWant{
			{say: "有効期限を確認したい。スマホしかない", node: "advice_expiry_check_phone"},
			{say: "PCサイトってどこにあるの？", node: "advice_expiry_check_phone", want: []string{"フッター"}, not: []string{"有効期限の確認方法(パソコン)"}},
		}},
		{name: "a cause in one clause beats a symptom in the other", profile: bot.Japanese, turns: []turnWant{
			{say: "スクラッチ削ったら番号が消えて読めない、登録できない", node: "advice_unreadable"},
		}},
		{name: "a mixed cart beats a checkout that won't go through", profile: bot.English, turns: []turnWant{
			{say: "cart has a gift card plus headphones and the gift card payment won't go through", node: "advice_item_mixed"},
		}},
		{name: "1-Click beats the card charged", profile: bot.Japanese, turns: []turnWant{
			{say: "ワンクリック注文にしたら、ギフト券の残高が使われずにカード払いになってた", node: "advice_one_click"},
		}},
		{name: "registered already, then the trouble", profile: bot.Japanese, turns: []turnWant{
			{say: "登録したけど使えない", node: "advice_checkout_select"},
		}},
		{name: "ebay and amazon named together: the card came from ebay", profile: bot.English, turns: []turnWant{
			{say: "bought it on ebay and amazon says its been used", node: "advice_used_resale"},
		}},
		{name: "going back beside a no that would hand over", profile: bot.English, turns: []turnWant{
			{say: "the numbers on my card got scratched off", node: "advice_unreadable"},
			{say: "hmm no, actually go back", node: "start"},
		}},
		{name: "a plan in a polite verb closes, a reaction asks again", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券とほかの本を一緒にカートに入れたらギフト券で払えない", node: "advice_item_mixed"},
			{say: "まじか…", node: "advice_item_mixed", want: []string{"解決しましたか"}, not: []string{"すみません", "読み取れ"}},
			{say: "分けて買います", node: "solved"},
		}},
		{name: "a question whose facts answer a question of its section gets that advice", profile: bot.Japanese, turns: []turnWant{
			{say: "期限切れたギフト券、メルカリで買ったやつなんだけど返金される？", node: "advice_expired_bought"},
		}},
		{name: "a question without such facts gets the answer", profile: bot.Japanese, turns: []turnWant{
			{say: "期限切れたギフト券って返金される？", node: "start", want: []string{"抗議すれば返金"}},
		}},
		{name: "the balance and the total stated at once decide", profile: bot.Japanese, turns: []turnWant{
			{say: "残高4500円あります。送料入れて4,980円の商品がギフト券で買えません", node: "advice_balance_short"},
		}},
		{name: "a bare value corrected at the closing question decides again", profile: bot.English, turns: []turnWant{
			{say: "my gift card balance is gone", node: "ask_issue_date"},
			{say: "2019", node: "advice_expiry_valid"},
			{say: "sorry, it was 2014 not 2019", node: "expired_source_dated"},
		}},
		{name: "a japanese correction names the new value after the denial", profile: bot.Japanese, turns: []turnWant{
			{say: "残高が消えた", node: "ask_issue_date"},
			{say: "2019年", node: "advice_expiry_valid"},
			{say: "すみません、2019年じゃなくて2014年でした", node: "expired_source_dated"},
		}},
		{name: "a no then a word of the next question's option", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券の登録方法", node: "ask_device_register"},
			{say: "パソコン", node: "advice_register_pc"},
			{say: "まだです、無効って出ます", node: "ask_code"},
		}},
		{name: "a yes but a person", profile: bot.English, turns: []turnWant{
			{say: "my code is invalid", node: "ask_code"},
			{say: "7KQ2-5WX8RM-3TP9N", node: "advice_code_format_ok"},
			{say: "yes but I want a person to check it", node: "handoff"},
		}},
		{name: "something that comes back is not going back", profile: bot.Japanese, turns: []turnWant{
			{say: "アカウントが凍結されました、ギフト券のせいですか", node: "fraud_source"},
			{say: "アカウントは戻りますか？", node: "fraud_source"},
		}},
		{name: "a device said not to be had is not the device", profile: bot.Japanese, turns: []turnWant{
			{say: "もらったギフトカードを使いたいのですが、パソコン持ってなくてスマホだけです", node: "advice_register_phone"},
		}},
		{name: "an english device denied", profile: bot.English, turns: []turnWant{
			{say: "how do I redeem a gift card? I don't have a computer, only my iphone", node: "advice_register_phone"},
		}},
		{name: "not speaking japanese, then the problem", profile: bot.Japanese, turns: []turnWant{
			{follow: true},
			{say: "hi sorry I don't speak japanese. my gift card balance vanished", node: "ask_issue_date", lang: bot.English},
		}},
		{name: "a language and a person in one message", profile: bot.Japanese, turns: []turnWant{
			{follow: true},
			{say: "hello. english ok? i want to talk to a human", node: "handoff", lang: bot.English},
		}},
		{name: "the advice's own problem told again through a known fact", profile: bot.Japanese, turns: []turnWant{
			{say: "iPhoneでギフト券を登録したい", node: "advice_register_phone"},
			{say: "メニューにギフト券の登録が見当たりません", node: "ask_register_error", not: []string{"ギフト券の登録方法(スマホ)"}},
		}},
		{name: "thanks and a question at the closing question", profile: bot.Japanese, turns: []turnWant{
			{say: "iPhoneでギフト券を登録したい", node: "advice_register_phone"},
			{say: "ありがとう、あとハイフンって要る？", node: "advice_register_phone", want: []string{"ハイフン", "解決しましたか"}},
			{say: "顔のマークがないんですが", node: "ask_register_error"},
		}},
		{name: "asking what to do now is not solved", profile: bot.Japanese, turns: []turnWant{
			{say: "アカウント止められた", node: "fraud_source"},
			{say: "知り合いから安く譲ってもらいました", node: "advice_fraud"},
			{say: "え、どうしたらいいんですか", node: "advice_contact_cs"},
		}},
		{name: "a long english word of the answer carries to the question it leads to", profile: bot.English, turns: []turnWant{
			{say: "someone stole my code I think, it's showing used", node: "advice_used_stolen"},
		}},
		{name: "a topic word does not", profile: bot.English, turns: []turnWant{
			{say: "my amazon gift card code shows already used", node: "used_cause"},
		}},
		{name: "going back in a polite form", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券の番号入れたいです", node: "ask_device_register"},
			{say: "スマホ", node: "advice_register_phone"},
			{say: "あー違うかも、やっぱ戻ります", node: "ask_device_register"},
		}},
		{name: "a total said alone is asked after the balance", profile: bot.English, turns: []turnWant{
			{say: "my order is 2000 yen but I'm stuck at checkout", node: "ask_balance"},
			{say: "1500", node: "advice_balance_short"},
		}},
		{name: "a used code is not a gift card purchase", profile: bot.Japanese, turns: []turnWant{
			{say: "もらったギフト券が「このギフト券は既に使用されています」になってて困ってます", node: "used_cause"},
		}},
		{name: "english text after a japanese greeting", profile: bot.Japanese, turns: []turnWant{
			{follow: true, want: []string{"Amazonギフト券について"}},
			{say: "my gift card doesn't work", node: "start", lang: bot.English, want: []string{"What is happening?"}, not: []string{"Sorry"}},
		}},
		{name: "language request inside a sentence", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券が使えない", node: "start"},
			{say: "sorry I can't read Japanese, English please?", node: "start", lang: bot.English, want: []string{"I'll continue in English"}},
		}},
		{name: "japanese request", profile: bot.English, turns: []turnWant{
			{say: "my gift card is not working", node: "start", lang: bot.English},
			{say: "すみません、日本語でお願いします", node: "start", lang: bot.Japanese, want: []string{"日本語でご案内します"}},
		}},
		{name: "opener without apology", profile: bot.Japanese, turns: []turnWant{
			{follow: true},
			{say: "Amazonギフト券が使えない", node: "start", not: []string{"すみません"}},
			{say: "使えないんだけど", node: "start", not: []string{"すみません"}},
		}},
		{name: "another card has facts of its own", profile: bot.English, turns: []turnWant{
			{say: "the code I bought on ebay says already redeemed", node: "advice_used_resale"},
			{say: "no, and my other card also says already used", node: "used_cause"},
			{say: "I think someone stole the code", node: "advice_used_stolen"},
		}},
		{name: "the same card keeps its facts", profile: bot.Japanese, turns: []turnWant{
			{say: "メルカリで買ったギフト券が使用済みって出ます", node: "advice_used_resale"},
		}},
		{name: "browser is a computer", profile: bot.English, turns: []turnWant{
			{say: "how do I add a gift card", node: "ask_device_register"},
			{say: "on the website, in chrome", node: "advice_register_pc"},
		}},
		{name: "browser on a phone is the phone", profile: bot.English, turns: []turnWant{
			{say: "how do I redeem a gift card with safari on my iphone", node: "advice_register_phone"},
		}},
		{name: "the last clause tells how it ended", profile: bot.English, turns: []turnWant{
			{say: "can't choose the gift card when paying", node: "advice_checkout_select"},
			{say: "the box wasn't ticked, all good now", node: "solved"},
		}},
		{name: "a plan said as a thought closes", profile: bot.Japanese, turns: []turnWant{
			{say: "カード会社に止められたみたい", node: "advice_card_company"},
			{say: "明日電話してみようと思います", node: "solved"},
		}},
		{name: "japanese in latin letters", profile: bot.English, turns: []turnWant{
			{say: "amazon gift card no code ga mukou tte deru", node: "ask_code", lang: bot.Japanese},
		}},
		{name: "english around a japanese word", profile: bot.Japanese, turns: []turnWant{
			{say: "hi, my ギフト券 code says invalid", node: "ask_code", lang: bot.English},
		}},
		{name: "a statement of amounts is about them, not the FAQ", profile: bot.Japanese, turns: []turnWant{
			{say: "残高¥4,800 / 合計¥5,150（送料込み）です", node: "advice_balance_short"},
		}},
		{name: "some items refuse the gift card", profile: bot.English, turns: []turnWant{
			{say: "some items won't take my gift card", node: "ask_item"},
		}},
		{name: "a person asked for after a no", profile: bot.Japanese, turns: []turnWant{
			{say: "カード会社に止められた", node: "advice_card_company"},
			{say: "いや、それでもダメなんです。誰か人に相談できますか", node: "handoff"},
		}},
		{name: "an error without the word code", profile: bot.English, turns: []turnWant{
			{say: "it keeps giving me an error", node: "ask_code"},
		}},
		{name: "the long number on the back", profile: bot.Japanese, turns: []turnWant{
			{say: "カード裏の長い数字（16桁）を入れてたんですが違うんですか", node: "advice_code_serial"},
		}},
		{name: "a new problem after no where the advice asks nothing more", profile: bot.English, turns: []turnWant{
			{say: "card company blocked it", node: "advice_card_company"},
			{say: "no. my other gift card says invalid too", node: "ask_code"},
		}},
		{name: "a plain no there still hands over", profile: bot.English, turns: []turnWant{
			{say: "card company blocked it", node: "advice_card_company"},
			{say: "no", node: "advice_contact_cs"},
		}},
		{name: "the next answer told in the past is no cause found", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券の登録方法を教えて", node: "ask_device_register"},
			{say: "アイフォンです", node: "advice_register_phone"},
			{say: "やってみたら無効って出ました", node: "ask_code"},
		}},
		{name: "an unknown issue date said up front", profile: bot.Japanese, turns: []turnWant{
			{say: "何年も前にもらったカード、残高ゼロになってる。いつ発行かはわからない", node: "ask_device_expiry"},
		}},
		{name: "a word alone does not answer the issue date", profile: bot.Japanese, turns: []turnWant{
			{say: "残高がなぜか消えてて、わからない", node: "ask_issue_date"},
		}},
		{name: "a casual yes closes", profile: bot.Japanese, turns: []turnWant{
			{say: "カード会社に止められた", node: "advice_card_company"},
			{say: "おっけーです", node: "solved"},
		}},
		{name: "a past yes then but is not solved", profile: bot.Japanese, turns: []turnWant{
			{say: "支払い方法でギフト券が選べない", node: "advice_checkout_select"},
			{say: "選べました！でも合計が残高より多いみたい", not: []string{"解決してよかった", "うまく読み取れません"}},
		}},
		{name: "balance and total in kana", profile: bot.Japanese, turns: []turnWant{
			{say: "残高いちまんえん、合計いちまんにせんえんで買えない", node: "advice_balance_short"},
		}},
		{name: "acknowledgement closes", profile: bot.Japanese, turns: []turnWant{
			{say: "カード会社に止められたみたい", node: "advice_card_company"},
			{say: "わかりました、電話してみます", node: "solved"},
		}},
		{name: "ok thanks closes", profile: bot.English, turns: []turnWant{
			{say: "my card company blocked the payment", node: "advice_card_company"},
			{say: "ok thanks", node: "solved"},
		}},
		{name: "a person asked for at the closing question", profile: bot.English, turns: []turnWant{
			{say: "my card company blocked the payment", node: "advice_card_company"},
			{say: "ok, but can I talk to a human about it?", node: "handoff"},
		}},
		{name: "no and a new problem", profile: bot.Japanese, turns: []turnWant{
			{say: "カード会社に止められたみたい", node: "advice_card_company"},
			{say: "いいえ、今度は使用済みと出ます", node: "used_cause"},
		}},
		{name: "back at the end of a sentence", profile: bot.Japanese, turns: []turnWant{
			{say: "登録方法を知りたい", node: "ask_device_register"},
			{say: "パソコン", node: "advice_register_pc"},
			{say: "あ、やっぱ違うかも。戻る", node: "ask_device_register"},
		}},
		{name: "device said at the start", profile: bot.Japanese, turns: []turnWant{
			{say: "スマホでギフト券の登録の仕方がわからない", node: "advice_register_phone", want: []string{"「スマホ」ですね"}},
		}},
		{name: "issue date said at the start", profile: bot.Japanese, turns: []turnWant{
			{say: "2016年12月20日に買ったギフト券、期限切れですか？", want: []string{"発行日は2016年12月20日ですね"}, not: []string{"発行日(購入日)を入力"}},
		}},
		{name: "western date in english", profile: bot.English, turns: []turnWant{
			{say: "my balance vanished, the card was issued on March 3, 2020", node: "advice_expiry_valid", want: []string{"So the issue date is 3 March 2020"}},
		}},
		{name: "balance and total at once", profile: bot.Japanese, turns: []turnWant{
			{say: "レジで先に進めない。残高は3,000円で、合計が3,500円です", node: "advice_balance_short", want: []string{"500円不足"}},
		}},
		{name: "a corrected total re-decides", profile: bot.English, turns: []turnWant{
			{say: "I'm stuck at checkout", node: "ask_balance"},
			{say: "6000", node: "ask_total"},
			{say: "5000", node: "advice_balance_enough"},
			{say: "oh wait, with shipping it's 6,210 yen", node: "advice_balance_short", want: []string{"So the order total is ¥6,210"}},
		}},
		{name: "a code in the first message", profile: bot.Japanese, turns: []turnWant{
			{say: "AQ3K-7HN2PX-XY9Z8 を入れたら無効と出ます", want: []string{"****-Y9Z8", "番号の形式は正しいようです"}, not: []string{"AQ3K"}},
		}},
		{name: "where the card came from", profile: bot.Japanese, turns: []turnWant{
			{say: "ヤフオクで買ったギフト券が使用済みと出る", node: "advice_used_resale"},
		}},
		{name: "our site goes to the refund hand-off", profile: bot.Japanese, turns: []turnWant{
			{say: "こちらのサイトで買いましたが、使用済みと出ます", node: "handoff_refund"},
		}},
		{name: "your site in english", profile: bot.English, turns: []turnWant{
			{say: "I bought the code on your site and it says already redeemed", node: "handoff_refund"},
		}},
		{name: "checkout keeps charging the credit card", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券登録したのに、レジで支払いがクレカのままになってる", node: "advice_checkout_select"},
		}},
		{name: "checkout keeps charging visa", profile: bot.English, turns: []turnWant{
			{say: "I redeemed my gift card but at checkout it keeps charging my Visa", node: "advice_checkout_select"},
		}},
		{name: "1-click charged the card", profile: bot.Japanese, turns: []turnWant{
			{say: "1-Clickで注文したらクレカで支払われてた", node: "advice_one_click"},
		}},
		{name: "gift card with other items", profile: bot.Japanese, turns: []turnWant{
			{say: "ギフト券とほかの商品を一緒に買おうとしてる", node: "advice_item_mixed"},
		}},
		{name: "a denial is not a request", profile: bot.Japanese, turns: []turnWant{
			{say: "カード会社に止められたみたい", node: "advice_card_company"},
			{say: "いや、カード会社は関係ないです", node: "advice_contact_cs"},
		}},
		{name: "faq answered then the question again", profile: bot.Japanese, turns: []turnWant{
			{say: "番号が無効と出る", node: "ask_code"},
			{say: "ハイフンって入れるんですか", node: "ask_code", want: []string{"ハイフンは必要ありません", "ギフト券番号を、カードやメールに"}},
		}},
		{name: "faq in english at the start", profile: bot.English, turns: []turnWant{
			{say: "do I need to type the dashes in the code", node: "start", want: []string{"You don't need to type the hyphens", "What is happening?"}},
		}},
		{name: "faq at the closing question", profile: bot.Japanese, turns: []turnWant{
			{say: "カード会社に止められたみたい", node: "advice_card_company"},
			{say: "スマホで有効期限を確認する方法は？", node: "advice_card_company", want: []string{"Amazon PCサイト", "解決しましたか"}, not: []string{"【"}},
		}},
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	e := newGiftCardEngine(t, now)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &bot.Conversation{Key: bot.Key{Channel: "test", User: "u"}}
			seen := map[string]string{}
			for i, tw := range tt.turns {
				in := bot.Inbound{Kind: bot.InText, Text: tw.say, Lang: tt.profile}
				switch {
				case tw.follow:
					in = bot.Inbound{Kind: bot.InFollow, Lang: tt.profile}
				case tw.tap != "":
					in = bot.Inbound{Kind: bot.InPostback, Postback: seen[tw.tap], Text: tw.tap, Lang: tt.profile}
				}
				out, err := e.Step(context.Background(), c, in)
				if err != nil {
					t.Fatalf("turn %d: %v", i, err)
				}
				text := transcript(out)
				for _, m := range out {
					for _, ch := range m.Choices {
						seen[ch.Label] = ch.Data
					}
				}
				if tw.node != "" && c.Node != tw.node {
					t.Errorf("turn %d %q: at %s, want %s:\n%s", i, tw.say, c.Node, tw.node, text)
				}
				for _, w := range tw.want {
					if !strings.Contains(text, w) {
						t.Errorf("turn %d %q: answer lacks %q:\n%s", i, tw.say, w, text)
					}
				}
				for _, w := range tw.not {
					if strings.Contains(text, w) {
						t.Errorf("turn %d %q: answer has %q:\n%s", i, tw.say, w, text)
					}
				}
				if tw.lang != "" && c.Lang != tw.lang {
					t.Errorf("turn %d %q: language %s, want %s", i, tw.say, c.Lang, tw.lang)
				}
			}
		})
	}
}

func transcript(msgs []bot.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.Title != "" {
			b.WriteString("【" + m.Title + "】")
		}
		b.WriteString(m.Text)
		for _, s := range m.Steps {
			b.WriteString(" / " + s)
		}
		for _, c := range m.Choices {
			b.WriteString(" [" + c.Label + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}
