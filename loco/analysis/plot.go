package analysis

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/locoedit/locoedit/internal/atomicfile"
)

// plotDPI is the resolution of the PNG files.
const plotDPI = 150

// curve is one labelled line with optional symmetric error bars.
type curve struct {
	label      string
	xs, ys, es []float64
}

// panel describes one plot of a figure.
type panel struct {
	title, xLabel, yLabel string
	logY                  bool
	timeAxis              bool    // x is t/1000: fixed range [0, 1] with ticks every 0.1
	yMin, yMax            float64 // fixed range when yMin < yMax
	curves                []curve
}

// build turns a panel into a gonum plot.
func (pn panel) build() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.X.Label.Text = pn.xLabel
	p.Y.Label.Text = pn.yLabel
	p.Add(plotter.NewGrid())
	if !pn.logY {
		p.Y.Tick.Marker = linearTicks{}
	}
	if pn.logY {
		// Keep log-axis labels short: gonum centres the label at the arithmetic mid-range, which sits near the top
		// of a log axis, and a long label pushes the plot area down.
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	if pn.timeAxis {
		p.X.Min, p.X.Max = 0, 1
		var ticks plot.ConstantTicks
		for i := 0; i <= 10; i++ {
			tk := plot.Tick{Value: float64(i) / 10}
			if i%2 == 0 {
				tk.Label = strconv.FormatFloat(tk.Value, 'f', 1, 64)
			}
			ticks = append(ticks, tk)
		}
		p.X.Tick.Marker = ticks
	}
	for i, c := range pn.curves {
		if len(c.xs) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(c.xs))
		for j := range c.xs {
			y := c.ys[j]
			if pn.logY && !(y > 0) {
				return nil, fmt.Errorf("curve %q: value %g at x = %g cannot be drawn on a log scale", c.label, y, c.xs[j])
			}
			xys[j] = plotter.XY{X: c.xs[j], Y: y}
		}
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("curve %q: %w", c.label, err)
		}
		line.LineStyle, pts.GlyphStyle = curveStyle(i)
		p.Add(line, pts)
		if c.es != nil {
			errs := make(plotter.YErrors, len(c.es))
			for j, e := range c.es {
				lo := math.Abs(e)
				if pn.logY {
					lo = math.Min(lo, 0.9*c.ys[j]) // keep the bar above 0
				}
				errs[j] = struct{ Low, High float64 }{lo, math.Abs(e)}
			}
			bars, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, errs})
			if err != nil {
				return nil, fmt.Errorf("curve %q: %w", c.label, err)
			}
			bars.Color = line.Color
			p.Add(bars)
		}
	}
	if pn.timeAxis {
		p.X.Min, p.X.Max = 0, 1 // Add widened the range to the data
	}
	if pn.logY && p.Y.Min > 0 && p.Y.Max < 10*p.Y.Min {
		// Show at least a decade below the largest value, so that the axis has labelled ticks (and a single value
		// does not make gonum widen the range by ±1, below 0).
		p.Y.Min, p.Y.Max = p.Y.Max/10, p.Y.Max*1.2
	}
	if pn.yMin < pn.yMax {
		p.Y.Min, p.Y.Max = pn.yMin, pn.yMax
	}
	return p, nil
}

// logTicks marks 1, 2, …, 9 × 10^k inside the axis range (gonum's LogTicks also returns ticks outside it, whose
// labels push the plot area down), labelling 1, 2 and 5 × 10^k when the range spans at most three decades and
// 10^k otherwise.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	k0, k1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	dense := k1-k0 <= 3
	var ticks []plot.Tick
	for k := k0; k <= k1; k++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(k)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || dense && (m == 2 || m == 5) {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// curveStyle is the line and marker style of the i-th curve.
func curveStyle(i int) (draw.LineStyle, draw.GlyphStyle) {
	col := plotutil.Color(i)
	return draw.LineStyle{Color: col, Width: vg.Points(1.5)},
		draw.GlyphStyle{Color: col, Shape: plotutil.Shape(i), Radius: vg.Points(2.5)}
}

// drawLegend draws one row of legend entries (line, marker, label) centred on the line y of canvas dc.
func drawLegend(dc draw.Canvas, labels []string, y vg.Length) {
	sty := text.Style{Color: plotForeground, Font: font.From(plot.DefaultFont, 11), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	const sample, gap = 22, 16 // points: line sample length, space between entries
	var total vg.Length
	for _, l := range labels {
		total += vg.Points(sample+4+gap) + sty.Width(l)
	}
	total -= vg.Points(gap)
	x := (dc.Min.X+dc.Max.X)/2 - total/2
	for i, l := range labels {
		ls, gs := curveStyle(i)
		dc.StrokeLine2(ls, x, y, x+vg.Points(sample), y)
		dc.DrawGlyph(gs, vg.Point{X: x + vg.Points(sample/2), Y: y})
		x += vg.Points(sample + 4)
		dc.FillText(sty, vg.Point{X: x, Y: y}, l)
		x += sty.Width(l) + vg.Points(gap)
	}
}

// savePanels draws the panels side by side (each w×h) under a title and writes a PNG to path atomically.
func savePanels(path, title string, w, h vg.Length, panels ...panel) error {
	plots := make([]*plot.Plot, len(panels))
	for i, pn := range panels {
		p, err := pn.build()
		if err != nil {
			return fmt.Errorf("plotting %s: %w", path, err)
		}
		plots[i] = p
	}
	titleH := vg.Length(0)
	if title != "" {
		titleH = vg.Points(24)
	}
	var labels []string
	for _, c := range panels[0].curves {
		if c.label != "" {
			labels = append(labels, c.label)
		}
	}
	if len(labels) > 0 {
		labels = nil
		for i, c := range panels[0].curves {
			l := c.label
			if l == "" {
				l = fmt.Sprintf("series %d", i+1)
			}
			labels = append(labels, l)
		}
		titleH += vg.Points(18)
	}
	width, height := w*vg.Length(len(panels)), h+titleH
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	dc.SetColor(plotBackground)
	dc.Fill(dc.Rectangle.Path())
	if title != "" {
		sty := text.Style{Color: plotForeground, Font: font.From(plot.DefaultFont, 14), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		dc.FillText(sty, vg.Point{X: width / 2, Y: height - vg.Points(5)}, title)
	}
	if labels != nil {
		drawLegend(dc, labels, height-titleH+vg.Points(9))
	}
	dc.Max.Y -= titleH
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	err := catchPlotPanic(func() {
		canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
		for i, p := range plots {
			p.Draw(canvases[0][i])
		}
	})
	if err != nil {
		return fmt.Errorf("plotting %s: %w", path, err)
	}
	return atomicfile.Write(path, func(wr io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(wr)
		return err
	})
}

// catchPlotPanic turns a panic of gonum/plot (e.g. log ticks of an empty range) into an error.
func catchPlotPanic(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gonum/plot: %v", r)
		}
	}()
	fn()
	return nil
}
