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

// wrapParagraphRunes and wrapTotalRunes bound the text Fyne's entry word-wraps itself.
// Its wrap measures the whole rest of a paragraph again for every row, which is
// quadratic in the paragraph's length, and it runs over the whole text on every
// keystroke: at 4,000 characters of one paragraph a keystroke cost ~45 ms, typing 4,010
// characters held a core for ~50 s and pasting 20,000 took 1.5 s. Past these bounds the
// composer wraps the text itself, in linear time (softFlow), and hands the entry rows
// that fit; the entry then does not wrap at all.
const (
	wrapParagraphRunes = 1000
	wrapTotalRunes     = model.MaxContentRunes
	measureCacheCap    = 8192 // words whose width the composer remembers
)

// composerEntry is the message field: Enter sends, Shift+Enter starts a new line, and it
// grows from one to five visible lines as the text does, then scrolls. Tab and
// Shift+Tab move the focus on (it never types a tab) and Escape leaves the field, so the
// app works from the keyboard alone. A text over the message limit is kept on Enter:
// onTooLong points at the hint instead. Text holds what is shown, with soft row breaks
// for a long text: value is what the user typed.
type composerEntry struct {
	widget.Entry
	onSend    func(text string) // called with the text on Enter; the field is then cleared
	onEscape  func() bool       // called on Escape; true: it was used (a reply or an edit cancelled)
	onTyping  func()            // called on every edit
	onLength  func(runes int)   // called on every edit with the text's length in code points
	onTooLong func()            // called on Enter when the text is over model.MaxContentRunes

	onPaste func(text string) bool // a paste: true when it was taken (files attached), not typed

	shift     bool
	rows      int
	runes     int  // the typed text's length in code points
	soft      bool // the composer wraps the text itself (softFlow)
	flowing   bool // changed is replacing the shown text: its own edit, not the user's
	flowWidth float32
	widths    map[string]float32 // measured words
	// newlineOnEnter makes Enter start a new line: on mobile, whose keyboards have no
	// Shift+Enter, the send button is the way to send.
	newlineOnEnter bool
}

func newComposerEntry() *composerEntry {
	c := &composerEntry{rows: 1, newlineOnEnter: fyne.CurrentDevice().IsMobile(), widths: map[string]float32{}}
	c.MultiLine = true
	c.Wrapping = fyne.TextWrapWord
	c.PlaceHolder = "Message"
	c.ExtendBaseWidget(c)
	c.SetMinRowsVisible(1)
	c.OnChanged = c.changed
	return c
}

// value is the text as the user typed it.
func (c *composerEntry) value() string {
	if !c.soft {
		return c.Text
	}
	return unsoft(c.Text)
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
// Escape leaves the field; a Tab that reaches it anyway is not typed. Across a soft row
// break, Backspace, Delete and the arrows act on what the user sees.
func (c *composerEntry) TypedKey(ev *fyne.KeyEvent) {
	switch {
	case (ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter) && !c.shift && !c.newlineOnEnter:
		c.send()
		return
	case ev.Name == fyne.KeyEscape:
		if c.onEscape != nil && c.onEscape() {
			return
		}
		if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
			cv.Unfocus()
		}
		return
	case ev.Name == fyne.KeyTab:
		return
	}
	if c.soft {
		c.skipSoftBreak(ev.Name)
	}
	c.Entry.TypedKey(ev)
	if c.soft && (ev.Name == fyne.KeyLeft || ev.Name == fyne.KeyRight || ev.Name == fyne.KeyUp ||
		ev.Name == fyne.KeyDown || ev.Name == fyne.KeyEnd || ev.Name == fyne.KeyHome) {
		c.leaveMark(ev.Name == fyne.KeyRight)
	}
}

// skipSoftBreak moves the cursor over a soft row break that the key would otherwise
// act on: Backspace at a row's start deletes the last character of the row above,
// Delete at a row's end the first of the row below.
func (c *composerEntry) skipSoftBreak(key fyne.KeyName) {
	rs := []rune(c.Text)
	pos := offsetOf(c.Text, c.CursorRow, c.CursorColumn)
	switch key {
	case fyne.KeyBackspace:
		for pos >= 2 && rs[pos-1] == '\n' && rs[pos-2] == softMark {
			pos -= 2
		}
	case fyne.KeyDelete:
		for pos+1 < len(rs) && rs[pos] == softMark && rs[pos+1] == '\n' {
			pos += 2
		}
	default:
		return
	}
	c.CursorRow, c.CursorColumn = rowCol(c.Text, pos)
}

// leaveMark keeps the cursor off the invisible place between a soft mark and its newline:
// on to the next row when moving right, else back before the mark.
func (c *composerEntry) leaveMark(right bool) {
	rs := []rune(c.Text)
	pos := offsetOf(c.Text, c.CursorRow, c.CursorColumn)
	if pos > 0 && pos < len(rs) && rs[pos-1] == softMark && rs[pos] == '\n' {
		if right {
			pos++
		} else {
			pos--
		}
		c.CursorRow, c.CursorColumn = rowCol(c.Text, pos)
		c.Refresh()
	}
}

// Tapped places the cursor, never inside a soft row break.
func (c *composerEntry) Tapped(ev *fyne.PointEvent) {
	c.Entry.Tapped(ev)
	if c.soft {
		c.leaveMark(false)
	}
}

// TypedRune implements fyne.Focusable; a rune that takes the text past what the entry
// wraps cheaply makes the composer wrap it instead, before the entry lays it out.
func (c *composerEntry) TypedRune(r rune) {
	c.beforeGrowth(1, 1)
	c.Entry.TypedRune(r)
}

// TypedShortcut passes shortcuts on; a Shift+Enter reported as a shortcut is a newline.
// A paste that may take the text past what the entry wraps cheaply turns its wrapping
// off first; copy and cut give the clipboard the text without soft row breaks.
func (c *composerEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		cs.Modifier == fyne.KeyModifierShift {
		c.Entry.TypedRune('\n')
		return
	}
	switch sc := s.(type) {
	case *fyne.ShortcutPaste:
		if sc.Clipboard != nil {
			text := sc.Clipboard.Content()
			if c.onPaste != nil && c.onPaste(text) {
				return // files, attached
			}
			c.beforeGrowth(utf8.RuneCountInString(text), longestParagraph(text))
		}
	case *fyne.ShortcutCopy:
		c.Entry.TypedShortcut(s)
		c.cleanClipboard(sc.Clipboard)
		return
	case *fyne.ShortcutCut:
		c.Entry.TypedShortcut(s)
		c.cleanClipboard(sc.Clipboard)
		return
	}
	c.Entry.TypedShortcut(s)
}

func (c *composerEntry) cleanClipboard(cb fyne.Clipboard) {
	if cb == nil {
		return
	}
	if t := cb.Content(); strings.ContainsRune(t, softMark) {
		cb.SetContent(unsoft(t))
	}
}

// setText replaces the text, choosing how it is wrapped first.
func (c *composerEntry) setText(text string) {
	soft := wantsSoft(utf8.RuneCountInString(text), longestParagraph(text))
	if soft {
		c.setSoft(true)
		c.SetText(c.flow(text))
		return
	}
	c.setSoft(false)
	c.SetText(text)
}

// wantsSoft reports whether a text of runes code points, whose longest paragraph has
// para, is wrapped by the composer rather than by the entry.
func wantsSoft(runes, para int) bool { return runes > wrapTotalRunes || para > wrapParagraphRunes }

// beforeGrowth turns the entry's own wrapping off when adding runes (whose longest
// paragraph is para) may take the text past what it wraps cheaply. It errs on the side
// of turning it off: changed turns it back on when the text turns out to fit.
func (c *composerEntry) beforeGrowth(runes, para int) {
	if !c.soft && wantsSoft(c.runes+runes, longestParagraph(c.Text)+para) {
		c.setSoft(true)
	}
}

// setSoft switches between the entry's word wrap and the composer's own (the entry
// then wraps nothing and scrolls only up and down).
func (c *composerEntry) setSoft(soft bool) {
	if soft == c.soft {
		return
	}
	c.soft = soft
	if soft {
		c.Wrapping = fyne.TextWrapOff
		c.Scroll = fyne.ScrollVerticalOnly
	} else {
		c.Wrapping = fyne.TextWrapWord
		c.Scroll = fyne.ScrollBoth // the entry's default
	}
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
	text := c.value()
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

// changed follows every edit: it wraps a long text again (keeping the cursor where the
// user put it), switches between the entry's wrapping and its own, and reports.
func (c *composerEntry) changed(string) {
	if c.flowing {
		return
	}
	text := c.value()
	c.runes = utf8.RuneCountInString(text)
	soft := wantsSoft(c.runes, longestParagraph(text))
	if soft || c.soft {
		c.reflow(text, soft)
	}
	c.fit()
	if c.onLength != nil {
		c.onLength(c.runes)
	}
	if text != "" && c.onTyping != nil {
		c.onTyping()
	}
}

// reflow shows text wrapped by the composer (soft) or by the entry, with the cursor at
// the same place of the typed text.
func (c *composerEntry) reflow(text string, soft bool) {
	cursor := offsetOf(c.Text, c.CursorRow, c.CursorColumn)
	if !c.soft {
		cursor = c.CursorTextOffset()
	}
	logical := cursor
	if c.soft {
		logical = logicalOffset(c.Text, cursor)
	}
	display := text
	c.setSoft(soft)
	if soft {
		display = c.flow(text)
	}
	c.flowing = true
	if display != c.Text {
		c.SetText(display)
	}
	c.flowing = false
	if soft {
		c.CursorRow, c.CursorColumn = rowCol(display, displayOffset(display, logical))
	} else {
		c.CursorRow, c.CursorColumn = c.rowColOf(logical)
	}
	// No Refresh: the entry refreshes after an edit's OnChanged, Resize after reflowing.
}

// rowColOf is the entry's row and column of a rune offset while the entry wraps: a
// binary search over the rows' first offsets, which the entry reports.
func (c *composerEntry) rowColOf(offset int) (int, int) {
	begin := func(row int) (int, bool) {
		c.CursorRow, c.CursorColumn = row, 0
		b := c.CursorTextOffset()
		return b, row == 0 || b > 0 // past the last row the entry answers 0
	}
	lo, hi := 0, c.runes+1 // row lo starts at or before offset; row hi does not, or is past the end
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if b, ok := begin(mid); ok && b <= offset {
			lo = mid
		} else {
			hi = mid
		}
	}
	b, _ := begin(lo)
	return lo, offset - b
}

// flow wraps text at the composer's width (softFlow), measuring each word once.
func (c *composerEntry) flow(text string) string {
	c.flowWidth = c.textWidth() - 2 // a little room: the widths of words add up to about a row's
	size, style := theme.TextSize(), c.TextStyle
	if len(c.widths) > measureCacheCap {
		clear(c.widths)
	}
	return softFlow(text, c.flowWidth, func(s string) float32 {
		if w, ok := c.widths[s]; ok {
			return w
		}
		w := fyne.MeasureText(s, size, style).Width
		if utf8.RuneCountInString(s) <= 64 {
			c.widths[s] = w
		}
		return w
	})
}

// textWidth is the width the entry's text has.
func (c *composerEntry) textWidth() float32 {
	return c.Size().Width - 2*theme.InnerPadding() - theme.Padding()
}

// fit sets the visible rows to the lines the text takes at the current width, 1 to 5.
func (c *composerEntry) fit() {
	var n int
	if c.soft {
		n = strings.Count(c.Text, "\n") + 1
	} else {
		n = visualLines(c.Text, c.textWidth())
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
	if c.soft && c.textWidth()-2 != c.flowWidth {
		c.reflow(c.value(), true)
		c.Refresh()
	}
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
