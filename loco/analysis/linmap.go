package analysis

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
)

// linearMap is a Jacobian J (rows×cols) at one point, known only through batched exact products. Every product
// takes k vectors (flat, k·n values) and returns k vectors.
type linearMap struct {
	name       string // for messages and progress bars, e.g. "∂x0/∂x"
	rows, cols int
	jvp        func(vs []float32) ([]float32, error)             // J·v: k·cols → k·rows
	vjp        func(us []float32) ([]float32, error)             // Jᵀ·u: k·rows → k·cols
	jtj        func(vs []float32) (u, vhat []float32, err error) // J·v and JᵀJ·v in one pass
}

// maxRank is min(rows, cols), the largest rank J can have.
func (m linearMap) maxRank() int { return min(m.rows, m.cols) }

// gram returns JᵀJ·v.
func (m linearMap) gram(vs []float32) ([]float32, error) {
	_, vhat, err := m.jtj(vs)
	return vhat, err
}

// estimateMap is EstimateSpectrum for any linear map: block Krylov subspace iteration on JᵀJ (loco's, with blocks
// of l = k + oversampling vectors and PowerIters + 1 iterations) gives the top l Ritz pairs in the input space,
// and Hutchinson probes (in the output space) the mass outside their span. The result's Dim is min(rows, cols).
// o must have its defaults filled in; mask is ignored (the map includes it).
func estimateMap(m linearMap, k int, o EstimateOptions) (*SpectrumEstimate, error) {
	d, r := m.cols, m.rows
	if k < 1 || k > m.maxRank() {
		return nil, fmt.Errorf("k = %d must be in [1, %d] (the %d×%d Jacobian's largest possible rank)", k, m.maxRank(), r, d)
	}
	l := min(k+o.Oversample, m.maxRank())
	iters := o.PowerIters + 1
	bar := progress.New(o.Progress, iters*2*l+o.Probes, fmt.Sprintf("spectrum of %s (k=%d)", m.name, k))
	done := func(n int) { progress.Add(bar, n) }
	jtj := func(vs []float32) ([]float32, []float32, error) {
		outs, err := chunked(vs, d, []int{r, d}, o.Batch, nil, func(b []float32) ([][]float32, error) {
			u, vhat, err := m.jtj(b)
			return [][]float32{u, vhat}, err
		}, func(n int) { done(2 * n) })
		if err != nil {
			return nil, nil, err
		}
		return outs[0], outs[1], nil
	}
	sub, err := loco.SubspaceIteration(d, jtj, loco.SubspaceOptions{Rank: l, BlockSize: l, MaxIter: iters, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	res := &SpectrumEstimate{Dim: m.maxRank(), Eta: o.Eta, Products: sub.Evaluations, Ritz: sub.S}
	for _, s := range sub.S {
		res.Captured += s * s
	}
	res.Singular = slices.Clone(res.Ritz[:k])

	z := num.Gaussian(num.NewRand(o.Seed, 0x5eec7), o.Probes*r)
	jtz, err := chunked1(z, r, d, o.Batch, nil, m.vjp, done)
	if err != nil {
		return nil, fmt.Errorf("tail probes: %w", err)
	}
	res.Products += o.Probes
	tails := make([]float64, o.Probes)
	for j := range o.Probes {
		w := num.Float64s(jtz[j*d : (j+1)*d])
		for i := range l {
			vi := sub.V[i*d : (i+1)*d]
			num.Axpy(w, -num.DotMixed(w, vi), vi)
		}
		tails[j] = num.Dot64(w, w)
	}
	mean, std := meanStd(tails)
	res.Tail, res.TailStdErr = mean, std/math.Sqrt(float64(o.Probes))
	res.TailLow, res.TailHigh = max(0, mean-o.Z*res.TailStdErr), mean+o.Z*res.TailStdErr
	res.Rank, res.RankLow, res.RankHigh, res.Resolved = rankBounds(res.Ritz, res.Captured, res.Tail, res.TailHigh, m.maxRank(), o.Eta)
	return res, nil
}

// gramSpectrum returns the exact singular values (decreasing, min(rows, cols) of them) of the map from its Gram
// matrix on the smaller side: JᵀJ from JᵀJ·e_j when cols ≤ rows, J·Jᵀ from J·(Jᵀe_i) otherwise, batch products per
// call, and the SVD of the Gram matrix. Forming the Gram matrix squares the condition number: singular values
// below about 3·10⁻⁴·σ_max are rounding noise (float32 products), which does not affect the numerical rank (it keeps
// 98 % of the mass) or ‖J‖_F.
func gramSpectrum(m linearMap, batch int, done func(int)) ([]float64, error) {
	s := m.maxRank()
	if s > MaxExactDim {
		return nil, fmt.Errorf("the smaller side of the %d×%d Jacobian %s exceeds MaxExactDim = %d: use the estimate", m.rows, m.cols, m.name, MaxExactDim)
	}
	product := m.gram
	if m.rows < m.cols {
		product = func(us []float32) ([]float32, error) {
			w, err := m.vjp(us)
			if err != nil {
				return nil, err
			}
			return m.jvp(w)
		}
	}
	basis := make([]float32, s*s)
	for i := range s {
		basis[i*s+i] = 1
	}
	g, err := chunked1(basis, s, s, batchOrDefault(batch), nil, product, done)
	if err != nil {
		return nil, fmt.Errorf("Gram matrix of %s: %w", m.name, err)
	}
	sym := mat.NewDense(s, s, nil)
	for i := range s {
		for j := i; j < s; j++ {
			v := (float64(g[i*s+j]) + float64(g[j*s+i])) / 2
			sym.Set(i, j, v)
			sym.Set(j, i, v)
		}
	}
	// The Gram matrix is positive semi-definite, so its singular values are its eigenvalues; gonum's SVD without
	// vectors is about twice as fast as its symmetric eigen-decomposition at this size.
	ev, err := SingularValues(sym)
	if err != nil {
		return nil, fmt.Errorf("Gram matrix of %s: %w", m.name, err)
	}
	sv := make([]float64, s)
	for i, e := range ev {
		sv[i] = math.Sqrt(max(0, e))
	}
	return sv, nil
}
