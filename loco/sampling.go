package loco

import (
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/internal/progress"
)

// DefaultSteps is the size N of the LOCO-Edit time grid (N−1 DDIM transitions), the authors' value.
const DefaultSteps = 100

// Transition is one step of a sampler: from time T to time Next, at grid index Index, with DDIM's η.
type Transition struct {
	Index   int
	T, Next float32
	Eta     float64
}

// StepInfo is what a sampler reports after each step (k-diffusion's callback argument).
type StepInfo struct {
	// Step counts the steps of this call (1-based) and Steps is their number.
	Step, Steps int
	// Transition is the step just taken.
	Transition
	// X is the batch after the step (at time Next) and X0 the posterior mean x̂0 predicted at T, both of the
	// denoised variable (latents for a latent model: Pipeline.Images decodes them). The sampler does not reuse
	// them: a callback may keep them.
	X, X0 []float32
}

// Callback receives every step of a sampler; an error stops the sampler and is returned by it.
type Callback func(StepInfo) error

// Callbacks calls each non-nil callback in turn.
func Callbacks(cbs ...Callback) Callback {
	return func(s StepInfo) error {
		for _, cb := range cbs {
			if cb == nil {
				continue
			}
			if err := cb(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// ProgressBar returns a callback that draws a progress bar labelled desc on w (nil when w is nil). Use one per
// sampler call.
func ProgressBar(w io.Writer, desc string) Callback {
	if w == nil {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(s StepInfo) error {
		if bar == nil {
			bar = progress.New(w, s.Steps, desc)
		}
		progress.Add(bar, 1)
		return nil
	}
}

// A Sampler moves a batch x (n samples of the pipeline's SampleShape) through the transitions and returns the
// batch at the last one's Next, calling opts.Callback after every step. DDIM is the default; a model supplies
// its own through SamplerProvider.
type Sampler func(p *Pipeline, x []float32, steps []Transition, opts SampleOptions) ([]float32, error)

// DDIM is the LOCO-Edit DDIM sampler (docs/method.md §4): each transition predicts ε and x̂0 at T and
// steps to Next with η (DDIMStepFor). Stochastic steps draw their noise from opts.Seed. Inversion runs it on an
// inversion grid.
func DDIM(p *Pipeline, x []float32, steps []Transition, opts SampleOptions) ([]float32, error) {
	rng := num.NewRand(opts.Seed, 0xdd1)
	s := p.Model.Schedule()
	for i, st := range steps {
		eps, x0, err := p.PredictLatent(x, []float32{st.T})
		if err != nil {
			return nil, fmt.Errorf("DDIM step %d (t = %g): %w", st.Index, st.T, err)
		}
		var noise []float32
		if st.Eta != 0 {
			noise = num.Gaussian(rng, len(x))
		}
		out := eps
		if p.Model.Prediction() == PredictSample {
			out = x0
		}
		if x, _, err = DDIMStepFor(p.Model.Prediction(), x, out, s.AlphaBar(st.T), s.AlphaBar(st.Next), st.Eta, noise); err != nil {
			return nil, fmt.Errorf("DDIM step %d (t = %g): %w", st.Index, st.T, err)
		}
		if opts.Callback != nil {
			if err := opts.Callback(StepInfo{Step: i + 1, Steps: len(steps), Transition: st, X: x, X0: x0}); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}

// SampleOptions configure sampling on the LOCO-Edit timestep grid (docs/method.md §3).
type SampleOptions struct {
	// Steps is the grid size N (N−1 transitions); 0 means the model's default (DefaultSteps on the LOCO grid).
	Steps int
	// Eta is DDIM's η for every step (0: deterministic).
	Eta float64
	// Boost is the authors' "performance boosting": steps at index ≥ Grid.PerformanceBoostIndex() (t ≤ 201.8)
	// use η = 1 with fresh noise.
	Boost bool
	// Seed makes the noise of stochastic steps reproducible.
	Seed uint64
	// Callback, if set, receives every step (ProgressBar draws a progress bar).
	Callback Callback
}

// Grid returns the model's time grid with steps points: the model's own (GridProvider), or the LOCO-Edit grid
// (0: DefaultSteps; t_max = number of training steps − 1).
func (p *Pipeline) Grid(steps int, inversion bool) (Grid, error) {
	if gp, ok := p.Model.(GridProvider); ok {
		return gp.Grid(steps, inversion)
	}
	if steps == 0 {
		steps = DefaultSteps
	}
	return NewGrid(steps, float32(p.Model.Schedule().NumTrainSteps()-1), inversion)
}

// Sample runs the forward (denoising) steps with indices from ≤ i < to of the grid on a batch x (n·Dim values)
// with the model's sampler; to < 0 means to the end (t = 0). Starting from index 0 means starting from x_T at
// t = t_max.
func (p *Pipeline) Sample(x []float32, from, to int, opts SampleOptions) ([]float32, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if _, err := batchOf("x", x, p.shape); err != nil {
		return nil, err
	}
	g, err := p.Grid(opts.Steps, false)
	if err != nil {
		return nil, err
	}
	if to, err = stepRange(from, to, g.Len(), fmt.Sprintf("%d steps", g.Len())); err != nil {
		return nil, err
	}
	boost := g.PerformanceBoostIndex()
	steps := make([]Transition, 0, to-from)
	for i := from; i < to; i++ {
		eta := opts.Eta
		if opts.Boost && i >= boost {
			eta = 1
		}
		steps = append(steps, Transition{Index: i, T: g.Timesteps[i], Next: g.Next[i], Eta: eta})
	}
	return p.sampler(p, x, steps, opts)
}

// InvertOptions configure DDIM inversion.
type InvertOptions struct {
	// Steps is the grid size N; 0 means DefaultSteps.
	Steps int
	// AllPairs runs all N−1 inversion transitions (ending at t = t_max, where generation starts). False
	// reproduces the authors' loop, which stops one pair early (at t ≈ 988.9 for N = 100).
	AllPairs bool
	// Callback, if set, receives every step.
	Callback Callback
}

// Invert maps clean images x0 (n·Dim values in [−1,1]) to x_T by deterministic DDIM inversion (docs/method.md,
// "DDIM inversion").
func (p *Pipeline) Invert(x0 []float32, opts InvertOptions) ([]float32, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if _, err := batchOf("x0", x0, p.shape); err != nil {
		return nil, err
	}
	g, err := p.Grid(opts.Steps, true)
	if err != nil {
		return nil, err
	}
	n := g.Len()
	if !opts.AllPairs {
		n--
	}
	steps := make([]Transition, n)
	for k := range n {
		steps[k] = Transition{Index: k, T: g.Timesteps[k], Next: g.Next[k]}
	}
	xT, err := DDIM(p, x0, steps, SampleOptions{Callback: opts.Callback})
	if err != nil {
		return nil, fmt.Errorf("inversion: %w", err)
	}
	return xT, nil
}
