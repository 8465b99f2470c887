package ui

import (
	"context"
	"fmt"
	"image"
	_ "image/gif" // local previews and thumbnails of every type the server accepts
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// Attachment is what a bubble shows of a message's file. Its fields are comparable so
// that a row view still compares with ==.
type Attachment struct {
	URL, ThumbURL string // "" until the file is uploaded
	Name, MIME    string
	Size          int64
	Width, Height int    // pixels, images only (0: unknown)
	Local         string // the file on this device while it uploads
	Image         bool   // shown inline rather than as a file chip
}

// present reports whether the row carries a file.
func (a Attachment) present() bool { return a.Name != "" }

// Progress is how far an upload has come.
type Progress struct{ Sent, Total int64 }

// attachmentOf is the bubble's view of a stored message's file. A local image that is
// still uploading has its size read from the file's header, so that its row is as tall
// before the upload as after it.
func attachmentOf(m storage.Message) Attachment {
	a := m.Attachment
	if a == nil {
		return Attachment{}
	}
	out := Attachment{URL: a.URL, ThumbURL: a.ThumbURL, Name: a.Name, MIME: a.MIME, Size: a.Size,
		Width: a.Width, Height: a.Height, Local: m.UploadPath}
	out.Image = strings.HasPrefix(a.MIME, "image/") && a.ThumbURL != ""
	if a.URL == "" && m.UploadPath != "" && m.Status == model.StatusSending || a.MIME == "" && m.UploadPath != "" {
		if f, err := os.Open(m.UploadPath); err == nil {
			if cfg, _, err := image.DecodeConfig(f); err == nil && cfg.Width > 0 && cfg.Height > 0 {
				out.Image, out.Width, out.Height = true, cfg.Width, cfg.Height
			}
			f.Close()
		}
	}
	return out
}

// Geometry of the attachment part of a bubble.
const (
	attachPad    = 4   // between the bubble's edge and the picture or chip
	imageMaxSide = 260 // the longest side of an inline picture
	imageMinSide = 48
	chipWidth    = 260
)

// chipHeight is the height of a file chip: two lines of text.
func chipHeight() float32 {
	base, perLine := textMetrics()
	return base + 2*perLine
}

// attachmentBox is the size of the picture or chip of a, drawn at most maxW wide. It
// depends only on the attachment's fields, so a row is measured before its picture
// arrives and does not move when it does.
func attachmentBox(a Attachment, maxW float32) fyne.Size {
	if !a.present() {
		return fyne.Size{}
	}
	limit := fyne.Min(maxW-2*attachPad, imageMaxSide)
	if !a.Image {
		return fyne.NewSize(fyne.Min(limit, chipWidth), chipHeight())
	}
	w, h := float32(a.Width), float32(a.Height)
	if w <= 0 || h <= 0 {
		w, h = 4, 3
	}
	s := fyne.Min(limit/w, imageMaxSide/h)
	w, h = w*s, h*s
	return fyne.NewSize(fyne.Max(w, imageMinSide), fyne.Max(h, imageMinSide))
}

// attachKey is what of an attachment a row's height depends on.
type attachKey struct {
	image bool
	w, h  int
}

func attachKeyOf(a Attachment) attachKey {
	if !a.present() {
		return attachKey{}
	}
	return attachKey{image: a.Image, w: a.Width, h: a.Height}
}

// attacher is what the attachment widgets need of the engine beyond Engine. The real
// engine has it; an engine without it shows attachments without their files.
type attacher interface {
	// SendReader queues the file read from r, named name, for the room.
	SendReader(roomID, name string, r io.Reader) error
	// SendFile queues the file at path for the room.
	SendFile(roomID, path string) error
	// CancelUpload stops a file's upload and fails its message.
	CancelUpload(id string) error
	// Fetch returns the local file of an upload's url or thumbUrl, downloading it once.
	Fetch(ctx context.Context, url string) (string, error)
}

// attachEnv is what every attachment part of one chat shares: the engine, the window,
// the pictures decoded so far and the uploads' progress.
type attachEnv struct {
	eng      attacher // nil: files are not fetched
	run      runner
	win      func() fyne.Window
	mobile   bool
	images   map[string]image.Image // by url or local path
	loading  map[string]bool
	progress map[string]Progress // message id → its upload
	// What the user did, for tests and the chat: nil means the default.
	opened func(Attachment)
}

func newAttachEnv(eng Engine, run runner) *attachEnv {
	e := &attachEnv{run: run, images: map[string]image.Image{}, loading: map[string]bool{},
		progress: map[string]Progress{}}
	e.eng, _ = eng.(attacher)
	return e
}

// maxImages bounds the decoded thumbnails a chat keeps (each ≤ 320 px, ~400 KB).
const maxImages = 200

// previewSide is the longest side of the preview decoded from a local picture.
const previewSide = 320

// picture returns the decoded picture for a, or nil while it loads; done is called on
// the UI goroutine once it has loaded.
func (e *attachEnv) picture(a Attachment, done func()) image.Image {
	key := a.ThumbURL
	if key == "" {
		key = a.Local
	}
	if key == "" {
		return nil
	}
	if img, ok := e.images[key]; ok {
		return img
	}
	if e.loading[key] || (a.ThumbURL != "" && e.eng == nil) {
		return nil
	}
	e.loading[key] = true
	e.run.bg(func() {
		img, err := e.load(a)
		e.run.ui(func() {
			delete(e.loading, key)
			if err != nil {
				return
			}
			if len(e.images) >= maxImages {
				clear(e.images)
			}
			e.images[key] = img
			done()
		})
	})
	return e.images[key] // loaded already when the runner ran it in place
}

// load reads a picture's thumbnail, or a small preview of the local file: off the UI
// goroutine.
func (e *attachEnv) load(a Attachment) (image.Image, error) {
	path := a.Local
	if a.ThumbURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		p, err := e.eng.Fetch(ctx, a.ThumbURL)
		if err != nil {
			return nil, err
		}
		path = p
	}
	return decodePreview(path)
}

// decodePreview decodes the picture at path, shrunk to at most previewSide.
func decodePreview(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open picture: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode picture %s: %w", path, err)
	}
	b := img.Bounds()
	side := max(b.Dx(), b.Dy())
	if side <= previewSide {
		return img, nil
	}
	w, h := b.Dx()*previewSide/side, b.Dy()*previewSide/side
	dst := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst, nil
}

// attachPart is the attachment part of a bubble: the picture, or the file chip, with
// the upload's progress and cancel while it uploads.
type attachPart struct {
	widget.BaseWidget
	env *attachEnv
	id  string
	a   Attachment
	own bool
	st  model.Status
	err string

	placeholder *canvas.Rectangle
	img         *canvas.Image
	icon        *widget.Icon
	name        *widget.Label
	detail      *widget.Label
	bar         *widget.ProgressBar
	cancel      *widget.Button
	save, open  *widget.Button
}

func newAttachPart() *attachPart {
	p := &attachPart{
		placeholder: &canvas.Rectangle{CornerRadius: bubbleRadius - attachPad},
		img:         &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScaleSmooth, CornerRadius: bubbleRadius - attachPad},
		icon:        widget.NewIcon(theme.FileIcon()),
		name:        &widget.Label{Truncation: fyne.TextTruncateEllipsis, TextStyle: fyne.TextStyle{Bold: true}},
		detail:      &widget.Label{Truncation: fyne.TextTruncateEllipsis, SizeName: theme.SizeNameCaptionText},
		bar:         widget.NewProgressBar(),
	}
	p.bar.TextFormatter = func() string { return "" }
	p.cancel = &widget.Button{Icon: theme.CancelIcon(), Importance: widget.LowImportance, OnTapped: p.tappedCancel}
	p.save = &widget.Button{Icon: theme.DocumentSaveIcon(), Importance: widget.LowImportance, OnTapped: p.tappedSave}
	p.open = &widget.Button{Icon: theme.FolderOpenIcon(), Importance: widget.LowImportance, OnTapped: p.tappedOpen}
	for _, w := range []fyne.Widget{p.name, p.detail, p.bar, p.cancel, p.save, p.open, p.icon} {
		w.(interface{ ExtendBaseWidget(fyne.Widget) }).ExtendBaseWidget(w)
	}
	p.ExtendBaseWidget(p)
	return p
}

// bind shows the attachment of v.
func (p *attachPart) bind(env *attachEnv, v rowView) {
	p.env, p.id, p.a, p.own, p.st, p.err = env, v.ID, v.Att, v.Own, v.Status, v.Err
	p.Hidden = !v.Att.present()
	p.refreshContent()
}

// uploading reports whether the file is still on its way to the server.
func (p *attachPart) uploading() bool {
	return p.own && p.a.URL == "" && p.st == model.StatusSending
}

// refreshContent fills the parts from the attachment, the progress and the status.
func (p *attachPart) refreshContent() {
	if p.Hidden {
		return
	}
	a := p.a
	p.placeholder.FillColor = theme.Color(theme.ColorNameInputBackground)
	if a.Image {
		p.img.Image = nil
		if p.env != nil {
			id := p.id
			p.img.Image = p.env.picture(a, func() {
				if p.id == id {
					p.refreshContent()
				}
			})
		}
		p.img.Hidden = p.img.Image == nil
	} else {
		p.img.Hidden = true
		p.icon.SetResource(fileIcon(a))
		p.name.SetText(a.Name)
	}
	up := p.uploading()
	failed := p.own && p.st == model.StatusFailed
	detail := humanSize(a.Size)
	if failed && p.err != "" {
		detail = p.err
	}
	p.detail.Importance = widget.MediumImportance
	if failed {
		p.detail.Importance = widget.DangerImportance
	}
	p.detail.SetText(detail)
	p.bar.Hidden, p.cancel.Hidden = !up, !up
	if up {
		var pr Progress
		if p.env != nil {
			pr = p.env.progress[p.id]
		}
		if pr.Total <= 0 {
			pr.Total = max(a.Size, 1)
		}
		p.bar.Max, p.bar.Value = float64(pr.Total), float64(pr.Sent)
		p.bar.Refresh()
	}
	p.save.Hidden = a.Image || up || failed || a.URL == ""
	p.open.Hidden = p.save.Hidden
	p.detail.Hidden = a.Image && !failed
	p.Refresh()
}

// fileIcon picks a chip's icon from the file's type.
func fileIcon(a Attachment) fyne.Resource {
	switch {
	case strings.HasPrefix(a.MIME, "image/"):
		return theme.FileImageIcon()
	case strings.HasPrefix(a.MIME, "audio/"):
		return theme.FileAudioIcon()
	case strings.HasPrefix(a.MIME, "video/"):
		return theme.FileVideoIcon()
	case strings.HasPrefix(a.MIME, "text/"), a.MIME == "application/pdf":
		return theme.FileTextIcon()
	}
	return theme.FileIcon()
}

// humanSize writes a byte count as people read it: 512 B, 3.4 KB, 12 MB.
func humanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1024*1024*1024))
}

// setProgress shows how far the upload has come, if this part shows it.
func (p *attachPart) setProgress(pr Progress) {
	if !p.uploading() || p.Hidden {
		return
	}
	p.bar.Max, p.bar.Value = float64(max(pr.Total, 1)), float64(pr.Sent)
	p.bar.Refresh()
}

func (p *attachPart) tappedCancel() {
	if p.env != nil {
		p.env.cancelUpload(p.id)
	}
}

func (p *attachPart) tappedSave() {
	if p.env != nil {
		p.env.saveFile(p.a)
	}
}

func (p *attachPart) tappedOpen() {
	if p.env != nil {
		p.env.openFile(p.a)
	}
}

// Tapped opens a picture in the viewer.
func (p *attachPart) Tapped(*fyne.PointEvent) {
	if p.env != nil && p.a.Image {
		p.env.view(p.a)
	}
}

func (p *attachPart) CreateRenderer() fyne.WidgetRenderer {
	return &attachRenderer{p: p, objects: []fyne.CanvasObject{p.placeholder, p.img, p.icon, p.name, p.detail,
		p.bar, p.cancel, p.save, p.open}}
}

type attachRenderer struct {
	p       *attachPart
	objects []fyne.CanvasObject
}

// Layout places the picture over its placeholder (the same size: nothing moves when it
// arrives), or the chip's icon, two lines and buttons; the bar runs along the bottom.
func (r *attachRenderer) Layout(size fyne.Size) {
	p := r.p
	pad := theme.Padding()
	p.placeholder.Move(fyne.Position{})
	p.placeholder.Resize(size)
	p.img.Move(fyne.Position{})
	p.img.Resize(size)
	// An icon button's own minimum leaves neighbouring icons touching: give each a
	// finger's worth of room and a gap.
	btn := fyne.Max(p.cancel.MinSize().Width, theme.IconInlineSize()+4*pad)
	if p.a.Image {
		p.icon.Hide()
		p.name.Hide()
		p.detail.Move(fyne.NewPos(pad, size.Height-p.detail.MinSize().Height-pad))
		p.detail.Resize(fyne.NewSize(size.Width-2*pad-btn, p.detail.MinSize().Height))
		p.cancel.Move(fyne.NewPos(size.Width-btn-pad, pad))
	} else {
		p.icon.Show()
		p.name.Show()
		is := fyne.NewSquareSize(theme.IconInlineSize() * 1.5)
		p.icon.Move(fyne.NewPos(pad, (size.Height-is.Height)/2))
		p.icon.Resize(is)
		buttons := 0
		for _, b := range []*widget.Button{p.cancel, p.save, p.open} {
			if !b.Hidden {
				buttons++
			}
		}
		textX := 2*pad + is.Width
		textW := size.Width - textX - float32(buttons)*(btn+pad) - pad
		half := size.Height / 2
		p.name.Move(fyne.NewPos(textX, 0))
		p.name.Resize(fyne.NewSize(textW, half))
		p.detail.Move(fyne.NewPos(textX, half))
		p.detail.Resize(fyne.NewSize(textW, half))
		x := size.Width - pad
		for _, b := range []*widget.Button{p.open, p.save, p.cancel} {
			if !b.Hidden {
				x -= btn
				b.Move(fyne.NewPos(x, (size.Height-btn)/2))
				x -= pad
			}
		}
	}
	for _, b := range []*widget.Button{p.cancel, p.save, p.open} {
		b.Resize(fyne.NewSquareSize(btn))
	}
	bh := fyne.Min(p.bar.MinSize().Height, 8)
	p.bar.Move(fyne.NewPos(pad, size.Height-bh-2))
	p.bar.Resize(fyne.NewSize(size.Width-2*pad, bh))
}

func (r *attachRenderer) MinSize() fyne.Size { return fyne.Size{} }

func (r *attachRenderer) Refresh() {
	r.Layout(r.p.Size())
	for _, o := range r.objects {
		o.Refresh()
	}
}

func (r *attachRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *attachRenderer) Destroy()                     {}

// attachArea places an attachment part at the top of a bubble and returns the height
// it takes there (0 for none).
func attachArea(a Attachment, maxW float32) (box fyne.Size, height float32) {
	box = attachmentBox(a, maxW)
	if box.Height == 0 {
		return box, 0
	}
	return box, box.Height + 2*attachPad
}

var _ fyne.Tappable = (*attachPart)(nil)
