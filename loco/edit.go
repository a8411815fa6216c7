package loco

import (
	"fmt"
	"io"
	"math"
	"slices"
)

// EditOptions configure the strip of edited images (spec §4.1 step 4).
type EditOptions struct {
	// Scale is the authors' x_space_guidance_scale and NumSteps their num_step: λ_j = j·Scale, j = 0..NumSteps.
	Scale    float64
	NumSteps int
	// VisNum is how many non-zero strengths per sign the strip shows (stride (NumSteps+1)/VisNum; 1 shows only
	// the largest).
	VisNum int
	// Boost applies performance boosting (η = 1 for t ≤ 201.8) while denoising, as the authors do.
	Boost bool
	// Eta is η for the other denoising steps (0 in the authors' code).
	Eta float64
	// Steps is the grid size N (0: 100).
	Steps int
	// Seed makes boosted (stochastic) denoising reproducible.
	Seed uint64
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

// DefaultEditOptions are the authors' CelebA-HQ settings: λ ∈ {−8, −4, 0, 4, 8}, with boosting.
func DefaultEditOptions() EditOptions {
	return EditOptions{Scale: 0.5, NumSteps: 16, VisNum: 2, Boost: true}
}

// Strengths returns the strip's signed strengths [−largest … −smallest, 0, smallest … largest].
func Strengths(scale float64, numSteps, visNum int) ([]float64, error) {
	if numSteps <= 0 || visNum <= 0 {
		return nil, fmt.Errorf("edit steps (%d) and shown strengths (%d) must be positive", numSteps, visNum)
	}
	var js []int
	if visNum == 1 {
		js = []int{numSteps}
	} else {
		stride := max((numSteps+1)/visNum, 1)
		for j := stride; j <= numSteps; j += stride {
			js = append(js, j)
		}
	}
	pos := make([]float64, len(js))
	for i, j := range js {
		pos[i] = float64(j) * scale
	}
	out := make([]float64, 0, 2*len(pos)+1)
	for i := len(pos) - 1; i >= 0; i-- {
		out = append(out, -pos[i])
	}
	out = append(out, 0)
	return append(out, pos...), nil
}

// EditResult holds an edit strip.
type EditResult struct {
	// Lambdas are the strengths, one per image.
	Lambdas []float64
	// Xt are the edited x_t (n·d) and X0 the denoised images (n·d, in [−1,1] up to the model's range).
	Xt, X0 []float32
	// Index is the grid index of the edit time.
	Index int
}

// Image returns strip image i (C·H·W values).
func (r *EditResult) Image(i int) []float32 {
	d := len(r.X0) / len(r.Lambdas)
	return r.X0[i*d : (i+1)*d]
}

// Combination is a signed strength for one direction.
type Combination struct {
	Direction []float32
	Lambda    float64
}

// ApplyDirections returns x_t + Σ λ_i v_i for one sample.
func ApplyDirections(xt []float32, combos ...Combination) ([]float32, error) {
	out := slices.Clone(xt)
	for i, c := range combos {
		if len(c.Direction) != len(xt) {
			return nil, fmt.Errorf("direction %d has %d values but x_t has %d: it comes from a model of another shape", i, len(c.Direction), len(xt))
		}
		for j, v := range c.Direction {
			out[j] += float32(c.Lambda * float64(v))
		}
	}
	return out, nil
}

// Denoise runs the edited latents from grid index `index` to t = 0 with the edit options' sampling settings.
func (p *Pipeline) Denoise(xt []float32, index int, opts EditOptions) ([]float32, error) {
	return p.Sample(xt, index, -1, SampleOptions{Steps: opts.Steps, Eta: opts.Eta, Boost: opts.Boost, Seed: opts.Seed, Progress: opts.Progress})
}

// EditStrip edits x_t (one sample at grid index `index`) along direction v with the strip's strengths and
// denoises every image of the strip. Like the authors' loop, x_t + λ_j·v is accumulated one step of Scale·v at
// a time in float32, so strips match theirs to rounding.
func (p *Pipeline) EditStrip(xt []float32, index int, v []float32, opts EditOptions) (*EditResult, error) {
	lambdas, err := Strengths(opts.Scale, opts.NumSteps, opts.VisNum)
	if err != nil {
		return nil, err
	}
	if len(v) != len(xt) || len(xt) != p.dim {
		return nil, fmt.Errorf("x_t has %d values and the direction %d, want one sample of %d (C,H,W = %v)", len(xt), len(v), p.dim, p.shape)
	}
	res := &EditResult{Index: index, Lambdas: lambdas}
	for _, l := range lambdas {
		res.Xt = append(res.Xt, accumulate(xt, v, opts.Scale, l)...)
	}
	if res.X0, err = p.Denoise(res.Xt, index, opts); err != nil {
		return nil, fmt.Errorf("denoising the edits: %w", err)
	}
	return res, nil
}

// accumulate returns x + λ·v computed as repeated float32 additions of ±scale·v (the authors' loop).
func accumulate(x, v []float32, scale, lambda float64) []float32 {
	out := slices.Clone(x)
	n := int(math.Round(math.Abs(lambda) / scale))
	step := float32(scale)
	if lambda < 0 {
		step = -step
	}
	for range n {
		for i := range out {
			out[i] += step * v[i]
		}
	}
	return out
}

// EditWith denoises one edited x_t per entry of images (each a signed combination of directions; an empty entry
// is the unedited x_t), all from grid index `index`. This is composition (the authors' group edit with signed
// strengths) and, with one direction per entry, an edit strip.
func (p *Pipeline) EditWith(xt []float32, index int, opts EditOptions, images ...[]Combination) (*EditResult, error) {
	if len(xt) != p.dim {
		return nil, fmt.Errorf("x_t has %d values, want one sample of %d (C,H,W = %v)", len(xt), p.dim, p.shape)
	}
	res := &EditResult{Index: index}
	for _, combos := range images {
		e, err := ApplyDirections(xt, combos...)
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
	x0, err := p.Denoise(res.Xt, index, opts)
	if err != nil {
		return nil, fmt.Errorf("denoising the edits: %w", err)
	}
	res.X0 = x0
	return res, nil
}
