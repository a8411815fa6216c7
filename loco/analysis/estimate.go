package analysis

import (
	"fmt"
	"io"
	"math"

	"github.com/locoedit/locoedit/loco"
)

// EstimateOptions configure EstimateSpectrum.
type EstimateOptions struct {
	// Oversample is the number of extra vectors carried beyond k (0: 10).
	Oversample int
	// PowerIters is the number of block Krylov iterations on JᵀJ after the first one (0: 2; negative: none, a
	// plain randomised range finder); each costs two products per vector.
	PowerIters int
	// Probes is the number of Gaussian Hutchinson probes of the tail mass (0: 32).
	Probes int
	// Z is the number of standard errors of the tail's confidence interval (0: 3).
	Z float64
	// Eta is the numerical-rank threshold η (0: DefaultEta).
	Eta float64
	// Seed seeds the random start basis and the probes.
	Seed uint64
	// Mask, if set (d values), restricts the output: the Jacobian of Mask ⊙ out.
	Mask []float32
	// Batch is the number of vectors per graph call (0: DefaultBatch).
	Batch int
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

func (o EstimateOptions) withDefaults() EstimateOptions {
	if o.Oversample <= 0 {
		o.Oversample = 10
	}
	switch {
	case o.PowerIters == 0:
		o.PowerIters = 2
	case o.PowerIters < 0:
		o.PowerIters = 0
	}
	if o.Probes <= 0 {
		o.Probes = 32
	}
	if o.Z <= 0 {
		o.Z = 3
	}
	o.Eta = etaOrDefault(o.Eta)
	o.Batch = batchOrDefault(o.Batch)
	return o
}

// SpectrumEstimate is the result of EstimateSpectrum for a Jacobian J with Dim columns.
//
// With V the l = k + oversampling orthonormal rows the iteration ends with, the squared Frobenius norm splits
// exactly as ‖J‖_F² = Captured + Tail, Captured = ‖JVᵀ‖_F² = Σ Ritz², Tail = ‖J(I − VᵀV)‖_F². Captured is computed
// exactly; Tail is estimated by Hutchinson probes, E‖(I − VᵀV)Jᵀz‖² over z ~ N(0, I), with its standard error and
// a confidence interval of ±Z standard errors (clipped at 0).
//
// The rank bounds use two facts that hold for any orthonormal V: Ritz_i ≤ σ_i (so Σ_{i≤r}σ_i² ≥ Σ_{i≤r}Ritz_i²),
// and Σ_{i≤r}σ_i² ≤ Σ_{i≤r}Ritz_i² + Tail (Ky Fan norms of a positive semi-definite block matrix are at most the
// sums of those of its diagonal blocks). They are guaranteed whenever the true tail lies inside [TailLow, TailHigh].
type SpectrumEstimate struct {
	// Singular holds the top-k singular value estimates, decreasing (Ritz values; each is ≤ the true σ_i).
	Singular []float64
	// Ritz holds all l Ritz values (k estimates and the oversampling), decreasing.
	Ritz []float64
	// Captured is Σ Ritz² = ‖JVᵀ‖_F².
	Captured float64
	// Tail estimates ‖J‖_F² − Captured; TailStdErr is its standard error; [TailLow, TailHigh] is Tail ± Z·TailStdErr.
	Tail, TailStdErr, TailLow, TailHigh float64
	// Rank is the numerical rank's point estimate; [RankLow, RankHigh] is guaranteed when the tail is in its
	// interval. Resolved says the threshold was reached within the l Ritz values. Otherwise Rank is a heuristic
	// (the tail continues at the level of the smallest Ritz value: exact for a flat spectrum, low for a decaying
	// one), RankHigh assumes the tail spreads evenly over the remaining Dim − l directions, and k should be raised.
	Rank, RankLow, RankHigh int
	Resolved                bool
	// Dim is d, Eta the threshold used, and Products the number of Jacobian-vector products spent.
	Dim      int
	Eta      float64
	Products int
}

// FrobeniusNorm is the estimate of ‖J‖_F, √(Captured + Tail).
func (e *SpectrumEstimate) FrobeniusNorm() float64 { return math.Sqrt(e.Captured + e.Tail) }

// FrobeniusInterval is the interval of ‖J‖_F matching [TailLow, TailHigh].
func (e *SpectrumEstimate) FrobeniusInterval() (lo, hi float64) {
	return math.Sqrt(e.Captured + e.TailLow), math.Sqrt(e.Captured + e.TailHigh)
}

// RankRatio is Rank/Dim.
func (e *SpectrumEstimate) RankRatio() float64 { return float64(e.Rank) / float64(e.Dim) }

// EstimateSpectrum estimates the top k singular values, the squared Frobenius norm and the numerical rank of the
// Jacobian of out at x, t without forming it, for any d: block Krylov subspace iteration on JᵀJ (loco's) with
// blocks of l = k + Oversample vectors and PowerIters + 1 iterations, its top l Ritz values, and Probes Hutchinson
// probes (vector-Jacobian products) of the mass outside their span. See SpectrumEstimate for the meaning of the
// bounds.
func EstimateSpectrum(p *loco.Pipeline, out loco.Output, x []float32, t float32, k int, opts EstimateOptions) (*SpectrumEstimate, error) {
	if err := checkPoint(p, x); err != nil {
		return nil, fmt.Errorf("spectrum estimate: %w", err)
	}
	d := p.Dim()
	if k < 1 || k > d {
		return nil, fmt.Errorf("spectrum estimate: k = %d must be in [1, d = %d]", k, d)
	}
	if opts.Mask != nil && len(opts.Mask) != d {
		return nil, fmt.Errorf("spectrum estimate: the mask has %d values, want %d", len(opts.Mask), d)
	}
	m := linearMap{name: fmt.Sprintf("∂%s/∂x", out), rows: d, cols: d,
		jvp: func(vs []float32) ([]float32, error) { return p.JVP(out, x, t, vs, opts.Mask) },
		vjp: func(us []float32) ([]float32, error) { return p.VJP(out, x, t, us, opts.Mask) },
		jtj: func(vs []float32) ([]float32, []float32, error) { return p.JTJ(out, x, t, vs, opts.Mask) },
	}
	res, err := estimateMap(m, k, opts.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("spectrum estimate at t = %g: %w", t, err)
	}
	return res, nil
}

// rankBounds turns Ritz values (decreasing), their mass C, a tail estimate and its upper confidence limit into
// the numerical rank's point estimate and bounds (see SpectrumEstimate).
func rankBounds(ritz []float64, captured, tail, tailHigh float64, d int, eta float64) (rank, lo, hi int, resolved bool) {
	e2 := eta * eta
	l := len(ritz)
	cum := make([]float64, l+1)
	for i, s := range ritz {
		cum[i+1] = cum[i] + s*s
	}
	// Smallest r > l for which C + T·(r−l)/(d−l) > η²(C + T), i.e. the rank if the tail is spread evenly.
	flat := func(t float64) int {
		if l >= d || t <= 0 {
			return l
		}
		need := (e2*(captured+t) - captured) / t * float64(d-l) // r − l must exceed this
		return min(d, l+int(math.Floor(need))+1)
	}
	rank, hi, lo = -1, -1, -1
	for r := 1; r <= l; r++ {
		if rank < 0 && cum[r] > e2*(captured+tail) {
			rank = r
		}
		if hi < 0 && cum[r] > e2*(captured+tailHigh) {
			hi = r
		}
		if lo < 0 && cum[r]+tailHigh > e2*(captured+tailHigh) {
			lo = r
		}
	}
	resolved = rank > 0
	if rank < 0 {
		rank = capped(ritz, captured, tail, d, e2)
	}
	if lo < 0 {
		lo = l
	}
	if captured+tailHigh == 0 {
		return 0, 0, 0, true
	}
	if hi < 0 {
		hi = flat(tailHigh)
	}
	return min(max(rank, lo), hi), lo, hi, resolved
}

// capped is the rank when the tail mass continues at the level of the smallest Ritz value (the spectrum keeps
// decaying, or is flat): the heuristic point estimate of an unresolved rank.
func capped(ritz []float64, captured, tail float64, d int, e2 float64) int {
	l := len(ritz)
	c := ritz[l-1] * ritz[l-1]
	if l >= d || tail <= 0 || c <= 0 {
		return d
	}
	need := (e2*(captured+tail) - captured) / c
	return min(d, l+int(math.Floor(need))+1)
}
