// Package demo is the project's main job: one LOCO-Edit run on an image with everything a reader wants to see
// next to it — the edit strip with and without null-space projection, how local each edit is, the rank of the
// posterior-mean Jacobian along the trajectory, its local linearity — written as PNGs, data and a Markdown report.
package demo

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/loco/metrics"
)

// Config describes one demo run.
type Config struct {
	// Image is the clean image (C·H·W in [−1,1]); ImageName describes it in the report.
	Image     []float32
	ImageName string
	// Mask is 1 inside the region to edit; MaskName describes it.
	Mask     []float32
	MaskName string
	// EditT is the edit time (fraction of 1000); Direction and Edit configure the method.
	EditT     float64
	Direction loco.DirectionOptions
	Edit      loco.EditOptions
	// Seeds is the number of random trajectories for the rank-vs-t analysis; Quick shrinks the analyses.
	Seeds int
	Quick bool
	// Out is the output folder (must exist); Progress receives progress messages.
	Out      string
	Progress io.Writer
}

// EditSummary is one edit strip and its locality.
type EditSummary struct {
	Name       string
	Strip      string // PNG file name
	Lambdas    []float64
	Locality   []float64 // per λ ≠ 0: share of the change's energy inside the mask
	MeanLocal  float64
	Iterations int
	Products   int
}

// Result holds the numbers of a run.
type Result struct {
	Model          string
	T              float32
	Index          int
	Projected      EditSummary
	Unprojected    EditSummary
	Reconstruction float64 // max-abs error of invert → generate without edit (the λ = 0 image)
	SSIM           float64 // SSIM between the original and the λ = 0 image
	Analyses       []Artifact
	Stages         []loco.Stage
	Total          time.Duration
}

// Artifact is an extra output (plot or data) with a caption and key numbers.
type Artifact struct {
	Title, File, Caption string
}

func (c *Config) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// Run runs the demo on p and writes its files into cfg.Out.
func Run(p *loco.Pipeline, cfg Config) (*Result, error) {
	start := time.Now()
	res := &Result{Model: p.Model.Name()}
	shape := p.SampleShape()
	maskBool := make([]bool, len(cfg.Mask))
	for i, m := range cfg.Mask {
		maskBool[i] = m != 0
	}

	// 1. LOCO-Edit with null-space projection (the method).
	rep, err := p.RunEdit(loco.EditJob{Image: cfg.Image, Mask: cfg.Mask, EditT: cfg.EditT, Direction: cfg.Direction,
		Edit: cfg.Edit, Progress: cfg.Progress})
	if err != nil {
		return nil, err
	}
	res.T, res.Index, res.Stages = rep.T, rep.Index, rep.Stages
	if res.Projected, err = summarize(cfg, p, "with null-space projection", "strip.png", rep.Strip, maskBool); err != nil {
		return nil, err
	}
	res.Projected.Iterations, res.Projected.Products = rep.Direction.Modify.Iterations, rep.Direction.Modify.Evaluations
	if rep.Direction.Null != nil {
		res.Projected.Products += rep.Direction.Null.Evaluations
	}
	saved := loco.NewSavedDirection(p, rep.Direction, rep.Index, cfg.Mask, cfg.Direction.Output, cfg.Edit.Scale)
	if err := saved.Save(filepath.Join(cfg.Out, "direction.safetensors")); err != nil {
		return nil, err
	}
	if err := writeDirectionImage(cfg, p, rep.V); err != nil {
		return nil, err
	}

	// 2. The same without projection, from the same x_t.
	cfg.logf("edit direction without null-space projection…")
	t0 := time.Now()
	noProj := cfg.Direction
	noProj.NullRank = 0
	dir, err := p.EditDirection(rep.Xt, rep.T, cfg.Mask, noProj)
	if err != nil {
		return nil, err
	}
	strip, err := p.EditStrip(rep.Xt, rep.Index, dir.Row(0), cfg.Edit)
	if err != nil {
		return nil, err
	}
	res.Stages = append(res.Stages, loco.Stage{Name: "edit without projection", Duration: time.Since(t0)})
	if res.Unprojected, err = summarize(cfg, p, "without projection", "strip-no-projection.png", strip, maskBool); err != nil {
		return nil, err
	}
	res.Unprojected.Iterations, res.Unprojected.Products = dir.Modify.Iterations, dir.Modify.Evaluations

	// 3. Reconstruction quality of the unedited centre image.
	centre := rep.Strip.Image(len(rep.Strip.Lambdas) / 2)
	var maxErr float64
	for i, v := range centre {
		maxErr = math.Max(maxErr, math.Abs(float64(v-cfg.Image[i])))
	}
	res.Reconstruction = maxErr
	if res.SSIM, err = metrics.SSIM(cfg.Image, centre, shape[0], shape[1], shape[2], 2); err != nil {
		return nil, err
	}

	// 4. Analyses: rank of the Jacobian along trajectories, local linearity.
	t0 = time.Now()
	arts, err := analyses(p, cfg, rep)
	if err != nil {
		return nil, err
	}
	res.Analyses = arts
	res.Stages = append(res.Stages, loco.Stage{Name: "analyses", Duration: time.Since(t0)})
	res.Total = time.Since(start)
	if err := writeReport(cfg, res); err != nil {
		return nil, err
	}
	return res, nil
}

// summarize writes a strip PNG and measures each edit's locality against the unedited (λ = 0) image.
func summarize(cfg Config, p *loco.Pipeline, name, file string, r *loco.EditResult, mask []bool) (EditSummary, error) {
	s := EditSummary{Name: name, Strip: file, Lambdas: r.Lambdas}
	shape := p.SampleShape()
	var imgs []*imageio.Image
	centre := r.Image(len(r.Lambdas) / 2)
	var sum float64
	for i, l := range r.Lambdas {
		img, err := imageio.FromCHW(r.Image(i), shape[0], shape[1], shape[2])
		if err != nil {
			return s, err
		}
		imgs = append(imgs, img)
		if l == 0 {
			continue
		}
		loc, err := metrics.Locality(centre, r.Image(i), mask)
		if err != nil {
			return s, fmt.Errorf("locality of the λ = %g edit: %w", l, err)
		}
		s.Locality = append(s.Locality, loc)
		sum += loc
	}
	s.MeanLocal = sum / float64(len(s.Locality))
	strip, err := imageio.Strip(imgs, 2)
	if err != nil {
		return s, err
	}
	return s, imageio.WritePNG(filepath.Join(cfg.Out, file), strip)
}

func writeDirectionImage(cfg Config, p *loco.Pipeline, v []float32) error {
	s := p.SampleShape()
	img, err := imageio.DirectionSignedImage(v, s[0], s[1], s[2])
	if err != nil {
		return err
	}
	return imageio.WritePNG(filepath.Join(cfg.Out, "direction.png"), img)
}
