package flows

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
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
		},
		Vars: displayVars,
	}
}

// futureHint answers an issue date in the future, most often a mistyped year.
var futureHint = bot.Text{
	JA: "その日付はまだ来ていません。発行日の年をもう一度ご確認のうえ、「2019/5/10」のように入力してください。",
	EN: "That date hasn't come yet. Please check the year of the issue date and type it like 2019/5/10.",
}

// dateInput parses an issue date, also when the customer wrote words around it
// (「2018年3月ごろ」, "sometime in May 2017 I think").
func dateInput(raw string, now time.Time) (map[string]string, error) {
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
	`|\d{4}\s*年` +
	`|(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?\s+\d{4}` +
	`|\b\d{4}\b`)

func dateCandidates(raw string) []string {
	return dateLike.FindAllString(norm.NFKC.String(raw), 4)
}

// amountInput parses a yen amount, also inside a sentence (「送料込みで4,280円です」).
func amountInput(raw string, _ time.Time) (map[string]string, error) {
	n, err := ParseYen(raw)
	if err != nil && !negative.MatchString(norm.NFKC.String(raw)) {
		for _, cand := range amountLike.FindAllString(norm.NFKC.String(raw), 4) {
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
var amountLike = regexp.MustCompile(`(?i)(?:jpy|[¥\\])?\s*\d[\d,]*(?:\.\d+)?(?:\s*[万千百]\s*(?:\d[\d,]*)?)*\s*(?:円|えん|yen|jpy)?`)

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
	if !codeShaped(raw, code) || complete(problem) && !masked(raw, code) {
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
// 2017 (every day d may stand for) gets one date: 10 years after the issue day, or, when
// only the month or year is known, the earliest day it may expire (10 years after the first
// day d may stands for), so the customer is never told a day too many — "2027年4月24日".
// Older cards, and dates straddling the change, get the range from the earliest to the
// latest possible expiry: "2017年5月1日〜2019年5月1日", "1 May 2017 – 1 May 2019".
func expiryText(d Date, lang bot.Lang) string {
	first, last, _ := d.span()
	earliest, _ := ExpiryRange(first)
	_, latest := ExpiryRange(last)
	if !first.Before(ruleChange()) || earliest.Equal(latest) {
		// The earliest day it may expire: a promise never a day too long.
		return dayText(earliest, lang)
	}
	if lang == bot.English {
		return dayText(earliest, lang) + " – " + dayText(latest, lang)
	}
	return dayText(earliest, lang) + "〜" + dayText(latest, lang)
}
