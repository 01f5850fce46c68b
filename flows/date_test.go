package flows

import (
	"strings"
	"testing"
	"time"
)

// testNow is the clock of the date tests: 15 March 2026, 10:00 in Japan.
func testNow() time.Time {
	return time.Date(2026, 3, 15, 10, 0, 0, 0, time.FixedZone("JST", 9*60*60))
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name, in string
		want     Date
	}{
		{name: "slashes", in: "2016/5/1", want: Date{2016, 5, 1}},
		{name: "iso", in: "2016-05-01", want: Date{2016, 5, 1}},
		{name: "dots", in: "2016.5.1", want: Date{2016, 5, 1}},
		{name: "year and month with slash", in: "2016/5", want: Date{2016, 5, 0}},
		{name: "year only", in: "2016", want: Date{2016, 0, 0}},
		{name: "kanji", in: "2016年5月1日", want: Date{2016, 5, 1}},
		{name: "kanji without 日", in: "2016年5月1", want: Date{2016, 5, 1}},
		{name: "kanji month", in: "2016年5月", want: Date{2016, 5, 0}},
		{name: "kanji year", in: "2016年", want: Date{2016, 0, 0}},
		{name: "kanji with spaces", in: " 2016 年 5 月 1 日 ", want: Date{2016, 5, 1}},
		{name: "full width", in: "２０１６年５月１日", want: Date{2016, 5, 1}},
		{name: "full width slashes", in: "２０１６／５／１", want: Date{2016, 5, 1}},
		{name: "leap day", in: "2016/2/29", want: Date{2016, 2, 29}},
		{name: "heisei day", in: "平成28年5月1日", want: Date{2016, 5, 1}},
		{name: "heisei month", in: "平成28年5月", want: Date{2016, 5, 0}},
		{name: "heisei year", in: "平成28年", want: Date{2016, 0, 0}},
		{name: "heisei letter", in: "H28.5.1", want: Date{2016, 5, 1}},
		{name: "heisei lower-case letter", in: "h28/5/1", want: Date{2016, 5, 1}},
		{name: "heisei full width", in: "Ｈ２８．５．１", want: Date{2016, 5, 1}},
		{name: "heisei ligature", in: "㍻28年5月", want: Date{2016, 5, 0}},
		{name: "heisei 2 is 1990", in: "平成2年", want: Date{1990, 0, 0}},
		{name: "heisei last day", in: "平成31年4月30日", want: Date{2019, 4, 30}},
		{name: "heisei 31 year", in: "平成31年", want: Date{2019, 0, 0}},
		{name: "reiwa gannen", in: "令和元年", want: Date{2019, 0, 0}},
		{name: "reiwa first day", in: "令和元年5月1日", want: Date{2019, 5, 1}},
		{name: "reiwa 1", in: "令和1年5月", want: Date{2019, 5, 0}},
		{name: "reiwa month", in: "令和2年3月", want: Date{2020, 3, 0}},
		{name: "reiwa letter", in: "R2/3/1", want: Date{2020, 3, 1}},
		{name: "reiwa ligature", in: "㋿2年3月1日", want: Date{2020, 3, 1}},
		{name: "english month year", in: "May 2016", want: Date{2016, 5, 0}},
		{name: "english day month year", in: "1 May 2016", want: Date{2016, 5, 1}},
		{name: "english month day year", in: "May 1, 2016", want: Date{2016, 5, 1}},
		{name: "english ordinal", in: "1st of May 2016", want: Date{2016, 5, 1}},
		{name: "english abbreviation", in: "Sept. 3, 2018", want: Date{2018, 9, 3}},
		{name: "english upper case", in: "DEC 2018", want: Date{2018, 12, 0}},
		{name: "today", in: "2026年3月15日", want: Date{2026, 3, 15}},
		{name: "this month", in: "2026/3", want: Date{2026, 3, 0}},
		{name: "this year", in: "2026年", want: Date{2026, 0, 0}},
		{name: "first accepted year", in: "1990", want: Date{1990, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in, testNow())
			if err != nil {
				t.Fatalf("ParseDate(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDate(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDateRejects(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{name: "empty", in: ""},
		{name: "words", in: "去年の春ごろ"},
		{name: "no 30 february", in: "2016/2/30"},
		{name: "no 29 february in 2015", in: "2015年2月29日"},
		{name: "month 13", in: "2016/13/1"},
		{name: "month 0", in: "2016/0/1"},
		{name: "day 0", in: "2016/5/0"},
		{name: "day 32", in: "2016-05-32"},
		{name: "heisei after its end", in: "平成31年5月"},
		{name: "heisei 32", in: "平成32年"},
		{name: "reiwa before its start", in: "令和元年4月"},
		{name: "era year 0", in: "平成0年"},
		{name: "gannen without era", in: "元年"},
		{name: "before 1990", in: "1989/12/31"},
		{name: "heisei gannen is before 1990", in: "平成元年"},
		{name: "tomorrow", in: "2026/3/16"},
		{name: "next month", in: "2026年4月"},
		{name: "next year", in: "2027"},
		{name: "two-digit year", in: "16/5/1"},
		{name: "us order", in: "5/1/2016"},
		{name: "mixed separators", in: "2016/5-1"},
		{name: "unknown month name", in: "Foo 2016"},
		{name: "english day 32", in: "May 32, 2016"},
		{name: "gift card code", in: "AQ12-345678-ABCDE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDate(tt.in, testNow())
			if err == nil {
				t.Fatalf("ParseDate(%q) = %+v, want an error", tt.in, d)
			}
			if msg := err.Error(); tt.in != "" && strings.Contains(msg, tt.in) || msg != strings.ToLower(msg) {
				t.Errorf("ParseDate(%q) error %q repeats the input or is not lower case", tt.in, msg)
			}
		})
	}
}

func TestDateStringAndPrecision(t *testing.T) {
	tests := []struct {
		name string
		d    Date
		want string
		prec Precision
	}{
		{name: "day", d: Date{2016, 5, 1}, want: "2016-05-01", prec: PrecisionDay},
		{name: "month", d: Date{2016, 5, 0}, want: "2016-05-00", prec: PrecisionMonth},
		{name: "year", d: Date{2016, 0, 0}, want: "2016-00-00", prec: PrecisionYear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := tt.d.Precision(); got != tt.prec {
				t.Errorf("Precision() = %q, want %q", got, tt.prec)
			}
		})
	}
}

func TestExpiryRange(t *testing.T) {
	jst := time.FixedZone("JST", 9*60*60)
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, jst) }
	tests := []struct {
		name             string
		issue            time.Time
		earliest, latest time.Time
	}{
		{name: "first day of 10 years", issue: day(2017, 4, 24), earliest: day(2027, 4, 24), latest: day(2027, 4, 24)},
		{name: "last day of 1 to 3 years", issue: day(2017, 4, 23), earliest: day(2018, 4, 23), latest: day(2020, 4, 23)},
		{name: "time of day ignored", issue: day(2017, 4, 24).Add(23 * time.Hour), earliest: day(2027, 4, 24), latest: day(2027, 4, 24)},
		{name: "old card", issue: day(2016, 5, 1), earliest: day(2017, 5, 1), latest: day(2019, 5, 1)},
		{name: "leap day new card", issue: day(2020, 2, 29), earliest: day(2030, 2, 28), latest: day(2030, 2, 28)},
		{name: "leap day old card", issue: day(2016, 2, 29), earliest: day(2017, 2, 28), latest: day(2019, 2, 28)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			earliest, latest := ExpiryRange(tt.issue)
			if !earliest.Equal(tt.earliest) || !latest.Equal(tt.latest) {
				t.Errorf("ExpiryRange(%s) = %s, %s; want %s, %s", tt.issue, earliest, latest, tt.earliest, tt.latest)
			}
			if earliest.Location() != jst {
				t.Errorf("ExpiryRange(%s) location %s, want the issue's", tt.issue, earliest.Location())
			}
		})
	}
}

func TestExpiryStatus(t *testing.T) {
	jst := time.FixedZone("JST", 9*60*60)
	at := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 12, 0, 0, 0, jst) }
	tests := []struct {
		name string
		d    Date
		now  time.Time
		want ExpiryOutcome
	}{
		{name: "old card long ago", d: Date{2016, 5, 1}, now: testNow(), want: ExpiryExpired},
		{name: "first day of new rule", d: Date{2017, 4, 24}, now: testNow(), want: ExpiryValid},
		{name: "last day of old rule", d: Date{2017, 4, 23}, now: testNow(), want: ExpiryExpired},
		{name: "old card before 1 year", d: Date{2017, 4, 23}, now: at(2018, 4, 23), want: ExpiryValid},
		{name: "old card after 1 year", d: Date{2017, 4, 23}, now: at(2018, 4, 24), want: ExpiryUnsure},
		{name: "old card on its last possible day", d: Date{2017, 4, 23}, now: at(2020, 4, 23), want: ExpiryUnsure},
		{name: "old card after 3 years", d: Date{2017, 4, 23}, now: at(2020, 4, 24), want: ExpiryExpired},
		{name: "new card on its expiry day", d: Date{2017, 5, 1}, now: at(2027, 5, 1), want: ExpiryValid},
		{name: "new card after its expiry day", d: Date{2017, 5, 1}, now: at(2027, 5, 2), want: ExpiryExpired},
		{name: "month straddling the change", d: Date{2017, 4, 0}, now: testNow(), want: ExpiryUnsure},
		{name: "month after the change", d: Date{2017, 5, 0}, now: testNow(), want: ExpiryValid},
		{name: "month before the change", d: Date{2017, 3, 0}, now: testNow(), want: ExpiryExpired},
		{name: "year before the change", d: Date{2016, 0, 0}, now: testNow(), want: ExpiryExpired},
		{name: "year straddling the change", d: Date{2017, 0, 0}, now: testNow(), want: ExpiryUnsure},
		{name: "year after the change", d: Date{2018, 0, 0}, now: testNow(), want: ExpiryValid},
		{name: "new month partly expired", d: Date{2016, 5, 0}, now: at(2019, 5, 15), want: ExpiryUnsure},
		{name: "this year", d: Date{2026, 0, 0}, now: testNow(), want: ExpiryValid},
		{name: "future", d: Date{2027, 1, 1}, now: testNow(), want: ExpiryUnsure},
		{name: "not a date", d: Date{2016, 2, 30}, now: testNow(), want: ExpiryUnsure},
		{name: "zero", d: Date{}, now: testNow(), want: ExpiryUnsure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpiryStatus(tt.d, tt.now); got != tt.want {
				t.Errorf("ExpiryStatus(%+v, %s) = %q, want %q", tt.d, tt.now.Format(time.DateOnly), got, tt.want)
			}
		})
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2016/5/1", "2016年5月", "平成28年5月1日", "H28.5.1", "令和元年", "R2/3/1",
		"May 1, 2016", "1 May 2016", "2016", "２０１６年５月１日", "2016/2/30", "\xff年"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		now := testNow()
		d, err := ParseDate(s, now)
		if err != nil {
			return
		}
		first, _, ok := d.span()
		if !ok {
			t.Fatalf("ParseDate(%q) = %+v, not a real date", s, d)
		}
		if d.Year < earliestYear || first.After(today(now)) {
			t.Fatalf("ParseDate(%q) = %+v, out of range", s, d)
		}
		if d.Precision() == PrecisionDay {
			y, m, day := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC).Date()
			if y != d.Year || int(m) != d.Month || day != d.Day {
				t.Fatalf("ParseDate(%q) = %+v does not round-trip through time.Date", s, d)
			}
		}
		if back, err := storedDate(d.String()); err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %+v; stored form %q reads back as %+v, %v", s, d, d.String(), back, err)
		}
		_ = ExpiryStatus(d, now)
	})
}
