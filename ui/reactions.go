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
	text  *canvas.Text
	r     reaction
	onTap func()
}

func newChip() *chip {
	c := &chip{back: &canvas.Rectangle{CornerRadius: 10, StrokeWidth: 1},
		text: canvas.NewText("", theme.Color(theme.ColorNameForeground))}
	c.text.TextSize = theme.CaptionTextSize() + 1
	c.ExtendBaseWidget(c)
	return c
}

// set shows r.
func (c *chip) set(r reaction) {
	c.r = r
	c.text.Text = r.Emoji + " " + strconv.Itoa(r.Count)
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

func (r *chipRenderer) Layout(s fyne.Size) {
	r.c.back.Resize(s)
	ts := r.c.text.MinSize()
	r.c.text.Move(fyne.NewPos((s.Width-ts.Width)/2, (s.Height-ts.Height)/2))
	r.c.text.Resize(ts)
}

func (r *chipRenderer) MinSize() fyne.Size { return r.c.text.MinSize().AddWidthHeight(16, 4) }

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
	c.text.Color = fg
	r.Layout(c.Size())
	c.back.Refresh()
	c.text.Refresh()
}

func (r *chipRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.c.back, r.c.text} }
func (r *chipRenderer) Destroy()                     {}

// newEmojiPicker is the row of common emoji; pick is called with the one tapped.
func newEmojiPicker(mine func(emoji string) bool, pick func(emoji string, on bool)) (*fyne.Container, []*widget.Button) {
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
	return box, btns
}
