package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// runPlot draws send→receive latency percentiles against deliveries a second from the
// fanout reports in the given JSON files (each a report array as -json writes it).
func runPlot(args []string) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	out := fs.String("out", "fanout-latency.png", "PNG file to write")
	title := fs.String("title", "Fan-out: send→receive latency against load", "the plot's title")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("name at least one JSON report file")
	}
	var points []Report
	for _, name := range fs.Args() {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		var rs []Report
		if err := json.Unmarshal(b, &rs); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, r := range rs {
			if r.Scenario == "fanout" && r.Latency.Count > 0 {
				points = append(points, r)
			}
		}
	}
	if len(points) == 0 {
		return errors.New("no fanout report with latencies")
	}
	return drawLatency(points, *title, *out)
}

// drawLatency writes the plot of points to the PNG file out.
func drawLatency(points []Report, title, out string) error {
	sort.Slice(points, func(i, j int) bool { return points[i].DeliveriesPS < points[j].DeliveriesPS })
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "deliveries per second"
	p.X.Tick.Marker = wholeTicks{}
	p.Y.Label.Text = "latency (ms), log scale"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	series := []struct {
		name string
		get  func(Latency) float64
		col  color.RGBA
	}{
		{"p50", func(l Latency) float64 { return l.P50 }, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}},
		{"p90", func(l Latency) float64 { return l.P90 }, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}},
		{"p99", func(l Latency) float64 { return l.P99 }, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}},
		{"max", func(l Latency) float64 { return l.Max }, color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}},
	}
	for _, s := range series {
		xy := make(plotter.XYs, len(points))
		for i, r := range points {
			xy[i].X = r.DeliveriesPS
			xy[i].Y = max(s.get(r.Latency), 0.01) // a log scale has no zero
		}
		line, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		line.Color, pts.Color = s.col, s.col
		pts.Shape = draw.CircleGlyph{}
		p.Add(line, pts)
		p.Legend.Add(s.name, line, pts)
	}
	target := plotter.NewFunction(func(float64) float64 { return 50 })
	target.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	target.Color = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	p.Add(target)
	p.Legend.Add("p99 target (50 ms)", target)
	if err := p.Save(8*vg.Inch, 5*vg.Inch, out); err != nil {
		return fmt.Errorf("save %s: %w", out, err)
	}
	return nil
}

// wholeTicks are the default ticks labelled as whole numbers.
type wholeTicks struct{}

// Ticks implements plot.Ticker.
func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = fmt.Sprintf("%.0f", ts[i].Value)
		}
	}
	return ts
}
