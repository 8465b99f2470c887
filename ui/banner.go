package ui

import (
	"image/color"
	"math"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// backOnlineFor is how long "Back online" stays up.
const backOnlineFor = 2 * time.Second

// bannerTint is the opacity of the banner's state colour over the background: enough
// to tell red from amber from green, little enough for the text to keep 4.5:1.
const bannerTint = 0x40

// connBanner shows the connection state: hidden when online, "Connecting…",
// "Offline — retrying in 8 s" with a Retry now button, and "Back online" for 2 s.
type connBanner struct {
	widget.BaseWidget
	state      ConnState
	backUntil  time.Time
	everOnline bool
	onRetry    func()

	bg    *canvas.Rectangle
	label *widget.Label
	retry *widget.Button
	box   *fyne.Container
}

func newConnBanner(onRetry func()) *connBanner {
	b := &connBanner{onRetry: onRetry, state: ConnState{Phase: PhaseConnecting}}
	b.bg = &canvas.Rectangle{}
	b.label = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}}
	b.retry = &widget.Button{Text: "Retry now", Importance: widget.LowImportance, OnTapped: func() {
		if b.onRetry != nil {
			b.onRetry()
		}
	}}
	b.box = container.NewStack(b.bg, container.NewHBox(layout.NewSpacer(), b.label, b.retry, layout.NewSpacer()))
	b.ExtendBaseWidget(b)
	b.tick(time.Now())
	return b
}

// setState records a new connection state at now.
func (b *connBanner) setState(st ConnState, now time.Time) {
	if st.Phase == PhaseOnline && b.state.Phase != PhaseOnline && b.everOnline {
		b.backUntil = now.Add(backOnlineFor)
	}
	if st.Phase == PhaseOnline {
		b.everOnline = true
	}
	b.state = st
	b.tick(now)
}

// tick redraws the banner for now: the countdown, or the end of "Back online".
func (b *connBanner) tick(now time.Time) {
	text, retry := bannerText(b.state, b.backUntil, now)
	if text == "" {
		b.Hide()
		return
	}
	b.label.SetText(text)
	b.retry.Hidden = !retry
	switch {
	case b.state.Phase == PhaseOffline:
		b.bg.FillColor = withAlpha(theme.Color(theme.ColorNameError), bannerTint)
	case b.state.Phase == PhaseOnline:
		b.bg.FillColor = withAlpha(theme.Color(theme.ColorNameSuccess), bannerTint)
	default:
		b.bg.FillColor = withAlpha(theme.Color(theme.ColorNameWarning), bannerTint)
	}
	b.Show()
	b.box.Refresh()
}

// bannerText is what the banner says for a state at now, and whether it offers Retry now.
// The empty text means the banner is hidden.
func bannerText(st ConnState, backUntil, now time.Time) (string, bool) {
	switch st.Phase {
	case PhaseConnecting:
		return "Connecting…", false
	case PhaseOffline:
		left := st.RetryAt.Sub(now)
		if left <= 0 {
			return "Offline — retrying…", true
		}
		secs := int(math.Ceil(left.Seconds()))
		return "Offline — retrying in " + strconv.Itoa(secs) + " s", true
	}
	if now.Before(backUntil) {
		return "Back online", false
	}
	return "", false
}

// text is what the banner shows now ("" when hidden).
func (b *connBanner) text() string {
	if !b.Visible() {
		return ""
	}
	return b.label.Text
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, bl, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), a}
}

func (b *connBanner) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(b.box) }
