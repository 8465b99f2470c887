package ui

import (
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// commonEmoji are the reactions the picker offers.
var commonEmoji = []string{"👍", "❤️", "😂", "😮", "😢", "🎉", "🙏", "👀"}

// chip is one reaction under a bubble: the emoji and its count, the user's own
// highlighted in the accent colour; tapping it adds or takes back the user's own.
type chip struct {
	widget.BaseWidget
	back  *canvas.Rectangle
	emoji *canvas.Text
	count *canvas.Text
	r     reaction
	onTap func()
}

// emojiScale is how much larger than the text beside it an emoji is drawn: the font's
// emoji are small for their size, about half a digit's height at the same size.
const emojiScale = 1.35

func newChip() *chip {
	c := &chip{back: &canvas.Rectangle{CornerRadius: 10, StrokeWidth: 1},
		emoji: canvas.NewText("", theme.Color(theme.ColorNameForeground)),
		count: canvas.NewText("", theme.Color(theme.ColorNameForeground))}
	c.count.TextSize = theme.CaptionTextSize() + 1
	c.emoji.TextSize = c.count.TextSize * emojiScale
	c.ExtendBaseWidget(c)
	return c
}

// set shows r.
func (c *chip) set(r reaction) {
	c.r = r
	c.emoji.Text, c.count.Text = r.Emoji, strconv.Itoa(r.Count)
	c.Refresh()
}

// Tapped toggles the user's own reaction.
func (c *chip) Tapped(*fyne.PointEvent) {
	if c.onTap != nil {
		c.onTap()
	}
}

func (c *chip) CreateRenderer() fyne.WidgetRenderer { return &chipRenderer{c: c} }

type chipRenderer struct{ c *chip }

// chipGap is the room between a chip's emoji and its count.
const chipGap = 4

func (r *chipRenderer) Layout(s fyne.Size) {
	r.c.back.Resize(s)
	es, cs := r.c.emoji.MinSize(), r.c.count.MinSize()
	x := (s.Width - es.Width - chipGap - cs.Width) / 2
	// Centred by their glyphs, not their boxes: an emoji is drawn in the upper part of
	// its line (its middle at about 0.37 of the line's height), digits lower (0.55).
	r.c.emoji.Move(fyne.NewPos(x, s.Height/2-0.37*es.Height))
	r.c.emoji.Resize(es)
	r.c.count.Move(fyne.NewPos(x+es.Width+chipGap, s.Height/2-0.55*cs.Height))
	r.c.count.Resize(cs)
}

func (r *chipRenderer) MinSize() fyne.Size { return chipSize(r.c.emoji.Text, r.c.count.Text) }

// chipSize is the size of a chip showing emoji and count (row geometry measures chips
// with it before any widget exists).
func chipSize(emoji, count string) fyne.Size {
	size := theme.CaptionTextSize() + 1
	es := fyne.MeasureText(emoji, size*emojiScale, fyne.TextStyle{})
	cs := fyne.MeasureText(count, size, fyne.TextStyle{})
	return fyne.NewSize(es.Width+chipGap+cs.Width+16, fyne.Max(es.Height, cs.Height)+4)
}

func (r *chipRenderer) Refresh() {
	c := r.c
	bg, fg := theme.Color(theme.ColorNameBackground), theme.Color(theme.ColorNameForeground)
	if c.r.Mine {
		c.back.FillColor = mix(bg, theme.Color(theme.ColorNamePrimary), 0.3)
		c.back.StrokeColor = theme.Color(theme.ColorNamePrimary)
	} else {
		c.back.FillColor = mix(bg, fg, 0.08)
		c.back.StrokeColor = mix(bg, fg, 0.2)
	}
	c.emoji.Color, c.count.Color = fg, fg
	r.Layout(c.Size())
	c.back.Refresh()
	c.emoji.Refresh()
	c.count.Refresh()
}

func (r *chipRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.c.back, r.c.emoji, r.c.count}
}
func (r *chipRenderer) Destroy() {}

// newEmojiPicker is the row of common emoji, drawn larger than text (pickerTheme); pick
// is called with the one tapped.
func newEmojiPicker(mine func(emoji string) bool, pick func(emoji string, on bool)) (fyne.CanvasObject, []*widget.Button) {
	box := container.NewHBox()
	var btns []*widget.Button
	for _, e := range commonEmoji {
		b := &widget.Button{Text: e, Importance: widget.LowImportance}
		if mine(e) {
			b.Importance = widget.HighImportance
		}
		b.OnTapped = func() { pick(e, !mine(e)) }
		btns = append(btns, b)
		box.Add(b)
	}
	return container.NewThemeOverride(box, pickerTheme{fyne.CurrentApp().Settings().Theme()}), btns
}

// pickerTheme is the app's theme with text the size the picker's emoji need to be told
// apart (the font's emoji are about half a digit's height).
type pickerTheme struct{ fyne.Theme }

// Size scales the text size; every other size is the theme's.
func (t pickerTheme) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameText {
		return t.Theme.Size(n) * 1.6
	}
	return t.Theme.Size(n)
}
