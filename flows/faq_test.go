package flows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

// TestFAQCoversEverySection checks that every article section the nodes cover ("1-1" …
// "7-1"; "0" is the flow's own frame) can be asked about directly: it has an FAQ entry.
func TestFAQCoversEverySection(t *testing.T) {
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	answered := map[string]bool{}
	for _, q := range f.FAQ {
		answered[q.Section] = true
	}
	var sections []string
	for _, n := range f.Nodes {
		if n.Section != "0" && !slices.Contains(sections, n.Section) {
			sections = append(sections, n.Section)
		}
	}
	if len(sections) < 20 {
		t.Fatalf("the nodes cover only %d sections: %v", len(sections), sections)
	}
	for _, s := range sections {
		if !answered[s] {
			t.Errorf("section %s: no FAQ entry answers a direct question about it", s)
		}
	}
}

// TestFAQQuestionsFindTheirEntry checks that the FAQ's questions tell the entries apart:
// each customer question, scored against the FAQ alone the way the engine scores phrases
// (normalised; the longest contained phrase wins; Latin phrases on word boundaries), finds
// the entry that answers it, and no other entry ties with it. Ranking FAQ entries against
// options and intents is the engine's job and tested there.
func TestFAQQuestionsFindTheirEntry(t *testing.T) {
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text, want string
	}{
		{name: "hyphens ja", text: "ハイフンって入れるんですか", want: "hyphens"},
		{name: "hyphens ja keigo", text: "番号のハイフンは入力する必要がありますか?", want: "hyphens"},
		{name: "hyphens en", text: "do I need to type the dashes in the code", want: "hyphens"},
		{name: "copy paste ja", text: "コピペで大丈夫ですか", want: "copy_paste"},
		{name: "how to use ja", text: "ギフト券ってどうやって使うの?", want: "how_to_use"},
		{name: "how to use en", text: "How do gift cards work?", want: "how_to_use"},
		{name: "register on pc ja", text: "PCで登録する方法を教えて", want: "register_on_pc"},
		{name: "register on phone ja", text: "ｱﾌﾟﾘで登録したいです", want: "register_on_phone"},
		{name: "register on phone en", text: "how do I redeem on my phone?", want: "register_on_phone"},
		{name: "pay with gift card ja", text: "ギフト券で払うにはどうすればいいですか", want: "pay_with_gift_card"},
		{name: "card still selected ja", text: "ギフト券登録したのに、レジで支払いがクレカのままになってる", want: "card_still_selected"},
		{name: "card still selected en", text: "I redeemed my gift card but at checkout it keeps charging my Visa", want: "card_still_selected"},
		{name: "pay in full ja", text: "全額ギフト券で払えますか", want: "pay_in_full"},
		{name: "validity ja", text: "有効期限って何年ですか", want: "validity"},
		{name: "validity en", text: "how long is a gift card valid?", want: "validity"},
		{name: "balance vanished ja", text: "残高が消えたのはなぜですか", want: "balance_vanished"},
		{name: "check balance ja", text: "残高の確認方法は?", want: "check_expiry_pc"},
		{name: "check balance en", text: "Where can I see my balance?", want: "check_expiry_pc"},
		{name: "check expiry phone ja", text: "スマホで有効期限を確認する方法は？", want: "check_expiry_phone"},
		{name: "check expiry phone en", text: "I can't see the expiry date on my phone", want: "check_expiry_phone"},
		{name: "expired card ja", text: "期限切れのギフト券は使えますか", want: "expired_card"},
		{name: "extend expiry ja", text: "有効期限を延長する方法はありますか", want: "extend_expiry"},
		{name: "valid but unusable ja", text: "期限は切れてないのに使えません", want: "valid_but_unusable"},
		{name: "already used ja", text: "使用済みと出るのはなぜ?", want: "already_used_meaning"},
		{name: "already used en", text: "what does already redeemed mean", want: "already_used_meaning"},
		{name: "register once ja", text: "使うたびに登録しないといけないの?", want: "register_once"},
		{name: "register again ja", text: "もう一度登録できますか", want: "register_again"},
		{name: "bought used code ja", text: "ヤフオクで買ったら使用済みでした", want: "bought_used_code"},
		{name: "stolen ja", text: "コードを盗まれたかもしれない", want: "code_stolen"},
		{name: "stolen en", text: "what if my code was stolen", want: "code_stolen"},
		{name: "fraud ja", text: "アカウントが凍結されたのはなぜですか", want: "fraud_card"},
		{name: "what can't I buy en", text: "what can't I buy with a gift card?", want: "cant_buy"},
		{name: "gift card for gift card ja", text: "ギフト券でギフト券は買えますか", want: "gift_card_for_gift_card"},
		{name: "gift card for gift card en", text: "Can I buy a gift card with a gift card?", want: "gift_card_for_gift_card"},
		{name: "gift card in cart ja", text: "ギフト券とほかの商品を一緒に買おうとしてる", want: "gift_card_in_cart"},
		{name: "marketplace en", text: "can I pay for marketplace items with a gift card", want: "marketplace_payment"},
		{name: "marketplace ja", text: "マケプレの商品も買えますか", want: "marketplace_payment"},
		{name: "combine ja", text: "ギフト券とクレカって併用できますか", want: "combine_payment"},
		{name: "combine en", text: "can I combine gift card and credit card", want: "combine_payment"},
		{name: "shipping en", text: "I can't get past checkout even though my balance covers the item", want: "shipping_included"},
		{name: "shipping ja", text: "送料もギフト券で払えますか", want: "shipping_included"},
		{name: "card company ja", text: "カード会社に止められたらどうなりますか", want: "card_company_block"},
		{name: "contact amazon ja", text: "Amazonに問い合わせるにはどうしたらいいですか", want: "contact_amazon_how"},
		{name: "contact amazon en", text: "how do I contact Amazon?", want: "contact_amazon_how"},
		{name: "contact method ja", text: "電話とチャットどっちがいいですか", want: "contact_method"},
		{name: "scratched ja", text: "番号が削れて読めないんですが、カードは捨てていいですか", want: "scratched_code"},
		{name: "what is 1-Click ja", text: "1-Clickって何ですか", want: "what_is_one_click"},
		{name: "what is 1-Click en", text: "what is 1-click?", want: "what_is_one_click"},
		{name: "1-Click charged the card ja", text: "ワンクリックでクレカに請求された", want: "one_click_gift_card"},
		{name: "1-Click with gift card en", text: "Can I use a gift card with 1-Click?", want: "one_click_gift_card"},
	}
	answered := map[string]bool{}
	for _, tt := range tests {
		answered[tt.want] = true
		t.Run(tt.name, func(t *testing.T) {
			got, tie := bestFAQ(f.FAQ, tt.text)
			switch {
			case tie != "":
				t.Fatalf("%q: entries %q and %q tie", tt.text, got, tie)
			case got != tt.want:
				t.Fatalf("%q found %q, want %q", tt.text, got, tt.want)
			}
		})
	}
	for _, q := range f.FAQ {
		if !answered[q.ID] {
			t.Errorf("faq %q: no customer question in this test asks it", q.ID)
		}
	}
}

// bestFAQ returns the id of the entry with the longest question found in text, and the id
// of another entry with a question as long, if any.
func bestFAQ(entries []bot.FAQ, text string) (best, tie string) {
	norm := textnorm.Normalize(text)
	compact := strings.ReplaceAll(norm, " ", "")
	spaced := " " + norm + " "
	bestLen := 0
	for _, e := range entries {
		for _, q := range e.Questions.All() {
			p := textnorm.Normalize(q)
			pc := strings.ReplaceAll(p, " ", "")
			ascii := true
			for _, r := range pc {
				ascii = ascii && r < 0x80
			}
			found := strings.Contains(compact, pc)
			if ascii {
				found = strings.Contains(spaced, " "+p+" ")
			}
			n := len([]rune(pc))
			switch {
			case !found || n < bestLen:
			case n > bestLen:
				best, tie, bestLen = e.ID, "", n
			case e.ID != best:
				tie = e.ID
			}
		}
	}
	return best, tie
}
