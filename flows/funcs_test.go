package flows

import (
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

func TestFuncsDecisions(t *testing.T) {
	tests := []struct {
		name, decision string
		vars           map[string]string
		want           string // "" means an error
	}{
		{name: "old card", decision: "expiry", vars: map[string]string{"issue_date": "2016-05-01"}, want: "expired"},
		{name: "new card", decision: "expiry", vars: map[string]string{"issue_date": "2017-04-24"}, want: "valid"},
		{name: "straddling month", decision: "expiry", vars: map[string]string{"issue_date": "2017-04-00"}, want: "unsure"},
		{name: "year", decision: "expiry", vars: map[string]string{"issue_date": "2019-00-00"}, want: "valid"},
		{name: "no issue date", decision: "expiry", vars: map[string]string{}, want: ""},
		{name: "garbled issue date", decision: "expiry", vars: map[string]string{"issue_date": "2016/5/1"}, want: ""},
		{name: "impossible issue date", decision: "expiry", vars: map[string]string{"issue_date": "2016-02-30"}, want: ""},
		{name: "day without month", decision: "expiry", vars: map[string]string{"issue_date": "2016-00-05"}, want: ""},

		{name: "code ok", decision: "code_check", vars: map[string]string{"code.problem": "ok"}, want: "ok"},
		{name: "code dropped first", decision: "code_check", vars: map[string]string{"code.problem": "dropped_first"}, want: "dropped_first"},
		{name: "code wrong length", decision: "code_check", vars: map[string]string{"code.problem": "wrong_length"}, want: "wrong_length"},
		{name: "code bad chars", decision: "code_check", vars: map[string]string{"code.problem": "bad_chars"}, want: "bad_chars"},
		{name: "code serial number", decision: "code_check", vars: map[string]string{"code.problem": "serial_number"}, want: "serial_number"},
		{name: "code empty is not stored", decision: "code_check", vars: map[string]string{"code.problem": "empty"}, want: ""},
		{name: "code problem missing", decision: "code_check", vars: map[string]string{"code": "****-BCDE"}, want: ""},
		{name: "code problem garbled", decision: "code_check", vars: map[string]string{"code.problem": "OK"}, want: ""},

		{name: "balance short", decision: "balance", vars: map[string]string{"balance": "2000", "total": "3500"}, want: "short"},
		{name: "balance exact", decision: "balance", vars: map[string]string{"balance": "3500", "total": "3500"}, want: "enough"},
		{name: "balance more", decision: "balance", vars: map[string]string{"balance": "5000", "total": "3500"}, want: "enough"},
		{name: "balance missing", decision: "balance", vars: map[string]string{"total": "3500"}, want: ""},
		{name: "total missing", decision: "balance", vars: map[string]string{"balance": "3500"}, want: ""},
		{name: "balance garbled", decision: "balance", vars: map[string]string{"balance": "3,500円", "total": "3500"}, want: ""},
		{name: "total negative", decision: "balance", vars: map[string]string{"balance": "3500", "total": "-1"}, want: ""},
		{name: "issue date known", decision: "issue_date_known", vars: map[string]string{"issue_date": "2016-12-00"}, want: "known"},
		{name: "issue date unknown", decision: "issue_date_known", vars: map[string]string{}, want: "unknown"},
		{name: "issue date garbled", decision: "issue_date_known", vars: map[string]string{"issue_date": "昨年"}, want: "unknown"},
	}
	funcs := Funcs()
	seen := make(map[string]map[string]bool)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, ok := funcs.Decisions[tt.decision]
			if !ok {
				t.Fatalf("no decision %q", tt.decision)
			}
			got, err := dec.Func(tt.vars, testNow())
			if tt.want == "" {
				if err == nil {
					t.Fatalf("%s(%v) = %q, want an error", tt.decision, tt.vars, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s(%v) error: %v", tt.decision, tt.vars, err)
			}
			if got != tt.want {
				t.Errorf("%s(%v) = %q, want %q", tt.decision, tt.vars, got, tt.want)
			}
			if !slices.Contains(dec.Outcomes, got) {
				t.Errorf("%s returned %q, which its Outcomes %v do not list", tt.decision, got, dec.Outcomes)
			}
			if seen[tt.decision] == nil {
				seen[tt.decision] = make(map[string]bool)
			}
			seen[tt.decision][got] = true
		})
	}
	for name, dec := range funcs.Decisions {
		for _, o := range dec.Outcomes {
			if !seen[name][o] {
				t.Errorf("decision %q: outcome %q is never reached by the table", name, o)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(dec.Outcomes)))) != len(dec.Outcomes) {
			t.Errorf("decision %q lists an outcome twice: %v", name, dec.Outcomes)
		}
	}
}

func TestFuncsInputs(t *testing.T) {
	tests := []struct {
		name, input, raw string
		want             map[string]string // nil means an error
	}{
		{name: "date day", input: "date", raw: "2016年5月1日", want: map[string]string{"": "2016-05-01", "precision": "day"}},
		{name: "date month", input: "date", raw: "平成28年5月", want: map[string]string{"": "2016-05-00", "precision": "month"}},
		{name: "date year", input: "date", raw: "2016", want: map[string]string{"": "2016-00-00", "precision": "year"}},
		{name: "date invalid", input: "date", raw: "2016/2/30"},
		{name: "date future", input: "date", raw: "2030/1/1"},
		{name: "date words", input: "date", raw: "覚えていません"},
		{name: "amount", input: "amount", raw: "3,000円", want: map[string]string{"": "3000"}},
		{name: "amount units", input: "amount", raw: "1万2千円", want: map[string]string{"": "12000"}},
		{name: "amount kanji", input: "amount", raw: "三千円くらい", want: map[string]string{"": "3000"}},
		{name: "amount kana", input: "amount", raw: "さんぜんえんです", want: map[string]string{"": "3000"}},
		{name: "amount invalid", input: "amount", raw: "けっこう残ってたはず"},
		{name: "amount negative", input: "amount", raw: "-3000円"},
		{name: "code ok", input: "code", raw: "AQ12-345678-ABCDE", want: map[string]string{"": "****-BCDE", "problem": "ok"}},
		{name: "code dropped first", input: "code", raw: "Q12-345678-ABCDE", want: map[string]string{"": "****-BCDE", "problem": "dropped_first"}},
		{name: "code wrong length", input: "code", raw: "AQ12-3456-ABCDE", want: map[string]string{"": "****-BCDE", "problem": "wrong_length"}},
		{name: "code bad chars", input: "code", raw: "AQ12-345678-ABCDE。", want: map[string]string{"": "****-CDE。", "problem": "bad_chars"}},
		{name: "code serial number", input: "code", raw: "1234 5678 9012 3456", want: map[string]string{"": "****-3456", "problem": "serial_number"}},
		{name: "code short", input: "code", raw: "ABC", want: map[string]string{"": "****", "problem": "wrong_length"}},
		{name: "code in an english sentence", input: "code", raw: "here: AQ12-345678-ABCDE", want: map[string]string{"": "****-BCDE", "problem": "ok"}},
		{name: "code after it's", input: "code", raw: "it's AQ12-345678-ABCDE", want: map[string]string{"": "****-BCDE", "problem": "ok"}},
		{name: "code in japanese", input: "code", raw: "番号はQ12-345678-ABCDEです", want: map[string]string{"": "****-BCDE", "problem": "dropped_first"}},
		{name: "code empty", input: "code", raw: " - "},
	}
	funcs := Funcs()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, ok := funcs.Inputs[tt.input]
			if !ok {
				t.Fatalf("no input %q", tt.input)
			}
			got, err := in(tt.raw, testNow())
			if tt.want == nil {
				if err == nil {
					t.Fatalf("%s(%q) = %v, want an error", tt.input, tt.raw, got)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tt.raw)) {
					t.Errorf("%s(%q) error %q repeats the input", tt.input, tt.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s(%q) error: %v", tt.input, tt.raw, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("%s(%q) = %v, want %v", tt.input, tt.raw, got, tt.want)
			}
		})
	}
}

// TestCodeInputMasks checks that the "code" input never stores more than four characters
// of a code, however it is typed.
func TestCodeInputMasks(t *testing.T) {
	code := Funcs().Inputs["code"]
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		c := randomTypedCode(rng)
		raw := c.typed
		if i%5 == 0 {
			raw = "番号は" + raw + "です" // bad_chars: the whole answer is masked
		}
		vars, err := code(raw, testNow())
		if err != nil && c.blindSpot() {
			continue // not told from words, so not read as a code either
		}
		if err != nil {
			t.Fatalf("code(%q) error: %v", raw, err)
		}
		for key, v := range vars {
			shown := strings.TrimPrefix(v, maskPrefix)
			if key == "" && (len([]rune(shown)) > 4 || !strings.HasPrefix(v, "****")) {
				t.Fatalf("code(%q) stored %q: more than four characters", raw, v)
			}
			for j := 0; j+5 <= len(c.code); j++ {
				if strings.Contains(v, c.code[j:j+5]) {
					t.Fatalf("code(%q) stored %s=%q, which holds %q of the code", raw, key, v, c.code[j:j+5])
				}
			}
		}
	}
}

func TestFuncsVars(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		lang bot.Lang
		want map[string]string
	}{
		{
			name: "new card ja",
			vars: map[string]string{"issue_date": "2017-04-24", "issue_date.precision": "day"},
			lang: bot.Japanese,
			want: map[string]string{"issue_date_text": "2017年4月24日", "expiry_date": "2027年4月24日"},
		},
		{
			name: "new card en",
			vars: map[string]string{"issue_date": "2017-04-24"},
			lang: bot.English,
			want: map[string]string{"issue_date_text": "24 April 2017", "expiry_date": "24 April 2027"},
		},
		{
			name: "new card month keeps its precision",
			vars: map[string]string{"issue_date": "2019-05-00"},
			lang: bot.Japanese,
			want: map[string]string{"issue_date_text": "2019年5月", "expiry_date": "2029年5月"},
		},
		{
			name: "new card year en",
			vars: map[string]string{"issue_date": "2018-00-00"},
			lang: bot.English,
			want: map[string]string{"issue_date_text": "2018", "expiry_date": "2028"},
		},
		{
			name: "new card month en",
			vars: map[string]string{"issue_date": "2017-05-00"},
			lang: bot.English,
			want: map[string]string{"issue_date_text": "May 2017", "expiry_date": "May 2027"},
		},
		{
			name: "new card on a leap day",
			vars: map[string]string{"issue_date": "2020-02-29"},
			lang: bot.Japanese,
			want: map[string]string{"issue_date_text": "2020年2月29日", "expiry_date": "2030年2月28日"},
		},
		{
			name: "straddling year",
			vars: map[string]string{"issue_date": "2017-00-00"},
			lang: bot.Japanese,
			want: map[string]string{"issue_date_text": "2017年", "expiry_date": "2018年1月1日〜2027年12月31日"},
		},
		{
			name: "old card range ja",
			vars: map[string]string{"issue_date": "2016-05-01"},
			lang: bot.Japanese,
			want: map[string]string{"issue_date_text": "2016年5月1日", "expiry_date": "2017年5月1日〜2019年5月1日"},
		},
		{
			name: "old card range en",
			vars: map[string]string{"issue_date": "2016-05-00"},
			lang: bot.English,
			want: map[string]string{"issue_date_text": "May 2016", "expiry_date": "1 May 2017 – 31 May 2019"},
		},
		{
			name: "straddling month",
			vars: map[string]string{"issue_date": "2017-04-00"},
			lang: bot.English,
			want: map[string]string{"issue_date_text": "April 2017", "expiry_date": "1 April 2018 – 30 April 2027"},
		},
		{
			name: "amounts ja",
			vars: map[string]string{"balance": "2000", "total": "3500"},
			lang: bot.Japanese,
			want: map[string]string{"balance_text": "2,000円", "total_text": "3,500円", "shortfall": "1,500円"},
		},
		{
			name: "amounts en",
			vars: map[string]string{"balance": "5000", "total": "3500"},
			lang: bot.English,
			want: map[string]string{"balance_text": "¥5,000", "total_text": "¥3,500", "shortfall": "¥0"},
		},
		{
			name: "balance only",
			vars: map[string]string{"balance": "2000"},
			lang: bot.Japanese,
			want: map[string]string{"balance_text": "2,000円"},
		},
		{
			name: "garbled vars are left out",
			vars: map[string]string{"issue_date": "yesterday", "balance": "lots", "total": "3500"},
			lang: bot.Japanese,
			want: map[string]string{"total_text": "3,500円"},
		},
		{
			name: "nothing",
			vars: map[string]string{"code": "****-BCDE"},
			lang: bot.Japanese,
			want: map[string]string{},
		},
	}
	vars := Funcs().Vars
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vars(tt.vars, tt.lang); !maps.Equal(got, tt.want) {
				t.Errorf("Vars(%v, %s) = %v, want %v", tt.vars, tt.lang, got, tt.want)
			}
		})
	}
}

func TestInputsInSentences(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	funcs := Funcs()
	tests := []struct {
		name, input, raw, want string
		wantErr                bool
	}{
		{name: "date with ごろ", input: "date", raw: "２０１８年３月ごろ", want: "2018-03-00"},
		{name: "date in a sentence", input: "date", raw: "2016年5月頃だったと思います", want: "2016-05-00"},
		{name: "english date in a sentence", input: "date", raw: "sometime in May 2017 i think", want: "2017-05-00"},
		{name: "era in a sentence", input: "date", raw: "たしか平成28年5月にもらいました", want: "2016-05-00"},
		{name: "future date", input: "date", raw: "2027/4/24", wantErr: true},
		{name: "no date", input: "date", raw: "覚えていません", wantErr: true},
		{name: "amount in a sentence", input: "amount", raw: "残高は2,500円です", want: "2500"},
		{name: "amount with shipping", input: "amount", raw: "送料込みで4,280円", want: "4280"},
		{name: "english amount", input: "amount", raw: "the total is 6,480 yen", want: "6480"},
		{name: "no amount", input: "amount", raw: "わかりません", wantErr: true},
		{name: "code", input: "code", raw: "ＡＢＣＤ－ＥＦＧＨ１２－ＪＫＬＭ３", want: "****-KLM3"},
		{name: "a question is not a code", input: "code", raw: "番号ってどこに書いてありますか?", wantErr: true},
		{name: "a sentence is not a code", input: "code", raw: "can I talk to a real person please", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, err := funcs.Inputs[tt.input](tt.raw, now)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("%s(%q) = %v, want an error", tt.input, tt.raw, vars)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s(%q): %v", tt.input, tt.raw, err)
			}
			if vars[""] != tt.want {
				t.Errorf("%s(%q) = %q, want %q", tt.input, tt.raw, vars[""], tt.want)
			}
		})
	}
	var ie *bot.InputError
	if _, err := funcs.Inputs["date"]("2027/4/24", now); !errors.As(err, &ie) || ie.Hint.JA == "" {
		t.Errorf("a future date gives %v, want an InputError with a hint", err)
	}
}

func TestReadFacts(t *testing.T) {
	tests := []struct {
		text string
		want map[string]string
	}{
		{"2016年12月20日に買ったギフト券", map[string]string{"issue_date": "2016-12-20", "issue_date.precision": "day"}},
		{"H30.7.1に購入", map[string]string{"issue_date": "2018-07-01", "issue_date.precision": "day"}},
		{"I received it in 2014 as a gift", map[string]string{"issue_date": "2014-00-00", "issue_date.precision": "year"}},
		{"残高は3,000円で、合計が3,500円です", map[string]string{"balance": "3000", "total": "3500"}},
		{"oh wait, with shipping it's 5,210 yen", map[string]string{"total": "5210"}},
		{"my balance is 1,500 yen and the order is 1,980 yen", map[string]string{"balance": "1500", "total": "1980"}},
		{"3000円", map[string]string{}},
		{"2000円のギフト券", map[string]string{}},
		{"AQ3K-7HN2PX-XY9Z8 が無効", map[string]string{"code": "****-Y9Z8", "code.problem": "ok"}},
		{"2030年に買った", map[string]string{}},
		{"残高五千円、合計六千円で決済できない", map[string]string{"balance": "5000", "total": "6000"}},
		{"残高さんぜんえんで、買いたいものが3500円です", map[string]string{"balance": "3000", "total": "3500"}},
		{"1万円分のギフト券が残ってるのに9800円の買い物ができない", map[string]string{"balance": "10000", "total": "9800"}},
		{"balance ¥3,200, total 3,580 yen incl shipping", map[string]string{"balance": "3200", "total": "3580"}},
		{"I've got 10k yen on it and the order is 8,400en", map[string]string{"balance": "10000", "total": "8400"}},
		{"oh wait, with the gift wrap fee it's 6,120", map[string]string{"total": "6120"}},
		{"my balance is 2,000 yen and the item is 2,600 yen", map[string]string{"balance": "2000", "total": "2600"}},
		{"残高2,980円で3,500円の本が買えない", map[string]string{"balance": "2980", "total": "3500"}},
		{"残り3千円、商品2980円なのに進めない", map[string]string{"balance": "3000"}},
		{"my order comes to ¥7,200 and my gift card has ¥8,000", map[string]string{"balance": "8000", "total": "7200"}},
		{"ギフト券の残高は5000円、注文金額は4200円", map[string]string{"balance": "5000", "total": "4200"}},
		{"H26頃のギフト券", map[string]string{"issue_date": "2014-00-00", "issue_date.precision": "year"}},
		{"bought on 5/1/2021, says nothing left", map[string]string{"issue_date": "2021-05-01", "issue_date.precision": "day"}},
		{"it's from '21, does it still work?", map[string]string{"issue_date": "2021-00-00", "issue_date.precision": "year"}},
		{"令和元年の年末にもらった券", map[string]string{"issue_date": "2019-00-00", "issue_date.precision": "year"}},
		{"2018ねんにともだちからもらったカード", map[string]string{"issue_date": "2018-00-00", "issue_date.precision": "year"}},
		{"1万円分のギフト券、2000円使ったら残りが使えなくなりました", map[string]string{}},
		{"spent 3000 yen of my balance and now the rest is gone", map[string]string{}},
	}
	for _, tt := range tests {
		got := readFacts(tt.text, testNow())
		if len(got) != len(tt.want) {
			t.Errorf("readFacts(%q) = %v, want %v", tt.text, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("readFacts(%q)[%s] = %q, want %q", tt.text, k, got[k], v)
			}
		}
	}
}

func TestAbsoluteYears(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct{ name, in, want string }{
		{name: "kyonen", in: "去年の3月ぐらい", want: "2025-03-00"},
		{name: "ototoshi", in: "おととし", want: "2024-00-00"},
		{name: "last year", in: "I got it last year", want: "2025-00-00"},
		{name: "years ago", in: "2年前くらい", want: "2024-00-00"},
		{name: "kanji years ago", in: "三年前です", want: "2023-00-00"},
		{name: "english years ago", in: "three years ago", want: "2023-00-00"},
		{name: "a couple of years ago", in: "a couple of years ago I think", want: "2024-00-00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dateInput(tt.in, now)
			if err != nil {
				t.Fatalf("dateInput(%q): %v", tt.in, err)
			}
			if got[""] != tt.want {
				t.Errorf("dateInput(%q) = %q, want %q", tt.in, got[""], tt.want)
			}
		})
	}
}
