// Package demo is the project's main job: one LOCO-Edit run on an image with everything a reader wants to see
// next to it — the edit strip with and without null-space projection, how local each edit is, the rank of the
// posterior-mean Jacobian along the trajectory, its local linearity — written as PNGs, data and a Markdown report.
package demo

import (
	"errors"
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
	// Job is the edit (loco.DefaultEditJob unless the user changed it); the demo runs it as given and once more
	// without null-space projection.
	Job loco.EditJob
	// Seeds is the number of random trajectories for the rank-vs-t analysis; Quick shrinks the analyses.
	Seeds int
	Quick bool
	// Out is the output folder (must exist); Progress receives progress messages.
	Out      string
	Progress io.Writer
}

// MaxSeeds bounds Config.Seeds.
const MaxSeeds = 64

// Validate checks the run's settings before any work: the job (loco.EditJob.Validate), the number of
// trajectories and the output folder's name. The image and the mask are checked against the model by Run.
func (c Config) Validate() error {
	var errs []error
	if err := c.Job.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Seeds < 1 || c.Seeds > MaxSeeds {
		errs = append(errs, &loco.OptionError{What: "random trajectories", Option: "Seeds", Value: c.Seeds,
			Want: fmt.Sprintf("it must be between 1 and %d (each one is a rank analysis along a DDIM trajectory)", MaxSeeds)})
	}
	if c.Out == "" {
		errs = append(errs, errors.New("no output folder (Config.Out)"))
	}
	return errors.Join(errs...)
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
	Reconstruction float64 // max-abs error of invert → generate without edit (the unedited image)
	SSIM           float64 // SSIM between the original and the unedited image
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

// Run runs the demo on p and writes its files into cfg.Out: the job (loco.Pipeline.RunEdit), then the same job
// without null-space projection from the same x_t, the reconstruction quality and the analyses.
func Run(p *loco.Pipeline, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := p.CheckJob(cfg.Job, cfg.Mask); err != nil {
		return nil, err
	}
	start := time.Now()
	res := &Result{Model: p.Model.Name()}
	shape := p.SampleShape()
	cfg.Job.Progress = cfg.Progress

	// 1. LOCO-Edit with null-space projection (the method).
	proj, err := p.RunEdit(cfg.Image, cfg.Mask, cfg.Job)
	if err != nil {
		return nil, err
	}
	pt := proj.Point
	res.T, res.Index, res.Stages = pt.T, pt.Index, proj.Stages
	if res.Projected, err = summarize(cfg, p, "with null-space projection", "strip.png", proj); err != nil {
		return nil, err
	}
	if err := proj.Saved(p, cfg.Mask).Save(filepath.Join(cfg.Out, "direction.safetensors")); err != nil {
		return nil, err
	}
	if err := writeDirectionImage(cfg, p, proj.V); err != nil {
		return nil, err
	}

	// 2. The same without projection, from the same x_t.
	plainJob := cfg.Job
	plainJob.Direction.NullRank = 0
	plain, err := p.EditPoint(pt, cfg.Mask, plainJob)
	if err != nil {
		return nil, fmt.Errorf("edit without projection: %w", err)
	}
	res.Stages = append(res.Stages, loco.Stage{Name: "edit without projection", Duration: plain.Total()})
	if res.Unprojected, err = summarize(cfg, p, "without projection", "strip-no-projection.png", plain); err != nil {
		return nil, err
	}

	// 3. Reconstruction quality of the unedited image.
	var maxErr float64
	for i, v := range proj.Reference {
		maxErr = math.Max(maxErr, math.Abs(float64(v-cfg.Image[i])))
	}
	res.Reconstruction = maxErr
	if res.SSIM, err = metrics.SSIM(cfg.Image, proj.Reference, shape[0], shape[1], shape[2], 2); err != nil {
		return nil, err
	}

	// 4. Analyses: rank of the Jacobian along trajectories, local linearity.
	t0 := time.Now()
	arts, err := analyses(p, cfg, pt)
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

// summarize writes a strip PNG and summarises the edit's locality (measured against the unedited image).
func summarize(cfg Config, p *loco.Pipeline, name, file string, r *loco.EditResult) (EditSummary, error) {
	s := EditSummary{Name: name, Strip: file, Lambdas: r.Lambdas, MeanLocal: r.MeanLocality}
	for i, l := range r.Lambdas {
		if l != 0 {
			s.Locality = append(s.Locality, r.Locality[i])
		}
	}
	if d := r.Direction; d != nil {
		s.Iterations, s.Products = d.Modify.Iterations, d.Modify.Evaluations
		if d.Null != nil {
			s.Products += d.Null.Evaluations
		}
	}
	strip, err := imageio.StripOf(r.X0, len(r.Lambdas), p.SampleShape(), 2)
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
