package train

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/locoedit/locoedit/internal/atomicfile"
)

// LossFile and LossPlotFile are the names of the loss log and its plot in a run's --out folder.
const (
	LossFile     = "loss.csv"
	LossPlotFile = "loss.png"
)

// lossHeader is loss.csv's header: one row per logged step, the loss and gradient norm averaged over the steps
// since the previous row, the learning rate and EMA decay of the step, the training speed over those steps and
// the seconds since the process started.
var lossHeader = []string{"step", "loss", "grad_norm", "lr", "ema_decay", "images_per_s", "elapsed_s"}

// LossRow is one row of loss.csv.
type LossRow struct {
	Step                      int64
	Loss, GradNorm, LR, Decay float64
	ImagesPerS, ElapsedS      float64
}

func (r LossRow) record() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	return []string{strconv.FormatInt(r.Step, 10), f(r.Loss), f(r.GradNorm), f(r.LR), f(r.Decay), f(r.ImagesPerS), f(r.ElapsedS)}
}

// ReadLossLog reads a loss.csv written by a run (a missing file is an empty log).
func ReadLossLog(path string) ([]LossRow, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(recs) == 0 || len(recs[0]) != len(lossHeader) || recs[0][0] != "step" || recs[0][1] != "loss" {
		return nil, fmt.Errorf("%s is not a loss log of loco train (header %v)", path, lossHeader)
	}
	rows := make([]LossRow, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		var r LossRow
		var vals [6]float64
		var err error
		if r.Step, err = strconv.ParseInt(rec[0], 10, 64); err == nil {
			for j := range vals {
				if vals[j], err = strconv.ParseFloat(rec[j+1], 64); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+2, err)
		}
		r.Loss, r.GradNorm, r.LR, r.Decay, r.ImagesPerS, r.ElapsedS = vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
		rows = append(rows, r)
	}
	return rows, nil
}

// WriteLossLog writes rows as loss.csv, atomically.
func WriteLossLog(path string, rows []LossRow) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(lossHeader)
	for _, r := range rows {
		_ = w.Write(r.record())
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// PlotLoss draws the loss against the step (log scale) as a PNG.
func PlotLoss(path string, rows []LossRow, title string) error {
	if len(rows) == 0 {
		return fmt.Errorf("no loss rows to plot")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss ‖ε̂ − ε‖² (mean)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	xys := make(plotter.XYs, 0, len(rows))
	for _, r := range rows {
		if r.Loss > 0 {
			xys = append(xys, plotter.XY{X: float64(r.Step), Y: r.Loss})
		}
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	p.Add(line)
	wt, err := p.WriterTo(7*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
