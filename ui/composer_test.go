package ui

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// Issue 11, item 2: Enter on 4,010 characters keeps them (the engine refuses more than
// 4,000, and the field used to empty itself); "Send as 2 messages" sends them in order.
func TestComposerKeepsTooLongTextAndSendsItInParts(t *testing.T) {
	eng := newFakeEngine()
	c, w := newTestChat(t, eng, false)
	w.Canvas().Focus(c.composer)
	text := longText(4010)
	clip := test.NewClipboard()
	clip.SetContent(text)
	c.composer.TypedShortcut(&fyne.ShortcutPaste{Clipboard: clip})
	if !c.limitBox.Visible() || c.splitBtn.Text != "Send as 2 messages" || !strings.Contains(c.limitLine.Text, "4,010 characters") {
		t.Fatalf("hint %v %q, button %q; want the hint and Send as 2 messages", c.limitBox.Visible(), c.limitLine.Text, c.splitBtn.Text)
	}
	// The hint is laid out where it shows: the button at its right end, inside the chat.
	if b, bs, cs := c.splitBtn.Position().Add(c.limitBox.Position()), c.splitBtn.Size(), c.content.Size(); bs.Height < c.splitBtn.MinSize().Height-1 ||
		b.X < 0 || b.X+bs.Width > cs.Width+1 || b.X+bs.Width < cs.Width-1-theme.Padding()*2 {
		t.Errorf("Send as 2 messages is %v at %v in a chat %v wide", bs, b, cs.Width)
	}
	c.composer.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	test.Tap(c.sendBtn)
	if len(eng.sent) != 0 || c.composer.value() != text {
		t.Fatalf("Enter on 4,010 characters: sent %d, field holds %d characters; want nothing sent and the text kept",
			len(eng.sent), utf8.RuneCountInString(c.composer.value()))
	}
	if !strings.HasPrefix(c.limitLine.Text, "Not sent") || !c.limitLine.TextStyle.Bold {
		t.Errorf("after Enter the hint says %q; want it to say the text was not sent", c.limitLine.Text)
	}
	test.Tap(c.splitBtn)
	if len(eng.sent) != 2 || c.composer.Text != "" || c.limitBox.Visible() {
		t.Fatalf("Send as 2 messages: sent %d, field %d characters, hint %v", len(eng.sent), len(c.composer.Text), c.limitBox.Visible())
	}
	for i, p := range eng.sent {
		if n := utf8.RuneCountInString(p); n > model.MaxContentRunes {
			t.Errorf("part %d has %d characters", i, n)
		}
	}
	if strings.Join(strings.Fields(strings.Join(eng.sent, " ")), " ") != strings.Join(strings.Fields(text), " ") {
		t.Errorf("the parts, in the order sent, are not the text")
	}
	// Back under the limit, the composer wraps again and Enter sends.
	c.composer.setText("short")
	if c.composer.soft || c.composer.Wrapping != fyne.TextWrapWord {
		t.Errorf("a short text is not wrapped")
	}
	c.composer.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(eng.sent) != 3 || eng.sent[2] != "short" {
		t.Errorf("sent %q", eng.sent)
	}
}

// Issue 11, item 7: Tab and Shift+Tab move the focus and type nothing; Escape leaves.
func TestComposerTabMovesFocusEscapeLeaves(t *testing.T) {
	eng := newFakeEngine()
	c, w := newTestChat(t, eng, false)
	cv := w.Canvas()
	cv.Focus(c.composer)
	test.Type(c.composer, "hi")
	if c.composer.AcceptsTab() {
		t.Fatalf("the composer takes Tab: the window would type it instead of moving the focus")
	}
	c.composer.TypedKey(&fyne.KeyEvent{Name: fyne.KeyTab})
	if c.composer.Text != "hi" {
		t.Errorf("Tab typed into the composer: %q", c.composer.Text)
	}
	cv.FocusNext() // what the window does with a Tab the focused widget does not take
	if cv.Focused() == c.composer || cv.Focused() == nil {
		t.Errorf("Tab left the focus on %v", cv.Focused())
	}
	cv.FocusPrevious()
	if cv.Focused() != c.composer {
		t.Errorf("Shift+Tab did not come back to the composer: %v", cv.Focused())
	}
	c.composer.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if cv.Focused() != nil {
		t.Errorf("Escape left the focus on %v", cv.Focused())
	}
	if c.composer.Text != "hi" {
		t.Errorf("Escape changed the text: %q", c.composer.Text)
	}
}

// Past what Fyne's entry wraps cheaply the composer wraps the text itself: every row it
// shows fits, what the user typed is unchanged, and editing across a soft row break acts
// on what the user sees.
func TestComposerWrapsLongTextItself(t *testing.T) {
	eng := newFakeEngine()
	c, w := newTestChat(t, eng, false)
	e := c.composer
	w.Canvas().Focus(e)
	text := longText(20000)
	clip := test.NewClipboard()
	clip.SetContent(text)
	e.TypedShortcut(&fyne.ShortcutPaste{Clipboard: clip})
	if !e.soft || e.value() != text {
		t.Fatalf("after pasting 20,000 characters: soft %v, value has %d characters", e.soft, utf8.RuneCountInString(e.value()))
	}
	rows := strings.Split(e.Text, "\n")
	if len(rows) < 20000/200 {
		t.Fatalf("20,000 characters shown in %d rows", len(rows))
	}
	width := e.textWidth()
	for i, r := range rows {
		if got := fyne.MeasureText(strings.TrimRight(unsoft(r), " "), 14, fyne.TextStyle{}).Width; got > width+1 {
			t.Fatalf("row %d is %.0f wide, the field %.0f: %q", i, got, width, r)
		}
	}
	if off := logicalOffset(e.Text, offsetOf(e.Text, e.CursorRow, e.CursorColumn)); off != 20000 {
		t.Errorf("the cursor is at %d of the typed text; want 20000, after the paste", off)
	}
	test.Type(e, "!")
	if e.value() != text+"!" {
		t.Errorf("typing at the end: value ends %q", e.value()[len(e.value())-5:])
	}
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
	if e.value() != text {
		t.Fatalf("Backspace at the end did not delete the '!'")
	}
	// Backspace at the start of the second row deletes the last character of the first.
	e.CursorRow, e.CursorColumn = 1, 0
	first := []rune(unsoft(rows[0]))
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
	want := string(first[:len(first)-1]) + text[len(string(first)):]
	if e.value() != want {
		t.Errorf("Backspace at a soft row start: value starts %q; want %q", e.value()[:len(first)+3], want[:len(first)+3])
	}
	// Copy gives the typed text, not the rows.
	e.TypedShortcut(&fyne.ShortcutSelectAll{})
	e.TypedShortcut(&fyne.ShortcutCopy{Clipboard: clip})
	if clip.Content() != want {
		t.Errorf("copy of everything holds soft row breaks or lost text (%d characters)", utf8.RuneCountInString(clip.Content()))
	}
	// Back to a short text, the entry wraps it again.
	e.setText("short")
	if e.soft || e.Text != "short" {
		t.Errorf("a short text: soft %v, text %q", e.soft, e.Text)
	}
}

func TestSoftFlowOffsets(t *testing.T) {
	measure := func(s string) float32 { return float32(utf8.RuneCountInString(s)) }
	text := "aaa bbb ccc\ndddddddddd e"
	display := softFlow(text, 5, measure)
	if unsoft(display) != text {
		t.Fatalf("unsoft(softFlow) = %q", unsoft(display))
	}
	for _, row := range strings.Split(display, "\n") {
		if measure(strings.TrimRight(unsoft(row), " ")) > 5 {
			t.Errorf("row %q is wider than 5", row)
		}
	}
	for l := 0; l <= utf8.RuneCountInString(text); l++ {
		if got := logicalOffset(display, displayOffset(display, l)); got != l {
			t.Errorf("offset %d → display %d → %d", l, displayOffset(display, l), got)
		}
	}
}

// Send as N messages through the real engine and server: each part goes through the
// outbox and is stored once, in order.
func TestSendAsPartsThroughTheRealOutbox(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	alice := startClient(t, srv.URL, "alice")
	test.NewTempApp(t)
	eng := newClientEngine(alice)
	c := newChatScreen(eng, inlineRunner(), RoomItem{ID: server.GeneralRoomID, Name: "general"}, nil)
	c.composer.newlineOnEnter = false
	w := test.NewTempWindow(t, c.content)
	w.Resize(fyne.NewSize(900, 600))
	go func() {
		for range alice.Events() {
		}
	}()
	text := longText(9000)
	clip := test.NewClipboard()
	clip.SetContent(text)
	w.Canvas().Focus(c.composer)
	c.composer.TypedShortcut(&fyne.ShortcutPaste{Clipboard: clip})
	parts := c.parts
	if len(parts) != 3 || c.splitBtn.Text != "Send as 3 messages" {
		t.Fatalf("9,000 characters: %d parts, button %q", len(parts), c.splitBtn.Text)
	}
	test.Tap(c.splitBtn)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := alice.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := alice.History(ctx, server.GeneralRoomID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("the server holds %d messages; want the 3 parts", len(got))
	}
	for i, m := range got {
		if m.Content != parts[i] || (i > 0 && m.Seq <= got[i-1].Seq) {
			t.Errorf("message %d (seq %d) is not part %d", i, m.Seq, i)
		}
	}
}

// Random edits of a text the composer wraps itself keep what the user typed exactly as
// a plain editor would: a character typed at the cursor, Backspace and Delete on the
// characters beside it, whatever soft row breaks lie in between.
func TestComposerSoftWrapEditsLikeAPlainEditor(t *testing.T) {
	eng := newFakeEngine()
	c, w := newTestChat(t, eng, false)
	e := c.composer
	w.Canvas().Focus(e)
	want := []rune(longText(1300) + "\n" + strings.Repeat("x", 1100) + "\nend")
	e.setText(string(want))
	if !e.soft {
		t.Fatal("a 1,300-character paragraph is not wrapped by the composer")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cursor := func() int { return logicalOffset(e.Text, offsetOf(e.Text, e.CursorRow, e.CursorColumn)) }
	for i := range 150 {
		// Put the cursor somewhere, as a click would (never between a mark and its newline).
		rows := strings.Count(e.Text, "\n") + 1
		e.CursorRow, e.CursorColumn = rng.IntN(rows), rng.IntN(120)
		e.leaveMark(false)
		at := cursor()
		var op string
		switch rng.IntN(3) {
		case 0:
			op = "type"
			test.Type(e, "é")
			want = append(want[:at], append([]rune("é"), want[at:]...)...)
		case 1:
			op = "backspace"
			e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
			if at > 0 {
				want = append(want[:at-1], want[at:]...)
			}
		default:
			op = "delete"
			e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDelete})
			if at < len(want) {
				want = append(want[:at], want[at+1:]...)
			}
		}
		if got := e.value(); got != string(want) {
			g, wn := []rune(got), want
			j := 0
			for j < len(g) && j < len(wn) && g[j] == wn[j] {
				j++
			}
			t.Fatalf("edit %d (%s at %d): the text differs from a plain editor's at %d: got %q, want %q",
				i, op, at, j, string(g[max(0, j-5):min(len(g), j+5)]), string(wn[max(0, j-5):min(len(wn), j+5)]))
		}
		if strings.ContainsRune(e.value(), softMark) {
			t.Fatalf("edit %d: a soft mark leaked into the text", i)
		}
	}
}
