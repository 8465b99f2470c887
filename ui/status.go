package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

// statusSize is the side of a status mark's icon.
const statusSize = 14

// statusMark draws where an own message stands: a clock while sending, ✓ sent,
// ✓✓ delivered, ✓✓ in the accent colour once read, and a red mark when it failed.
type statusMark struct {
	widget.BaseWidget
	status model.Status
	first  *canvas.Image
	second *canvas.Image
}

func newStatusMark() *statusMark {
	s := &statusMark{first: &canvas.Image{FillMode: canvas.ImageFillContain},
		second: &canvas.Image{FillMode: canvas.ImageFillContain}}
	s.ExtendBaseWidget(s)
	return s
}

// setStatus shows status; "" hides the mark (others' messages).
func (s *statusMark) setStatus(st model.Status) {
	if s.status == st && s.first.Resource != nil {
		return
	}
	s.status = st
	s.first.Resource, s.second.Resource = statusIcons(st)
	s.first.Refresh()
	s.second.Refresh()
	s.Refresh()
}

// statusIcons returns the one or two icons of a status.
func statusIcons(st model.Status) (fyne.Resource, fyne.Resource) {
	check := theme.ConfirmIcon()
	switch st {
	case model.StatusSending:
		return theme.HistoryIcon(), nil
	case model.StatusSent:
		return check, nil
	case model.StatusDelivered:
		return check, check
	case model.StatusRead:
		c := theme.NewPrimaryThemedResource(check)
		return c, c
	case model.StatusFailed:
		return theme.NewErrorThemedResource(theme.ErrorIcon()), nil
	}
	return nil, nil
}

// marks counts the icons shown: 1 for ✓, 2 for ✓✓.
func (s *statusMark) marks() int {
	n := 0
	if s.first.Resource != nil {
		n++
	}
	if s.second.Resource != nil {
		n++
	}
	return n
}

func (s *statusMark) MinSize() fyne.Size {
	if s.second.Resource != nil {
		return fyne.NewSize(statusSize*1.5, statusSize)
	}
	return fyne.NewSize(statusSize, statusSize)
}

func (s *statusMark) CreateRenderer() fyne.WidgetRenderer {
	return &statusRenderer{s: s}
}

type statusRenderer struct{ s *statusMark }

func (r *statusRenderer) Layout(size fyne.Size) {
	r.s.first.Resize(fyne.NewSquareSize(statusSize))
	r.s.first.Move(fyne.NewPos(0, (size.Height-statusSize)/2))
	r.s.second.Resize(fyne.NewSquareSize(statusSize))
	r.s.second.Move(fyne.NewPos(statusSize/2, (size.Height-statusSize)/2))
}

func (r *statusRenderer) MinSize() fyne.Size { return r.s.MinSize() }

func (r *statusRenderer) Refresh() {
	r.s.first.Hidden = r.s.first.Resource == nil
	r.s.second.Hidden = r.s.second.Resource == nil
	r.Layout(r.s.Size())
	canvas.Refresh(r.s)
}

func (r *statusRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.s.first, r.s.second}
}

func (r *statusRenderer) Destroy() {}
