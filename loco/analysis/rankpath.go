package analysis

import (
	"fmt"
	"io"

	"github.com/locoedit/locoedit/loco"
)

// DefaultEstimateRank is the number of singular values EstimateSpectrum computes in RankAlongTrajectories when
// RankOptions.K is 0.
const DefaultEstimateRank = 128

// RankOptions configure RankAlongTrajectories.
type RankOptions struct {
	// Output is the function differentiated (default loco.OutputX0, the PMP; loco.OutputEps for ∂ε/∂x).
	Output loco.Output
	// Eta is the numerical-rank threshold (0: DefaultEta).
	Eta float64
	// Mode picks the exact full Jacobian or the estimate (default: exact for d ≤ MaxExactDim).
	Mode Mode
	// K is the number of singular values estimated (0: min(d, DefaultEstimateRank)); Estimate tunes the estimate
	// (its Eta, Seed and Progress are set by RankAlongTrajectories; the seed is the trajectory's).
	K        int
	Estimate EstimateOptions
	// Steps is the DDIM grid size (0: 100).
	Steps int
	// Batch is the number of products per graph call (0: DefaultBatch).
	Batch int
	// Progress, if set, receives progress bars.
	Progress io.Writer
}

// RankPoint is the numerical rank of the Jacobian at one grid index, over the trajectories of several seeds.
type RankPoint struct {
	// Index is the grid index, Timestep the grid time t and T = t/1000 the paper's axis.
	Index    int
	Timestep float32
	T        float64
	// RankRatio is the mean over seeds of rank/d and Std its sample standard deviation.
	RankRatio, Std float64
	// RankRatioLow and RankRatioHigh are the means of the bounds (equal to RankRatio when Exact).
	RankRatioLow, RankRatioHigh float64
	// FrobNorm is the mean ‖J‖_F over seeds and FrobStd its standard deviation.
	FrobNorm, FrobStd float64
	// Ranks are the per-seed numerical ranks, in the order of the seeds.
	Ranks []int
	// Exact says the full Jacobian was used; Resolved that every estimate reached the threshold within its
	// computed singular values (always true when Exact).
	Exact, Resolved bool
}

// RankAlongTrajectories draws x_T ~ N(0, I) for each seed, runs deterministic DDIM along the grid and, at each of
// the grid indices (nil: DefaultIndices), measures the numerical rank ratio and ‖J‖_F of the Jacobian of
// opts.Output (exactly, or estimated for large d), returning per-index means and standard deviations over the
// seeds (Fig. 2a, Fig. 12).
func RankAlongTrajectories(p *loco.Pipeline, seeds []uint64, indices []int, opts RankOptions) ([]RankPoint, error) {
	if p == nil {
		return nil, fmt.Errorf("rank along trajectories: nil pipeline")
	}
	d := p.Dim()
	exact, err := opts.Mode.exact(d)
	if err != nil {
		return nil, fmt.Errorf("rank along trajectories: %w", err)
	}
	k := opts.K
	if k <= 0 {
		k = min(d, DefaultEstimateRank)
	}
	var points []RankPoint
	err = Trajectories(p, seeds, indices, TrajectoryOptions{Steps: opts.Steps, Progress: opts.Progress}, func(index int, t float32, xs []float32) error {
		pt := RankPoint{Index: index, Timestep: t, T: NormalizedTime(p, t), Exact: exact, Resolved: true}
		var ratios, lows, highs, frobs []float64
		for s, seed := range seeds {
			x := xs[s*d : (s+1)*d]
			var rank, lo, hi int
			var frob float64
			if exact {
				sv, err := Spectrum(p, opts.Output, x, t, JacobianOptions{Batch: opts.Batch, Progress: opts.Progress})
				if err != nil {
					return fmt.Errorf("rank at index %d, seed %d: %w", index, seed, err)
				}
				rank = NumericalRank(sv, opts.Eta)
				lo, hi, frob = rank, rank, FrobeniusNorm(sv)
			} else {
				eo := opts.Estimate
				eo.Eta, eo.Seed, eo.Progress = opts.Eta, seed, opts.Progress
				if eo.Batch == 0 {
					eo.Batch = opts.Batch
				}
				est, err := EstimateSpectrum(p, opts.Output, x, t, k, eo)
				if err != nil {
					return fmt.Errorf("rank at index %d, seed %d: %w", index, seed, err)
				}
				rank, lo, hi, frob = est.Rank, est.RankLow, est.RankHigh, est.FrobeniusNorm()
				pt.Resolved = pt.Resolved && est.Resolved
			}
			pt.Ranks = append(pt.Ranks, rank)
			ratios = append(ratios, float64(rank)/float64(d))
			lows = append(lows, float64(lo)/float64(d))
			highs = append(highs, float64(hi)/float64(d))
			frobs = append(frobs, frob)
		}
		pt.RankRatio, pt.Std = meanStd(ratios)
		pt.RankRatioLow, _ = meanStd(lows)
		pt.RankRatioHigh, _ = meanStd(highs)
		pt.FrobNorm, pt.FrobStd = meanStd(frobs)
		points = append(points, pt)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rank along trajectories: %w", err)
	}
	return points, nil
}
