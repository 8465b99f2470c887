package ui

import (
	"fmt"
	"image/color"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

var t0 = time.Date(2026, 3, 31, 10, 0, 0, 0, time.Local)

// newTestChat opens a chat of room "r" over eng in a 400x600 test window.
func newTestChat(t *testing.T, eng *fakeEngine, direct bool) (*chatScreen, fyne.Window) {
	t.Helper()
	test.NewTempApp(t)
	c := newChatScreen(eng, inlineRunner(), RoomItem{ID: "r", Name: "general", Direct: direct}, nil)
	c.list.now = func() time.Time { return t0.Add(24 * time.Hour) }
	c.composer.newlineOnEnter = false // desktop behaviour, also under -tags mobile
	w := test.NewTempWindow(t, c.content)
	w.Resize(fyne.NewSize(400, 600))
	c.loadLatest()
	return c, w
}

func TestBubblesOwnRightAccentTintOthersLeftNeutral(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 3, t0)
	c, _ := newTestChat(t, eng, false)

	other := c.list.rowWidgetFor("r-000001")
	own := c.list.rowWidgetFor("r-000003")
	if other == nil || own == nil {
		t.Fatalf("rows not visible: %v", c.list.visibleIDs())
	}
	width := c.list.Size().Width
	ob, mb := other.bubble, own.bubble
	if ob.Position().X > width/3 {
		t.Errorf("other's bubble at x=%v, want on the left", ob.Position().X)
	}
	if right := mb.Position().X + mb.Size().Width; right < width-sidePad-1 {
		t.Errorf("own bubble ends at %v of %v, want on the right", right, width)
	}
	if !sameColor(mb.FillColor, ownBubble()) {
		t.Errorf("own bubble fill %v, want the accent tint %v", mb.FillColor, ownBubble())
	}
	if sameColor(ob.FillColor, ownBubble()) {
		t.Errorf("other's bubble has the accent tint")
	}
	if mb.BottomRightCornerRadius != 0 || mb.BottomLeftCornerRadius == 0 || mb.CornerRadius != 0 {
		t.Errorf("own bubble tail: corners %+v", mb)
	}
	if ob.BottomLeftCornerRadius != 0 || ob.BottomRightCornerRadius == 0 {
		t.Errorf("other's bubble tail: corners %+v", ob)
	}
	// Group room: the first of a run shows name and avatar; the second does not.
	if other.name.Hidden || other.name.Text != "Alice" || other.avatarTx.Text != "A" {
		t.Errorf("first of run: name %q hidden=%v avatar %q", other.name.Text, other.name.Hidden, other.avatarTx.Text)
	}
	second := c.list.rowWidgetFor("r-000002")
	if !second.name.Hidden {
		t.Errorf("second bubble of a run shows the name")
	}
	// The time shows under the last of the run only.
	if !other.clock.Hidden || second.clock.Hidden {
		t.Errorf("clock: first hidden=%v, last hidden=%v", other.clock.Hidden, second.clock.Hidden)
	}
	if got := clockLabel(second.view.Time); second.clock.Text != got {
		t.Errorf("clock %q, want %q", second.clock.Text, got)
	}
	if own.name.Visible() && !own.name.Hidden {
		t.Errorf("own bubble shows a name")
	}
	// The day separator sits above the first row.
	if other.daySep.Hidden || other.daySep.Text != "Yesterday" {
		t.Errorf("day separator %q hidden=%v", other.daySep.Text, other.daySep.Hidden)
	}
}

func TestDirectRoomHasNoNames(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 2, t0)
	c, _ := newTestChat(t, eng, true)
	if w := c.list.rowWidgetFor("r-000001"); !w.name.Hidden || !w.avatar.Hidden {
		t.Errorf("direct room shows the sender's name or avatar")
	}
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

func TestStatusMarks(t *testing.T) {
	test.NewTempApp(t)
	cases := []struct {
		st    model.Status
		marks int
		icon  string
	}{
		{model.StatusSending, 1, theme.HistoryIcon().Name()},
		{model.StatusSent, 1, theme.ConfirmIcon().Name()},
		{model.StatusDelivered, 2, theme.ConfirmIcon().Name()},
		{model.StatusRead, 2, theme.NewPrimaryThemedResource(theme.ConfirmIcon()).Name()},
		{model.StatusFailed, 1, theme.NewErrorThemedResource(theme.ErrorIcon()).Name()},
	}
	for _, tc := range cases {
		m := newStatusMark()
		m.setStatus(tc.st)
		if m.marks() != tc.marks {
			t.Errorf("%s: %d marks, want %d", tc.st, m.marks(), tc.marks)
		}
		if got := m.first.Resource.Name(); got != tc.icon {
			t.Errorf("%s: icon %q, want %q", tc.st, got, tc.icon)
		}
	}
	// Read is in the accent colour and delivered is not.
	r, d := newStatusMark(), newStatusMark()
	r.setStatus(model.StatusRead)
	d.setStatus(model.StatusDelivered)
	if r.first.Resource.Name() == d.first.Resource.Name() {
		t.Errorf("read and delivered look the same")
	}
}

func TestFailedBubbleTapToRetry(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 2, t0)
	c, _ := newTestChat(t, eng, false)
	failed := Row{ID: "f1", RoomID: "r", LocalOrder: 1, SenderID: eng.me, SenderName: "Me", Text: "oops",
		Time: t0.Add(24 * time.Hour), Own: true, Status: model.StatusFailed, Err: "rate_limited"}
	c.list.upsert([]Row{failed})
	w := c.list.rowWidgetFor("f1")
	if w == nil {
		t.Fatalf("failed row not visible: %v", c.list.visibleIDs())
	}
	if w.retry.Hidden || w.retry.Text != "Failed — Tap to retry" {
		t.Fatalf("retry hint hidden=%v text=%q", w.retry.Hidden, w.retry.Text)
	}
	if w.status.status != model.StatusFailed {
		t.Errorf("status %q", w.status.status)
	}
	test.Tap(w.retry)
	if len(eng.retried) != 1 || eng.retried[0] != "f1" {
		t.Errorf("retried %v, want [f1]", eng.retried)
	}
	// The retry turns it back to sending; the hint goes.
	failed.Status = model.StatusSending
	c.list.upsert([]Row{failed})
	if w := c.list.rowWidgetFor("f1"); !w.retry.Hidden || w.status.status != model.StatusSending {
		t.Errorf("after retry: hint hidden=%v status %q", w.retry.Hidden, w.status.status)
	}
}

func TestLinksAreHyperlinks(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 2, t0)
	eng.rows["r"][0].Text = "see https://example.com/a?b=1 now 🎉"
	c, _ := newTestChat(t, eng, false)
	w := c.list.rowWidgetFor("r-000001")
	links := w.shownLinks()
	if len(links) != 1 || links[0].URL.String() != "https://example.com/a?b=1" {
		t.Fatalf("links %v", links)
	}
	if w.label.Text != "see https://example.com/a?b=1 now 🎉" || w.label.Selectable {
		t.Errorf("text %q selectable=%v (a selectable label takes the right-click)", w.label.Text, w.label.Selectable)
	}
	if plain := c.list.rowWidgetFor("r-000002"); len(plain.shownLinks()) != 0 {
		t.Errorf("a message without links offers %d", len(plain.shownLinks()))
	}
	// The links sit inside the bubble.
	if w.bubble.Size().Height+0.5 < w.label.MinSize().Height+links[0].MinSize().Height {
		t.Errorf("bubble %v too short for text %v (size %v, measured %v) and link %v", w.bubble.Size(), w.label.MinSize(), w.label.Size(), naturalWidth(w.label.Text), links[0].MinSize())
	}
}

func TestOpensAtNewestAndPillWhenScrolledUp(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 100, t0)
	c, _ := newTestChat(t, eng, false)
	l := c.list
	ids := l.visibleIDs()
	if ids[len(ids)-1] != "r-000100" || !l.atBottom {
		t.Fatalf("does not open at the newest: last visible %s atBottom=%v", ids[len(ids)-1], l.atBottom)
	}
	// At the bottom, a new message scrolls into view.
	l.upsert([]Row{newRow(101, "u-bob", "Bob")})
	if ids := l.visibleIDs(); ids[len(ids)-1] != "r-000101" || l.pill.Visible() {
		t.Fatalf("new message at the bottom not shown: %v pill=%v", ids[len(ids)-3:], l.pill.Visible())
	}
	// Scrolled up, new messages raise the pill instead.
	l.setOffset(l.maxOffset() - 400)
	before := l.visibleIDs()
	l.upsert([]Row{newRow(102, "u-bob", "Bob"), newRow(103, "u-bob", "Bob")})
	if !l.pill.Visible() || l.pill.Text != "2 new" {
		t.Fatalf("pill visible=%v text %q, want 2 new", l.pill.Visible(), l.pill.Text)
	}
	if after := l.visibleIDs(); after[0] != before[0] {
		t.Errorf("view moved: first visible %s, was %s", after[0], before[0])
	}
	test.Tap(l.pill)
	if ids := l.visibleIDs(); ids[len(ids)-1] != "r-000103" || l.pill.Visible() {
		t.Errorf("pill tap: last visible %s, pill visible=%v", ids[len(ids)-1], l.pill.Visible())
	}
	if eng.read["r"] != 103 {
		t.Errorf("read mark %d, want 103", eng.read["r"])
	}
}

// scrollBy scrolls the list as a mouse wheel does: negative dy moves up.
func scrollBy(l *messageList, dy float32) {
	l.scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.Delta{DY: -dy}})
}

func newRow(seq int64, sender, name string) Row {
	return Row{ID: fmt.Sprintf("r-%06d", seq), RoomID: "r", Seq: seq, SenderID: sender, SenderName: name,
		Text: fmt.Sprintf("message %d", seq), Time: t0.Add(time.Duration(seq) * time.Minute)}
}

func TestPagingOlderKeepsTheView(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 1000, t0)
	c, _ := newTestChat(t, eng, false)
	l := c.list
	if len(l.rows) != pageSize || !l.hasOlder {
		t.Fatalf("window %d rows hasOlder=%v", len(l.rows), l.hasOlder)
	}
	// Scroll near the top: the list asks for the page above and keeps the row on screen still.
	l.setOffset(topThreshold + 50)
	firstID := l.visibleIDs()[1]
	firstY := l.rowWidgetFor(firstID).Position().Y - l.scroll.Offset.Y + 60
	scrollBy(l, -60)
	if len(l.rows) != 2*pageSize {
		t.Fatalf("window %d rows after paging, want %d (calls %v)", len(l.rows), 2*pageSize, eng.calls)
	}
	got := l.rowWidgetFor(firstID)
	if got == nil {
		t.Fatalf("row %s left the screen after paging", firstID)
	}
	if y := got.Position().Y - l.scroll.Offset.Y; y != firstY {
		t.Errorf("row %s moved on screen from %v to %v", firstID, firstY, y)
	}
	// Paging all the way up keeps the window bounded.
	for i := 0; i < 40 && l.hasOlder; i++ {
		scrollBy(l, -l.scroll.Offset.Y-1)
	}
	if len(l.rows) > maxWindow {
		t.Errorf("window grew to %d rows", len(l.rows))
	}
	if !l.hasNewer {
		t.Errorf("trimmed window does not know it has newer rows")
	}
	// The pill or scrolling down brings the newest back.
	l.upsert([]Row{newRow(1001, "u-bob", "Bob")})
	if !l.pill.Visible() {
		t.Fatalf("no pill for a message past the window")
	}
	test.Tap(l.pill)
	if ids := l.visibleIDs(); ids[len(ids)-1] != "r-001000" {
		t.Errorf("after the pill the last visible row is %s", ids[len(ids)-1])
	}
}

func TestRowsNeverOverlapAsRunsChange(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 3, t0)
	long := "This is a longer message that should wrap onto several lines inside the bubble because it is long, " +
		"and then some more words so that it takes three lines or more at this width."
	eng.rows["r"][2].Text = long
	c, _ := newTestChat(t, eng, false)
	l := c.list
	check := func(when string) {
		t.Helper()
		for i := 0; i+1 < len(l.rows); i++ {
			a, b := l.rowWidgetFor(l.rows[i].ID), l.rowWidgetFor(l.rows[i+1].ID)
			if a == nil || b == nil {
				continue
			}
			if got := a.layoutRow(l.width); got != l.heights[i] {
				t.Errorf("%s: row %d draws %v high, list measured %v", when, i, got, l.heights[i])
			}
			if bottom := a.bubble.Position().Y + a.bubble.Size().Height + a.Position().Y; bottom > b.Position().Y+b.bubble.Position().Y {
				t.Errorf("%s: bubble %d ends at %v below bubble %d's top %v", when, i, bottom, i+1, b.Position().Y+b.bubble.Position().Y)
			}
		}
	}
	check("opened")
	// The own long message stops being the last of its run when another own one follows.
	next := Row{ID: "n1", RoomID: "r", LocalOrder: 1, SenderID: eng.me, SenderName: "Me", Text: "typing slowly",
		Time: eng.rows["r"][2].Time.Add(time.Minute), Own: true, Status: model.StatusSending}
	l.upsert([]Row{next})
	if v := l.views[len(l.views)-2]; v.lastRun {
		t.Fatalf("the long message is still the last of its run")
	}
	check("after a follow-up")
}

func TestOneRefreshPerBatchAndHeightsMeasuredOnce(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 100, t0)
	c, _ := newTestChat(t, eng, false)
	l := c.list
	// Heights are measured once per message and width: reopening measures nothing.
	m := l.measures
	c.loadLatest()
	if l.measures != m {
		t.Errorf("reopening measured %d rows again", l.measures-m)
	}
	// Nor does scrolling within the window.
	for i := 0; i < 10; i++ {
		scrollBy(l, -30)
	}
	for i := 0; i < 10; i++ {
		scrollBy(l, 30)
	}
	if l.measures != m {
		t.Errorf("scrolling measured %d rows again", l.measures-m)
	}
	// A batch of 50 new messages is one refresh of the list, however many rows it holds.
	l.scrollToBottom()
	batch := make([]Row, 50)
	for i := range batch {
		batch[i] = newRow(int64(101+i), "u-bob", "Bob")
	}
	before := l.refreshes
	c.list.upsert(batch)
	if got := l.refreshes - before; got != 1 {
		t.Errorf("a batch of 50 refreshed the list %d times", got)
	}
	if ids := l.visibleIDs(); ids[len(ids)-1] != "r-000150" {
		t.Errorf("last visible %s after the batch", ids[len(ids)-1])
	}
}

// Issue 11, item 10: a flood merged into one update (the bridge does so once a second)
// keeps only the rows near the bottom, so that not every one of them is measured.
func TestFloodAtTheBottomKeepsASmallWindow(t *testing.T) {
	eng := newFakeEngine()
	eng.fill("r", 30, t0)
	c, _ := newTestChat(t, eng, false)
	l := c.list
	var flood []Row
	for i := int64(31); i <= 530; i++ {
		flood = append(flood, newRow(i, "u-bob", "Bob"))
	}
	measured := l.measures
	l.upsert(flood)
	if len(l.rows) != floodWindow || !l.hasOlder {
		t.Fatalf("window of %d rows after a 500-row flood (hasOlder=%v), want %d", len(l.rows), l.hasOlder, floodWindow)
	}
	if n := l.measures - measured; n > floodWindow {
		t.Errorf("%d rows measured for a flood, want at most %d", n, floodWindow)
	}
	if ids := l.visibleIDs(); ids[len(ids)-1] != "r-000530" {
		t.Errorf("the newest is not at the bottom: %v", ids[len(ids)-1])
	}
	// A message at a time still grows the window up to maxWindow.
	for i := int64(531); i <= 531+maxWindow; i++ {
		l.upsert([]Row{newRow(i, "u-bob", "Bob")})
	}
	if len(l.rows) != maxWindow {
		t.Errorf("window of %d rows after single messages, want %d", len(l.rows), maxWindow)
	}
}

// A bubble's text wraps inside the bubble, in a reused row as in a new one: the row's
// label was laid out before it was extended, so its text kept a width of 0 and did not
// wrap (an own message with a link, in a phone-wide window).
func TestBubbleTextWrapsInsideItsBubble(t *testing.T) {
	test.NewTempApp(t)
	eng := newFakeEngine()
	eng.fill("general", 8, t0)
	eng.rows["general"][5].Text = "Shall we meet at the café at 6? ☕ https://example.com/map"
	eng.rows["general"][6].Text = "a longer message from Alice that has to wrap over a few lines in a narrow window"
	c := newChatScreen(eng, inlineRunner(), RoomItem{ID: "general", Name: "general"}, nil)
	w := test.NewTempWindow(t, c.content)
	w.Resize(fyne.NewSize(360, 740))
	c.loadLatest()
	for _, id := range c.list.visibleIDs() {
		r := c.list.rowWidgetFor(id)
		for _, o := range test.WidgetRenderer(r.label).Objects() {
			if txt, ok := o.(*widget.RichText); ok && txt.Size().Width != r.label.Size().Width {
				t.Errorf("%s: the text is laid out %v px wide in a label of %v", id, txt.Size().Width, r.label.Size().Width)
			}
		}
		// The label may be a padding shorter than its minimum (the link box's gap), not a line.
		if need, got := r.label.MinSize().Height, r.label.Size().Height; need > got+theme.Padding() {
			t.Errorf("%s: the text needs %v px and has %v: it is not wrapped to its bubble (%v wide)",
				id, need, got, r.bubble.Size().Width)
		}
	}
}
