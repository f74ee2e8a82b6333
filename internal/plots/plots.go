// Package plots draws fmcore's report figures as PNG files with gonum/plot: the training
// curve of a run, the distributions of CC_norm per stimulus domain, and predicted versus
// recorded traces of example units. Files are written to a temporary name and renamed.
package plots

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fmcore/fmcore/internal/train"
)

// palette is a colour-blind-safe set (Okabe–Ito).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{230, 159, 0, 255}, color.RGBA{86, 180, 233, 255}, color.RGBA{0, 0, 0, 255},
}

// TrainingCurve draws training and validation loss (left) and validation correlation
// (right) per epoch.
func TrainingCurve(path string, reps []train.Report) error {
	if len(reps) == 0 {
		return fmt.Errorf("training curve: no epochs")
	}
	loss := plot.New()
	loss.Title.Text = "Poisson loss"
	loss.X.Label.Text = "epoch"
	var tr, va, cc plotter.XYs
	for _, r := range reps {
		x := float64(r.Epoch)
		if finite(r.TrainLoss) {
			tr = append(tr, plotter.XY{X: x, Y: r.TrainLoss})
		}
		if finite(r.ValLoss) {
			va = append(va, plotter.XY{X: x, Y: r.ValLoss})
		}
		if finite(r.ValCorr) {
			cc = append(cc, plotter.XY{X: x, Y: r.ValCorr})
		}
	}
	if err := addLine(loss, "training", tr, 0); err != nil {
		return err
	}
	if err := addLine(loss, "validation", va, 1); err != nil {
		return err
	}
	corr := plot.New()
	corr.Title.Text = "validation correlation"
	corr.X.Label.Text = "epoch"
	if err := addLine(corr, "mean over units", cc, 2); err != nil {
		return err
	}
	return save(path, 10*vg.Inch, 4*vg.Inch, [][]*plot.Plot{{loss, corr}})
}

// Distributions draws one histogram of values per named group (e.g. CC_norm per stimulus
// domain), each with its median in the legend. Values are clamped to [lo, hi] so a few
// extreme ones (CC_norm of units with a tiny CC_max) do not squash the plot.
func Distributions(path, title, xlabel string, groups map[string][]float64, lo, hi float64) error {
	names := make([]string, 0, len(groups))
	for k := range groups {
		names = append(names, k)
	}
	sort.Strings(names)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = "units"
	for i, n := range names {
		var v plotter.Values
		var med plotter.Values
		for _, x := range groups[n] {
			if finite(x) {
				v = append(v, math.Min(math.Max(x, lo), hi))
				med = append(med, x)
			}
		}
		if len(v) == 0 {
			continue
		}
		h, err := plotter.NewHist(v, 30)
		if err != nil {
			return err
		}
		c := palette[i%len(palette)]
		h.FillColor = withAlpha(c, 90)
		h.LineStyle.Color = c
		p.Add(h)
		p.Legend.Add(fmt.Sprintf("%s (median %.3f)", n, median(med)), h)
	}
	p.Legend.Top = true
	return save(path, 8*vg.Inch, 5*vg.Inch, [][]*plot.Plot{{p}})
}

// Trace is one unit's recorded and predicted responses over time.
type Trace struct {
	Title     string
	RateHz    float64
	Recorded  []float64
	Predicted []float64
}

// Traces draws predicted versus recorded traces, one panel per unit.
func Traces(path string, traces []Trace) error {
	if len(traces) == 0 {
		return fmt.Errorf("traces: none")
	}
	rows := make([][]*plot.Plot, len(traces))
	for i, t := range traces {
		p := plot.New()
		p.Title.Text = t.Title
		p.X.Label.Text = "time (s)"
		var rec, pred plotter.XYs
		for f := range t.Recorded {
			x := float64(f) / t.RateHz
			if finite(t.Recorded[f]) {
				rec = append(rec, plotter.XY{X: x, Y: t.Recorded[f]})
			}
			if f < len(t.Predicted) && finite(t.Predicted[f]) {
				pred = append(pred, plotter.XY{X: x, Y: t.Predicted[f]})
			}
		}
		if err := addLine(p, "recorded", rec, 6); err != nil {
			return err
		}
		if err := addLine(p, "predicted", pred, 1); err != nil {
			return err
		}
		rows[i] = []*plot.Plot{p}
	}
	return save(path, 10*vg.Inch, vg.Length(2.2*float64(len(traces)))*vg.Inch, rows)
}

func addLine(p *plot.Plot, name string, xy plotter.XYs, colour int) error {
	if len(xy) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = palette[colour%len(palette)]
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// save renders a grid of plots to a PNG through a temporary file.
func save(path string, w, h vg.Length, grid [][]*plot.Plot) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(grid), Cols: len(grid[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j := range grid[i] {
			if grid[i][j] != nil {
				grid[i][j].Draw(canvases[i][j])
			}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("draw %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), a}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
