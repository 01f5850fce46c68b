package flows

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/giftdesk/giftdesk/bot"
)

// The conversation variables the decisions read. The flow's input nodes store them.
const (
	varIssueDate   = "issue_date"   // "YYYY-MM-DD" from the "date" input, 00 for unknown parts
	varCodeProblem = "code.problem" // a CodeProblem from the "code" input
	varBalance     = "balance"      // yen from the "amount" input
	varTotal       = "total"        // yen from the "amount" input
)

// The outcomes of the "balance" decision.
const (
	balanceShort  = "short"
	balanceEnough = "enough"
)

// Funcs returns the Go functions the gift-card flow names. Each call returns new maps, which
// the caller owns; the functions are pure and safe for concurrent use.
//
// Inputs (what they store; "" is the node's own variable):
//   - "date": ParseDate; "" is the date as YYYY-MM-DD with unknown parts 00 ("2016-05-00"),
//     "precision" is "day", "month" or "year".
//   - "amount": ParseYen; "" is the amount in yen ("3000").
//   - "code": CheckCode; "" is the code masked by MaskCode, "problem" the CodeProblem. Only
//     an empty answer is an error: every other problem is an answer the flow branches on.
//
// The inputs' errors never contain the customer's answer.
//
// Decisions:
//   - "expiry" reads issue_date: "expired", "valid" or "unsure" (ExpiryStatus).
//   - "code_check" reads code.problem: "ok", "dropped_first", "wrong_length", "bad_chars" or
//     "serial_number".
//   - "balance" reads balance and total: "short" or "enough".
//   - "issue_date_known" reads issue_date: "known" when it holds a date, else "unknown".
//
// A missing or garbled variable is an error, which hands the customer to a human.
//
// Vars derives, from whichever inputs exist: issue_date_text (the issue date as written in
// the language, to its precision), expiry_date (see expiryText), balance_text, total_text
// and shortfall (amounts formatted by FormatYen).
func Funcs() bot.Funcs {
	return bot.Funcs{
		Inputs: map[string]bot.InputFunc{
			"date":   dateInput,
			"amount": amountInput,
			"code":   codeInput,
		},
		Decisions: map[string]bot.Decision{
			"expiry": {
				Outcomes: []string{string(ExpiryExpired), string(ExpiryValid), string(ExpiryUnsure)},
				Func:     expiryDecision,
			},
			"code_check": {
				Outcomes: []string{string(CodeOK), string(CodeDroppedFirst), string(CodeWrongLength),
					string(CodeBadChars), string(CodeSerialNumber)},
				Func: codeCheckDecision,
			},
			"balance": {
				Outcomes: []string{balanceShort, balanceEnough},
				Func:     balanceDecision,
			},
			"issue_date_known": {
				Outcomes: []string{"known", "unknown"},
				Func: func(vars map[string]string, _ time.Time) (string, error) {
					if _, err := storedDate(vars[varIssueDate]); err == nil {
						return "known", nil
					}
					return "unknown", nil
				},
			},
		},
		Vars:  displayVars,
		Facts: readFacts,
	}
}

// readFacts reads the typed facts of a message written at any point of the conversation,
// under the variables the input nodes store: a gift-card code ("code", masked, and
// "code.problem"), an issue date with a year ("issue_date", "issue_date.precision"; a
// future date is left out), and amounts named as the balance or the total
// (「残高は3,000円」, "with shipping it's 5,210 yen"). A bare number is not a fact: what it
// is depends on the question it answers.
func readFacts(raw string, now time.Time) map[string]string {
	out := map[string]string{}
	text := norm.NFKC.String(raw)
	// One scan finds the codes (as FindCode) and masks them (as RedactCodes).
	if redacted, codes := redactCodes(text); len(codes) > 0 {
		code, problem := CheckCode(codes[0])
		// The 16 digits on the back of a card, typed as the code, are told apart by the
		// code question.
		if hasLetterAndDigit(code) && problem != CodeEmpty && problem != CodeSerialNumber || problem == CodeSerialNumber {
			out[varCode] = MaskCode(code)
			out[varCodeProblem] = string(problem)
		}
		text = redacted
	}
	text = yenNumerals(text)
	// 「令和元年」 is a date without a digit.
	if !strings.ContainsAny(text, "0123456789") && !strings.Contains(text, "元年") {
		return out
	}
	dates := [][]int(nil)
	if yearish(text) {
		dates = factDate.FindAllStringIndex(text, 4)
	}
	for _, loc := range dates {
		// "in 2014", "bought 2019": the year alone.
		cand := factDateForm(yearLead.ReplaceAllString(text[loc[0]:loc[1]], ""))
		d, err := ParseDate(cand, now)
		if err != nil {
			continue
		}
		if _, ok := out[varIssueDate]; !ok {
			out[varIssueDate] = d.String()
			out[varIssueDate+".precision"] = string(d.Precision())
		}
		// Blank the date out, so that its numbers are not read as amounts.
		text = text[:loc[0]] + strings.Repeat(" ", loc[1]-loc[0]) + text[loc[1]:]
	}
	amounts := amountLike.FindAllStringIndex(text, 8)
	prevEnd := 0
	var unnamed []int64
	for i, loc := range amounts {
		next := len(text)
		if i+1 < len(amounts) {
			next = amounts[i+1][0]
		}
		before := strings.ToLower(text[max(prevEnd, loc[0]-48):loc[0]])
		after := strings.ToLower(text[loc[1]:min(next, loc[1]+24)])
		prevEnd = loc[1]
		n, err := ParseYen(strings.TrimRight(strings.TrimSpace(text[loc[0]:loc[1]]), ","))
		if err != nil || n <= 0 {
			continue
		}
		if k := amountKind(before, after); k != "" {
			out[k] = strconv.FormatInt(n, 10)
		} else {
			unnamed = append(unnamed, n)
		}
	}
	// Two amounts, one named: the other is the other one (「残高2,980円で3,500円の本が」), but
	// an item's price is the total only when it is above the balance: below it, shipping
	// or fees may still make the total more (「残り3千円、商品2980円なのに進めない」).
	if len(unnamed) == 1 {
		balance, hasBalance := out[varBalance]
		_, hasTotal := out[varTotal]
		switch {
		case hasBalance && !hasTotal:
			if b, err := strconv.ParseInt(balance, 10, 64); err == nil && unnamed[0] > b {
				out[varTotal] = strconv.FormatInt(unnamed[0], 10)
			}
		case hasTotal && !hasBalance:
			out[varBalance] = strconv.FormatInt(unnamed[0], 10)
		}
	}
	return out
}

// yearish reports whether text may hold a date with a year: four digits in a row, an era
// name, or R/H before a digit (R6.1.5). It spares the date pattern most messages.
func yearish(text string) bool {
	if strings.Contains(text, "令和") || strings.Contains(text, "平成") {
		return true
	}
	if strings.Contains(text, " '") {
		return true
	}
	run := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			if run++; run == 4 {
				return true
			}
		default:
			run = 0
		}
		if (c == 'R' || c == 'H' || c == 'r' || c == 'h') && i+1 < len(text) {
			j := i + 1
			for j < len(text) && (text[j] == ' ' || text[j] == '.') {
				j++
			}
			if j < len(text) && text[j] >= '0' && text[j] <= '9' {
				return true
			}
		}
	}
	return false
}

// The variables of the code input.
const varCode = "code"

// factDate finds dates that say their year in a sentence: 「2016年12月20日」, 「平成28年」,
// "2016/12/20", "Dec 20, 2016"; not a bare four-digit number, which may be an amount.
var factDate = regexp.MustCompile(`(?i)(?:令和|平成|[RH]\.)\s*(?:\d{1,2}|元)\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?` +
	`|\b[RH]\s*\d{1,2}(?:年|頃|ごろ|くらい|ぐらい)` +
	`|\b\d{1,2}/\d{1,2}/\d{4}\b` +
	`|\b(?:in|from|since|issued|bought)\s+'\d{2}\b` +
	`|\b[RH]\s*\.?\s*\d{1,2}\s*[./\-]\s*\d{1,2}(?:\s*[./\-]\s*\d{1,2})?` +
	`|\b(?:in|from|since|issued|bought)\s+\d{4}\b` +
	`|\d{4}\s*[年/.\-]\s*\d{1,2}(?:\s*[月/.\-]\s*\d{1,2}\s*日?)?\s*月?` +
	`|\d{4}\s*(?:年|ねん)` +
	`|(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?\s+\d{4}`)

// factDateForm rewrites the date forms factDate finds that ParseDate does not read: an
// era year said to be about right (「H26頃」 → H26年), a month/day/year date ("5/1/2021",
// read as an American writes it), a year of two digits ("from '21" → 2021) and a year
// written with 「ねん」 in kana (「2018ねん」 → 2018年).
func factDateForm(cand string) string {
	if rest, ok := strings.CutSuffix(cand, "ねん"); ok {
		cand = strings.TrimSpace(rest) + "年"
	}
	for _, suf := range []string{"頃", "ごろ", "くらい", "ぐらい"} {
		if rest, ok := strings.CutSuffix(cand, suf); ok {
			return rest + "年"
		}
	}
	if m := usDate.FindStringSubmatch(cand); m != nil {
		return m[3] + "/" + m[1] + "/" + m[2]
	}
	if rest, ok := strings.CutPrefix(cand, "'"); ok {
		return "20" + rest
	}
	return cand
}

var usDate = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})/(\d{4})$`)

// yearLead is the word before a bare year in a sentence ("in 2014").
var yearLead = regexp.MustCompile(`(?i)^(?:in|from|since|issued|bought)\s+`)

// Words that name an amount: the nearest one before it wins, else one right after it.
var (
	balanceWords = []string{"残高", "balance", "gift card has", "card has", "i have", "ive got", "ギフト券は", "ギフト券が", "ギフト券の残り", "残り", "left on", "on the card", "on my card",
		"on the gift card", "on my gift card", "on it", "remaining"}
	totalWords = []string{"合計", "請求", "送料", "総額", "代金", "支払額", "支払い額", "お会計", "会計", "total", "shipping",
		"altogether", "order is", "order total", "the order", "comes to", "手数料", "込み", "税込", "incl", "including", "with fees", "came to", "in all", "in total", "cost", "price", "値段", "価格", "order", "の買い物", "の注文", "買いたいもの", "欲しいもの", "ほしいもの", "欲しい商品", "fee", "fees", "金額", "gift wrap", "wrapping", "ラッピング", "tax", "税", "の商品", "注文は", "注文が", "の品"}
)

// amountKind says whether an amount is the balance or the total by the words around it:
// the nearest one before it, unless a word right after it is nearer
// (「…ギフト券が残ってるのに9800円の買い物が…」: 9800円 is the total).
func amountKind(before, after string) string {
	// 「2000円使ったら残りが…」, "spent 3000 of it": money spent is neither the balance nor
	// the total, whatever word follows.
	rest := strings.TrimSpace(after)
	for _, w := range []string{"分", "ぶん", "ほど", "くらい", "ぐらい"} {
		rest = strings.TrimSpace(strings.TrimPrefix(rest, w))
	}
	for _, w := range spentWords {
		if strings.HasPrefix(rest, w) {
			return ""
		}
	}
	if lead := strings.TrimSpace(before); strings.HasSuffix(lead, "spent") || strings.HasSuffix(lead, "used") {
		return ""
	}
	bestPos, kind := -1, ""
	for _, ws := range []struct {
		words []string
		kind  string
	}{{balanceWords, varBalance}, {totalWords, varTotal}} {
		for _, w := range ws.words {
			if i := strings.LastIndex(before, w); i >= 0 && i+len(w) > bestPos {
				bestPos, kind = i+len(w), ws.kind
			}
		}
	}
	if kind != "" && len(before)-bestPos <= nearAmount {
		return kind
	}
	afterPos, afterKind := len(after)+1, ""
	for _, ws := range []struct {
		words []string
		kind  string
	}{{balanceWords, varBalance}, {totalWords, varTotal}} {
		for _, w := range ws.words {
			if i := strings.Index(after, w); i >= 0 && i < afterPos {
				afterPos, afterKind = i, ws.kind
			}
		}
	}
	if kind == "" || afterKind != "" && afterPos <= nearAmount {
		return afterKind
	}
	return kind
}

// spentWords, right after an amount, say it was spent.
var spentWords = []string{"使った", "使って", "使い", "使用", "を使", "spent", "used"}

// nearAmount is how near (in bytes: four kana or kanji) a word must be to an amount to
// outweigh a word on its other side.
const nearAmount = 12

func hasLetterAndDigit(s string) bool {
	return strings.ContainsAny(s, "0123456789") && strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

// futureHint answers an issue date in the future, most often a mistyped year.
var futureHint = bot.Text{
	JA: "その日付はまだ来ていません。発行日の年をもう一度ご確認のうえ、「2019/5/10」のように入力してください。",
	EN: "That date hasn't come yet. Please check the year of the issue date and type it like 2019/5/10.",
}

// dateInput parses an issue date, also when the customer wrote words around it
// (「2018年3月ごろ」, "sometime in May 2017 I think").
func dateInput(raw string, now time.Time) (map[string]string, error) {
	raw = absoluteYears(raw, now)
	d, err := ParseDate(raw, now)
	if err != nil {
		for _, cand := range dateCandidates(raw) {
			if cd, cerr := ParseDate(cand, now); cerr == nil {
				d, err = cd, nil
				break
			} else if strings.Contains(cerr.Error(), "future") {
				err = cerr
			}
		}
	}
	if err != nil {
		if strings.Contains(err.Error(), "future") {
			return nil, &bot.InputError{Hint: futureHint, Err: err}
		}
		return nil, err
	}
	return map[string]string{"": d.String(), "precision": string(d.Precision())}, nil
}

// dateLike finds the parts of a sentence that may be a date, for ParseDate to judge.
var dateLike = regexp.MustCompile(`(?i)(?:令和|平成|[RH]\s*\.?)\s*(?:\d{1,2}|元)\s*[年/.\-]?(?:\s*\d{1,2}\s*[月/.\-]?)?(?:\s*\d{1,2}\s*日?)?` +
	`|\d{4}\s*[年/.\-]\s*\d{1,2}(?:\s*[月/.\-]\s*\d{1,2}\s*日?)?\s*月?` +
	`|\d{4}\s*(?:年|ねん)` +
	`|(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?\s+\d{4}` +
	`|\b\d{4}\b`)

func dateCandidates(raw string) []string {
	return dateLike.FindAllString(norm.NFKC.String(raw), 4)
}

// amountInput parses a yen amount, also inside a sentence (「送料込みで4,280円です」).
func amountInput(raw string, _ time.Time) (map[string]string, error) {
	n, err := ParseYen(raw)
	if err != nil && !negative.MatchString(norm.NFKC.String(raw)) {
		for _, cand := range amountLike.FindAllString(yenNumerals(norm.NFKC.String(raw)), 4) {
			if cn, cerr := ParseYen(strings.TrimSpace(cand)); cerr == nil {
				n, err = cn, nil
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"": strconv.FormatInt(n, 10)}, nil
}

// negative matches a minus sign before a number: such an answer is rejected as a whole.
var negative = regexp.MustCompile(`[-−]\s*[¥\\]?\s*\d`)

// amountLike finds the parts of a sentence that may be an amount, for ParseYen to judge.
var amountLike = regexp.MustCompile(`(?i)(?:jpy|[¥\\])?\s*\d[\d,]*(?:\.\d+)?k?(?:\s*[万千百]\s*(?:\d[\d,]*)?)*\s*(?:円|えん|yen|jpy)?`)

// codeInput checks a typed gift-card code and stores it masked. A code typed inside a
// sentence is picked out of it; text that holds no code at all (a question, a request) is
// rejected, so the customer's words are understood as words rather than judged as a
// mistyped code.
func codeInput(raw string, _ time.Time) (map[string]string, error) {
	code, problem := CheckCode(raw)
	if problem == CodeEmpty {
		return nil, errors.New("code input: empty")
	}
	// What is read as a code is what RedactCodes masks: an answer that looks like a whole
	// code to CheckCode but not to RedactCodes ("hello everybody", a lower-case code without
	// a digit) is not taken as one, so that no code is ever stored unmasked.
	if found, ok := FindCode(raw); ok && wordsAround(raw, found) {
		// "here: 5RTX-9KM2QW-7HP3N", "it's …": the code FindCode (so RedactCodes) found,
		// not the words, is checked.
		code, problem = CheckCode(found)
	} else if !codeShaped(raw, code) || complete(problem) && !masked(raw, code) {
		found, ok := FindCode(raw)
		if !ok {
			// The code may sit among Japanese words: keep only the Latin part.
			latin := strings.Map(func(r rune) rune {
				if r >= utf8.RuneSelf {
					return ' '
				}
				return r
			}, norm.NFKC.String(raw))
			if c, p := CheckCode(latin); p == CodeEmpty || !codeShaped(latin, c) {
				return nil, errors.New("code input: not a code")
			}
			found = latin
		}
		if code, problem = CheckCode(found); complete(problem) && !masked(raw, code) {
			return nil, errors.New("code input: not a code")
		}
	}
	return map[string]string{"": MaskCode(code), "problem": string(problem)}, nil
}

// complete reports whether a CheckCode result is a whole code.
func complete(p CodeProblem) bool {
	return p == CodeOK || p == CodeDroppedFirst || p == CodeSerialNumber
}

// masked reports whether RedactCodes hides code, as typed in raw: no four characters of it
// other than the last four are left.
func masked(raw, code string) bool {
	out := NormalizeCode(RedactCodes(raw))
	last := code[max(len(code)-4, 0):]
	for i := 0; i+4 < len(code); i++ {
		if w := code[i : i+4]; w != last && strings.Contains(out, w) {
			return false
		}
	}
	return true
}

// codeShaped reports whether an answer is plausibly a (mis)typed code as a whole: 3 to 24
// letters and digits with at most two other characters, and not a sentence (three or more
// words without a digit).
func codeShaped(raw, code string) bool {
	alnum, other := 0, 0
	for _, r := range code {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			alnum++
		} else {
			other++
		}
	}
	if alnum < 3 || alnum > 24 || other > 2 {
		return false
	}
	words := strings.Fields(norm.NFKC.String(raw))
	return len(words) < 3 || strings.ContainsAny(code, "0123456789")
}

func expiryDecision(vars map[string]string, now time.Time) (string, error) {
	d, err := storedDate(vars[varIssueDate])
	if err != nil {
		return "", err
	}
	return string(ExpiryStatus(d, now)), nil
}

func codeCheckDecision(vars map[string]string, _ time.Time) (string, error) {
	switch p := CodeProblem(vars[varCodeProblem]); p {
	case CodeOK, CodeDroppedFirst, CodeWrongLength, CodeBadChars, CodeSerialNumber:
		return string(p), nil
	}
	return "", errors.New("code_check: code.problem is missing or unknown")
}

func balanceDecision(vars map[string]string, _ time.Time) (string, error) {
	balance, err := storedYen(vars[varBalance])
	if err != nil {
		return "", errors.New("balance: balance is missing or not an amount")
	}
	total, err := storedYen(vars[varTotal])
	if err != nil {
		return "", errors.New("balance: total is missing or not an amount")
	}
	if Shortfall(balance, total) > 0 {
		return balanceShort, nil
	}
	return balanceEnough, nil
}

// storedYen parses an amount as amountInput stores it.
func storedYen(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a stored amount")
	}
	return n, nil
}

// storedDatePattern is the form Date.String writes.
var storedDatePattern = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)

// storedDate parses a date as dateInput stores it (Date.String).
func storedDate(s string) (Date, error) {
	m := storedDatePattern.FindStringSubmatch(s)
	if m == nil {
		return Date{}, errors.New("issue_date is missing or not a stored date")
	}
	var d Date
	d.Year, _ = strconv.Atoi(m[1])
	d.Month, _ = strconv.Atoi(m[2])
	d.Day, _ = strconv.Atoi(m[3])
	if _, _, ok := d.span(); !ok {
		return Date{}, errors.New("issue_date is not a real date")
	}
	return d, nil
}

// displayVars derives the template variables described at Funcs. Variables whose inputs
// are missing or garbled are left out.
func displayVars(vars map[string]string, lang bot.Lang) map[string]string {
	out := make(map[string]string)
	if d, err := storedDate(vars[varIssueDate]); err == nil {
		out["issue_date_text"] = dateText(d, lang)
		out["expiry_date"] = expiryText(d, lang)
	}
	balance, errB := storedYen(vars[varBalance])
	if errB == nil {
		out["balance_text"] = FormatYen(balance, lang)
	}
	total, errT := storedYen(vars[varTotal])
	if errT == nil {
		out["total_text"] = FormatYen(total, lang)
	}
	if errB == nil && errT == nil {
		out["shortfall"] = FormatYen(Shortfall(balance, total), lang)
	}
	return out
}

// dateText writes d as a customer reads it, to its precision: "2016年5月1日", "2016年5月",
// "2016年"; "1 May 2016", "May 2016", "2016".
func dateText(d Date, lang bot.Lang) string {
	y := strconv.Itoa(d.Year)
	if lang == bot.English {
		switch d.Precision() {
		case PrecisionYear:
			return y
		case PrecisionMonth:
			return time.Month(d.Month).String() + " " + y
		}
		return strconv.Itoa(d.Day) + " " + time.Month(d.Month).String() + " " + y
	}
	switch d.Precision() {
	case PrecisionYear:
		return y + "年"
	case PrecisionMonth:
		return y + "年" + strconv.Itoa(d.Month) + "月"
	}
	return y + "年" + strconv.Itoa(d.Month) + "月" + strconv.Itoa(d.Day) + "日"
}

// dayText writes a calendar day: "2027年4月24日", "24 April 2027".
func dayText(t time.Time, lang bot.Lang) string {
	return dateText(Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}, lang)
}

// expiryText writes when a card issued on d expires. A card issued on or after 24 April
// 2017 (every day d may stand for) is valid for 10 years from its issue date, so it gets the
// date 10 years on, to d's precision: "2027年4月24日" for a day, "2029年5月" for a month,
// "2028年" for a year — never a day the card might not reach, and never "at least".
// Older cards, and dates straddling the change, get the range from the earliest to the
// latest possible expiry: "2017年5月1日〜2019年5月1日", "1 May 2017 – 1 May 2019".
func expiryText(d Date, lang bot.Lang) string {
	first, last, _ := d.span()
	if !first.Before(ruleChange()) {
		if d.Precision() == PrecisionDay {
			earliest, _ := ExpiryRange(first)
			return dayText(earliest, lang)
		}
		return dateText(Date{Year: d.Year + 10, Month: d.Month}, lang)
	}
	earliest, _ := ExpiryRange(first)
	_, latest := ExpiryRange(last)
	if lang == bot.English {
		return dayText(earliest, lang) + " – " + dayText(latest, lang)
	}
	return dayText(earliest, lang) + "〜" + dayText(latest, lang)
}

// wordsAround reports whether raw holds words besides the code found in it: a word in
// lower case or in Japanese, as a sentence has and a code never does.
func wordsAround(raw, found string) bool {
	rest := strings.Replace(raw, found, " ", 1)
	run := 0
	for _, r := range rest {
		switch {
		case r >= 'a' && r <= 'z':
			if run++; run >= 2 {
				return true
			}
		case r >= utf8.RuneSelf && unicode.IsLetter(r):
			return true
		default:
			run = 0
		}
	}
	return false
}

// relativeYears are the ways customers name a year by its distance from this one, and
// that distance.
var relativeYears = []struct {
	word string
	back int
}{
	{"一昨年", 2}, {"おととし", 2}, {"去年", 1}, {"昨年", 1}, {"きょねん", 1}, {"今年", 0}, {"ことし", 0},
	{"the year before last", 2}, {"last year", 1}, {"this year", 0},
}

// yearsAgo finds a year named as so many years back: 「2年前」「三年前」, "3 years ago", "a
// couple of years ago".
var yearsAgo = regexp.MustCompile(`(?i)([0-9０-９]{1,2}|[一二三四五六七八九十])\s*年前|\b([0-9]{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a|a couple of)\s+years?\s+ago\b`)

// yearCount reads the number of years yearsAgo found.
func yearCount(s string) (int, bool) {
	words := map[string]int{"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
		"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
		"a": 1, "a couple of": 2}
	s = strings.ToLower(norm.NFKC.String(s))
	if n, ok := words[s]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0 && n <= 30
}

// absoluteYears writes a year named by its distance from now (「去年の3月」, "last year")
// as the year itself (「2025年3月」, "in 2025"), for the date parser. Only the answer to the
// issue-date question is read so: elsewhere "expired last year" is not an issue date.
func absoluteYears(text string, now time.Time) string {
	lower := strings.ToLower(text) // once, and again only after a replacement
	// 「2年前くらい」「三年前」, "3 years ago", "two years ago". The pattern needs 年前 or
	// "ago": without either, the regular expression is not run over the whole text.
	if !strings.Contains(text, "年前") && !strings.Contains(lower, "ago") {
		return relativeYearsAbsolute(text, lower, now)
	}
	text = yearsAgo.ReplaceAllStringFunc(text, func(m string) string {
		sub := yearsAgo.FindStringSubmatch(m)
		n, ok := yearCount(sub[1] + sub[2])
		if !ok {
			return m
		}
		if sub[1] != "" {
			return strconv.Itoa(now.Year()-n) + "年"
		}
		return "in " + strconv.Itoa(now.Year()-n)
	})
	return relativeYearsAbsolute(text, strings.ToLower(text), now)
}

// relativeYearsAbsolute is absoluteYears for the words of relativeYears; lower is text
// lower-cased.
func relativeYearsAbsolute(text, lower string, now time.Time) string {
	for _, r := range relativeYears {
		if !strings.Contains(lower, r.word) {
			continue
		}
		y := strconv.Itoa(now.Year() - r.back)
		if r.word[0] < utf8.RuneSelf {
			y = "in " + y
		} else {
			y += "年"
		}
		text = strings.ReplaceAll(replaceFold(text, r.word, y), y+"の", y) // 「2025年の3月」 → 「2025年3月」
		lower = strings.ToLower(text)
	}
	return text
}

// replaceFold replaces every occurrence of word (lower case) in text, whatever its case.
func replaceFold(text, word, with string) string {
	lower := strings.ToLower(text)
	if len(lower) != len(text) {
		return strings.ReplaceAll(text, word, with)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, word)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		b.WriteString(with)
		text, lower = text[i+len(word):], lower[i+len(word):]
	}
}
