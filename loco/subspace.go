package loco

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// StopRule says when SubspaceIteration stops.
type StopRule int

const (
	// StopSubspace (the default) stops as soon as the subspace spanned by the basis has converged: the
	// largest principal angle between successive iterates is below Tol (sign- and rotation-invariant).
	StopSubspace StopRule = iota
	// StopFaithful is the authors' test: every entry of the basis changed by at most Tol + 1e-5·|v|, after more
	// than MinIter iterations. Sign flips of singular vectors keep it from passing, so it usually runs MaxIter.
	StopFaithful
)

// String implements fmt.Stringer.
func (s StopRule) String() string {
	if s == StopFaithful {
		return "faithful"
	}
	return "subspace"
}

// ParseStopRule parses "subspace" or "faithful".
func ParseStopRule(s string) (StopRule, error) {
	switch s {
	case "subspace", "":
		return StopSubspace, nil
	case "faithful":
		return StopFaithful, nil
	}
	return 0, fmt.Errorf("unknown stop rule %q (use subspace or faithful)", s)
}

// SubspaceOptions configure SubspaceIteration (Algorithm 1 / the authors' generalized power method).
type SubspaceOptions struct {
	// Rank is the number of singular vectors k.
	Rank int
	// MinIter and MaxIter bound the iterations; zero means the defaults (faithful: 10 and 50 like the authors;
	// subspace: 2 and 50).
	MinIter, MaxIter int
	// Stop selects the stopping rule.
	Stop StopRule
	// Tol is the threshold of the stopping rule; zero means 1e-4 (faithful, the authors' value) or 1e-3 (subspace:
	// sine of the largest principal angle between successive iterates).
	Tol float64
	// Init is an optional k×d start basis (rows, orthonormal); nil draws a Gaussian matrix with Seed and
	// orthonormalises it by QR.
	Init []float32
	// Seed seeds the random start.
	Seed uint64
	// Progress, if set, is called after each iteration with the iteration number (1-based) and the change measured
	// by the stopping rule.
	Progress func(iter int, change float64)
}

// Subspace is the result of SubspaceIteration: approximate top-k singular triplets of J.
type Subspace struct {
	// V holds the k right singular vectors as rows (k×d, the authors' vT).
	V []float32
	// S are the singular values, descending.
	S []float64
	// U holds J·v for the previous basis, un-normalised (k×d, the authors' u, transposed).
	U []float32
	// Iterations run, and Evaluations = Jacobian products used (one JVP and one VJP per vector per iteration).
	Iterations, Evaluations int
	// Residuals are ‖Jᵀu_i − s_i·v_i‖/s_i for u_i = J v_i/‖J v_i‖ of the last basis (0 for an exact singular pair).
	Residuals []float64
	// Change is the last value of the stopping rule's measure; Converged says whether it passed.
	Change    float64
	Converged bool
	// Rank and Dim are k and d.
	Rank, Dim int
}

// Row returns the i-th right singular vector.
func (s *Subspace) Row(i int) []float32 { return s.V[i*s.Dim : (i+1)*s.Dim] }

// JTJFunc computes, for k vectors V (rows, flat k·d), U = J·V and V̂ = Jᵀ·U (rows).
type JTJFunc func(v []float32) (u, vhat []float32, err error)

// subspaceState is one running subspace iteration; several run in lockstep in Pipeline.Subspaces.
type subspaceState struct {
	opts      SubspaceOptions
	dim       int
	v         *mat.Dense // k×d
	result    Subspace
	done      bool
	iteration int
}

func (o SubspaceOptions) withDefaults() SubspaceOptions {
	if o.MaxIter == 0 {
		o.MaxIter = 50
	}
	if o.MinIter == 0 {
		o.MinIter = 10
		if o.Stop == StopSubspace {
			o.MinIter = 2
		}
	}
	if o.Tol == 0 {
		o.Tol = 1e-4
		if o.Stop == StopSubspace {
			o.Tol = 1e-3
		}
	}
	return o
}

func newSubspaceState(dim int, opts SubspaceOptions) (*subspaceState, error) {
	opts = opts.withDefaults()
	k := opts.Rank
	if k <= 0 {
		return nil, fmt.Errorf("subspace rank must be positive, got %d", k)
	}
	if k > dim {
		return nil, fmt.Errorf("subspace rank %d exceeds the dimension %d", k, dim)
	}
	s := &subspaceState{opts: opts, dim: dim}
	if opts.Init != nil {
		if len(opts.Init) != k*dim {
			return nil, fmt.Errorf("start basis has %d values, want rank %d × dimension %d", len(opts.Init), k, dim)
		}
		s.v = mat.NewDense(k, dim, toF64(opts.Init))
	} else {
		s.v = RandomOrthonormal(k, dim, opts.Seed)
	}
	return s, nil
}

// RandomOrthonormal returns k×d orthonormal rows: the Q of a QR factorisation of a Gaussian d×k matrix, transposed.
func RandomOrthonormal(k, d int, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := mat.NewDense(d, k, nil)
	for i := range d {
		for j := range k {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	out := mat.NewDense(k, d, nil)
	out.Copy(q.Slice(0, d, 0, k).T())
	return out
}

// basis returns the current basis as flat float32 rows.
func (s *subspaceState) basis() []float32 { return toF32(s.v.RawMatrix().Data) }

// step consumes U = J·V and V̂ = Jᵀ·U for the current basis and moves to the next one.
func (s *subspaceState) step(u, vhat []float32) error {
	k, d := s.opts.Rank, s.dim
	s.iteration++
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
		ui := u[i*d : (i+1)*d]
		norm := 0.0
		for _, x := range ui {
			norm += float64(x) * float64(x)
		}
		norm = math.Sqrt(norm)
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
	s.result = Subspace{V: toF32(next.RawMatrix().Data), S: sqrtAll(values), U: u, Iterations: s.iteration,
		Evaluations: 2 * k * s.iteration, Residuals: res, Change: change, Converged: passed, Rank: k, Dim: d}
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

// SubspaceDistance is the sine of the largest principal angle between the row spaces of a and b (k×d, orthonormal
// rows): 0 for the same subspace whatever the signs and rotations of the bases, 1 when some direction of one is
// orthogonal to the other.
func SubspaceDistance(a, b mat.Matrix) float64 {
	var m mat.Dense
	m.Mul(a, b.T())
	var svd mat.SVD
	if !svd.Factorize(&m, mat.SVDNone) {
		return 1
	}
	vals := svd.Values(nil)
	minCos := 1.0
	for _, c := range vals {
		minCos = min(minCos, c)
	}
	return math.Sqrt(max(0, 1-minCos*minCos))
}

// SubspaceIteration runs Algorithm 1 (block power iteration on JᵀJ with SVD re-orthonormalisation) for a
// d-dimensional Jacobian given by jtj.
func SubspaceIteration(dim int, jtj JTJFunc, opts SubspaceOptions) (*Subspace, error) {
	s, err := newSubspaceState(dim, opts)
	if err != nil {
		return nil, err
	}
	for !s.done {
		u, vhat, err := jtj(s.basis())
		if err != nil {
			return nil, fmt.Errorf("subspace iteration %d: %w", s.iteration+1, err)
		}
		if err := s.step(u, vhat); err != nil {
			return nil, err
		}
	}
	return &s.result, nil
}

// SubspaceProblem is one subspace to compute at a point: the Jacobian of mask ⊙ out(x) (nil mask: all of it).
type SubspaceProblem struct {
	Mask []float32
	SubspaceOptions
}

// Subspaces computes several subspaces of the same Jacobian (e.g. of a mask and of its complement) at x, t:
// their iterations run in lockstep so each step evaluates every still-running basis in one batched graph.
func (p *Pipeline) Subspaces(output Output, x []float32, t float32, problems []SubspaceProblem) ([]*Subspace, error) {
	states := make([]*subspaceState, len(problems))
	for i, pr := range problems {
		if pr.Mask != nil {
			if len(pr.Mask) != p.dim {
				return nil, fmt.Errorf("subspace %d: mask has %d values, the model's samples have %d (C,H,W = %v)", i, len(pr.Mask), p.dim, p.shape)
			}
			if n := countNonzero(pr.Mask); n == 0 {
				return nil, fmt.Errorf("subspace %d: %w", i, ErrEmptyMask)
			} else if pr.Rank > n {
				return nil, fmt.Errorf("subspace %d: rank %d is larger than the %d masked values", i, pr.Rank, n)
			}
		}
		s, err := newSubspaceState(p.dim, pr.SubspaceOptions)
		if err != nil {
			return nil, fmt.Errorf("subspace %d: %w", i, err)
		}
		states[i] = s
	}
	ones := make([]float32, p.dim)
	for i := range ones {
		ones[i] = 1
	}
	for {
		var vs, masks []float32
		var active []*subspaceState
		for i, s := range states {
			if s.done {
				continue
			}
			active = append(active, s)
			vs = append(vs, s.basis()...)
			m := problems[i].Mask
			if m == nil {
				m = ones
			}
			for range s.opts.Rank {
				masks = append(masks, m...)
			}
		}
		if len(active) == 0 {
			break
		}
		u, vhat, err := p.JTJ(output, x, t, vs, masks)
		if err != nil {
			return nil, fmt.Errorf("subspace iteration %d: %w", active[0].iteration+1, err)
		}
		off := 0
		for _, s := range active {
			n := s.opts.Rank * p.dim
			if err := s.step(u[off:off+n], vhat[off:off+n]); err != nil {
				return nil, err
			}
			off += n
		}
	}
	out := make([]*Subspace, len(states))
	for i, s := range states {
		r := s.result
		out[i] = &r
	}
	return out, nil
}

func countNonzero(m []float32) int {
	n := 0
	for _, v := range m {
		if v != 0 {
			n++
		}
	}
	return n
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// ErrEmptyMask is returned when a mask selects nothing.
var ErrEmptyMask = errors.New("the mask is empty: it must select at least one value (check the mask image or region)")
