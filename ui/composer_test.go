package ui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
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
	c.composer.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	test.Tap(c.sendBtn)
	if len(eng.sent) != 0 || c.composer.Text != text {
		t.Fatalf("Enter on 4,010 characters: sent %d, field holds %d characters; want nothing sent and the text kept",
			len(eng.sent), utf8.RuneCountInString(c.composer.Text))
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
	if !c.composer.wrapped || c.composer.Wrapping != fyne.TextWrapWord {
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
