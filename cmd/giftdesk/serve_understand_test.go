package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// turn sends one event and returns the messages of the reply to it.
func (s *lineServer) turn(ev event) []linetest.Message {
	s.t.Helper()
	token, _ := ev["replyToken"].(string)
	if code := s.post(ev); code != http.StatusOK {
		s.t.Fatalf("webhook answered %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []linetest.Message
	err := s.fake.WaitFor(ctx, func() bool {
		for _, r := range s.fake.Replies() {
			if r.Token == token && r.Status == http.StatusOK {
				got = r.Messages
				return true
			}
		}
		return false
	})
	if err != nil {
		s.t.Fatalf("no reply to the event: %v", err)
	}
	return got
}

// TestServeLineUnderstands shows, through signed webhooks to a real serve and the LINE
// fake, each way issue 12 asked giftdesk to understand customers: the language of the
// first text and a request inside a sentence, openers, the closing question, facts said
// in passing and corrected, ranking of specific phrases, "did you mean", denials and
// direct questions.
func TestServeLineUnderstands(t *testing.T) {
	type say struct {
		text   string
		follow bool
		tap    string // the label of a quick reply of the previous answer
		want   []string
		not    []string
	}
	tests := []struct {
		name    string
		profile string // the LINE profile language
		says    []say
	}{
		{name: "english first text after a japanese greeting", profile: "ja", says: []say{
			{follow: true, want: []string{"Amazonギフト券について"}},
			{text: "my gift card doesn't work", want: []string{"What is happening?"}, not: []string{"Sorry"}},
		}},
		{name: "english asked for inside a sentence", profile: "ja", says: []say{
			{text: "ギフト券が使えない", want: []string{"どのような状況ですか"}},
			{text: "sorry I can't read Japanese, English please?", want: []string{"I'll continue in English", "What is happening?"},
				not: []string{"If you can't read the code"}},
		}},
		{name: "japanese asked for", profile: "en", says: []say{
			{text: "hi there, my gift card", want: []string{"What is happening?"}},
			{text: "日本語でお願いします", want: []string{"日本語でご案内します"}},
		}},
		{name: "an opener gets the menu without an apology", profile: "ja", says: []say{
			{follow: true},
			{text: "Amazonギフト券が使えない", want: []string{"どのような状況ですか"}, not: []string{"すみません"}},
			{text: "使えないんだけど", want: []string{"どのような状況ですか"}, not: []string{"すみません"}},
		}},
		{name: "an acknowledgement closes", profile: "ja", says: []say{
			{text: "カード会社に止められたみたい", want: []string{"クレジットカード会社による差し止め", "解決しましたか"}},
			{text: "わかりました、電話してみます", want: []string{"解決してよかったです"}},
		}},
		{name: "a person asked for in a sentence", profile: "en", says: []say{
			{text: "my card company blocked the payment", want: []string{"Blocked by the credit card company"}},
			{text: "ok, but can I talk to a human about it?", want: []string{"connecting you"}, not: []string{"Glad"}},
		}},
		{name: "no and a new problem", profile: "ja", says: []say{
			{text: "カード会社に止められたみたい"},
			{text: "いいえ、今度は使用済みと出ます", want: []string{"心当たりに近いものはどれですか"}},
		}},
		{name: "back at the end of a sentence", profile: "ja", says: []say{
			{text: "登録方法を知りたい", want: []string{"お使いの端末はどちらですか"}},
			{text: "パソコン", want: []string{"ギフト券の登録方法(パソコン)"}},
			{text: "あ、やっぱ違うかも。戻る", want: []string{"お使いの端末はどちらですか"}},
		}},
		{name: "device and date said in passing", profile: "ja", says: []say{
			{text: "スマホでギフト券の登録の仕方がわからない", want: []string{"「スマホ」ですね", "ギフト券の登録方法(スマホ)"}},
			{text: "2016年12月20日に買ったギフト券なんですが、期限切れと出ました", want: []string{"発行日は2016年12月20日ですね"},
				not: []string{"発行日(購入日)を入力"}},
		}},
		{name: "a corrected total re-decides", profile: "en", says: []say{
			{text: "I'm stuck at checkout", want: []string{"current gift card balance"}},
			{text: "6000", want: []string{"order total"}},
			{text: "5000", want: []string{"The balance seems to be enough"}},
			{text: "oh wait, with shipping it's 6,210 yen", want: []string{"So the order total is ¥6,210", "The balance seems to be short"}},
		}},
		{name: "our site goes straight to the refund hand-off", profile: "ja", says: []say{
			{text: "こちらのサイトで買いましたが、使用済みと出ます", want: []string{"返金保証"}},
		}},
		{name: "a specific phrase beats a single word", profile: "ja", says: []say{
			{text: "ギフト券登録したのに、レジで支払いがクレカのままになってる", want: []string{"支払方法でギフト券を選ぶ方法"},
				not: []string{"クレジットカード会社による差し止め"}},
		}},
		{name: "did you mean", profile: "ja", says: []say{
			{text: "期限切れで使用済み", want: []string{"もしかして", "残高が消えた・期限切れ", "「使用済み」と出る"}},
			{tap: "「使用済み」と出る", want: []string{"心当たりに近いものはどれですか"}},
		}},
		{name: "a denial is not asked again", profile: "ja", says: []say{
			{text: "カード会社に止められたみたい"},
			{text: "いや、カード会社は関係ないです", want: []string{"Amazonカスタマーサービスへの連絡方法"}, not: []string{"クレジットカード会社による差し止め"}},
		}},
		{name: "a topic and a state in other words", profile: "ja", says: []say{
			{follow: true},
			{text: "コードを入れてもエラーになっちゃう", want: []string{"ギフト券番号を、カードやメールに"}, not: []string{"すみません"}},
		}},
		{name: "a typo and an inflection in english", profile: "en", says: []say{
			{text: "the code I'm redeeming keeps showing invaild", want: []string{"Please type the gift card code"}},
		}},
		{name: "a number after did you mean", profile: "ja", says: []say{
			{text: "期限切れで使用済み", want: []string{"もしかして"}},
			{text: "2", want: []string{"心当たりに近いものはどれですか"}},
		}},
		{name: "a code inside an english sentence", profile: "en", says: []say{
			{text: "my code is rejected", want: []string{"Please type the gift card code"}},
			{text: "it's AQ12-345678-ABCDE", want: []string{"The code format looks right"}, not: []string{"unexpected characters"}},
		}},
		{name: "fine but then a problem is not solved", profile: "ja", says: []say{
			{text: "期限の確認方法をスマホで知りたい", want: []string{"解決しましたか"}},
			{text: "期限は大丈夫でした。でも残高が減ってます", not: []string{"解決してよかったです"}},
		}},
		{name: "a plan by its ending closes", profile: "ja", says: []say{
			{text: "カード会社に止められたみたい"},
			{text: "カード会社に聞いてみます", want: []string{"解決してよかったです"}},
		}},
		{name: "a direct question answered, then the question again", profile: "ja", says: []say{
			{text: "番号が無効と出る", want: []string{"ギフト券番号を、カードやメールに"}},
			{text: "ハイフンって入れるんですか", want: []string{"ハイフンは必要ありません", "ギフト券番号を、カードやメールに"}},
		}},
	}
	fake := linetest.New(t, linetest.Config{})
	s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := "U" + strings.Repeat("c", 30) + string(rune('a'+i%26)) + string(rune('a'+i/26))
			fake.SetProfile(user, linetest.Profile{DisplayName: "テスト", Language: tt.profile})
			var last []linetest.Message
			for j, sy := range tt.says {
				var ev event
				switch {
				case sy.follow:
					ev = s.userEvent(user, "follow", nil)
				case sy.tap != "":
					ev = s.postbackEvent(user, quick(t, last, sy.tap))
				default:
					ev = s.textEvent(user, sy.text)
				}
				last = s.turn(ev)
				all := texts(last)
				for _, w := range sy.want {
					if !strings.Contains(all, w) {
						t.Errorf("message %d %q: answer lacks %q:\n%s", j, sy.text, w, all)
					}
				}
				for _, w := range sy.not {
					if strings.Contains(all, w) {
						t.Errorf("message %d %q: answer has %q:\n%s", j, sy.text, w, all)
					}
				}
			}
		})
	}
	if errs := fake.Errors(); len(errs) > 0 {
		t.Errorf("invalid requests: %+v", errs)
	}
}
