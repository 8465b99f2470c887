package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// Desktop layout of the shell.
const (
	// compactBelow is the window width under which the desktop shows one pane at a time,
	// as the phone does: the rooms pane needs ~310 px, and beside it a chat narrower
	// than ~370 px wraps every message to a few words.
	compactBelow = 680
	// prefRoomsSplit is the preference that keeps where the user put the divider
	// between the rooms and the chat (the split's offset, 0 to 1).
	prefRoomsSplit = "roomsSplitOffset"
	// defaultRoomsSplit is the divider's place until the user moves it.
	defaultRoomsSplit = 0.32
)

// sizeWatch shows content and tells onResize each new size it is laid out at; its
// minimum size is minSize's when set, content's otherwise.
type sizeWatch struct {
	widget.BaseWidget
	content  fyne.CanvasObject
	onResize func(fyne.Size)
	minSize  func() fyne.Size
	last     fyne.Size
}

func newSizeWatch(content fyne.CanvasObject, onResize func(fyne.Size)) *sizeWatch {
	w := &sizeWatch{content: content, onResize: onResize}
	w.ExtendBaseWidget(w)
	return w
}

func (w *sizeWatch) MinSize() fyne.Size {
	if w.minSize != nil {
		return w.minSize()
	}
	return w.content.MinSize()
}

func (w *sizeWatch) CreateRenderer() fyne.WidgetRenderer { return &sizeWatchRenderer{w: w} }

type sizeWatchRenderer struct{ w *sizeWatch }

func (r *sizeWatchRenderer) Layout(size fyne.Size) {
	r.w.content.Move(fyne.NewPos(0, 0))
	r.w.content.Resize(size)
	if size != r.w.last {
		r.w.last = size
		if r.w.onResize != nil {
			r.w.onResize(size)
		}
	}
}

func (r *sizeWatchRenderer) MinSize() fyne.Size { return r.w.MinSize() }
func (r *sizeWatchRenderer) Refresh() {
	r.w.content.Refresh()
	r.Layout(r.w.Size())
}
func (r *sizeWatchRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.w.content} }
func (r *sizeWatchRenderer) Destroy()                     {}
