package ui

import (
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// minContrast is the least WCAG 2 contrast ratio any text of the app has against its
// background, in both variants (the "AA" level for normal text).
const minContrast = 4.5

// appTheme is Fyne's default theme with the colours that carry text made readable:
// Fyne's secondary grey (the low-importance labels: the server line, room previews and
// times, the typing line) is 1.3:1 on white, the placeholder 3.5:1, white on its blue
// accent 3.1:1 and its red 3.7:1. TestTextContrast checks every text the app draws.
type appTheme struct{ fyne.Theme }

// newAppTheme returns the app's theme, following the system's light or dark variant.
func newAppTheme() fyne.Theme { return &appTheme{Theme: theme.DefaultTheme()} }

var (
	lightColors = map[fyne.ThemeColorName]color.Color{
		theme.ColorNameDisabled:            color.NRGBA{0x66, 0x66, 0x66, 0xff},
		theme.ColorNamePlaceHolder:         color.NRGBA{0x6b, 0x6b, 0x6b, 0xff},
		theme.ColorNamePrimary:             color.NRGBA{0x15, 0x65, 0xc0, 0xff},
		theme.ColorNameForegroundOnPrimary: color.NRGBA{0xff, 0xff, 0xff, 0xff},
		theme.ColorNameHyperlink:           color.NRGBA{0x0d, 0x47, 0xa1, 0xff},
		theme.ColorNameError:               color.NRGBA{0xc6, 0x28, 0x28, 0xff},
		theme.ColorNameSelection:           color.NRGBA{0x15, 0x65, 0xc0, 0x30},
	}
	darkColors = map[fyne.ThemeColorName]color.Color{
		theme.ColorNameDisabled:            color.NRGBA{0xa8, 0xa8, 0xa8, 0xff},
		theme.ColorNamePrimary:             color.NRGBA{0x42, 0xa5, 0xf5, 0xff},
		theme.ColorNameForegroundOnPrimary: color.NRGBA{0x17, 0x17, 0x18, 0xff},
		theme.ColorNameHyperlink:           color.NRGBA{0x90, 0xca, 0xf9, 0xff},
		theme.ColorNameError:               color.NRGBA{0xff, 0x66, 0x59, 0xff},
		theme.ColorNameSelection:           color.NRGBA{0x42, 0xa5, 0xf5, 0x38},
	}
)

func (t *appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	colors := darkColors
	if v == theme.VariantLight {
		colors = lightColors
	}
	if c, ok := colors[n]; ok {
		return c
	}
	return t.Theme.Color(n, v)
}

// luminance is the WCAG relative luminance of c (alpha ignored).
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrast is the WCAG contrast ratio, from 1 to 21, of fg (composited on the opaque
// bg when it is translucent) against bg.
func contrast(fg, bg color.Color) float64 {
	l1, l2 := luminance(over(fg, bg)), luminance(bg)
	return (max(l1, l2) + 0.05) / (min(l1, l2) + 0.05)
}

// over composites c (which may be translucent) over the opaque bg.
func over(c, bg color.Color) color.Color {
	r, g, b, a := c.RGBA() // premultiplied
	br, bgr, bb, _ := bg.RGBA()
	f := func(x, y uint32) uint8 { return uint8((x + y*(0xffff-a)/0xffff) >> 8) }
	return color.NRGBA{f(r, br), f(g, bgr), f(b, bb), 0xff}
}

// readableOn returns c, moved towards black or white (whichever bg contrasts with more)
// just far enough to reach minContrast against bg: the sender names keep their colour
// in the dark theme and darken on a light background.
func readableOn(c, bg color.Color) color.Color {
	target := color.Color(color.Black)
	if contrast(color.White, bg) > contrast(color.Black, bg) {
		target = color.White
	}
	out := over(c, bg)
	for t := float32(0.1); contrast(out, bg) < minContrast && t <= 1; t += 0.1 {
		out = mix(c, target, t)
	}
	return out
}

// textOn returns black or white, whichever is more readable on bg.
func textOn(bg color.Color) color.Color {
	if contrast(color.White, bg) >= contrast(color.Black, bg) {
		return color.White
	}
	return color.Black
}
