package ui

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// runGap is how far apart two messages of one sender may be and still form one run.
const runGap = 5 * time.Minute

// rowView is a Row with what its neighbours decide about how it is drawn.
type rowView struct {
	Row
	day      string // a day separator above this row ("" for none)
	firstRun bool   // first bubble of a run: name and avatar in group rooms
	lastRun  bool   // last bubble of a run: the time and status under it
	showName bool
	group    bool
}

// sameRun reports whether b continues a's run: same sender, same day, within runGap.
func sameRun(a, b Row) bool {
	if a.SenderID != b.SenderID || a.Own != b.Own {
		return false
	}
	if !sameDay(a.Time, b.Time) {
		return false
	}
	d := b.Time.Sub(a.Time)
	return d >= -runGap && d <= runGap
}

func sameDay(a, b time.Time) bool {
	a, b = a.Local(), b.Local()
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// viewOf decides how rows[i] is drawn.
func viewOf(rows []Row, i int, group bool, now time.Time) rowView {
	r := rows[i]
	v := rowView{Row: r, firstRun: true, lastRun: true}
	if i == 0 || !sameDay(rows[i-1].Time, r.Time) {
		v.day = dayLabel(r.Time, now)
	}
	if i > 0 && sameRun(rows[i-1], r) {
		v.firstRun = false
	}
	if i+1 < len(rows) && sameRun(r, rows[i+1]) {
		v.lastRun = false
	}
	v.group = group
	v.showName = group && !r.Own && v.firstRun
	return v
}

// dayLabel names the day of t as a separator does: Today, Yesterday, or the date.
func dayLabel(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if sameDay(t, now) {
		return "Today"
	}
	if sameDay(t, now.AddDate(0, 0, -1)) {
		return "Yesterday"
	}
	if t.Year() == now.Year() {
		return t.Format("Monday, 2 January")
	}
	return t.Format("2 January 2006")
}

// clockLabel is the time under a run.
func clockLabel(t time.Time) string { return t.Local().Format("15:04") }

// shortTime is the time in the rooms list: the clock today, the weekday this week, else the date.
func shortTime(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	switch {
	case sameDay(t, now):
		return clockLabel(t)
	case now.Sub(t) < 6*24*time.Hour:
		return t.Local().Format("Mon")
	}
	return t.Local().Format("2 Jan")
}

// initials are the one or two letters of a name's avatar.
func initials(name string) string {
	var out []rune
	for _, w := range strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || r == '.' || r == '_' || r == '-'
	}) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// typingText is the typing line for the names of those typing.
func typingText(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0] + " is typing…"
	case 2:
		return names[0] + " and " + names[1] + " are typing…"
	}
	return strconv.Itoa(len(names)) + " people are typing…"
}
