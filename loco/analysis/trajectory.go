package analysis

import (
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/locoedit/locoedit/loco"
)

// DefaultIndices returns the grid indices analysed when none are given: every tenth transition of a grid with
// n transitions and its last one (0, 10, …, 90, 98 for the 100-step grid).
func DefaultIndices(n int) []int {
	var idx []int
	for i := 0; i < n; i += 10 {
		idx = append(idx, i)
	}
	if n > 0 && idx[len(idx)-1] != n-1 {
		idx = append(idx, n-1)
	}
	return idx
}

// TrajectoryOptions configure how trajectories are generated.
type TrajectoryOptions struct {
	// Steps is the DDIM grid size N (0: 100, the paper's value for DDPM and IF).
	Steps int
	// Progress, if set, receives progress bars.
	Progress io.Writer
}

// Trajectories draws x_T for every seed (Pipeline.Noise) and runs deterministic DDIM (η = 0) on the whole batch
// along the LOCO-Edit grid, calling visit at each of the grid indices (sorted, duplicates removed) with the batch
// x_t (len(seeds)·d values) at the grid time t = Timesteps[index]. indices nil means DefaultIndices. The sampler
// runs once, to the last index, and visits through its per-step callback.
func Trajectories(p *loco.Pipeline, seeds []uint64, indices []int, opts TrajectoryOptions, visit func(index int, t float32, xs []float32) error) error {
	if p == nil {
		return fmt.Errorf("trajectories: nil pipeline")
	}
	if len(seeds) == 0 {
		return fmt.Errorf("trajectories: no seeds: give at least one (the paper averages 15)")
	}
	g, err := p.Grid(opts.Steps, false)
	if err != nil {
		return fmt.Errorf("trajectories: %w", err)
	}
	if indices == nil {
		indices = DefaultIndices(g.Len())
	}
	idx := slices.Clone(indices)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	if len(idx) == 0 || idx[0] < 0 || idx[len(idx)-1] >= g.Len() {
		return fmt.Errorf("trajectories: indices %v must lie in [0, %d), the transitions of the %d-step grid", indices, g.Len(), g.Len()+1)
	}
	x := p.Noise(seeds...)
	next := 0 // position in idx of the next index to visit
	at := func(i int, xs []float32) error {
		if next < len(idx) && idx[next] == i {
			next++
			return visit(i, g.Timesteps[i], xs)
		}
		return nil
	}
	if err := at(0, x); err != nil {
		return err
	}
	last := idx[len(idx)-1]
	if last == 0 {
		return nil
	}
	// After the step at grid index i the batch is at the time of index i + 1.
	_, err = p.Sample(x, 0, last, loco.SampleOptions{Steps: opts.Steps, Callback: loco.Callbacks(
		loco.ProgressBar(opts.Progress, "DDIM"),
		func(s loco.StepInfo) error { return at(s.Index+1, s.X) })})
	if err != nil {
		return fmt.Errorf("trajectories: %w", err)
	}
	return nil
}

// NormalizedTime is t/1000, the paper's time axis (t/T with T = 1000 training steps; Schedule length in general),
// computed from t's shortest decimal form (595.36359, not 595.363586…).
func NormalizedTime(p *loco.Pipeline, t float32) float64 {
	return decimal32(t) / float64(p.Model.Schedule().NumTrainSteps())
}

// decimal32 is the float64 nearest to the shortest decimal that identifies the float32 t.
func decimal32(t float32) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(t), 'g', -1, 32), 64)
	if err != nil {
		return float64(t)
	}
	return v
}

// Mode chooses between exact and stochastic Jacobian measurements.
type Mode int

const (
	// ModeAuto is exact when d ≤ MaxExactDim, estimated above.
	ModeAuto Mode = iota
	// ModeExact forms the full Jacobian (d ≤ MaxExactDim).
	ModeExact
	// ModeEstimate uses block Krylov subspace iteration and Hutchinson probes.
	ModeEstimate
)

// String implements fmt.Stringer.
func (m Mode) String() string {
	switch m {
	case ModeExact:
		return "exact"
	case ModeEstimate:
		return "estimate"
	}
	return "auto"
}

func (m Mode) exact(d int) (bool, error) {
	switch m {
	case ModeExact:
		if d > MaxExactDim {
			return false, fmt.Errorf("exact mode asked for d = %d > MaxExactDim = %d: use ModeEstimate (or ModeAuto)", d, MaxExactDim)
		}
		return true, nil
	case ModeEstimate:
		return false, nil
	}
	return d <= MaxExactDim, nil
}
