package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// linearMap is a Jacobian J (rows×cols) at one point, known only through batched exact products. Every product
// takes k vectors (flat, k·n values) and returns k vectors.
type linearMap struct {
	name       string // for messages and progress bars, e.g. "∂x0/∂x"
	rows, cols int
	jvp        func(vs []float32) ([]float32, error) // J·v: k·cols → k·rows
	vjp        func(us []float32) ([]float32, error) // Jᵀ·u: k·rows → k·cols
	jtj        func(vs []float32) ([]float32, error) // JᵀJ·v: k·cols → k·cols; nil means vjp(jvp(v))
}

// maxRank is min(rows, cols), the largest rank J can have.
func (m linearMap) maxRank() int { return min(m.rows, m.cols) }

// gram returns JᵀJ·v, in one product when the map has one.
func (m linearMap) gram(vs []float32) ([]float32, error) {
	if m.jtj != nil {
		return m.jtj(vs)
	}
	u, err := m.jvp(vs)
	if err != nil {
		return nil, err
	}
	return m.vjp(u)
}

// estimateMap is EstimateSpectrum for any linear map: randomised subspace iteration on JᵀJ with l = k + oversampling
// vectors in the input space, the Ritz values of J·Vᵀ, and Hutchinson probes (in the output space) of the mass
// outside the subspace. The result's Dim is min(rows, cols). o must have its defaults filled in; mask is ignored
// (the map includes it).
func estimateMap(m linearMap, k int, o EstimateOptions) (*SpectrumEstimate, error) {
	d, r := m.cols, m.rows
	if k < 1 || k > m.maxRank() {
		return nil, fmt.Errorf("k = %d must be in [1, %d] (the %d×%d Jacobian's largest possible rank)", k, m.maxRank(), r, d)
	}
	l := min(k+o.Oversample, m.maxRank())
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eec7))
	bar := newBar(o.Progress, o.PowerIters*2*l+l+o.Probes, fmt.Sprintf("spectrum of %s (k=%d)", m.name, k))
	done := advance(bar)
	res := &SpectrumEstimate{Dim: m.maxRank(), Eta: o.Eta}

	v := make([]float64, l*d)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	orthonormalRows(v, l, d, rng)
	for it := range o.PowerIters {
		vhat, err := mapChunksTo(toF32(v), d, d, o.Batch, nil, m.gram, func(n int) { done(2 * n) })
		if err != nil {
			return nil, fmt.Errorf("power step %d: %w", it+1, err)
		}
		res.Products += 2 * l
		v = toF64(vhat)
		orthonormalRows(v, l, d, rng)
	}
	u, err := mapChunksTo(toF32(v), d, r, o.Batch, nil, m.jvp, done)
	if err != nil {
		return nil, fmt.Errorf("J·V: %w", err)
	}
	res.Products += l
	if res.Ritz, res.Captured, err = ritzValues(u, l, r); err != nil {
		return nil, err
	}
	res.Singular = slices.Clone(res.Ritz[:k])

	z := gaussian(rng, o.Probes*r)
	jtz, err := mapChunksTo(z, r, d, o.Batch, nil, m.vjp, done)
	if err != nil {
		return nil, fmt.Errorf("tail probes: %w", err)
	}
	res.Products += o.Probes
	tails := make([]float64, o.Probes)
	for j := range o.Probes {
		w := toF64(jtz[j*d : (j+1)*d])
		for i := range l {
			vi := v[i*d : (i+1)*d]
			c := dotF64(vi, w)
			for a := range w {
				w[a] -= c * vi[a]
			}
		}
		tails[j] = dotF64(w, w)
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
	g, err := mapChunksTo(basis, s, s, batchOrDefault(batch), nil, product, done)
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
