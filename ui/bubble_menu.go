package ui

import (
	"hash/fnv"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// bubbleActions is what a bubble's menu, quote and chips do; the chat provides it.
type bubbleActions struct {
	menu  func(v rowView, at fyne.Position)      // open the bubble's menu at an absolute position
	quote func(v rowView)                        // the quote was tapped: show the message answered
	react func(v rowView, emoji string, on bool) // a chip was tapped
}

// bubbleExtras are the parts protocol 1.1 adds to a bubble: the quote of the message
// answered, the reaction chips and "edited" under it, and the hover button that opens
// the menu (on desktop; right-click and, on mobile, a long press open it too).
type bubbleExtras struct {
	w      *rowWidget
	acts   *bubbleActions
	quote  *quoteBox
	chips  *fyne.Container
	edited *canvas.Text
	more   *moreButton
	pool   []*chip
}

func newBubbleExtras(w *rowWidget) *bubbleExtras {
	x := &bubbleExtras{w: w}
	x.quote = newQuoteBox(func() {
		if x.acts != nil && x.acts.quote != nil {
			x.acts.quote(w.view)
		}
	})
	x.chips = &fyne.Container{}
	x.edited = canvas.NewText("edited", theme.Color(theme.ColorNamePlaceHolder))
	x.edited.TextSize = theme.CaptionTextSize()
	x.edited.TextStyle.Italic = true
	x.more = &moreButton{}
	x.more.Icon, x.more.Importance = theme.MoreHorizontalIcon(), widget.LowImportance
	x.more.OnTapped = func() {
		if x.acts != nil && x.acts.menu != nil {
			d := fyne.CurrentApp().Driver()
			at := d.AbsolutePositionForObject(x.more).AddXY(0, x.more.Size().Height)
			x.acts.menu(w.view, at)
		}
	}
	x.more.ExtendBaseWidget(x.more)
	x.more.Hide()
	return x
}

// bind shows v's quote, chips and "edited".
func (x *bubbleExtras) bind(v rowView) {
	if v.ReplyTo != "" {
		q := v.Quote
		if q == "" {
			q = "Original message"
		}
		x.quote.setText(q)
	}
	chips := decodeReactions(v.Reactions)
	for len(x.pool) < len(chips) {
		c := newChip()
		x.pool = append(x.pool, c)
	}
	objs := make([]fyne.CanvasObject, len(chips))
	for i, r := range chips {
		c, r := x.pool[i], r
		c.set(r)
		c.onTap = func() {
			if x.acts != nil && x.acts.react != nil {
				x.acts.react(x.w.view, r.Emoji, !r.Mine)
			}
		}
		objs[i] = c
	}
	x.chips.Objects = objs
}

// layout places the extras for the row's geometry.
func (x *bubbleExtras) layout(g rowGeom, width float32) {
	v := x.w.view
	x.quote.Hidden = g.quoteH == 0
	if g.quoteH > 0 {
		p := theme.InnerPadding() / 2
		x.quote.Move(g.bubblePos.AddXY(p, p))
		x.quote.Resize(fyne.NewSize(g.bubbleSize.Width-2*p, g.quoteH-p))
	}
	line := g.extrasY > 0
	x.chips.Hidden, x.edited.Hidden = !line, !line || !v.Edited
	if line {
		h, lh := extrasHeight()-4, extrasHeight()
		widths := make([]float32, len(x.chips.Objects))
		for i, o := range x.chips.Objects {
			widths[i] = o.MinSize().Width
		}
		lines := flowChips(widths, chipsWidth(v, width))
		var cw float32 // the widest line
		for _, l := range lines {
			cw = fyne.Max(cw, lineWidth(widths[l[0]:l[1]]))
		}
		// Lines fill from the bubble's side: own messages' chips are right-aligned.
		for li, l := range lines {
			lx := float32(0)
			if v.Own {
				lx = cw - lineWidth(widths[l[0]:l[1]])
			}
			for i := l[0]; i < l[1]; i++ {
				o := x.chips.Objects[i]
				o.Resize(fyne.NewSize(widths[i], h))
				o.Move(fyne.NewPos(lx, float32(li)*lh))
				lx += widths[i] + chipSpacing
			}
		}
		first := cw
		if len(lines) > 0 {
			first = lineWidth(widths[lines[0][0]:lines[0][1]])
		}
		es := x.edited.MinSize()
		y := g.extrasY + 2
		if v.Own {
			right := width - sidePad
			x.chips.Move(fyne.NewPos(right-cw, y))
			x.edited.Move(fyne.NewPos(right-first-es.Width-6, y+(h-es.Height)/2))
		} else {
			x.chips.Move(fyne.NewPos(g.bubblePos.X, y))
			x.edited.Move(fyne.NewPos(g.bubblePos.X+first+2, y+(h-es.Height)/2))
		}
		x.chips.Resize(fyne.NewSize(cw, float32(max(1, len(lines)))*lh-4))
		x.edited.Resize(es)
	}
	ms := fyne.NewSquareSize(theme.IconInlineSize() + 2*theme.InnerPadding()/2)
	x.more.Resize(ms)
	mx := g.bubblePos.X + g.bubbleSize.Width + 4
	if v.Own {
		mx = g.bubblePos.X - ms.Width - 4
	}
	x.more.Move(fyne.NewPos(mx, g.bubblePos.Y+(g.bubbleSize.Height-ms.Height)/2))
}

// chipSpacing is the room between two chips.
const chipSpacing = 4

// chipsWidth is the width the chips of v may take at a row width: the row less its
// margins, the avatar column and, on the first line, "edited".
func chipsWidth(v rowView, width float32) float32 {
	w := width - 2*sidePad - avatarColumn(v)
	if v.Edited {
		w -= fyne.MeasureText("edited", theme.CaptionTextSize(), fyne.TextStyle{Italic: true}).Width + 8
	}
	return fyne.Max(w, 60)
}

// chipWidths is the width of each chip of v, as chipRenderer.MinSize makes it.
func chipWidths(v rowView) []float32 {
	rs := decodeReactions(v.Reactions)
	out := make([]float32, len(rs))
	for i, r := range rs {
		out[i] = chipSize(r.Emoji, strconv.Itoa(r.Count)).Width
	}
	return out
}

// flowChips breaks chips of the widths into lines of at most avail: each line is the
// [start, end) of its chips; a chip wider than avail has a line of its own.
func flowChips(widths []float32, avail float32) [][2]int {
	var lines [][2]int
	start, w := 0, float32(0)
	for i, cw := range widths {
		if i > start && w+chipSpacing+cw > avail {
			lines = append(lines, [2]int{start, i})
			start, w = i, 0
		}
		if i > start {
			w += chipSpacing
		}
		w += cw
	}
	if len(widths) > start {
		lines = append(lines, [2]int{start, len(widths)})
	}
	return lines
}

// lineWidth is the width of one line of chips.
func lineWidth(widths []float32) float32 {
	var w float32
	for i, cw := range widths {
		if i > 0 {
			w += chipSpacing
		}
		w += cw
	}
	return w
}

// hasExtrasLine reports whether the row has a line of chips or "edited" under the bubble.
func hasExtrasLine(v rowView) bool { return v.Edited || v.Reactions != "" }

// extrasHeight is the height of the line under a bubble that holds its chips.
func extrasHeight() float32 {
	return fyne.MeasureText("👍", (theme.CaptionTextSize()+1)*emojiScale, fyne.TextStyle{}).Height + 8
}

// shapeOf sums up what a row's height depends on besides its id, width and run: an edit,
// a reply's quote or the first reaction changes the key, and the row is measured again.
func shapeOf(v rowView) uint64 {
	h := fnv.New64a()
	h.Write([]byte(v.Text))
	h.Write([]byte{0})
	h.Write([]byte(v.Quote))
	var flags byte
	if v.ReplyTo != "" {
		flags |= 1
	}
	if hasExtrasLine(v) {
		flags |= 2
	}
	h.Write([]byte{flags})
	// The chips wrap: how many lines they take depends on each one's width.
	h.Write([]byte(v.Reactions))
	return h.Sum64()
}

// TappedSecondary opens the bubble's menu: a right-click on desktop, a long press on mobile.
func (w *rowWidget) TappedSecondary(ev *fyne.PointEvent) {
	if w.x.acts != nil && w.x.acts.menu != nil && !w.view.Deleted {
		w.x.acts.menu(w.view, ev.AbsolutePosition)
	}
}

// MouseIn shows the hover button that opens the menu.
func (w *rowWidget) MouseIn(*desktop.MouseEvent) {
	if w.x.acts != nil && !w.view.Deleted && !w.x.more.Visible() {
		w.x.more.Show()
	}
}

// MouseMoved is part of desktop.Hoverable.
func (w *rowWidget) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the hover button. The pointer moving onto the button is a MouseOut of
// the row too (the button is the one hovered then): the button shows itself again.
func (w *rowWidget) MouseOut() {
	if w.x.more.Visible() {
		w.x.more.Hide()
	}
}

// moreButton is the hover button beside a bubble. It stays shown while the pointer is on
// it and hides when the pointer leaves it (for the row again, which shows it, or away).
type moreButton struct{ widget.Button }

// MouseIn keeps the button shown: the row hid it a moment before, in its MouseOut.
func (b *moreButton) MouseIn(e *desktop.MouseEvent) {
	b.Show()
	b.Button.MouseIn(e)
}

// MouseOut hides the button.
func (b *moreButton) MouseOut() {
	b.Button.MouseOut()
	b.Hide()
}

// quoteBox is the compact quote at the top of a reply's bubble: a bar and one line of
// "Name: text"; tapping it shows the message answered.
type quoteBox struct {
	widget.BaseWidget
	bar   *canvas.Rectangle
	back  *canvas.Rectangle
	text  *canvas.Text
	full  string // the whole quote; the text shows as much as fits
	onTap func()
}

func newQuoteBox(onTap func()) *quoteBox {
	q := &quoteBox{bar: &canvas.Rectangle{}, back: &canvas.Rectangle{CornerRadius: 6},
		text: canvas.NewText("", theme.Color(theme.ColorNameForeground)), onTap: onTap}
	q.text.TextSize = theme.CaptionTextSize()
	q.ExtendBaseWidget(q)
	return q
}

func (q *quoteBox) setText(s string) { q.full = s }

// Tapped shows the message answered.
func (q *quoteBox) Tapped(*fyne.PointEvent) {
	if q.onTap != nil {
		q.onTap()
	}
}

func (q *quoteBox) CreateRenderer() fyne.WidgetRenderer { return &quoteRenderer{q: q} }

type quoteRenderer struct{ q *quoteBox }

func (r *quoteRenderer) Layout(s fyne.Size) {
	q := r.q
	q.back.Resize(s)
	q.bar.Move(fyne.NewPos(0, 0))
	q.bar.Resize(fyne.NewSize(3, s.Height))
	q.text.Text = fitText(q.full, s.Width-12, q.text.TextSize)
	ts := q.text.MinSize()
	q.text.Move(fyne.NewPos(8, (s.Height-ts.Height)/2))
	q.text.Resize(fyne.NewSize(s.Width-12, ts.Height))
}

func (r *quoteRenderer) MinSize() fyne.Size { return r.q.text.MinSize().AddWidthHeight(12, 6) }

func (r *quoteRenderer) Refresh() {
	q := r.q
	q.bar.FillColor = theme.Color(theme.ColorNamePrimary)
	q.back.FillColor = mix(theme.Color(theme.ColorNameBackground), theme.Color(theme.ColorNameForeground), 0.06)
	q.text.Color = theme.Color(theme.ColorNameForeground)
	r.Layout(q.Size())
	q.back.Refresh()
	q.bar.Refresh()
	q.text.Refresh()
}

func (r *quoteRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.q.back, r.q.bar, r.q.text}
}
func (r *quoteRenderer) Destroy() {}

// fitText cuts s with an ellipsis to fit width at size.
func fitText(s string, width, size float32) string {
	if fyne.MeasureText(s, size, fyne.TextStyle{}).Width <= width {
		return s
	}
	rs := []rune(s)
	lo, hi := 0, len(rs)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fyne.MeasureText(string(rs[:mid])+"…", size, fyne.TextStyle{}).Width <= width {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(rs[:lo]) + "…"
}
