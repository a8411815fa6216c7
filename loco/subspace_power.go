package loco

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// powerState is the authors' generalized power method (Algorithm 1, spec §3): V ← right singular vectors of
// JᵀJ·V, keeping only the last block.
type powerState struct {
	opts      SubspaceOptions
	dim       int
	v         *mat.Dense // k×d
	res       Subspace
	done      bool
	iteration int
}

func newPowerState(dim int, opts SubspaceOptions) *powerState {
	s := &powerState{opts: opts, dim: dim}
	if opts.Init != nil {
		s.v = mat.NewDense(opts.Rank, dim, toF64(opts.Init))
	} else {
		s.v = RandomOrthonormal(opts.Rank, dim, opts.Seed)
	}
	return s
}

func (s *powerState) block() []float32  { return toF32(s.v.RawMatrix().Data) }
func (s *powerState) finished() bool    { return s.done }
func (s *powerState) iterations() int   { return s.iteration }
func (s *powerState) result() *Subspace { r := s.res; return &r }

// step consumes U = J·V and V̂ = Jᵀ·U for the current basis and moves to the next one.
func (s *powerState) step(u, vhat []float32) error {
	k, d := s.opts.Rank, s.dim
	s.iteration++
	if len(vhat) != k*d || len(u) == 0 || len(u)%k != 0 {
		return fmt.Errorf("subspace iteration %d: got %d and %d values for J·V and JᵀJ·V, want %d vectors each (JᵀJ·V of %d)", s.iteration, len(u), len(vhat), k, d)
	}
	l := len(u) / k // output length of J
	for _, x := range [][]float32{u, vhat} {
		if err := checkFinite(x); err != nil {
			return fmt.Errorf("subspace iteration %d: %w", s.iteration, err)
		}
	}
	vh := mat.NewDense(k, d, toF64(vhat))
	var svd mat.SVD
	if !svd.Factorize(vh, mat.SVDThin) {
		return fmt.Errorf("subspace iteration %d: SVD of the %d×%d product did not converge", s.iteration, k, d)
	}
	values := svd.Values(nil)
	var right mat.Dense
	svd.VTo(&right) // d×k
	next := mat.NewDense(k, d, nil)
	next.Copy(right.T())

	// Ritz residuals of the previous basis: u_i = U_i/‖U_i‖ and ‖Jᵀu_i − ‖U_i‖ v_i‖/‖U_i‖.
	res := make([]float64, k)
	for i := range k {
		ui := u[i*l : (i+1)*l]
		norm := math.Sqrt(dot32(ui, ui))
		if norm == 0 {
			res[i] = math.NaN()
			continue
		}
		r := 0.0
		for j := range d {
			diff := float64(vhat[i*d+j])/norm - norm*s.v.At(i, j)
			r += diff * diff
		}
		res[i] = math.Sqrt(r) / norm
	}

	change := 0.0
	passed := false
	switch s.opts.Stop {
	case StopFaithful:
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
		passed = passed && s.iteration > s.opts.MinIter+1 // the authors' `i > min_iter` with i counted from 0
	default:
		change = SubspaceDistance(s.v, next)
		passed = change <= s.opts.Tol && s.iteration >= s.opts.MinIter
	}
	s.res = Subspace{V: toF32(next.RawMatrix().Data), S: sqrtAll(values), U: u, Iterations: s.iteration,
		Evaluations: 2 * k * s.iteration, Residuals: res, Change: change, Converged: passed, Rank: k, Dim: d,
		Method: MethodPower}
	s.v = next
	if s.opts.Progress != nil {
		s.opts.Progress(s.iteration, change)
	}
	s.done = passed || s.iteration >= s.opts.MaxIter
	return nil
}

func sqrtAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Sqrt(max(x, 0))
	}
	return out
}
