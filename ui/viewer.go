package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// view opens a picture full size: in a window of its own on the desktop, over the whole
// screen on mobile. The file is downloaded (through the cache) off the UI goroutine.
func (e *attachEnv) view(a Attachment) {
	if e.opened != nil {
		e.opened(a)
		return
	}
	e.fetchThen(a, func(p string) {
		img := canvas.NewImageFromFile(p)
		img.FillMode = canvas.ImageFillContain
		img.ScaleMode = canvas.ImageScaleSmooth
		if e.mobile {
			e.overlay(img)
			return
		}
		w := fyne.CurrentApp().NewWindow(a.Name)
		w.SetContent(container.NewStack(canvas.NewRectangle(color.Black), img))
		w.Resize(viewerSize(a))
		w.Show()
	})
}

// viewerSize is the viewer window's first size: the picture's own, within 1000 × 800.
func viewerSize(a Attachment) fyne.Size {
	w, h := float32(a.Width), float32(a.Height)
	if w <= 0 || h <= 0 {
		return fyne.NewSize(800, 600)
	}
	s := fyne.Min(1, fyne.Min(1000/w, 800/h))
	return fyne.NewSize(fyne.Max(w*s, 200), fyne.Max(h*s, 150))
}

// overlay shows img over the whole window with a close button (mobile).
func (e *attachEnv) overlay(img *canvas.Image) {
	win := e.window()
	if win == nil {
		return
	}
	var shown fyne.CanvasObject
	closeBtn := &widget.Button{Icon: theme.CancelIcon(), Importance: widget.HighImportance,
		OnTapped: func() { win.Canvas().Overlays().Remove(shown) }}
	shown = container.NewStack(canvas.NewRectangle(color.Black), img,
		container.NewBorder(container.NewBorder(nil, nil, nil, closeBtn), nil, nil, nil))
	win.Canvas().Overlays().Add(shown)
}
