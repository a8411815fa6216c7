package loco

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

// krylovState is block Krylov subspace iteration on JᵀJ with full re-orthogonalisation and Rayleigh–Ritz
// extraction. It keeps every block it evaluated: the orthonormal basis B = [Q_0 … Q_j], U = J·B and
// W = JᵀJ·B (float32 rows). Each step
//
//  1. appends the evaluated block and updates the Gram matrix G = (J B)ᵀ(J B) = UᵀU;
//  2. eigen-decomposes G = Y Λ Yᵀ: the Ritz triplets are σ_i = √λ_i, v_i = B y_i, J v_i = U y_i, and
//     JᵀJ v_i = W y_i, so the residuals ‖JᵀJ v_i − σ_i² v_i‖ are exact without further products;
//  3. takes W_j orthogonalised (twice) against B and within the block as the next block Q_{j+1} (with blocks
//     of one vector this is Lanczos); a direction that vanishes (Krylov space exhausted) is replaced by a
//     random one, and none is added once B spans everything;
//  4. if the basis would exceed MaxBasis, compresses it to its best Ritz vectors (thick restart: their U and W
//     follow by the same linear combination, so no product is lost or recomputed).
type krylovState struct {
	opts     SubspaceOptions
	dim, k   int
	cand     int // Rank + Oversample, at most dim: the start vectors; a restart keeps at least cand+bsize
	bsize    int // vectors evaluated per iteration, at most cand
	maxBasis int

	q, u, w [][]float32 // stored basis rows, J·q, JᵀJ·q
	gram    [][]float64 // gram[i][j] = ⟨u_i, u_j⟩ for j ≤ i
	pending [][]float32 // the block to evaluate next
	rng     *rand.Rand

	iteration, evals int
	res              Subspace
	done             bool
}

// krylovMemory is the default memory budget of the stored Krylov vectors (three float32 vectors each).
const krylovMemory = 512 << 20

// krylovDeflation is the relative norm below which an orthogonalised direction counts as already spanned: the
// products are float32 (relative precision 6e-8), so anything smaller is rounding noise.
const krylovDeflation = 1e-6

// krylovFloor: the stopping rule measures the residual of a Ritz pair relative to max(σ_i², krylovFloor·σ_1²),
// so that pairs of (nearly) zero singular value, whose relative residual is float32 noise over zero, can pass.
const krylovFloor = 1e-2

func newKrylovState(dim int, opts SubspaceOptions) *krylovState {
	k := opts.Rank
	c := min(k+opts.Oversample, dim)
	b := min(opts.BlockSize, c)
	s := &krylovState{opts: opts, dim: dim, k: k, cand: c, bsize: b, rng: num.NewRand(opts.Seed, 0x6b7279)}
	s.maxBasis = opts.MaxBasis
	if s.maxBasis == 0 {
		s.maxBasis = min(400, krylovMemory/(12*dim))
	}
	s.maxBasis = min(max(s.maxBasis, 2*c+b), dim)
	var start [][]float64
	if opts.Init != nil {
		for i := range k {
			start = append(start, num.Float64s(opts.Init[i*dim:(i+1)*dim]))
		}
	} else {
		g := RandomOrthonormal(k, dim, opts.Seed)
		for i := range k {
			start = append(start, slices.Clone(g.RawRowView(i)))
		}
	}
	for len(start) < c {
		start = append(start, s.randomVector())
	}
	if b < c {
		// Seed a smaller block with random combinations of the start vectors, so every start direction
		// (e.g. a warm start from a nearby problem) takes part.
		seed := make([][]float64, b)
		for j := range seed {
			seed[j] = make([]float64, dim)
			for _, row := range start {
				g := s.rng.NormFloat64()
				for t, e := range row {
					seed[j][t] += g * e
				}
			}
		}
		start = seed
	}
	s.pending = s.orthonormalise(start)
	s.done = len(s.pending) == 0
	return s
}

func (s *krylovState) finished() bool    { return s.done }
func (s *krylovState) iterations() int   { return s.iteration }
func (s *krylovState) result() *Subspace { r := s.res; return &r }

func (s *krylovState) block() []float32 {
	out := make([]float32, 0, len(s.pending)*s.dim)
	for _, r := range s.pending {
		out = append(out, r...)
	}
	return out
}

func (s *krylovState) randomVector() []float64 { return num.Gaussian64(s.rng, s.dim) }

// orthonormalise orthogonalises the rows of x (twice) against the stored basis and each other and normalises
// them. A row that vanishes is replaced by a random direction; rows are dropped only once the stored basis
// and the block span the whole space.
func (s *krylovState) orthonormalise(x [][]float64) [][]float32 {
	var out [][]float32
	for _, v := range x {
		for try := 0; ; try++ {
			if len(s.q)+len(out) >= s.dim {
				return out
			}
			n0 := num.Norm64(v)
			n1 := num.Orthogonalize(v, s.q, out)
			if n0 > 0 && n1 > krylovDeflation*n0 {
				for i := range v {
					v[i] /= n1
				}
				out = append(out, num.Float32s(v))
				break
			}
			if try == 3 { // four random draws all inside the span: treat the space as exhausted
				return out
			}
			v = s.randomVector()
		}
	}
	return out
}

// step consumes U = J·block and V̂ = JᵀJ·block: it stores the block (phase 1), extracts the Ritz pairs (phase 2),
// and unless they have converged prepares the next block (phase 3), compressing the basis if needed (phase 4).
func (s *krylovState) step(u, w []float32) error {
	s.iteration++
	m0, err := s.store(u, w)
	if err != nil {
		return err
	}
	vecs, order, err := s.rayleighRitz()
	if err != nil {
		return err
	}
	if s.opts.Progress != nil {
		s.opts.Progress(s.iteration, s.res.Change)
	}
	if s.res.Converged || s.iteration >= s.opts.MaxIter {
		s.done = true
		return nil
	}
	s.pending = s.nextBlock(m0)
	if len(s.pending) == 0 {
		// B spans the whole space, so the Ritz pairs are exact up to rounding.
		s.done = true
		return nil
	}
	if len(s.q)+len(s.pending) > s.maxBasis {
		s.restart(vecs, order)
	}
	return nil
}

// store appends the evaluated block with its products to the basis and extends the Gram matrix (phase 1). It
// returns the index of the block's first row.
func (s *krylovState) store(u, w []float32) (int, error) {
	d, nb := s.dim, len(s.pending)
	if len(w) != nb*d || len(u) == 0 || len(u)%nb != 0 {
		return 0, fmt.Errorf("subspace iteration %d: got %d and %d values for J·V and JᵀJ·V, want %d vectors each (JᵀJ·V of %d)", s.iteration, len(u), len(w), nb, d)
	}
	for _, x := range [][]float32{u, w} {
		if err := checkFinite(x); err != nil {
			return 0, fmt.Errorf("subspace iteration %d: %w", s.iteration, err)
		}
	}
	l := len(u) / nb // output length of J
	if len(s.u) > 0 && len(s.u[0]) != l {
		return 0, fmt.Errorf("subspace iteration %d: J·V has %d values per vector, earlier %d", s.iteration, l, len(s.u[0]))
	}
	s.evals += 2 * nb
	m0 := len(s.q)
	for i := range nb {
		s.q = append(s.q, s.pending[i])
		s.u = append(s.u, slices.Clone(u[i*l:(i+1)*l]))
		s.w = append(s.w, slices.Clone(w[i*d:(i+1)*d]))
	}
	s.pending = nil
	s.extendGram(m0)
	return m0, nil
}

// extendGram adds the rows from..len(s.u)−1 of the Gram matrix ⟨u_i, u_j⟩ (j ≤ i).
func (s *krylovState) extendGram(from int) {
	for i := from; i < len(s.u); i++ {
		row := make([]float64, i+1)
		for j := range i + 1 {
			row[j] = num.Dot(s.u[i], s.u[j])
		}
		s.gram = append(s.gram, row)
	}
}

// rayleighRitz eigen-decomposes the Gram matrix of the stored basis (phase 2) and sets the result to the top
// Ritz pairs with their exact residuals and the stopping rule's verdict. It returns the eigenvectors and their
// order (descending eigenvalue) for a restart.
func (s *krylovState) rayleighRitz() (*mat.Dense, []int, error) {
	d, m, l := s.dim, len(s.q), len(s.u[0])
	g := mat.NewSymDense(m, nil)
	for i := range m {
		for j := range i + 1 {
			g.SetSym(i, j, s.gram[i][j])
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(g, true) {
		return nil, nil, fmt.Errorf("subspace iteration %d: eigen-decomposition of the %d×%d Ritz matrix did not converge", s.iteration, m, m)
	}
	vals := eig.Values(nil) // ascending
	vecs := &mat.Dense{}
	eig.VectorsTo(vecs)
	order := make([]int, m) // descending
	for i := range order {
		order[i] = m - 1 - i
	}
	top := max(vals[m-1], 0)

	k := min(s.k, m)
	res := Subspace{V: make([]float32, s.k*d), U: make([]float32, s.k*l), S: make([]float64, s.k),
		Residuals: make([]float64, s.k), Iterations: s.iteration, Evaluations: s.evals, Rank: s.k, Dim: d,
		Method: MethodKrylov}
	y := make([]float64, m)
	v, jv, r := make([]float64, d), make([]float64, l), make([]float64, d)
	worst := 0.0
	for i := range k {
		mat.Col(y, order[i], vecs)
		theta := max(vals[order[i]], 0)
		clear(v)
		clear(jv)
		clear(r)
		for j, c := range y {
			num.Axpy(v, c, s.q[j])
			num.Axpy(jv, c, s.u[j])
			num.Axpy(r, c, s.w[j])
		}
		for t := range r {
			r[t] -= theta * v[t]
		}
		rn := num.Norm64(r)
		res.S[i] = math.Sqrt(theta)
		res.Residuals[i] = relResidual(rn, theta)
		worst = max(worst, relResidual(rn, max(theta, krylovFloor*top)))
		copy(res.V[i*d:(i+1)*d], num.Float32s(v))
		copy(res.U[i*l:(i+1)*l], num.Float32s(jv))
	}
	if k < s.k { // fewer vectors evaluated than the rank: not converged yet
		worst = math.Inf(1)
		for i := k; i < s.k; i++ {
			res.Residuals[i] = math.Inf(1)
		}
	}
	res.Change = worst
	res.Converged = worst <= s.opts.Tol && s.iteration >= s.opts.MinIter
	s.res = res
	return vecs, order, nil
}

// nextBlock is JᵀJ times the latest block (rows m0 onwards), topped up with random vectors and orthogonalised
// against the basis (phase 3: block Krylov; with one vector per block, Lanczos).
func (s *krylovState) nextBlock(m0 int) [][]float32 {
	next := make([][]float64, 0, s.bsize)
	for i := m0; i < len(s.q); i++ {
		next = append(next, num.Float64s(s.w[i]))
	}
	for len(next) < s.bsize {
		next = append(next, s.randomVector())
	}
	return s.orthonormalise(next)
}

// restart compresses the stored basis to its top Ritz vectors (columns order[:keep] of vecs). The pending
// block is orthogonal to the old basis, hence to the new one.
func (s *krylovState) restart(vecs *mat.Dense, order []int) {
	keep := min(max(s.cand+s.bsize, s.maxBasis/2), s.maxBasis-len(s.pending), len(s.q))
	m := len(s.q)
	y := make([]float64, m)
	var q, u, w [][]float32
	combine := func(rows [][]float32) []float32 {
		acc := make([]float64, len(rows[0]))
		for j, c := range y {
			num.Axpy(acc, c, rows[j])
		}
		return num.Float32s(acc)
	}
	for i := range keep {
		mat.Col(y, order[i], vecs)
		q = append(q, combine(s.q))
		u = append(u, combine(s.u))
		w = append(w, combine(s.w))
	}
	s.q, s.u, s.w = q, u, w
	s.gram = s.gram[:0]
	s.extendGram(0)
}

// relResidual is rn/theta, 0 for rn = 0 and +Inf for theta = 0 < rn.
func relResidual(rn, theta float64) float64 {
	switch {
	case rn == 0:
		return 0
	case theta == 0:
		return math.Inf(1)
	}
	return rn / theta
}
