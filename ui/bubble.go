package ui

import (
	"hash/fnv"
	"image/color"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

// Geometry of a chat row.
const (
	bubbleRadius = 14
	avatarSize   = 30
	sidePad      = 10
	bubbleShare  = 0.72 // widest a bubble may be, as a share of the row
	daySepHeight = 30
	metaHeight   = 18
	runGapInside = 2
	runGapAfter  = 8
)

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]]`)

// rowWidget draws one message: an optional day separator, the sender's avatar and name
// on the first bubble of a run, the bubble, and the time and status under the last one.
type rowWidget struct {
	widget.BaseWidget
	view rowView

	daySep   *canvas.Text
	dayBack  *canvas.Rectangle
	avatar   *canvas.Circle
	avatarTx *canvas.Text
	name     *canvas.Text
	bubble   *canvas.Rectangle
	label    *widget.Label
	links    []*widget.Hyperlink
	linkBox  *fyne.Container
	textBox  *fyne.Container
	clock    *canvas.Text
	status   *statusMark
	retry    *widget.Button
	att      *attachPart // the message's picture or file chip (bubble_attach.go)
	env      *attachEnv
	onRetry  func(id string)
	x        *bubbleExtras // protocol 1.1's parts: quote, chips, "edited", the menu
	height   float32
	bound    bool
}

func newRowWidget(onRetry func(id string)) *rowWidget {
	// The label is not Selectable: a selectable label takes every right-click (and long
	// press) on the bubble for its own one-item Copy menu, so the bubble's menu (which
	// copies the text) would never open over it.
	w := &rowWidget{
		daySep:   canvas.NewText("", theme.Color(theme.ColorNameForeground)),
		dayBack:  &canvas.Rectangle{CornerRadius: daySepHeight / 2},
		avatar:   &canvas.Circle{},
		avatarTx: canvas.NewText("", color.White),
		name:     canvas.NewText("", theme.Color(theme.ColorNamePrimary)),
		bubble:   &canvas.Rectangle{},
		label:    &widget.Label{Wrapping: fyne.TextWrapWord},
		linkBox:  container.NewVBox(),
		clock:    canvas.NewText("", theme.Color(theme.ColorNamePlaceHolder)),
		status:   newStatusMark(),
		onRetry:  onRetry,
		att:      newAttachPart(),
	}
	w.daySep.TextSize = theme.CaptionTextSize()
	w.daySep.Alignment = fyne.TextAlignCenter
	w.avatarTx.TextStyle.Bold = true
	w.avatarTx.Alignment = fyne.TextAlignCenter
	w.avatarTx.TextSize = 12
	w.name.TextStyle.Bold = true
	w.name.TextSize = theme.CaptionTextSize()
	w.clock.TextSize = theme.CaptionTextSize()
	w.retry = &widget.Button{Text: "Failed — Tap to retry", Importance: widget.DangerImportance,
		Icon: theme.ViewRefreshIcon(), OnTapped: w.tappedRetry}
	// A widget made as a literal lays itself out only once extended: a Resize before
	// that is kept as its size but never reaches its text, which then does not wrap.
	w.label.ExtendBaseWidget(w.label)
	w.retry.ExtendBaseWidget(w.retry)
	// The text is in the theme's foreground colour on both kinds of bubble, so no theme
	// override is needed: Fyne parses every font again for each override scope (and each
	// Refresh of one makes a new scope), which held ~15 MB a row widget.
	w.textBox = container.NewBorder(nil, w.linkBox, nil, nil, w.label)
	w.x = newBubbleExtras(w)
	w.ExtendBaseWidget(w)
	return w
}

func (w *rowWidget) tappedRetry() {
	if w.onRetry != nil {
		w.onRetry(w.view.ID)
	}
}

// bind shows v. It does nothing when v is what is shown already.
func (w *rowWidget) bind(v rowView) {
	if w.bound && w.view == v {
		return
	}
	textChanged := !w.bound || w.view.Text != v.Text || w.view.Own != v.Own || w.view.Deleted != v.Deleted
	w.view, w.bound = v, true
	w.x.bind(v)
	w.daySep.Text = v.day
	w.avatarTx.Text = initials(v.SenderName)
	w.avatar.FillColor = avatarColor(v.SenderID)
	w.name.Text = v.SenderName
	w.clock.Text = clockLabel(v.Time)
	if v.Own {
		w.status.setStatus(v.Status)
	}
	w.att.bind(w.env, v)
	if !textChanged {
		w.Refresh()
		return
	}
	// Wrapping text is the expensive part: empty the label, lay the row out for the new
	// message, then set the text once, at its final width.
	w.label.SetText("")
	w.label.TextStyle.Italic = v.Deleted
	w.setLinks(findLinks(v.Text))
	w.Refresh()
	w.label.SetText(v.Text)
}

// maxLinks is how many links a bubble offers under its text.
const maxLinks = 3

// findLinks returns the web links in text, at most maxLinks.
func findLinks(text string) []*url.URL {
	var out []*url.URL
	for _, raw := range linkPattern.FindAllString(text, maxLinks) {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			out = append(out, u)
		}
	}
	return out
}

// setLinks shows one hyperlink per link under the text.
func (w *rowWidget) setLinks(us []*url.URL) {
	for len(w.links) < len(us) {
		h := &widget.Hyperlink{Truncation: fyne.TextTruncateEllipsis}
		h.ExtendBaseWidget(h)
		w.links = append(w.links, h)
	}
	objs := make([]fyne.CanvasObject, 0, len(us))
	for i, u := range us {
		w.links[i].Text = "🔗 " + strings.TrimPrefix(strings.TrimPrefix(u.String(), "https://"), "http://")
		w.links[i].URL = u
		w.links[i].Refresh()
		objs = append(objs, w.links[i])
	}
	w.linkBox.Objects = objs
	w.linkBox.Refresh()
}

// shownLinks returns the links the bubble offers now.
func (w *rowWidget) shownLinks() []*widget.Hyperlink {
	out := make([]*widget.Hyperlink, 0, len(w.linkBox.Objects))
	for _, o := range w.linkBox.Objects {
		out = append(out, o.(*widget.Hyperlink))
	}
	return out
}

// avatarColor picks a stable colour for a user.
func avatarColor(id string) color.Color {
	palette := []color.NRGBA{{0xE5, 0x73, 0x73, 0xFF}, {0x64, 0xB5, 0xF6, 0xFF}, {0x81, 0xC7, 0x84, 0xFF},
		{0xFF, 0xB7, 0x4D, 0xFF}, {0xBA, 0x68, 0xC8, 0xFF}, {0x4D, 0xB6, 0xAC, 0xFF}, {0xF0, 0x62, 0x92, 0xFF},
		{0x90, 0xA4, 0xAE, 0xFF}}
	h := fnv.New32a()
	h.Write([]byte(id))
	return palette[h.Sum32()%uint32(len(palette))]
}

// neutralBubble is the fill of others' bubbles: the background moved 12% towards the
// text colour, so it suits light, dark and custom themes alike.
func neutralBubble() color.Color {
	return mix(theme.Color(theme.ColorNameBackground), theme.Color(theme.ColorNameForeground), 0.12)
}

// ownBubble is the fill of own bubbles: the background tinted with the accent colour,
// light enough (dark enough in the dark variant) for the foreground text to keep its
// contrast; the accent itself is too strong a background for long text.
func ownBubble() color.Color {
	bg := theme.Color(theme.ColorNameBackground)
	share := float32(0.16)
	if luminance(bg) < 0.5 {
		share = 0.3
	}
	return mix(bg, theme.Color(theme.ColorNamePrimary), share)
}

func mix(a, b color.Color, t float32) color.Color {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	f := func(x, y uint32) uint8 { return uint8((float32(x)*(1-t) + float32(y)*t) / 257) }
	return color.NRGBA{f(ar, br), f(ag, bg), f(ab, bb), 0xFF}
}

// avatarColumn is the room left for avatars in group rooms.
func avatarColumn(v rowView) float32 {
	if v.Own || !v.group {
		return 0
	}
	return avatarSize + 6
}

// rowGeom is where the parts of a row go at one width.
type rowGeom struct {
	nameY      float32
	bubblePos  fyne.Position
	bubbleSize fyne.Size
	attBox     fyne.Size // the picture or file chip at the bubble's top (zero: none)
	attH       float32   // the height it takes there
	metaY      float32
	retryY     float32
	quoteH     float32 // the quote of the message answered, at the bubble's top
	extrasY    float32 // the line of chips and "edited" under the bubble, when shown
	chipLines  int     // the lines the chips take there (they wrap past the row's width)
	height     float32
}

// geometry lays a row out for width without touching widgets: only text that has to wrap
// is measured through wrapped (a scratch label); everything else is arithmetic on cached
// text metrics, so measuring a row is cheap.
func geometry(v rowView, width float32, wrapped func(text string, w float32) float32) rowGeom {
	var g rowGeom
	y := float32(0)
	if v.day != "" {
		y += daySepHeight
	}
	col := avatarColumn(v)
	if v.showName {
		g.nameY = y
		y += metaHeight
	}
	maxW := fyne.Max((width-col-2*sidePad)*bubbleShare, 80)
	natural := naturalWidth(v.Text) + 2*theme.InnerPadding() + 2
	bw := fyne.Min(natural, maxW)
	g.quoteH, bw = quoteGeometry(v, bw, maxW)
	var bh float32
	if natural <= maxW {
		base, perLine := textMetrics()
		bh = base + perLine*float32(strings.Count(v.Text, "\n")+1)
	} else {
		bh = wrapped(v.Text, bw)
	}
	if n := len(findLinks(v.Text)); n > 0 {
		bh += float32(n) * linkHeight()
	}
	if g.attBox, g.attH = attachArea(v.Att, maxW); g.attH > 0 {
		bw = fyne.Max(bw, g.attBox.Width+2*attachPad)
		if v.Text == "" {
			bh = 0
		}
		bh += g.attH
	}
	x := sidePad + col
	if v.Own {
		x = width - sidePad - bw
	}
	bh += g.quoteH
	g.bubblePos, g.bubbleSize = fyne.NewPos(x, y), fyne.NewSize(bw, bh)
	y += bh
	if hasExtrasLine(v) {
		g.extrasY = y
		g.chipLines = max(1, len(flowChips(chipWidths(v), chipsWidth(v, width))))
		y += float32(g.chipLines) * extrasHeight()
	}
	if v.lastRun {
		g.metaY = y
		y += metaHeight
	}
	if v.Own && v.Status == model.StatusFailed {
		g.retryY = y
		y += retryButtonHeight() + 4
	}
	if v.lastRun {
		y += runGapAfter
	} else {
		y += runGapInside
	}
	g.height = y
	return g
}

var metrics struct {
	sync.Mutex
	size, base, perLine, retry, link float32
}

// textMetrics returns the height of a label without text and the height of each line,
// measured once per text size.
func textMetrics() (base, perLine float32) {
	metrics.Lock()
	defer metrics.Unlock()
	if ts := theme.TextSize(); metrics.size != ts {
		one := widget.NewLabel("Ag").MinSize().Height
		two := widget.NewLabel("Ag\nAg").MinSize().Height
		metrics.size, metrics.perLine, metrics.base = ts, two-one, one-(two-one)
		metrics.retry = (&widget.Button{Text: "Retry", Icon: theme.ViewRefreshIcon()}).MinSize().Height
		metrics.link = widget.NewHyperlink("🔗 link", nil).MinSize().Height
	}
	return metrics.base, metrics.perLine
}

// linkHeight is the height of one hyperlink line under a bubble's text.
func linkHeight() float32 {
	textMetrics()
	metrics.Lock()
	defer metrics.Unlock()
	return metrics.link
}

func retryButtonHeight() float32 {
	textMetrics()
	metrics.Lock()
	defer metrics.Unlock()
	return metrics.retry
}

// wrapCache remembers the heights of wrapped texts by text and width, and holds the one
// label they are measured on.
var wrapCache = struct {
	sync.Mutex
	m       map[wrapKey]float32
	scratch *widget.Label
}{m: map[wrapKey]float32{}}

type wrapKey struct {
	text  string
	width float32
	size  float32
}

// wrappedHeight measures text wrapped at width, remembering the answer. It measures on
// one scratch label: a fresh label per text left a widget renderer and its text objects
// in Fyne's renderer cache for a minute each (36 MB after a 10,000-message flood).
func wrappedHeight(text string, width float32) float32 {
	k := wrapKey{text: text, width: width, size: theme.TextSize()}
	wrapCache.Lock()
	defer wrapCache.Unlock()
	if h, ok := wrapCache.m[k]; ok {
		return h
	}
	l := wrapCache.scratch
	if l == nil {
		l = &widget.Label{Wrapping: fyne.TextWrapWord}
		l.ExtendBaseWidget(l) // without it, Resize does not wrap
		wrapCache.scratch = l
	}
	// Empty first, so that the new width does not wrap the previous text, then the text
	// once at its width: SetText wraps it anew even when the width is unchanged.
	l.SetText("")
	l.Resize(fyne.NewSize(width, 1))
	l.SetText(text)
	h := l.MinSize().Height
	if len(wrapCache.m) > 4*maxWindow {
		clear(wrapCache.m)
	}
	wrapCache.m[k] = h
	return h
}

// layoutRow places every part for a row width and returns the row's height.
func (w *rowWidget) layoutRow(width float32) float32 {
	v := w.view
	g := geometry(v, width, wrappedHeight)
	w.daySep.Hidden, w.dayBack.Hidden = v.day == "", v.day == ""
	if v.day != "" {
		ts := fyne.MeasureText(v.day, w.daySep.TextSize, w.daySep.TextStyle)
		bw := ts.Width + 24
		w.dayBack.FillColor = theme.Color(theme.ColorNameInputBackground)
		w.dayBack.Move(fyne.NewPos((width-bw)/2, 4))
		w.dayBack.Resize(fyne.NewSize(bw, daySepHeight-8))
		w.daySep.Move(fyne.NewPos(0, 4+(daySepHeight-8-ts.Height)/2))
		w.daySep.Resize(fyne.NewSize(width, ts.Height))
	}
	col := avatarColumn(v)
	w.name.Hidden = !v.showName
	w.avatar.Hidden, w.avatarTx.Hidden = !v.showName, !v.showName
	if v.showName {
		w.name.Move(fyne.NewPos(sidePad+col+4, g.nameY))
		w.name.Resize(fyne.NewSize(width-col-2*sidePad, metaHeight-2))
		ay := g.bubblePos.Y
		w.avatar.Move(fyne.NewPos(sidePad, ay))
		w.avatar.Resize(fyne.NewSquareSize(avatarSize))
		th := w.avatarTx.MinSize().Height
		w.avatarTx.Move(fyne.NewPos(sidePad, ay+(avatarSize-th)/2))
		w.avatarTx.Resize(fyne.NewSize(avatarSize, th))
	}
	w.bubble.Move(g.bubblePos)
	w.bubble.Resize(g.bubbleSize)
	top := g.quoteH + g.attH // the quote, then the picture or file chip, then the text
	w.textBox.Move(g.bubblePos.AddXY(0, top))
	w.textBox.Resize(g.bubbleSize.SubtractWidthHeight(0, top))
	w.textBox.Hidden = v.Text == "" && g.attH > 0
	w.att.Move(g.bubblePos.AddXY(attachPad, g.quoteH+attachPad))
	w.att.Resize(g.attBox)
	w.x.layout(g, width)
	w.styleBubble()

	w.clock.Hidden = !v.lastRun
	w.status.Hidden = !v.lastRun || !v.Own
	if v.lastRun {
		cs := w.clock.MinSize()
		if v.Own {
			sw := w.status.MinSize().Width
			w.status.Move(fyne.NewPos(width-sidePad-sw, g.metaY+2))
			w.status.Resize(fyne.NewSize(sw, metaHeight-4))
			w.clock.Move(fyne.NewPos(width-sidePad-sw-4-cs.Width, g.metaY+(metaHeight-cs.Height)/2))
		} else {
			w.clock.Move(fyne.NewPos(g.bubblePos.X+4, g.metaY+(metaHeight-cs.Height)/2))
		}
		w.clock.Resize(cs)
	}
	w.retry.Hidden = !(v.Own && v.Status == model.StatusFailed)
	if !w.retry.Hidden {
		rs := w.retry.MinSize()
		w.retry.Move(fyne.NewPos(width-sidePad-rs.Width, g.retryY+2))
		w.retry.Resize(rs)
	}
	w.height = g.height
	return g.height
}

// styleBubble colours the bubble and sharpens the corner on the speaker's side.
func (w *rowWidget) styleBubble() {
	b := w.bubble
	b.CornerRadius = 0
	b.TopLeftCornerRadius, b.TopRightCornerRadius = bubbleRadius, bubbleRadius
	b.BottomLeftCornerRadius, b.BottomRightCornerRadius = bubbleRadius, bubbleRadius
	if w.view.Own {
		b.FillColor = ownBubble()
		b.BottomRightCornerRadius = 0 // falls back to CornerRadius: a sharp tail
	} else {
		b.FillColor = neutralBubble()
		if w.view.MentionsMe {
			b.FillColor = mentionBubble()
		}
		b.BottomLeftCornerRadius = 0
	}
	bg := theme.Color(theme.ColorNameBackground)
	w.name.Color = readableOn(avatarColor(w.view.SenderID), bg)
	w.avatarTx.Color = textOn(avatarColor(w.view.SenderID))
	w.clock.Color = theme.Color(theme.ColorNamePlaceHolder)
	w.daySep.Color = theme.Color(theme.ColorNameForeground)
}

// naturalWidth is the width text takes unwrapped: its longest line.
func naturalWidth(text string) float32 {
	size := theme.TextSize()
	var widest float32
	for _, line := range strings.Split(text, "\n") {
		if wd := fyne.MeasureText(line, size, fyne.TextStyle{}).Width; wd > widest {
			widest = wd
		}
	}
	return widest
}

func (w *rowWidget) MinSize() fyne.Size { return fyne.NewSize(0, w.height) }

func (w *rowWidget) CreateRenderer() fyne.WidgetRenderer {
	return &rowRenderer{w: w, objects: []fyne.CanvasObject{w.dayBack, w.daySep, w.avatar, w.avatarTx, w.name,
		w.bubble, w.att, w.textBox, w.clock, w.status, w.retry, w.x.quote, w.x.chips, w.x.edited, w.x.more}}
}

type rowRenderer struct {
	w       *rowWidget
	objects []fyne.CanvasObject
}

func (r *rowRenderer) Layout(size fyne.Size) { r.w.layoutRow(size.Width) }
func (r *rowRenderer) MinSize() fyne.Size    { return r.w.MinSize() }

// Refresh redraws the row's shapes; the label refreshes itself when its text is set.
func (r *rowRenderer) Refresh() {
	r.w.layoutRow(r.w.Size().Width)
	for _, o := range r.objects {
		if o != r.w.textBox {
			o.Refresh()
		}
	}
}
func (r *rowRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *rowRenderer) Destroy()                     {}
