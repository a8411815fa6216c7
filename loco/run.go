package loco

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// The edit pipeline runs an EditJob in stages — Prepare (inversion, denoising to the edit time), FindDirection,
// Render (decoding the strengths) — each usable on its own: figures.Session caches the prepared points.

// Stage is the duration of one step of a job.
type Stage struct {
	Name     string
	Duration time.Duration
}

// The stages of an edit, as EditResult.Stages names them.
const (
	StageInversion = "inversion"
	StageDenoise   = "denoise to the edit time"
	StageDirection = "edit direction"
	StageDecode    = "edit strip"
)

// timed runs fn as the named stage, announcing it on w and appending its duration to stages.
func timed(w io.Writer, stages *[]Stage, name string, fn func() error) error {
	if w != nil {
		fmt.Fprintf(w, "%s…\n", name)
	}
	start := time.Now()
	err := fn()
	*stages = append(*stages, Stage{name, time.Since(start)})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Point is an image brought to an edit time: its DDIM inversion and the latent at the grid index nearest to the
// edit time (Grid.EditIndex). Points are shared by the edits made at them: do not modify the slices.
type Point struct {
	// Image is the clean image x0 (OutputShape; nil for a point generated from noise) and Inverted its DDIM
	// inversion x_T (SampleShape: for a latent model, the inversion of the image's latent).
	Image, Inverted []float32
	// Xt is the edited variable x_t at grid index Index, time T, of the grid of Steps points (0: DefaultSteps),
	// for the edit time EditT.
	Xt    []float32
	EditT float64
	Index int
	T     float32
	Steps int
	// Stages are the times spent on the inversion and the denoising.
	Stages []Stage
}

// Prepare inverts x0 (one image of OutputShape; a latent model encodes it first, then inverts the latent) and
// brings it to the job's edit time.
func (p *Pipeline) Prepare(x0 []float32, job EditJob) (*Point, error) {
	if len(x0) != p.outDim {
		return nil, fmt.Errorf("image has %d values, the model's images have %d (C,H,W = %v): load it at the model's size", len(x0), p.outDim, p.out)
	}
	var stages []Stage
	var xT []float32
	if err := timed(job.Progress, &stages, StageInversion, func() error {
		z0, err := p.Latents(x0)
		if err != nil {
			return err
		}
		xT, err = p.Invert(z0, InvertOptions{Steps: job.Steps, AllPairs: job.AllPairs, Callback: ProgressBar(job.Progress, "DDIM inversion")})
		return err
	}); err != nil {
		return nil, err
	}
	pt, err := p.PrepareInverted(x0, xT, job)
	if err != nil {
		return nil, err
	}
	pt.Stages = append(stages, pt.Stages...)
	return pt, nil
}

// PrepareInverted brings x_T (the inversion of x0, or noise with x0 nil, as text-to-image edits start) to the
// job's edit time.
func (p *Pipeline) PrepareInverted(x0, xT []float32, job EditJob) (*Point, error) {
	if len(xT) != p.dim {
		return nil, fmt.Errorf("x_T has %d values, want one sample of %d (C,H,W = %v)", len(xT), p.dim, p.shape)
	}
	editT := p.EditT(job.EditT)
	if !(editT > 0 && editT <= 1) {
		return nil, fmt.Errorf("edit time %g is outside (0, 1]: it is a fraction of the 1000 training steps (the authors use 0.5–0.7)", editT)
	}
	g, err := p.Grid(job.Steps, false)
	if err != nil {
		return nil, err
	}
	pt := &Point{Image: x0, Inverted: xT, EditT: editT, Index: g.EditIndex(editT), Steps: job.Steps}
	pt.T = g.Timesteps[pt.Index]
	if err := timed(job.Progress, &pt.Stages, StageDenoise, func() (err error) {
		pt.Xt, err = p.Sample(xT, 0, pt.Index, SampleOptions{Steps: job.Steps, Callback: ProgressBar(job.Progress, "DDIM")})
		return err
	}); err != nil {
		return nil, err
	}
	return pt, nil
}

// FindDirection computes the job's edit directions at a point for a mask (1 inside, 0 outside, of the output's
// shape): EditDirection with the job's options, or with NoMask the whole output's Jacobian without projection.
func (p *Pipeline) FindDirection(pt *Point, mask []float32, job EditJob) (*Direction, error) {
	opts := job.Direction
	if job.NoMask {
		mask = make([]float32, len(mask))
		for i := range mask {
			mask[i] = 1
		}
		opts.NullRank = 0 // the complement is empty
	}
	return p.EditDirection(pt.Xt, pt.T, mask, opts)
}

// RunEdit runs a job on one image x0 with a mask (1 inside, 0 outside, of the output's shape): inversion,
// denoising to the edit time, the direction, and the decoded strengths with their locality.
func (p *Pipeline) RunEdit(x0, mask []float32, job EditJob) (*EditResult, error) {
	if mask == nil {
		return nil, errors.New("a mask is needed to compute a direction")
	}
	if err := p.CheckJob(job, mask); err != nil {
		return nil, err
	}
	pt, err := p.Prepare(x0, job)
	if err != nil {
		return nil, err
	}
	return p.editPrepared(pt, mask, job)
}

// RunEditFromNoise runs a job from x_T ~ N(0, I) drawn with seed (Noise), as text-to-image edits start:
// generation to the edit time, the direction for the mask (of the output's shape) and the decoded strengths.
func (p *Pipeline) RunEditFromNoise(seed uint64, mask []float32, job EditJob) (*EditResult, error) {
	if mask == nil {
		return nil, errors.New("a mask is needed to compute a direction")
	}
	if err := p.CheckJob(job, mask); err != nil {
		return nil, err
	}
	pt, err := p.PrepareInverted(nil, p.Noise(seed), job)
	if err != nil {
		return nil, err
	}
	return p.editPrepared(pt, mask, job)
}

// editPrepared is EditPoint with the point's stages first in the result's.
func (p *Pipeline) editPrepared(pt *Point, mask []float32, job EditJob) (*EditResult, error) {
	res, err := p.EditPoint(pt, mask, job)
	if err != nil {
		return nil, err
	}
	res.Stages = append(append([]Stage(nil), pt.Stages...), res.Stages...)
	return res, nil
}

// check validates a job and a mask.
func (p *Pipeline) check(mask []float32, job EditJob) error {
	if err := job.Validate(); err != nil {
		return err
	}
	if mask != nil && len(mask) != p.outDim {
		return fmt.Errorf("mask has %d values but the model's outputs have %d (C,H,W = %v): resize the mask to the model", len(mask), p.outDim, p.out)
	}
	return nil
}

// EditPoint edits a prepared point: the job's direction for the mask, then its strengths (see Render).
func (p *Pipeline) EditPoint(pt *Point, mask []float32, job EditJob) (*EditResult, error) {
	if mask == nil {
		return nil, errors.New("a mask is needed to compute a direction")
	}
	if err := p.CheckJob(job, mask); err != nil {
		return nil, err
	}
	var stages []Stage
	var d *Direction
	if err := timed(job.Progress, &stages, StageDirection, func() (err error) {
		d, err = p.FindDirection(pt, mask, job)
		return err
	}); err != nil {
		return nil, err
	}
	res, err := p.Render(pt, d.Row(job.PC), mask, job)
	if err != nil {
		return nil, err
	}
	res.Direction = d
	res.Stages = append(stages, res.Stages...)
	return res, nil
}

// Render edits a prepared point along a given unit direction v (computed, or transferred from another image or
// time) with the job's strengths, decodes the edits with the unedited reference and, when mask is not nil,
// measures their locality. With no strengths nothing is decoded.
func (p *Pipeline) Render(pt *Point, v, mask []float32, job EditJob) (*EditResult, error) {
	if err := p.check(mask, job); err != nil {
		return nil, err
	}
	if len(v) != p.dim {
		return nil, fmt.Errorf("direction has %d values, want %d (C,H,W = %v): it comes from a model of another shape", len(v), p.dim, p.shape)
	}
	res := &EditResult{Job: job, Point: pt, V: v, Lambdas: job.Lambdas, MeanLocality: math.NaN()}
	if len(job.Lambdas) == 0 {
		return res, nil
	}
	// One batch: every strength, and the unedited latent unless λ = 0 is among them.
	ref := -1
	for i, l := range job.Lambdas {
		res.Xt = append(res.Xt, accumulate(pt.Xt, v, job.LambdaStep, l)...)
		if l == 0 && ref < 0 {
			ref = i
		}
	}
	batch := res.Xt
	if ref < 0 {
		batch = append(append([]float32(nil), res.Xt...), pt.Xt...)
	}
	var x0 []float32
	if err := timed(job.Progress, &res.Stages, StageDecode, func() (err error) {
		x0, err = p.Decode(pt, batch, job)
		return err
	}); err != nil {
		return nil, err
	}
	n := len(job.Lambdas)
	res.X0 = x0[:n*p.outDim]
	if ref < 0 {
		res.Reference = x0[n*p.outDim:]
	} else {
		res.Reference = res.Image(ref)
	}
	if mask != nil {
		if err := res.measureLocality(mask); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Decode denoises latents (a batch at the point's grid index) to t = 0 on the point's grid, with the job's
// decoding (boosted or deterministic), and returns their images (Images: decoded by a latent model's
// autoencoder).
func (p *Pipeline) Decode(pt *Point, latents []float32, job EditJob) ([]float32, error) {
	x, err := p.Sample(latents, pt.Index, -1, SampleOptions{Steps: pt.Steps, Boost: job.Boost, Seed: job.Seed,
		Callback: ProgressBar(job.Progress, "DDIM")})
	if err != nil {
		return nil, err
	}
	return p.Images(x)
}

// Compose decodes one edited latent per entry of images, each a signed combination of directions added to the
// point's x_t (an empty entry is the unedited image): composition of edits. Lambdas holds each entry's total
// strength; Reference stays empty.
func (p *Pipeline) Compose(pt *Point, job EditJob, images ...[]Combination) (*EditResult, error) {
	if err := job.Validate(); err != nil {
		return nil, err
	}
	for _, combos := range images {
		for _, c := range combos {
			if err := c.Validate(); err != nil {
				return nil, err
			}
		}
	}
	res := &EditResult{Job: job, Point: pt, MeanLocality: math.NaN()}
	for _, combos := range images {
		e, err := ApplyDirections(pt.Xt, combos...)
		if err != nil {
			return nil, err
		}
		res.Xt = append(res.Xt, e...)
		var total float64
		for _, c := range combos {
			total += c.Lambda
		}
		res.Lambdas = append(res.Lambdas, total)
	}
	if err := timed(job.Progress, &res.Stages, StageDecode, func() (err error) {
		res.X0, err = p.Decode(pt, res.Xt, job)
		return err
	}); err != nil {
		return nil, fmt.Errorf("decoding the composition: %w", err)
	}
	return res, nil
}
