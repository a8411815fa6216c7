package analysis

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
)

// SymmetryOptions configure Symmetry.
type SymmetryOptions struct {
	// Mode picks the full Jacobian or Hutchinson probes (default: exact for d ≤ MaxExactDim).
	Mode Mode
	// Probes is the number of Gaussian probes of the estimate (0: 64).
	Probes int
	// Seed seeds the probes.
	Seed uint64
	// Batch is the number of products per graph call (0: DefaultBatch).
	Batch int
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

// SymmetryResult measures how far a Jacobian J is from symmetric (Fig. 13 right) and its size (Fig. 12 right).
type SymmetryResult struct {
	// Asymmetry is ‖J − Jᵀ‖_F/‖J‖_F (0 for a symmetric J, at most 2).
	Asymmetry float64
	// FrobNorm is ‖J‖_F.
	FrobNorm float64
	// Exact says both come from the full Jacobian; otherwise StdErr and FrobStdErr are the (delta-method)
	// standard errors of the estimates, from Probes probes.
	Exact              bool
	StdErr, FrobStdErr float64
	Probes             int
}

// Symmetry measures ‖J − Jᵀ‖_F/‖J‖_F and ‖J‖_F for the Jacobian J of out (x̂0 or ε) at one sample x and time t.
// Exact: from FullJacobian. Estimated: with Gaussian probes z, ‖J − Jᵀ‖_F² = E‖Jz − Jᵀz‖² and ‖J‖_F² = E‖Jz‖², one
// JVP and one VJP per probe, batched; the ratio's standard error follows from the delta method.
func Symmetry(p *loco.Pipeline, out loco.Output, x []float32, t float32, opts SymmetryOptions) (SymmetryResult, error) {
	if err := checkPoint(p, x); err != nil {
		return SymmetryResult{}, fmt.Errorf("symmetry: %w", err)
	}
	d := p.Dim()
	exact, err := opts.Mode.exact(d)
	if err != nil {
		return SymmetryResult{}, fmt.Errorf("symmetry: %w", err)
	}
	if exact {
		j, err := FullJacobian(p, out, x, t, JacobianOptions{Batch: opts.Batch, Progress: opts.Progress})
		if err != nil {
			return SymmetryResult{}, fmt.Errorf("symmetry: %w", err)
		}
		return exactSymmetry(j), nil
	}
	m := opts.Probes
	if m <= 0 {
		m = 64
	}
	z := num.Gaussian(num.NewRand(opts.Seed, 0x5717), m*d)
	bar := progress.New(opts.Progress, 2*m, fmt.Sprintf("symmetry of ∂%s/∂x", out))
	done := func(n int) { progress.Add(bar, n) }
	jz, err := chunked1(z, d, d, batchOrDefault(opts.Batch), nil, func(b []float32) ([]float32, error) {
		return p.JVP(out, x, t, b, nil)
	}, done)
	if err != nil {
		return SymmetryResult{}, fmt.Errorf("symmetry at t = %g: %w", t, err)
	}
	jtz, err := chunked1(z, d, d, batchOrDefault(opts.Batch), nil, func(b []float32) ([]float32, error) {
		return p.VJP(out, x, t, b, nil)
	}, done)
	if err != nil {
		return SymmetryResult{}, fmt.Errorf("symmetry at t = %g: %w", t, err)
	}
	a := make([]float64, m) // ‖(J − Jᵀ)z‖²
	b := make([]float64, m) // ‖Jz‖²
	for j := range m {
		for i := j * d; i < (j+1)*d; i++ {
			u, w := float64(jz[i]), float64(jtz[i])
			a[j] += (u - w) * (u - w)
			b[j] += u * u
		}
	}
	return ratioEstimate(a, b), nil
}

// exactSymmetry computes the measures from a full Jacobian.
func exactSymmetry(j *mat.Dense) SymmetryResult {
	var diff mat.Dense
	diff.Sub(j, j.T())
	f := mat.Norm(j, 2)
	r := SymmetryResult{FrobNorm: f, Exact: true}
	if f > 0 {
		r.Asymmetry = mat.Norm(&diff, 2) / f
	}
	return r
}

// ratioEstimate turns per-probe samples a_j of ‖(J−Jᵀ)z‖² and b_j of ‖Jz‖² into √(ā/b̄), √b̄ and their standard
// errors.
func ratioEstimate(a, b []float64) SymmetryResult {
	m := float64(len(a))
	ma, sa := meanStd(a)
	mb, sb := meanStd(b)
	var cov float64
	for j := range a {
		cov += (a[j] - ma) * (b[j] - mb)
	}
	if len(a) > 1 {
		cov /= m - 1
	}
	res := SymmetryResult{Probes: len(a), FrobNorm: math.Sqrt(mb)}
	if mb > 0 {
		res.FrobStdErr = sb / math.Sqrt(m) / (2 * math.Sqrt(mb))
		r := ma / mb
		res.Asymmetry = math.Sqrt(r)
		if r > 0 {
			varR := (sa*sa - 2*r*cov + r*r*sb*sb) / (m * mb * mb)
			res.StdErr = math.Sqrt(max(0, varR)) / (2 * res.Asymmetry)
		}
	}
	return res
}

// SymmetryPoint is Symmetry at one grid index, over the trajectories of several seeds.
type SymmetryPoint struct {
	// Index is the grid index, Timestep the grid time and T = t/1000.
	Index    int
	Timestep float32
	T        float64
	// Asymmetry and FrobNorm are means over the seeds; the Std fields their sample standard deviations.
	Asymmetry, AsymmetryStd float64
	FrobNorm, FrobStd       float64
	// StdErr is the root-mean-square of the per-seed standard errors of the asymmetry estimates (0 when Exact).
	StdErr float64
	Exact  bool
}

// SymmetryAlongTrajectories runs Trajectories for the seeds and measures Symmetry at each grid index (nil:
// DefaultIndices), returning per-index means (Fig. 12 right: ‖J‖_F vs t; Fig. 13 right: asymmetry vs t). opts.Seed
// is replaced by each trajectory's seed.
func SymmetryAlongTrajectories(p *loco.Pipeline, out loco.Output, seeds []uint64, indices []int, traj TrajectoryOptions, opts SymmetryOptions) ([]SymmetryPoint, error) {
	if p == nil {
		return nil, fmt.Errorf("symmetry along trajectories: nil pipeline")
	}
	d := p.Dim()
	var points []SymmetryPoint
	err := Trajectories(p, seeds, indices, traj, func(index int, t float32, xs []float32) error {
		var asym, frob []float64
		var se2 float64
		exact := true
		for s, seed := range seeds {
			o := opts
			o.Seed = seed
			r, err := Symmetry(p, out, xs[s*d:(s+1)*d], t, o)
			if err != nil {
				return fmt.Errorf("index %d, seed %d: %w", index, seed, err)
			}
			asym = append(asym, r.Asymmetry)
			frob = append(frob, r.FrobNorm)
			se2 += r.StdErr * r.StdErr
			exact = exact && r.Exact
		}
		pt := SymmetryPoint{Index: index, Timestep: t, T: NormalizedTime(p, t), Exact: exact,
			StdErr: math.Sqrt(se2 / float64(len(seeds)))}
		pt.Asymmetry, pt.AsymmetryStd = meanStd(asym)
		pt.FrobNorm, pt.FrobStd = meanStd(frob)
		points = append(points, pt)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("symmetry along trajectories: %w", err)
	}
	return points, nil
}
