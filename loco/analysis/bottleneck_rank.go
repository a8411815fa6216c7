package analysis

import (
	"fmt"
	"math"

	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
)

// linearMap returns Jacobian j at x, t as a linear map given by batched products.
func (b *Bottleneck) linearMap(j Jacobian, x []float32, t float32) linearMap {
	rows, cols := b.Dims(j)
	return linearMap{name: j.String(), rows: rows, cols: cols,
		jvp: func(vs []float32) ([]float32, error) { return b.JVP(j, x, t, vs) },
		vjp: func(us []float32) ([]float32, error) { return b.VJP(j, x, t, us) },
		jtj: func(vs []float32) ([]float32, []float32, error) { return b.JTJ(j, x, t, vs) },
	}
}

// Spectrum returns the exact singular values (decreasing; min(rows, cols) of them) of Jacobian j at the point x
// (one sample) and time t. For ∂ε/∂x and ∂x̂0/∂x it is Spectrum of the pipeline (full Jacobian and SVD); for the
// rectangular bottleneck Jacobians it is the eigen-decomposition of the Gram matrix on the smaller side (JᵀJ when
// cols ≤ rows, JJᵀ otherwise), from min(rows, cols) batched products (opts.Batch per call; opts.Mask must be nil).
// The Gram matrix squares the condition number, so singular values below about 3·10⁻⁴·σ_max are rounding noise;
// the numerical rank and ‖J‖_F are not affected. The smaller side must not exceed MaxExactDim.
func (b *Bottleneck) Spectrum(j Jacobian, x []float32, t float32, opts JacobianOptions) ([]float64, error) {
	if err := j.valid(); err != nil {
		return nil, err
	}
	if !j.throughH() {
		return Spectrum(b.Pipeline, j.output(), x, t, opts)
	}
	if opts.Mask != nil {
		return nil, fmt.Errorf("spectrum of %s: masks are not supported for the bottleneck Jacobians", j)
	}
	if err := b.checkPoint(x, t); err != nil {
		return nil, fmt.Errorf("spectrum of %s: %w", j, err)
	}
	m := b.linearMap(j, x, t)
	bar := progress.New(opts.Progress, m.maxRank(), fmt.Sprintf("Gram matrix of %s (%d×%d)", j, m.rows, m.cols))
	sv, err := gramSpectrum(m, opts.Batch, func(n int) { progress.Add(bar, n) })
	if err != nil {
		return nil, fmt.Errorf("spectrum at t = %g: %w", t, err)
	}
	return sv, nil
}

// EstimateSpectrum estimates the top k singular values, ‖J‖_F and the numerical rank of Jacobian j at x, t
// without forming it (randomised subspace iteration on JᵀJ in the input space and Hutchinson probes in the output
// space; see the package-level EstimateSpectrum and SpectrumEstimate). The result's Dim is min(rows, cols), the
// largest possible rank, so RankRatio is rank/min(rows, cols) (= rank/d for a bottleneck with m ≥ d values).
// opts.Mask must be nil.
func (b *Bottleneck) EstimateSpectrum(j Jacobian, x []float32, t float32, k int, opts EstimateOptions) (*SpectrumEstimate, error) {
	if err := j.valid(); err != nil {
		return nil, err
	}
	if opts.Mask != nil {
		return nil, fmt.Errorf("spectrum estimate of %s: masks are not supported for the bottleneck Jacobians", j)
	}
	if err := b.checkPoint(x, t); err != nil {
		return nil, fmt.Errorf("spectrum estimate of %s: %w", j, err)
	}
	res, err := estimateMap(b.linearMap(j, x, t), k, opts.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("spectrum estimate of %s at t = %g: %w", j, t, err)
	}
	return res, nil
}

// Linearity measures the local linearity of the bottleneck h_t(x_t) (Fig. 13 left and middle): for each point of x
// (n·d values) and `samples` unit directions Δx it compares h(x+λΔx) with h(x) + λ·(∂h/∂x)Δx, like the package-level
// Linearity does for x̂0.
func (b *Bottleneck) Linearity(x []float32, t float32, lambdas []float64, seed uint64, samples int) ([]LinearityPoint, error) {
	d := b.Pipeline.Dim()
	if len(x) == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("bottleneck linearity: x has %d values, not a positive multiple of one sample's %d (C,H,W = %v)", len(x), d, b.Pipeline.SampleShape())
	}
	if samples < 1 {
		return nil, fmt.Errorf("bottleneck linearity: samples = %d, want at least 1 (the paper uses 15)", samples)
	}
	h := func(xs []float32) ([]float32, error) { return b.H(xs, t) }
	jvp := func(xi, dirs []float32) ([]float32, error) { return b.JVP(DhDx, xi, t, dirs) }
	pts, err := linearityOf(x, d, b.hDim, h, jvp, lambdas, seed, samples)
	if err != nil {
		return nil, fmt.Errorf("bottleneck linearity at t = %g: %w", t, err)
	}
	return pts, nil
}

// jacobianMeasure is one Jacobian's numerical rank (with bounds) and Frobenius norm at one point.
type jacobianMeasure struct {
	rank, lo, hi, dim int
	frob              float64
	exact, resolved   bool
}

// measureJacobian computes Jacobian j's rank and norm at x, t, exactly or by the estimate (per opts; see
// JacobianRanksAlongTrajectories). b may be nil when j is a whole-network Jacobian.
func measureJacobian(p *loco.Pipeline, b *Bottleneck, j Jacobian, x []float32, t float32, seed uint64, opts RankOptions) (jacobianMeasure, error) {
	dim := p.Dim()
	if j.throughH() {
		rows, cols := b.Dims(j)
		dim = min(rows, cols)
	}
	exact, err := opts.Mode.exact(dim)
	if err != nil {
		return jacobianMeasure{}, err
	}
	if exact {
		var sv []float64
		jo := JacobianOptions{Batch: opts.Batch, Progress: opts.Progress}
		if j.throughH() {
			sv, err = b.Spectrum(j, x, t, jo)
		} else {
			sv, err = Spectrum(p, j.output(), x, t, jo)
		}
		if err != nil {
			return jacobianMeasure{}, err
		}
		r := NumericalRank(sv, opts.Eta)
		return jacobianMeasure{rank: r, lo: r, hi: r, dim: dim, frob: FrobeniusNorm(sv), exact: true, resolved: true}, nil
	}
	k := opts.K
	if k <= 0 {
		k = DefaultEstimateRank
	}
	k = min(k, dim)
	eo := opts.Estimate
	eo.Eta, eo.Seed, eo.Progress = opts.Eta, seed, opts.Progress
	if eo.Batch == 0 {
		eo.Batch = opts.Batch
	}
	var est *SpectrumEstimate
	if j.throughH() {
		est, err = b.EstimateSpectrum(j, x, t, k, eo)
	} else {
		est, err = EstimateSpectrum(p, j.output(), x, t, k, eo)
	}
	if err != nil {
		return jacobianMeasure{}, err
	}
	return jacobianMeasure{rank: est.Rank, lo: est.RankLow, hi: est.RankHigh, dim: dim, frob: est.FrobeniusNorm(), resolved: est.Resolved}, nil
}

// JacobianRanksAlongTrajectories measures the numerical rank ratio and ‖J‖_F of each of the given Jacobians along
// deterministic DDIM trajectories from the seeds' x_T, at the grid indices (nil: DefaultIndices), like
// RankAlongTrajectories does for one output (Fig. 12). jacobians nil means AllJacobians for a model with a
// bottleneck (HasBottleneck) and WholeNetworkJacobians (∂ε/∂x, ∂x̂0/∂x) otherwise; asking for an h-space Jacobian
// of a model without a bottleneck is an error. It returns one curve per Jacobian, labelled with its name, in the
// order given. opts.Output is ignored; opts.Mode picks, per Jacobian, the exact spectrum (automatic when
// min(rows, cols) ≤ MaxExactDim: the full Jacobian for ∂ε/∂x and ∂x̂0/∂x, the Gram matrix for the h-space ones; see
// Bottleneck.Spectrum) or the estimate with opts.K values.
//
// The rank ratio of a rectangular Jacobian is its rank over min(rows, cols), its largest possible rank: rank/d for
// every Jacobian when h has at least d values (google/ddpm-cifar10-32: 256×4×4 = 4096 ≥ 3072). Since
// ∂x̂0/∂h = −√(1−ᾱ)/√ᾱ·∂ε/∂h exactly, when both are asked for ∂x̂0/∂h is not measured again: its rank is ∂ε/∂h's and
// its norm is scaled by √(1−ᾱ)/√ᾱ.
func JacobianRanksAlongTrajectories(p *loco.Pipeline, seeds []uint64, indices []int, jacobians []Jacobian, opts RankOptions) ([]RankCurve, error) {
	if p == nil {
		return nil, fmt.Errorf("Jacobian ranks along trajectories: nil pipeline")
	}
	if jacobians == nil {
		jacobians = WholeNetworkJacobians
		if HasBottleneck(p.Model) {
			jacobians = AllJacobians
		}
	}
	epsAt, needH := -1, false
	for i, j := range jacobians {
		if err := j.valid(); err != nil {
			return nil, fmt.Errorf("Jacobian ranks along trajectories: %w", err)
		}
		if j == DepsDh {
			epsAt = i
		}
		needH = needH || j.throughH()
	}
	var b *Bottleneck
	if needH {
		var err error
		if b, err = NewBottleneck(p); err != nil {
			return nil, fmt.Errorf("Jacobian ranks along trajectories: %w", err)
		}
	}
	d := p.Dim()
	curves := make([]RankCurve, len(jacobians))
	for i, j := range jacobians {
		curves[i].Label = j.String()
	}
	err := Trajectories(p, seeds, indices, TrajectoryOptions{Steps: opts.Steps, Progress: opts.Progress}, func(index int, t float32, xs []float32) error {
		ab := float64(p.Model.Schedule().AlphaBar32(t))
		scale := math.Sqrt(1-ab) / math.Sqrt(ab)
		ms := make([][]jacobianMeasure, len(jacobians)) // [jacobian][seed]
		for s, seed := range seeds {
			x := xs[s*d : (s+1)*d]
			for i, j := range jacobians {
				if j == Dx0Dh && epsAt >= 0 {
					continue // derived below
				}
				m, err := measureJacobian(p, b, j, x, t, seed, opts)
				if err != nil {
					return fmt.Errorf("%s at index %d, seed %d: %w", j, index, seed, err)
				}
				ms[i] = append(ms[i], m)
			}
		}
		for i, j := range jacobians {
			if j == Dx0Dh && epsAt >= 0 {
				for _, m := range ms[epsAt] {
					m.frob *= scale
					ms[i] = append(ms[i], m)
				}
			}
			curves[i].Points = append(curves[i].Points, rankPoint(index, t, NormalizedTime(p, t), ms[i]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("Jacobian ranks along trajectories: %w", err)
	}
	return curves, nil
}

// rankPoint averages per-seed measures into a RankPoint.
func rankPoint(index int, t float32, tn float64, ms []jacobianMeasure) RankPoint {
	pt := RankPoint{Index: index, Timestep: t, T: tn, Exact: true, Resolved: true}
	var ratios, lows, highs, frobs []float64
	for _, m := range ms {
		pt.Ranks = append(pt.Ranks, m.rank)
		ratios = append(ratios, float64(m.rank)/float64(m.dim))
		lows = append(lows, float64(m.lo)/float64(m.dim))
		highs = append(highs, float64(m.hi)/float64(m.dim))
		frobs = append(frobs, m.frob)
		pt.Exact = pt.Exact && m.exact
		pt.Resolved = pt.Resolved && m.resolved
	}
	pt.RankRatio, pt.Std = meanStd(ratios)
	pt.RankRatioLow, _ = meanStd(lows)
	pt.RankRatioHigh, _ = meanStd(highs)
	pt.FrobNorm, pt.FrobStd = meanStd(frobs)
	return pt
}
