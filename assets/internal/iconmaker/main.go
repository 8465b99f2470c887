// Command iconmaker draws Parley's app icon, a white speech bubble on a blue rounded
// square, 512×512, and writes it as PNG to the file named by its argument.
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

const size = 512

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: iconmaker out.png")
		os.Exit(2)
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4 // supersamples per axis, for smooth edges
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					px := float64(x) + (float64(sx)+0.5)/ss
					py := float64(y) + (float64(sy)+0.5)/ss
					c := shade(px, py)
					r += float64(c.R) * float64(c.A)
					g += float64(c.G) * float64(c.A)
					b += float64(c.B) * float64(c.A)
					a += float64(c.A)
				}
			}
			if a > 0 {
				img.SetNRGBA(x, y, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(a / ss / ss)})
			}
		}
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := png.Encode(f, img); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// shade is the colour at one point of the icon.
func shade(x, y float64) color.NRGBA {
	if !inRoundRect(x, y, 16, 16, size-16, size-16, 110) {
		return color.NRGBA{}
	}
	// The bubble: a rounded rectangle with a tail at its lower left.
	bubble := inRoundRect(x, y, 104, 128, 408, 340, 70) || inTriangle(x, y, 150, 320, 250, 330, 128, 410)
	if bubble {
		for _, cx := range []float64{186, 256, 326} {
			if math.Hypot(x-cx, y-234) < 24 {
				return color.NRGBA{0x29, 0x79, 0xFF, 0xFF}
			}
		}
		return color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	}
	t := y / size // a gentle vertical gradient
	return color.NRGBA{uint8(0x3D - 0x20*t), uint8(0x8B - 0x30*t), 0xFF, 0xFF}
}

func inRoundRect(x, y, x0, y0, x1, y1, r float64) bool {
	if x < x0 || x > x1 || y < y0 || y > y1 {
		return false
	}
	cx := math.Max(x0+r, math.Min(x, x1-r))
	cy := math.Max(y0+r, math.Min(y, y1-r))
	return math.Hypot(x-cx, y-cy) <= r
}

func inTriangle(x, y, ax, ay, bx, by, cx, cy float64) bool {
	d1 := (x-bx)*(ay-by) - (ax-bx)*(y-by)
	d2 := (x-cx)*(by-cy) - (bx-cx)*(y-cy)
	d3 := (x-ax)*(cy-ay) - (cx-ax)*(y-ay)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}
