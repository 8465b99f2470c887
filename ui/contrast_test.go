package ui

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/parleychat/parley/model"
)

// drawnText is one text on screen: where it is drawn and the background under it.
type drawnText struct {
	text   *canvas.Text
	box    image.Rectangle
	bg, fg color.Color
}

// textsOn finds every visible text of w and, from the rendered image, the colour most of
// its box has (the background it sits on, whatever drew it: a bubble, a badge, a
// selected row, a banner).
func textsOn(t *testing.T, w fyne.Window) []drawnText {
	t.Helper()
	img := w.Canvas().Capture()
	scale := float32(img.Bounds().Dx()) / w.Canvas().Size().Width
	var out []drawnText
	var walk func(o fyne.CanvasObject, pos fyne.Position, clip image.Rectangle)
	walk = func(o fyne.CanvasObject, pos fyne.Position, clip image.Rectangle) {
		if !o.Visible() {
			return
		}
		pos = pos.Add(o.Position())
		px := func(x, y float32) image.Point { return image.Pt(int(x*scale), int(y*scale)) }
		if _, ok := o.(*container.Scroll); ok {
			s := o.Size()
			clip = clip.Intersect(image.Rectangle{Min: px(pos.X, pos.Y), Max: px(pos.X+s.Width, pos.Y+s.Height)})
		}
		switch v := o.(type) {
		case *canvas.Text:
			if strings.TrimSpace(v.Text) == "" {
				return
			}
			ms := v.MinSize()
			box := image.Rectangle{Min: px(pos.X, pos.Y),
				Max: px(pos.X+min(ms.Width, v.Size().Width), pos.Y+min(ms.Height, v.Size().Height))}
			if box.Intersect(clip) != box || box.Dx() < 4 || box.Dy() < 4 {
				return // partly scrolled out of view: what is under it is not all drawn
			}
			bg := modeColor(img, box)
			out = append(out, drawnText{text: v, box: box, bg: bg, fg: over(v.Color, bg)})
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c, pos, clip)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c, pos, clip)
			}
		}
	}
	walk(w.Canvas().Content(), fyne.Position{}, img.Bounds())
	return out
}

// modeColor is the most frequent colour in r of img.
func modeColor(img image.Image, r image.Rectangle) color.Color {
	counts := map[color.NRGBA]int{}
	var best color.NRGBA
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			counts[c]++
			if counts[c] > counts[best] {
				best = c
			}
		}
	}
	return best
}

// contrastScene is the desktop shell with every kind of text the app draws: the rooms
// header, selected and unselected rooms with previews, times, badges; a group chat with
// names, initials, own and others' bubbles, a link, a failed message, day separators,
// the typing line, an error line and the offline banner.
func contrastScene(t *testing.T, phase ConnPhase) (fyne.Window, *shell) {
	t.Helper()
	now := time.Now()
	eng := newFakeEngine()
	eng.fill("general", 9, now.Add(-30*time.Hour))
	rows := eng.rows["general"]
	rows[3].Text = "the notes are at https://example.com/notes, have a look"
	rows[4].SenderID, rows[4].SenderName = "u-yusuf", "Yusuf"
	rows[5].SenderID, rows[5].SenderName = "u-carol", "Carol"
	rows[6].SenderID, rows[6].SenderName = "u-dan", "Dan"
	rows[8].Status = model.StatusFailed
	rows[8].Seq = 0
	for i := 6; i < 9; i++ {
		rows[i].Time = now.Add(time.Duration(i-9) * time.Minute) // a "Today" separator
	}
	eng.rooms = []RoomItem{
		{ID: "general", Name: "general", Preview: "Me: message 9", PreviewTime: now},
		{ID: "dm", Name: "bob", Direct: true, PeerID: "u-bob", Online: true, Unread: 3, Preview: "see you at 6",
			PreviewTime: now.Add(-time.Hour)},
		{ID: "random", Name: "random", Unread: 120, Preview: "carol: lunch?", PreviewTime: now.Add(-50 * time.Hour)},
	}
	w := test.NewTempWindow(t, nil)
	s := newShell(w, eng, inlineRunner(), false)
	w.SetContent(s.content)
	w.Resize(fyne.NewSize(1000, 720))
	s.setServerInfo("Connected to 127.0.0.1:8787")
	s.loadRooms("general")
	s.apply(Update{Conn: &ConnState{Phase: phase, RetryAt: now.Add(8 * time.Second)},
		Typing: map[string][]Typist{"general": {{Name: "Alice"}}}})
	s.chat.showError("Could not load older messages: disk full")
	s.content.(*fyne.Container).Refresh()
	return w, s
}

// Issue 11, item 9: every text at least 4.5:1 against what it is drawn on, in the light
// and dark variants; the server line and room previews were 1.3:1 in the light theme.
func TestTextContrast(t *testing.T) {
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		for _, phase := range []ConnPhase{PhaseOffline, PhaseConnecting, PhaseOnline} {
			t.Run(fmt.Sprintf("variant=%d/phase=%d", v, phase), func(t *testing.T) {
				test.NewTempApp(t)
				fyne.CurrentApp().Settings().SetTheme(variantTheme{Theme: newAppTheme(), variant: v})
				w, s := contrastScene(t, phase)
				if phase == PhaseOnline {
					s.banner.setState(ConnState{Phase: PhaseOffline}, time.Now())
					s.banner.setState(ConnState{Phase: PhaseOnline}, time.Now()) // "Back online"
				}
				texts := textsOn(t, w)
				seen := map[string]bool{}
				for _, d := range texts {
					seen[d.text.Text] = true
					if r := contrast(d.fg, d.bg); r < minContrast {
						t.Errorf("%q: %v on %v is %.2f:1, want ≥ %.1f", d.text.Text, d.fg, d.bg, r, minContrast)
					}
				}
				for _, want := range []string{"see you at 6", "Me: message 9", "3", "99+", "Alice", "Y", "Today",
					"Failed — Tap to retry", "Could not load older messages: disk full", "Alice is typing…", "Message"} {
					if !seen[want] {
						t.Errorf("%q not on screen to check", want)
					}
				}
				if !seen["🔗 example.com/notes,"] && !seen["🔗 example.com/notes"] {
					t.Errorf("the link is not on screen to check")
				}
			})
		}
	}
}
