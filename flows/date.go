package flows

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Date is a gift card's issue date as far as the customer knows it. Month and Day are 0
// when unknown, so Date{2016, 5, 0} is "May 2016" and Date{2016, 0, 0} is "2016". A Date
// from ParseDate is a real calendar date (or month, or year).
type Date struct{ Year, Month, Day int }

// Precision says how much of a Date is known.
type Precision string

// The precisions of a Date.
const (
	PrecisionDay   Precision = "day"
	PrecisionMonth Precision = "month"
	PrecisionYear  Precision = "year"
)

// Precision returns how much of d is known.
func (d Date) Precision() Precision {
	switch {
	case d.Month == 0:
		return PrecisionYear
	case d.Day == 0:
		return PrecisionMonth
	}
	return PrecisionDay
}

// String returns d as YYYY-MM-DD with unknown parts as 00, e.g. "2016-05-00". This is the
// form the "date" input stores.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// span returns the first and last day d may stand for, at midnight UTC; ok is false when d
// is not a real date, month or year.
func (d Date) span() (first, last time.Time, ok bool) {
	switch {
	case d.Year < 1 || d.Year > 9999 || d.Month < 0 || d.Month > 12 || d.Day < 0:
		return first, last, false
	case d.Month == 0 && d.Day != 0:
		return first, last, false
	case d.Month == 0:
		return civil(d.Year, 1, 1), civil(d.Year, 12, 31), true
	case d.Day == 0:
		first = civil(d.Year, d.Month, 1)
		return first, first.AddDate(0, 1, -1), true
	}
	first = civil(d.Year, d.Month, d.Day)
	if first.Day() != d.Day { // 2016-02-30 became 2016-03-01
		return first, last, false
	}
	return first, first, true
}

// civil returns the day y-m-d at midnight UTC. Days are compared as calendar days, so the
// zone does not matter as long as every day uses the same one.
func civil(y, m, d int) time.Time {
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
}

// today returns now's calendar day, in now's location, at midnight UTC.
func today(now time.Time) time.Time {
	y, m, d := now.Date()
	return civil(y, int(m), d)
}

// The Japanese eras a gift card can be dated in. Heisei began on 8 January 1989 and ended on
// 30 April 2019; Reiwa began on 1 May 2019. Year 1 of an era is written 元年.
func heiseiEnd() time.Time  { return civil(2019, 4, 30) }
func reiwaStart() time.Time { return civil(2019, 5, 1) }

// earliestYear is the first year ParseDate accepts.
const earliestYear = 1990

// The date forms ParseDate knows. Numeric forms are matched after NFKC, lower-casing and
// removing white space; English forms after lower-casing, removing commas, periods and
// ordinal suffixes, and collapsing white space.
var (
	// An optional era, a year, then 年/月/日 or separators: 2016/5/1, 2016年5月, 平成28年,
	// h28.5.1, 令和元年, r2/3/1.
	numericDate = regexp.MustCompile(`^(平成|令和|heisei|reiwa|h|r)?(元|\d{1,4})` +
		`(?:年(?:(\d{1,2})月(?:(\d{1,2})日?)?)?|([/.\-])(\d{1,2})(?:([/.\-])(\d{1,2}))?)?$`)
	monthYear    = regexp.MustCompile(`^([a-z]+) (\d{4})$`)
	dayMonthYear = regexp.MustCompile(`^(\d{1,2}) ([a-z]+) (\d{4})$`)
	monthDayYear = regexp.MustCompile(`^([a-z]+) (\d{1,2}) (\d{4})$`)
	ordinal      = regexp.MustCompile(`\b(\d{1,2})(?:st|nd|rd|th)\b`)
)

// ParseDate parses an issue date as a customer types it, in Japanese or English:
//
//	2016/5/1  2016-05-01  2016.5.1  2016/5  2016
//	2016年5月1日  2016年5月  2016年  ２０１６年５月１日 (full width)
//	平成28年5月1日  平成28年5月  H28.5.1  令和元年  令和2年3月  R2/3/1
//	May 2016  1 May 2016  May 1, 2016
//
// Heisei (平成, H) and Reiwa (令和, R) years count from 1 (元年); a date outside its era is
// an error (平成31年5月 did not exist: Reiwa began on 1 May 2019). A date with an unknown
// month or day covers every day it may be; a Date cannot say "part of a year", so 平成31年
// and 令和元年 both stand for all of 2019. ParseDate rejects dates that do not exist
// (2016/2/30), dates before 1990, and dates that begin after now's calendar day in now's
// location. Error texts never repeat s. ParseDate is safe for concurrent use.
func ParseDate(s string, now time.Time) (Date, error) {
	s = strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
	if s == "" {
		return Date{}, errors.New("parse date: empty")
	}
	d, era, err := matchDate(s)
	if err != nil {
		return Date{}, err
	}
	if d.Year < earliestYear {
		return Date{}, fmt.Errorf("parse date: before %d", earliestYear)
	}
	first, last, ok := d.span()
	if !ok {
		return Date{}, errors.New("parse date: no such day")
	}
	switch era {
	case "heisei": // its start, 8 January 1989, is before 1990 and so rejected already
		if first.After(heiseiEnd()) {
			return Date{}, errors.New("parse date: after the heisei era ended on 30 april 2019")
		}
	case "reiwa":
		if last.Before(reiwaStart()) {
			return Date{}, errors.New("parse date: before the reiwa era began on 1 may 2019")
		}
	}
	if first.After(today(now)) {
		return Date{}, errors.New("parse date: in the future")
	}
	return d, nil
}

// matchDate matches s (NFKC-folded, lower case) against the known forms. era is "heisei",
// "reiwa" or "" for the Western calendar.
func matchDate(s string) (d Date, era string, err error) {
	compact := strings.Join(strings.FieldsFunc(s, unicode.IsSpace), "")
	if m := numericDate.FindStringSubmatch(compact); m != nil {
		return numericMatch(m)
	}
	en := strings.NewReplacer(",", " ", ".", " ", " of ", " ").Replace(s)
	en = strings.Join(strings.Fields(ordinal.ReplaceAllString(en, "$1")), " ")
	if m := monthYear.FindStringSubmatch(en); m != nil {
		return englishDate(m[2], m[1], "")
	}
	if m := dayMonthYear.FindStringSubmatch(en); m != nil {
		return englishDate(m[3], m[2], m[1])
	}
	if m := monthDayYear.FindStringSubmatch(en); m != nil {
		return englishDate(m[3], m[1], m[2])
	}
	return Date{}, "", errors.New("parse date: not a date format")
}

// numericMatch turns a match of numericDate into a Date.
func numericMatch(m []string) (Date, string, error) {
	eraName, year := m[1], m[2]
	switch eraName {
	case "平成", "heisei", "h":
		eraName = "heisei"
	case "令和", "reiwa", "r":
		eraName = "reiwa"
	}
	var d Date
	switch {
	case year == "元":
		if eraName == "" {
			return Date{}, "", errors.New("parse date: era year 1 without an era")
		}
		d.Year = 1
	case eraName != "" && len(year) > 2, eraName == "" && len(year) != 4:
		return Date{}, "", errors.New("parse date: not a date format")
	default:
		d.Year, _ = strconv.Atoi(year)
	}
	switch eraName {
	case "heisei":
		d.Year += 1988
	case "reiwa":
		d.Year += 2018
	}
	if d.Year <= 1988 && eraName != "" { // 平成0年
		return Date{}, "", errors.New("parse date: era year 0")
	}
	month, day := m[3], m[4]
	if m[5] != "" {
		if m[7] != "" && m[7] != m[5] {
			return Date{}, "", errors.New("parse date: mixed separators")
		}
		month, day = m[6], m[8]
	}
	if month != "" {
		d.Month, _ = strconv.Atoi(month)
		if d.Month < 1 || d.Month > 12 {
			return Date{}, "", errors.New("parse date: no such month")
		}
	}
	if day != "" {
		d.Day, _ = strconv.Atoi(day)
		if d.Day < 1 {
			return Date{}, "", errors.New("parse date: no such day")
		}
	}
	return d, eraName, nil
}

// englishDate builds a Date from an English month name, year and optional day.
func englishDate(year, month, day string) (Date, string, error) {
	var d Date
	d.Year, _ = strconv.Atoi(year)
	d.Month = monthByName(month)
	if d.Month == 0 {
		return Date{}, "", errors.New("parse date: unknown month name")
	}
	if day != "" {
		d.Day, _ = strconv.Atoi(day)
		if d.Day < 1 {
			return Date{}, "", errors.New("parse date: no such day")
		}
	}
	return d, "", nil
}

// monthByName returns the month (1–12) named by an English name or its abbreviation, or 0.
func monthByName(name string) int {
	for i, full := range [...]string{"january", "february", "march", "april", "may", "june",
		"july", "august", "september", "october", "november", "december"} {
		if name == full || name == full[:3] || name == "sept" && i == 8 {
			return i + 1
		}
	}
	return 0
}

// ruleChange returns the first issue day of the 10-year validity (article section 2).
func ruleChange() time.Time { return civil(2017, 4, 24) }

// ExpiryOutcome is what ExpiryStatus concludes; the values are the outcomes of the
// "expiry" decision.
type ExpiryOutcome string

// The results of ExpiryStatus.
const (
	ExpiryExpired ExpiryOutcome = "expired"
	ExpiryValid   ExpiryOutcome = "valid"
	ExpiryUnsure  ExpiryOutcome = "unsure"
)

// ExpiryRange returns the earliest and latest expiry date of a card issued on issue's
// calendar day. Cards issued on or after 24 April 2017 are valid for 10 years from the issue
// date, whatever their type, so both are the same day. Cards issued on or before 23 April
// 2017 were valid for 1 to 3 years depending on the card type, so the range spans that. A
// card can be used through its expiry date. An anniversary that would fall on 29 February
// in a common year falls on 28 February (the earlier day, so the bot never promises a day
// too many). The results are at midnight in issue's location.
func ExpiryRange(issue time.Time) (earliest, latest time.Time) {
	y, m, d := issue.Date()
	day := civil(y, int(m), d)
	in := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, issue.Location())
	}
	if !day.Before(ruleChange()) {
		e := addYears(day, 10)
		return in(e), in(e)
	}
	return in(addYears(day, 1)), in(addYears(day, 3))
}

// addYears returns the day n years after day, moving 29 February to 28 February.
func addYears(day time.Time, n int) time.Time {
	t := day.AddDate(n, 0, 0)
	if t.Day() != day.Day() {
		t = t.AddDate(0, 0, -t.Day())
	}
	return t
}

// ExpiryStatus says whether a card issued on d has expired by now's calendar day (in now's
// location). Every day d may stand for counts, up to now's day: ExpiryExpired when the card
// has expired whichever day it was issued, ExpiryValid when it is valid whichever day, and
// ExpiryUnsure otherwise — a month straddling 24 April 2017, a year, or an old card whose
// type decides. A d that is not a real date, or lies wholly after now, is ExpiryUnsure.
// ExpiryStatus is safe for concurrent use.
func ExpiryStatus(d Date, now time.Time) ExpiryOutcome {
	first, last, ok := d.span()
	end := today(now)
	if last.After(end) {
		last = end
	}
	if !ok || first.After(last) {
		return ExpiryUnsure
	}
	expired, valid := true, true
	// A year has at most 366 days; walking them is simpler to trust than reasoning about
	// monotonic ranges.
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		earliest, latest := ExpiryRange(day)
		if !latest.Before(end) {
			expired = false
		}
		if earliest.Before(end) {
			valid = false
		}
	}
	switch {
	case expired:
		return ExpiryExpired
	case valid:
		return ExpiryValid
	}
	return ExpiryUnsure
}
