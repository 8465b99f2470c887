package ui

import (
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// maxComposerRows is how tall the composer grows before it scrolls.
const maxComposerRows = 5

// composerEntry is the message field: Enter sends, Shift+Enter starts a new line, and it
// grows from one to five visible lines as the text does, then scrolls.
type composerEntry struct {
	widget.Entry
	onSend   func(text string) // called with the text on Enter; the field is then cleared
	onTyping func()            // called on every edit
	shift    bool
	rows     int
	// newlineOnEnter makes Enter start a new line: on mobile, whose keyboards have no
	// Shift+Enter, the send button is the way to send.
	newlineOnEnter bool
}

func newComposerEntry() *composerEntry {
	c := &composerEntry{rows: 1, newlineOnEnter: fyne.CurrentDevice().IsMobile()}
	c.MultiLine = true
	c.Wrapping = fyne.TextWrapWord
	c.PlaceHolder = "Message"
	c.ExtendBaseWidget(c)
	c.SetMinRowsVisible(1)
	c.OnChanged = c.changed
	return c
}

// KeyDown tracks Shift so that Enter can tell a send from a new line.
func (c *composerEntry) KeyDown(ev *fyne.KeyEvent) {
	if ev.Name == desktop.KeyShiftLeft || ev.Name == desktop.KeyShiftRight {
		c.shift = true
	}
	c.Entry.KeyDown(ev)
}

// KeyUp implements desktop.Keyable.
func (c *composerEntry) KeyUp(ev *fyne.KeyEvent) {
	if ev.Name == desktop.KeyShiftLeft || ev.Name == desktop.KeyShiftRight {
		c.shift = false
	}
	c.Entry.KeyUp(ev)
}

// TypedKey sends on Enter and leaves Shift+Enter to the entry, which inserts a newline
// (it submits on Shift+Enter only when OnSubmitted is set, which it never is here).
func (c *composerEntry) TypedKey(ev *fyne.KeyEvent) {
	if (ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter) && !c.shift && !c.newlineOnEnter {
		c.send()
		return
	}
	c.Entry.TypedKey(ev)
}

// TypedShortcut passes shortcuts on; a Shift+Enter reported as a shortcut is a newline.
func (c *composerEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		cs.Modifier == fyne.KeyModifierShift {
		c.Entry.TypedRune('\n')
		return
	}
	c.Entry.TypedShortcut(s)
}

// send hands the text over unless it is blank, then clears the field.
func (c *composerEntry) send() {
	text := c.Text
	if strings.TrimSpace(text) == "" {
		return
	}
	c.SetText("")
	if c.onSend != nil {
		c.onSend(text)
	}
}

func (c *composerEntry) changed(string) {
	c.fit()
	if c.Text != "" && c.onTyping != nil {
		c.onTyping()
	}
}

// fit sets the visible rows to the lines the text takes at the current width, 1 to 5.
func (c *composerEntry) fit() {
	n := visualLines(c.Text, c.Size().Width-2*theme.InnerPadding()-theme.Padding())
	n = min(max(n, 1), maxComposerRows)
	if n != c.rows {
		c.rows = n
		c.SetMinRowsVisible(n)
	}
}

// Resize refits the rows, since wrapping depends on the width.
func (c *composerEntry) Resize(s fyne.Size) {
	c.Entry.Resize(s)
	c.fit()
}

// visibleRows is how many lines tall the composer is now.
func (c *composerEntry) visibleRows() int { return c.rows }

// visualLines counts the lines text takes when wrapped at width.
func visualLines(text string, width float32) int {
	size := theme.TextSize()
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if width <= 0 {
			n++
			continue
		}
		w := fyne.MeasureText(line, size, fyne.TextStyle{}).Width
		n += max(1, int(math.Ceil(float64(w/width))))
	}
	return n
}
