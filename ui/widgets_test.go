package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
)

func TestBannerStates(t *testing.T) {
	test.NewTempApp(t)
	nudges := 0
	b := newConnBanner(func() { nudges++ })
	w := test.NewTempWindow(t, b)
	w.Resize(fyne.NewSize(400, 60))
	now := t0

	b.setState(ConnState{Phase: PhaseConnecting}, now)
	if b.text() != "Connecting…" || !b.retry.Hidden {
		t.Errorf("connecting: %q retry hidden=%v", b.text(), b.retry.Hidden)
	}
	b.setState(ConnState{Phase: PhaseOnline}, now)
	if b.text() != "" || b.Visible() {
		t.Errorf("first online: %q visible=%v, want hidden", b.text(), b.Visible())
	}
	b.setState(ConnState{Phase: PhaseOffline, RetryAt: now.Add(8 * time.Second)}, now)
	if b.text() != "Offline — retrying in 8 s" || b.retry.Hidden {
		t.Errorf("offline: %q retry hidden=%v", b.text(), b.retry.Hidden)
	}
	b.tick(now.Add(2500 * time.Millisecond))
	if b.text() != "Offline — retrying in 6 s" {
		t.Errorf("countdown: %q", b.text())
	}
	test.Tap(b.retry)
	if nudges != 1 {
		t.Errorf("Retry now nudged %d times", nudges)
	}
	now = now.Add(9 * time.Second)
	b.setState(ConnState{Phase: PhaseConnecting}, now)
	if b.text() != "Connecting…" {
		t.Errorf("reconnecting: %q", b.text())
	}
	b.setState(ConnState{Phase: PhaseOnline}, now)
	if b.text() != "Back online" || !b.retry.Hidden {
		t.Errorf("back: %q", b.text())
	}
	b.tick(now.Add(1900 * time.Millisecond))
	if b.text() != "Back online" {
		t.Errorf("back after 1.9 s: %q", b.text())
	}
	b.tick(now.Add(2 * time.Second))
	if b.text() != "" || b.Visible() {
		t.Errorf("after 2 s: %q visible=%v", b.text(), b.Visible())
	}
}

func TestTypingLine(t *testing.T) {
	eng := newFakeEngine()
	c, _ := newTestChat(t, eng, false)
	cases := []struct {
		who  []Typist
		want string
	}{
		{nil, ""},
		{[]Typist{{Name: "Alice"}}, "Alice is typing…"},
		{[]Typist{{Name: "Alice"}, {Name: "Bob"}}, "Alice and Bob are typing…"},
		{[]Typist{{Name: "Alice"}, {Name: "Bob"}, {Name: "Carol"}}, "3 people are typing…"},
	}
	for _, tc := range cases {
		c.setTyping(tc.who)
		if c.typing.Text != tc.want {
			t.Errorf("%d typing: %q, want %q", len(tc.who), c.typing.Text, tc.want)
		}
	}
}

func TestComposerEnterSendsShiftEnterNewline(t *testing.T) {
	eng := newFakeEngine()
	c, w := newTestChat(t, eng, false)
	e := c.composer
	w.Canvas().Focus(e)

	test.Type(e, "hello")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(eng.sent) != 1 || eng.sent[0] != "hello" || e.Text != "" {
		t.Fatalf("Enter: sent %q, field %q", eng.sent, e.Text)
	}
	if len(eng.typing) == 0 || eng.typing[0] != "r" {
		t.Errorf("keystrokes did not call Typing: %v", eng.typing)
	}

	test.Type(e, "one")
	e.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	e.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	test.Type(e, "two")
	if e.Text != "one\ntwo" || len(eng.sent) != 1 {
		t.Fatalf("Shift+Enter: field %q sent %q", e.Text, eng.sent)
	}
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnter})
	if len(eng.sent) != 2 || eng.sent[1] != "one\ntwo" {
		t.Fatalf("sent %q", eng.sent)
	}

	// Blank text is never sent, by Enter or by the button.
	test.Type(e, "   ")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	test.Tap(c.sendBtn)
	if len(eng.sent) != 2 {
		t.Errorf("blank text sent: %q", eng.sent)
	}
	e.SetText("by button")
	test.Tap(c.sendBtn)
	if len(eng.sent) != 3 || eng.sent[2] != "by button" {
		t.Errorf("button: sent %q", eng.sent)
	}
}

func TestComposerGrowsToFiveLines(t *testing.T) {
	eng := newFakeEngine()
	c, _ := newTestChat(t, eng, false)
	e := c.composer
	h1 := e.MinSize().Height
	if e.visibleRows() != 1 {
		t.Fatalf("empty composer shows %d rows", e.visibleRows())
	}
	e.SetText("a\nb\nc")
	if e.visibleRows() != 3 || e.MinSize().Height <= h1 {
		t.Errorf("3 lines: %d rows, height %v (1 line %v)", e.visibleRows(), e.MinSize().Height, h1)
	}
	h3 := e.MinSize().Height
	e.SetText(strings.Repeat("line\n", 9) + "line")
	if e.visibleRows() != maxComposerRows || e.MinSize().Height <= h3 {
		t.Errorf("10 lines: %d rows, height %v", e.visibleRows(), e.MinSize().Height)
	}
	h5 := e.MinSize().Height
	e.SetText(strings.Repeat("line\n", 30))
	if e.MinSize().Height != h5 {
		t.Errorf("31 lines grew past five: %v > %v", e.MinSize().Height, h5)
	}
	// A long line wraps and counts as several.
	e.SetText(strings.Repeat("word ", 80))
	if e.visibleRows() < 2 {
		t.Errorf("a wrapped line counts as %d rows", e.visibleRows())
	}
	e.SetText("")
	if e.visibleRows() != 1 {
		t.Errorf("cleared composer shows %d rows", e.visibleRows())
	}
}

func TestListKeepsTheBottomWhenTheComposerGrows(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 50, t0)
	c, _ := newTestChat(t, eng, false)
	h := c.list.Size().Height
	c.composer.SetText("1\n2\n3\n4\n5")
	c.content.(*fyne.Container).Refresh() // what the canvas does when a min size changes
	if c.list.Size().Height >= h {
		t.Fatalf("the list did not shrink: %v → %v", h, c.list.Size().Height)
	}
	if ids := c.list.visibleIDs(); ids[len(ids)-1] != "r-000050" || !c.list.atBottom {
		t.Errorf("the newest message left the view: last visible %s", ids[len(ids)-1])
	}
}

func TestRunsAndDays(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.Local)
	mk := func(sender string, at time.Time) Row { return Row{SenderID: sender, Time: at} }
	rows := []Row{
		mk("a", now.AddDate(0, 0, -3)),
		mk("a", now.Add(-25*time.Hour)),
		mk("a", now.Add(-10*time.Minute)),
		mk("a", now.Add(-6*time.Minute)),
		mk("a", now.Add(-1*time.Minute)), // 5 min after the previous: same run
		mk("b", now),
	}
	want := []struct {
		day         string
		first, last bool
	}{
		{"Saturday, 28 March", true, true},
		{"Yesterday", true, true},
		{"Today", true, false},
		{"", false, false},
		{"", false, true},
		{"", true, true},
	}
	for i, w := range want {
		v := viewOf(rows, i, true, now)
		if v.day != w.day || v.firstRun != w.first || v.lastRun != w.last {
			t.Errorf("row %d: day %q first %v last %v, want %q %v %v", i, v.day, v.firstRun, v.lastRun, w.day, w.first, w.last)
		}
	}
	if got := dayLabel(time.Date(2025, 12, 1, 0, 0, 0, 0, time.Local), now); got != "1 December 2025" {
		t.Errorf("last year's date: %q", got)
	}
	for in, want := range map[string]string{"Alice Smith": "AS", "bob": "B", "carol.d": "CD", "": "?", "😀": "?"} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDesktopShellSideBySideTitleAndNotifications(t *testing.T) {
	test.NewTempApp(t)
	fyne.CurrentApp().Settings().SetTheme(newAppTheme()) // the real look, for the screenshot
	eng := newFakeEngine()
	eng.fill("general", 9, time.Now().Add(-20*time.Minute))
	eng.rows["general"][4].Text = "Has anyone tried the new build? It starts its own server when none is running 🎉"
	eng.rows["general"][5].Text = "Yes! Two profiles on one machine: go run . -profile bob"
	eng.rows["general"][8].Status = model.StatusDelivered
	eng.rooms = []RoomItem{{ID: "general", Name: "general", Preview: "Me: message 9", PreviewTime: time.Now()},
		{ID: "dm", Name: "bob", Direct: true, PeerID: "u-bob", Preview: "see you at 6", PreviewTime: time.Now().Add(-time.Hour)}}
	w := test.NewTempWindow(t, nil)
	s := newShell(w, eng, inlineRunner(), false)
	w.SetContent(s.content)
	w.Resize(fyne.NewSize(900, 600))
	var notes []string
	s.notify = func(title, body string) { notes = append(notes, title+": "+body) }
	s.loadRooms("general")
	if s.chat == nil || len(s.chatHolder.Objects) != 1 || s.chatHolder.Objects[0] != s.chat.content {
		t.Fatalf("desktop does not show the chat beside the rooms")
	}
	s.apply(Update{Conn: &ConnState{Phase: PhaseOnline}})
	s.content.(*fyne.Container).Refresh() // the canvas would lay out again without the banner
	saveScreenshot(t, w, "desktop.png")
	if w.Title() != "Parley" {
		t.Errorf("title %q", w.Title())
	}
	msg := Row{ID: "x1", RoomID: "dm", Seq: 1, SenderID: "u-bob", SenderName: "bob", Text: "psst", Time: t0}
	// Focused: no notification.
	s.apply(Update{Rows: []Row{msg}, Notify: []Row{msg},
		Rooms: []RoomItem{{ID: "dm", Name: "bob", Direct: true, PeerID: "u-bob", Unread: 3, Preview: "psst", PreviewTime: time.Now()}}})
	if len(notes) != 0 {
		t.Errorf("notified while focused: %v", notes)
	}
	if w.Title() != "Parley (3)" {
		t.Errorf("title %q, want the unread total", w.Title())
	}
	if s.rooms.rooms[0].ID != "dm" || s.rooms.rooms[0].Preview != "psst" {
		t.Errorf("the room with the newest message is not first: %v", s.rooms.rooms[0].ID)
	}
	// The open room stays highlighted when the order changes.
	s.rooms.list.Unselect(0)
	s.rooms.list.Select(1)
	if s.rooms.selected != "general" || s.chat.room.ID != "general" {
		t.Errorf("selected %q, open %q", s.rooms.selected, s.chat.room.ID)
	}
	// Not focused: others' messages notify, own ones never.
	s.focused = false
	own := Row{ID: "x2", RoomID: "general", Seq: 4, SenderID: eng.me, Own: true, Text: "mine", Time: t0}
	s.apply(Update{Notify: []Row{msg, own}})
	if len(notes) != 1 || notes[0] != "bob: psst" {
		t.Errorf("notifications %v", notes)
	}
	// A flood (a sync after a reconnect) is one summary.
	notes = nil
	s.apply(Update{Notify: []Row{msg, msg, msg, msg, msg}})
	if len(notes) != 1 || notes[0] != "Parley: 5 new messages" {
		t.Errorf("flood notifications %v", notes)
	}
	// Presence lights the direct room's dot.
	s.apply(Update{Presence: map[string]bool{"u-bob": true}})
	if r, _ := s.rooms.room("dm"); !r.Online {
		t.Errorf("bob's direct room is not online")
	}
}

func TestReadOnlyWhileFocused(t *testing.T) {
	test.NewTempApp(t)
	eng := newFakeEngine()
	eng.fill("general", 3, t0)
	eng.rooms = []RoomItem{{ID: "general", Name: "general"}}
	w := test.NewTempWindow(t, nil)
	s := newShell(w, eng, inlineRunner(), false)
	w.SetContent(s.content)
	w.Resize(fyne.NewSize(900, 600))
	s.loadRooms("general")
	if eng.read["general"] != 3 {
		t.Fatalf("shown messages not read: %d", eng.read["general"])
	}
	s.setFocused(false)
	s.apply(Update{Rows: []Row{{ID: "n4", RoomID: "general", Seq: 4, SenderID: "u-bob", SenderName: "Bob", Text: "hi", Time: t0}}})
	if eng.read["general"] != 3 {
		t.Errorf("a message that arrived in the background was marked read")
	}
	s.setFocused(true)
	if eng.read["general"] != 4 {
		t.Errorf("coming back did not mark it read: %d", eng.read["general"])
	}
}

// TestChatSaysSendingTooFast: while the engine holds the outbox back for the
// server's rate limit, the composer area says so; the line goes with the state, and a
// chat opened meanwhile shows it too.
func TestChatSaysSendingTooFast(t *testing.T) {
	test.NewTempApp(t)
	eng := newFakeEngine()
	eng.fill("general", 2, time.Now().Add(-time.Minute))
	eng.rooms = []RoomItem{{ID: "general", Name: "general"}, {ID: "dm", Name: "bob", Direct: true, PeerID: "u-bob"}}
	w := test.NewTempWindow(t, nil)
	s := newShell(w, eng, inlineRunner(), false)
	w.SetContent(s.content)
	w.Resize(fyne.NewSize(900, 600))
	s.loadRooms("general")
	if s.chat == nil || s.chat.slow.Visible() {
		t.Fatalf("the slow line shows before any refusal")
	}
	s.apply(Update{Conn: &ConnState{Phase: PhaseOnline, Throttled: true}})
	if !s.chat.slow.Visible() || !strings.Contains(s.chat.slow.Text, "too fast") {
		t.Fatalf("throttled: the line is hidden (%q)", s.chat.slow.Text)
	}
	s.open(s.rooms.rooms[1])
	if !s.chat.slow.Visible() {
		t.Fatalf("a chat opened while throttled does not say it")
	}
	s.apply(Update{Conn: &ConnState{Phase: PhaseOnline}})
	if s.chat.slow.Visible() {
		t.Fatalf("the line stays after the outbox went out")
	}
}
