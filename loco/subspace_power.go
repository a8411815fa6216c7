package loco

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

// powerState is the authors' generalized power method (Algorithm 1; docs/method.md §6.1):
// V ← right singular vectors of JᵀJ·V, keeping only the last block.
type powerState struct {
	opts      SubspaceOptions
	dim       int
	v         *mat.Dense // k×d, the block evaluated next
	res       Subspace
	done      bool
	iteration int
}

func newPowerState(dim int, opts SubspaceOptions) *powerState {
	s := &powerState{opts: opts, dim: dim}
	if opts.Init != nil {
		s.v = mat.NewDense(opts.Rank, dim, num.Float64s(opts.Init))
	} else {
		s.v = RandomOrthonormal(opts.Rank, dim, opts.Seed)
	}
	return s
}

func (s *powerState) block() []float32  { return num.Float32s(s.v.RawMatrix().Data) }
func (s *powerState) finished() bool    { return s.done }
func (s *powerState) iterations() int   { return s.iteration }
func (s *powerState) result() *Subspace { r := s.res; return &r }

// step consumes U = J·V and V̂ = JᵀJ·V for the current basis V and moves to the next one, the right singular
// vectors of V̂. The result is, with the faithful stop, the authors' output (that next basis, the square roots of
// V̂'s singular values, and U and the residuals of V); with the subspace stop, like Krylov's, the Ritz pairs of
// span(V) with their exact U = J·v_i and residuals.
func (s *powerState) step(u, vhat []float32) error {
	k, d := s.opts.Rank, s.dim
	s.iteration++
	if len(vhat) != k*d || len(u) == 0 || len(u)%k != 0 {
		return fmt.Errorf("subspace iteration %d: got %d and %d values for J·V and JᵀJ·V, want %d vectors each (JᵀJ·V of %d)", s.iteration, len(u), len(vhat), k, d)
	}
	for _, x := range [][]float32{u, vhat} {
		if err := checkFinite(x); err != nil {
			return fmt.Errorf("subspace iteration %d: %w", s.iteration, err)
		}
	}
	next, values, err := rightSingularVectors(vhat, k, d)
	if err != nil {
		return fmt.Errorf("subspace iteration %d: %w", s.iteration, err)
	}
	change, passed := s.stopRule(next)
	if s.opts.Stop == StopFaithful {
		s.res = Subspace{V: num.Float32s(next.RawMatrix().Data), S: sqrtAll(values), U: u,
			Residuals: powerResiduals(s.v, u, vhat, k, d)}
	} else if s.res, err = ritzPairs(s.v, u, vhat, k, d); err != nil {
		return fmt.Errorf("subspace iteration %d: %w", s.iteration, err)
	}
	s.res.Iterations, s.res.Evaluations, s.res.Change, s.res.Converged = s.iteration, 2*k*s.iteration, change, passed
	s.res.Rank, s.res.Dim, s.res.Method = k, d, MethodPower
	s.v = next
	if s.opts.Progress != nil {
		s.opts.Progress(s.iteration, change)
	}
	s.done = passed || s.iteration >= s.opts.MaxIter
	return nil
}

// stopRule measures the change from the current basis to next and says whether the iteration may stop.
func (s *powerState) stopRule(next *mat.Dense) (change float64, passed bool) {
	if s.opts.Stop != StopFaithful {
		change = SubspaceDistance(s.v, next)
		return change, change <= s.opts.Tol && s.iteration >= s.opts.MinIter
	}
	k, d := next.Dims()
	passed = true
	for i := range k {
		for j := range d {
			a, b := s.v.At(i, j), next.At(i, j)
			diff := math.Abs(a - b)
			change = max(change, diff)
			if diff > s.opts.Tol+1e-5*math.Abs(b) {
				passed = false
			}
		}
	}
	return change, passed && s.iteration > s.opts.MinIter+1 // the authors' `i > min_iter` with i counted from 0
}

// rightSingularVectors returns the right singular vectors of the k×d matrix a (rows) and its singular values,
// descending. For one row the sign is LAPACK's, which the authors' torch.linalg.svd uses: the vector is
// −sign(a_0)·a/‖a‖, so its first entry is never positive. (For several rows the signs are gonum's: no rule
// reproduces LAPACK's there, and the subspace is the same.)
func rightSingularVectors(a []float32, k, d int) (*mat.Dense, []float64, error) {
	if k == 1 {
		v := num.Float64s(a)
		n := num.Norm64(v)
		if n == 0 {
			return nil, nil, fmt.Errorf("JᵀJ·V is zero: the Jacobian vanishes on the start vector")
		}
		scale := -1 / n
		if v[0] < 0 {
			scale = 1 / n
		}
		for i := range v {
			v[i] *= scale
		}
		return mat.NewDense(1, d, v), []float64{n}, nil
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(k, d, num.Float64s(a)), mat.SVDThin) {
		return nil, nil, fmt.Errorf("SVD of the %d×%d product did not converge", k, d)
	}
	var right mat.Dense
	svd.VTo(&right) // d×k
	next := mat.NewDense(k, d, nil)
	next.Copy(right.T())
	return next, svd.Values(nil), nil
}

// powerResiduals are the residuals ‖Jᵀu_i − ‖U_i‖ v_i‖/‖U_i‖ of the basis v (u_i = U_i/‖U_i‖; NaN where U_i = 0).
func powerResiduals(v *mat.Dense, u, vhat []float32, k, d int) []float64 {
	l := len(u) / k
	res := make([]float64, k)
	for i := range k {
		ui := u[i*l : (i+1)*l]
		norm := math.Sqrt(num.Dot(ui, ui))
		if norm == 0 {
			res[i] = math.NaN()
			continue
		}
		r := 0.0
		for j := range d {
			diff := float64(vhat[i*d+j])/norm - norm*v.At(i, j)
			r += diff * diff
		}
		res[i] = math.Sqrt(r) / norm
	}
	return res
}

// ritzPairs are the Ritz pairs of span(v) for k rows v with U = J·v and V̂ = JᵀJ·v: the eigen-decomposition
// Y Λ Yᵀ of the Gram matrix U Uᵀ gives σ_i = √λ_i, vectors Yᵀv, J·(Yᵀv) = YᵀU and JᵀJ·(Yᵀv) = YᵀV̂, hence exact
// residuals ‖JᵀJ x_i − σ_i² x_i‖/σ_i².
func ritzPairs(v *mat.Dense, u, vhat []float32, k, d int) (Subspace, error) {
	l := len(u) / k
	g := mat.NewSymDense(k, nil)
	for i := range k {
		for j := range i + 1 {
			g.SetSym(i, j, num.Dot(u[i*l:(i+1)*l], u[j*l:(j+1)*l]))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(g, true) {
		return Subspace{}, fmt.Errorf("eigen-decomposition of the %d×%d Ritz matrix did not converge", k, k)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	res := Subspace{V: make([]float32, k*d), U: make([]float32, k*l), S: make([]float64, k), Residuals: make([]float64, k)}
	x, jx, r := make([]float64, d), make([]float64, l), make([]float64, d)
	for i := range k {
		col := k - 1 - i
		theta := max(vals[col], 0)
		clear(x)
		clear(jx)
		clear(r)
		for j := range k {
			c := vecs.At(j, col)
			for t, e := range v.RawRowView(j) {
				x[t] += c * e
			}
			num.Axpy(jx, c, u[j*l:(j+1)*l])
			num.Axpy(r, c, vhat[j*d:(j+1)*d])
		}
		for t := range r {
			r[t] -= theta * x[t]
		}
		res.S[i] = math.Sqrt(theta)
		res.Residuals[i] = relResidual(num.Norm64(r), theta)
		copy(res.V[i*d:(i+1)*d], num.Float32s(x))
		copy(res.U[i*l:(i+1)*l], num.Float32s(jx))
	}
	return res, nil
}

func sqrtAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Sqrt(max(x, 0))
	}
	return out
}
