package bot

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Hours are a team's business hours: the same opening time on the given weekdays, in one
// time zone. The zero value means always open.
type Hours struct {
	Location   *time.Location
	Days       []time.Weekday
	Start, End time.Duration // since midnight; Start < End
}

// ParseHours reads hours written as "Mon-Fri 10:00-19:00 Asia/Tokyo" (days as a range or a
// comma list: "Mon,Wed,Fri"). "always" means always open.
func ParseHours(spec string) (Hours, error) {
	if strings.TrimSpace(spec) == "always" {
		return Hours{}, nil
	}
	f := strings.Fields(spec)
	if len(f) != 3 {
		return Hours{}, fmt.Errorf("hours %q: want DAYS HH:MM-HH:MM ZONE, such as Mon-Fri 10:00-19:00 Asia/Tokyo", spec)
	}
	var h Hours
	days := map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
		"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	for _, part := range strings.Split(strings.ToLower(f[0]), ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok1 := days[from]
		b, ok2 := days[to]
		if !isRange {
			b, ok2 = a, ok1
		}
		if !ok1 || !ok2 {
			return Hours{}, fmt.Errorf("hours %q: unknown day in %q", spec, part)
		}
		for d := a; ; d = (d + 1) % 7 {
			if !slices.Contains(h.Days, d) {
				h.Days = append(h.Days, d)
			}
			if d == b {
				break
			}
		}
	}
	from, to, ok := strings.Cut(f[1], "-")
	start, err1 := clock(from)
	end, err2 := clock(to)
	if !ok || err1 != nil || err2 != nil || start >= end {
		return Hours{}, fmt.Errorf("hours %q: want opening times such as 10:00-19:00", spec)
	}
	h.Start, h.End = start, end
	loc, err := time.LoadLocation(f[2])
	if err != nil {
		return Hours{}, fmt.Errorf("hours %q: unknown time zone %q", spec, f[2])
	}
	h.Location = loc
	return h, nil
}

func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Open reports whether the team is in at t and, when it is not, when it next opens.
func (h Hours) Open(t time.Time) (bool, time.Time) {
	if h.Location == nil {
		return true, t
	}
	local := t.In(h.Location)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, h.Location)
	for i := 0; i < 8; i++ {
		d := day.AddDate(0, 0, i)
		if !slices.Contains(h.Days, d.Weekday()) {
			continue
		}
		open, shut := d.Add(h.Start), d.Add(h.End)
		if i == 0 && !local.Before(open) && local.Before(shut) {
			return true, t
		}
		if local.Before(open) {
			return false, open
		}
	}
	return false, time.Time{}
}

// format writes an opening time for the customer.
func (h Hours) format(t time.Time, lang Lang) string {
	if lang == English {
		return t.Format("Mon 2 Jan 15:04")
	}
	wd := []string{"日", "月", "火", "水", "木", "金", "土"}[t.Weekday()]
	return fmt.Sprintf("%d月%d日(%s) %s", t.Month(), t.Day(), wd, t.Format("15:04"))
}
