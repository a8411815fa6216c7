package loco

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/schollz/progressbar/v3"
)

// SampleOptions configure DDIM sampling on the LOCO-Edit timestep grid (spec §1.2–1.6).
type SampleOptions struct {
	// Steps is the grid size N (N−1 transitions); 0 means 100, the authors' value.
	Steps int
	// Eta is DDIM's η for every step (0: deterministic).
	Eta float64
	// Boost is the authors' "performance boosting": steps at index ≥ Grid.PerformanceBoostIndex() (t ≤ 201.8)
	// use η = 1 with fresh noise.
	Boost bool
	// Seed makes the noise of stochastic steps reproducible.
	Seed uint64
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

func (o SampleOptions) steps() int {
	if o.Steps == 0 {
		return 100
	}
	return o.Steps
}

// Grid returns the model's LOCO-Edit grid with steps points (t_max = number of training steps − 1).
func (p *Pipeline) Grid(steps int, inversion bool) (Grid, error) {
	if steps == 0 {
		steps = 100
	}
	return NewGrid(steps, float32(p.Model.Schedule().NumTrainSteps()-1), inversion)
}

// newProgress returns a progress bar on w, or nil.
func newProgress(w io.Writer, n int, desc string) *progressbar.ProgressBar {
	if w == nil {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// step runs one DDIM transition t → tNext for a batch.
func (p *Pipeline) step(x []float32, t, tNext float32, eta float64, rng *rand.Rand) ([]float32, error) {
	eps, x0, err := p.Predict(x, []float32{t})
	if err != nil {
		return nil, err
	}
	var noise []float32
	if eta != 0 {
		noise = make([]float32, len(x))
		for i := range noise {
			noise[i] = float32(rng.NormFloat64())
		}
	}
	out := eps
	if p.Model.Prediction() == PredictSample {
		out = x0
	}
	s := p.Model.Schedule()
	next, _, err := DDIMStepFor(p.Model.Prediction(), x, out, s.AlphaBar(t), s.AlphaBar(tNext), eta, noise)
	return next, err
}

// Sample runs the forward (denoising) DDIM steps with indices from ≤ i < to of the grid on a batch x (n·C·H·W
// values); to < 0 means to the end (t = 0). Starting from index 0 means starting from x_T at t = t_max.
func (p *Pipeline) Sample(x []float32, from, to int, opts SampleOptions) ([]float32, error) {
	if _, err := p.batchOf("x", x); err != nil {
		return nil, err
	}
	g, err := p.Grid(opts.steps(), false)
	if err != nil {
		return nil, err
	}
	if to < 0 {
		to = g.Len()
	}
	if from < 0 || from > to || to > g.Len() {
		return nil, fmt.Errorf("sampling indices [%d, %d) are outside the grid's %d steps", from, to, g.Len())
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0xdd1))
	boost := g.PerformanceBoostIndex()
	bar := newProgress(opts.Progress, to-from, "DDIM")
	for i := from; i < to; i++ {
		eta := opts.Eta
		if opts.Boost && i >= boost {
			eta = 1
		}
		if x, err = p.step(x, g.Timesteps[i], g.Next[i], eta, rng); err != nil {
			return nil, fmt.Errorf("DDIM step %d (t = %g): %w", i, g.Timesteps[i], err)
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	return x, nil
}

// InvertOptions configure DDIM inversion.
type InvertOptions struct {
	// Steps is the grid size N; 0 means 100.
	Steps int
	// AllPairs runs all N−1 inversion transitions (ending at t = t_max). The default reproduces the authors'
	// loop, which stops one pair early (at t ≈ 988.9 for N = 100) while generation then restarts at t_max.
	AllPairs bool
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

// Invert maps clean images x0 (n·C·H·W values in [−1,1]) to x_T by deterministic DDIM inversion (spec §2).
func (p *Pipeline) Invert(x0 []float32, opts InvertOptions) ([]float32, error) {
	if _, err := p.batchOf("x0", x0); err != nil {
		return nil, err
	}
	steps := opts.Steps
	if steps == 0 {
		steps = 100
	}
	g, err := p.Grid(steps, true)
	if err != nil {
		return nil, err
	}
	n := g.Len()
	if !opts.AllPairs {
		n--
	}
	bar := newProgress(opts.Progress, n, "DDIM inversion")
	x := x0
	for k := range n {
		if x, err = p.step(x, g.Timesteps[k], g.Next[k], 0, nil); err != nil {
			return nil, fmt.Errorf("inversion step %d (t = %g): %w", k, g.Timesteps[k], err)
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	return x, nil
}
