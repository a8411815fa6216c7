package loco

import (
	"fmt"
	"io"
	"time"
)

// EditJob is one LOCO-Edit run on an image (spec §4.1, Algorithm 1 of the paper): invert the image, denoise to
// the edit time, find the masked, null-space-projected direction and render an edit strip.
type EditJob struct {
	// Image is the clean image x0 (one sample, C·H·W values in [−1,1]). XT may be given instead (then Image is
	// only used for reporting).
	Image, XT []float32
	// Mask is 1 inside the region to edit (C·H·W values).
	Mask []float32
	// EditT is the edit time as a fraction of 1000 (the authors' edit_t; 0.6 → grid index 40).
	EditT float64
	// Direction configures the subspaces; PC selects which of the Rank directions to edit along.
	Direction DirectionOptions
	PC        int
	// Saved, if set, is used instead of computing a direction (transfer).
	Saved []float32
	// Invert and Edit configure inversion and the strip.
	Invert InvertOptions
	Edit   EditOptions
	// Progress, if set, receives progress bars and stage messages.
	Progress io.Writer
}

// Stage is the duration of one step of a job.
type Stage struct {
	Name     string
	Duration time.Duration
}

// EditReport is what RunEdit produced.
type EditReport struct {
	XT, Xt    []float32
	Index     int
	T         float32
	Direction *Direction // nil when a saved direction was used
	V         []float32  // the direction edited along
	Strip     *EditResult
	Stages    []Stage
}

// Total is the job's wall time.
func (r *EditReport) Total() time.Duration {
	var d time.Duration
	for _, s := range r.Stages {
		d += s.Duration
	}
	return d
}

// RunEdit runs an EditJob.
func (p *Pipeline) RunEdit(job EditJob) (*EditReport, error) {
	rep := &EditReport{}
	stage := func(name string, fn func() error) error {
		if job.Progress != nil {
			fmt.Fprintf(job.Progress, "%s…\n", name)
		}
		start := time.Now()
		err := fn()
		rep.Stages = append(rep.Stages, Stage{name, time.Since(start)})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if job.Mask != nil && len(job.Mask) != p.dim {
		return nil, fmt.Errorf("mask has %d values but the model's samples have %d (C,H,W = %v): resize the mask to the model", len(job.Mask), p.dim, p.shape)
	}
	g, err := p.Grid(job.Edit.Steps, false)
	if err != nil {
		return nil, err
	}
	if job.EditT <= 0 || job.EditT > 1 {
		return nil, fmt.Errorf("edit time %g is outside (0, 1]: it is a fraction of the 1000 training steps (the authors use 0.5–0.7)", job.EditT)
	}
	rep.Index = g.EditIndex(job.EditT)
	rep.T = g.Timesteps[rep.Index]
	job.Invert.Steps, job.Invert.Progress = job.Edit.Steps, job.Progress
	job.Edit.Progress = job.Progress
	if rep.XT = job.XT; rep.XT == nil {
		if err := stage("inversion", func() (err error) { rep.XT, err = p.Invert(job.Image, job.Invert); return }); err != nil {
			return nil, err
		}
	}
	if err := stage("denoise to the edit time", func() (err error) {
		rep.Xt, err = p.Sample(rep.XT, 0, rep.Index, SampleOptions{Steps: job.Edit.Steps, Progress: job.Progress})
		return
	}); err != nil {
		return nil, err
	}
	if rep.V = job.Saved; rep.V == nil {
		if job.Mask == nil {
			return nil, fmt.Errorf("a mask is needed to compute a direction")
		}
		if job.PC < 0 || job.PC >= max(job.Direction.Rank, 1) {
			return nil, fmt.Errorf("direction index %d is outside the rank %d", job.PC, job.Direction.Rank)
		}
		if err := stage("edit direction", func() (err error) {
			rep.Direction, err = p.EditDirection(rep.Xt, rep.T, job.Mask, job.Direction)
			return
		}); err != nil {
			return nil, err
		}
		rep.V = rep.Direction.Row(job.PC)
	}
	if err := stage("edit strip", func() (err error) { rep.Strip, err = p.EditStrip(rep.Xt, rep.Index, rep.V, job.Edit); return }); err != nil {
		return nil, err
	}
	return rep, nil
}
