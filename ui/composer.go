package ui

import (
	"math"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

// maxComposerRows is how tall the composer grows before it scrolls.
const maxComposerRows = 5

// wrapParagraphRunes and wrapTotalRunes bound the text the composer word-wraps. Fyne's
// word wrap measures the whole rest of a paragraph again for every row it wraps, which
// is quadratic in the paragraph's length, and it wraps the whole text on every keystroke:
// at 4,000 characters of one paragraph a keystroke cost ~45 ms, and typing 4,010
// characters held a core for ~50 s. Past these bounds the composer shows the text
// unwrapped (scrolling sideways too), which costs one linear pass a keystroke.
const (
	wrapParagraphRunes = 1000
	wrapTotalRunes     = model.MaxContentRunes
)

// composerEntry is the message field: Enter sends, Shift+Enter starts a new line, and it
// grows from one to five visible lines as the text does, then scrolls. Tab and
// Shift+Tab move the focus on (it never types a tab) and Escape leaves the field, so the
// app works from the keyboard alone. A text over the message limit is kept on Enter:
// onTooLong points at the hint instead.
type composerEntry struct {
	widget.Entry
	onSend    func(text string) // called with the text on Enter; the field is then cleared
	onTyping  func()            // called on every edit
	onLength  func(runes int)   // called on every edit with the text's length in code points
	onTooLong func()            // called on Enter when the text is over model.MaxContentRunes
	shift     bool
	rows      int
	runes     int // the text's length in code points
	longest   int // the longest paragraph's, in code points
	wrapped   bool
	// newlineOnEnter makes Enter start a new line: on mobile, whose keyboards have no
	// Shift+Enter, the send button is the way to send.
	newlineOnEnter bool
}

func newComposerEntry() *composerEntry {
	c := &composerEntry{rows: 1, wrapped: true, newlineOnEnter: fyne.CurrentDevice().IsMobile()}
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

// AcceptsTab implements fyne.Tabbable: Tab and Shift+Tab move the focus, as in every
// other field, instead of typing a tab.
func (c *composerEntry) AcceptsTab() bool { return false }

// TypedKey sends on Enter and leaves Shift+Enter to the entry, which inserts a newline
// (it submits on Shift+Enter only when OnSubmitted is set, which it never is here).
// Escape leaves the field; a Tab that reaches it anyway is not typed.
func (c *composerEntry) TypedKey(ev *fyne.KeyEvent) {
	switch {
	case (ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter) && !c.shift && !c.newlineOnEnter:
		c.send()
		return
	case ev.Name == fyne.KeyEscape:
		if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
			cv.Unfocus()
		}
		return
	case ev.Name == fyne.KeyTab:
		return
	}
	c.Entry.TypedKey(ev)
}

// TypedRune implements fyne.Focusable; a rune that takes the text past what is wrapped
// turns the wrapping off before the entry lays the text out.
func (c *composerEntry) TypedRune(r rune) {
	c.beforeGrowth(1, 1)
	c.Entry.TypedRune(r)
}

// TypedShortcut passes shortcuts on; a Shift+Enter reported as a shortcut is a newline.
// A paste that takes the text past what is wrapped turns the wrapping off first.
func (c *composerEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		cs.Modifier == fyne.KeyModifierShift {
		c.Entry.TypedRune('\n')
		return
	}
	if p, ok := s.(*fyne.ShortcutPaste); ok && p.Clipboard != nil {
		text := p.Clipboard.Content()
		c.beforeGrowth(utf8.RuneCountInString(text), longestParagraph(text))
	}
	c.Entry.TypedShortcut(s)
}

// setText replaces the text, choosing the wrapping first.
func (c *composerEntry) setText(text string) {
	c.setWrapped(utf8.RuneCountInString(text) <= wrapTotalRunes && longestParagraph(text) <= wrapParagraphRunes)
	c.SetText(text)
}

// beforeGrowth turns the wrapping off when adding runes (whose longest paragraph is
// para) may take the text past what is wrapped. It errs on the side of turning it off:
// changed turns it back on when the text turns out to fit.
func (c *composerEntry) beforeGrowth(runes, para int) {
	if c.wrapped && (c.runes+runes > wrapTotalRunes || c.longest+para > wrapParagraphRunes) {
		c.setWrapped(false)
	}
}

// setWrapped switches between word wrap and no wrap (scrolling both ways).
func (c *composerEntry) setWrapped(w bool) {
	if w == c.wrapped {
		return
	}
	c.wrapped = w
	if w {
		c.Wrapping = fyne.TextWrapWord
	} else {
		c.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	}
	c.Refresh()
}

// longestParagraph is the length in code points of text's longest line.
func longestParagraph(text string) int {
	longest := 0
	for text != "" {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if len(line) > longest { // bytes bound code points: count only a candidate
			longest = max(longest, utf8.RuneCountInString(line))
		}
	}
	return longest
}

// tooLong reports whether the text is over what one message may hold.
func (c *composerEntry) tooLong() bool { return c.runes > model.MaxContentRunes }

// send hands the text over unless it is blank, then clears the field. A text over the
// limit stays, and onTooLong points at the hint.
func (c *composerEntry) send() {
	text := c.Text
	if strings.TrimSpace(text) == "" {
		return
	}
	if c.tooLong() {
		if c.onTooLong != nil {
			c.onTooLong()
		}
		return
	}
	c.setText("")
	if c.onSend != nil {
		c.onSend(text)
	}
}

func (c *composerEntry) changed(string) {
	c.runes, c.longest = utf8.RuneCountInString(c.Text), longestParagraph(c.Text)
	if !c.wrapped && c.runes <= wrapTotalRunes && c.longest <= wrapParagraphRunes {
		c.setWrapped(true)
	}
	c.fit()
	if c.onLength != nil {
		c.onLength(c.runes)
	}
	if c.Text != "" && c.onTyping != nil {
		c.onTyping()
	}
}

// fit sets the visible rows to the lines the text takes at the current width, 1 to 5.
func (c *composerEntry) fit() {
	var n int
	if c.wrapped {
		n = visualLines(c.Text, c.Size().Width-2*theme.InnerPadding()-theme.Padding())
	} else {
		n = strings.Count(c.Text, "\n") + 1
	}
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
