package analysis

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/locoedit/locoedit/loco"
)

// StartNoise returns x_T ~ N(0, I) for each seed, concatenated (len(seeds)·d values). Each seed gives the same
// noise whatever the other seeds are.
func StartNoise(p *loco.Pipeline, seeds []uint64) []float32 {
	d := p.Dim()
	out := make([]float32, 0, len(seeds)*d)
	for _, s := range seeds {
		out = append(out, gaussian(rand.New(rand.NewPCG(s, 0x7a1e)), d)...)
	}
	return out
}

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

// Trajectories draws x_T for every seed (StartNoise) and runs deterministic DDIM (η = 0) on the whole batch along
// the LOCO-Edit grid, calling visit at each of the grid indices (sorted, duplicates removed) with the batch x_t
// (len(seeds)·d values) at the grid time t = Timesteps[index]. indices nil means DefaultIndices.
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
	x := StartNoise(p, seeds)
	at := 0
	for _, i := range idx {
		if i > at {
			x, err = p.Sample(x, at, i, loco.SampleOptions{Steps: opts.Steps, Progress: opts.Progress})
			if err != nil {
				return fmt.Errorf("trajectories: DDIM to index %d: %w", i, err)
			}
			at = i
		}
		if err := visit(i, g.Timesteps[i], x); err != nil {
			return err
		}
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

// Method chooses between exact and stochastic Jacobian measurements.
type Method int

const (
	// MethodAuto is exact when d ≤ MaxExactDim, estimated above.
	MethodAuto Method = iota
	// MethodExact forms the full Jacobian (d ≤ MaxExactDim).
	MethodExact
	// MethodEstimate uses randomised subspace iteration and Hutchinson probes.
	MethodEstimate
)

// String implements fmt.Stringer.
func (m Method) String() string {
	switch m {
	case MethodExact:
		return "exact"
	case MethodEstimate:
		return "estimate"
	}
	return "auto"
}

func (m Method) exact(d int) (bool, error) {
	switch m {
	case MethodExact:
		if d > MaxExactDim {
			return false, fmt.Errorf("exact method asked for d = %d > MaxExactDim = %d: use MethodEstimate (or MethodAuto)", d, MaxExactDim)
		}
		return true, nil
	case MethodEstimate:
		return false, nil
	}
	return d <= MaxExactDim, nil
}
