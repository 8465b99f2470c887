package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// TestWrappedHeightMatchesALaidOutLabel checks the row measuring against a label laid out
// in a window, text by text and width by width.
func TestWrappedHeightMatchesALaidOutLabel(t *testing.T) {
	test.NewTempApp(t)
	words := strings.Fields("see https://example.com/a?b=1 now 🎉 lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore")
	for n := 1; n <= len(words); n++ {
		text := strings.Join(words[:n], " ")
		for _, w := range []float32{120, 200, 241.92, 300} {
			h := wrappedHeight(text, w)
			l := widget.NewLabel(text)
			l.Wrapping = fyne.TextWrapWord
			win := test.NewTempWindow(t, l)
			win.Resize(fyne.NewSize(w+20, 600))
			l.Resize(fyne.NewSize(w, 600))
			if got := l.MinSize().Height; got != h {
				t.Errorf("%q at %v: measured %v, laid out %v", text, w, h, got)
			}
		}
	}
}
