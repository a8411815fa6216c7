package loco

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

// StopRule says when SubspaceIteration stops.
type StopRule int

const (
	// StopSubspace (the default) stops as soon as the subspace has converged. With MethodKrylov the measure
	// is the largest relative residual ‖JᵀJ v_i − σ_i² v_i‖/max(σ_i², 0.01·σ_1²) of the top-k Ritz pairs (exact,
	// from products already computed; it bounds the angle of v_i to the exact singular vector by
	// Tol·σ_i²/gap_i); with MethodPower it is the sine of the largest principal angle between successive
	// iterates (sign- and rotation-invariant).
	StopSubspace StopRule = iota
	// StopFaithful is the authors' test: every entry of the basis changed by at most Tol + 1e-5·|v|, after more
	// than MinIter iterations. Sign flips of singular vectors keep it from passing, so it usually runs MaxIter.
	// It implies MethodPower.
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

// Method selects the algorithm of SubspaceIteration.
type Method int

const (
	// MethodKrylov (the default) is block Krylov subspace iteration on JᵀJ with full re-orthogonalisation and
	// Rayleigh–Ritz extraction: every product ever computed is kept, so it needs far fewer Jacobian products
	// than the power method, above all when the singular values are close together.
	MethodKrylov Method = iota
	// MethodPower is the authors' generalized power method (Algorithm 1): block power iteration on JᵀJ with SVD
	// re-orthonormalisation, which keeps only the last block.
	MethodPower
)

// String implements fmt.Stringer.
func (m Method) String() string {
	if m == MethodPower {
		return "power"
	}
	return "krylov"
}

// ParseMethod parses "krylov" or "power".
func ParseMethod(s string) (Method, error) {
	switch s {
	case "krylov", "":
		return MethodKrylov, nil
	case "power":
		return MethodPower, nil
	}
	return 0, fmt.Errorf("unknown subspace method %q (use krylov or power)", s)
}

// SubspaceOptions configure SubspaceIteration (Algorithm 1 and its faster replacement).
type SubspaceOptions struct {
	// Rank is the number of singular vectors k.
	Rank int
	// Method selects the algorithm; StopFaithful forces MethodPower.
	Method Method
	// MinIter and MaxIter bound the iterations (one iteration = one batched Jacobian product of the current
	// block); zero means the defaults: power with the faithful stop 10 and 50 like the authors, power with the
	// subspace stop 2 and 50, Krylov 1 and ⌈50·Rank/BlockSize⌉ (never more products than 50 power iterations).
	MinIter, MaxIter int
	// Stop selects the stopping rule.
	Stop StopRule
	// Tol is the threshold of the stopping rule; zero means 1e-4 (faithful, the authors' value), 1e-3 (power,
	// subspace stop: sine of the largest principal angle between successive iterates) or DefaultKrylovTol
	// (Krylov: largest relative Ritz residual of the top k).
	Tol float64
	// BlockSize is the number of vectors the Krylov method evaluates per iteration. Zero means DefaultBlockSize
	// (1: Lanczos on JᵀJ, the fewest products on flat spectra); Rank+Oversample is the classical block Krylov
	// method (fewer, larger batched calls, more products in all). It is capped at Rank+Oversample. Ignored by
	// the power method.
	BlockSize int
	// Oversample adds this many random vectors to the Krylov start set (Rank+Oversample vectors: the first block
	// when BlockSize is that large, else random combinations of them seed the smaller block) and to the Ritz
	// vectors a thick restart keeps; the top Rank Ritz pairs are returned. Zero or negative: none. Ignored by
	// the power method.
	Oversample int
	// MaxBasis caps the number of vectors the Krylov method stores (three float32 vectors of the sample size
	// each: the basis, J·basis and JᵀJ·basis); when the next block would pass it, the basis is compressed to its
	// best Ritz vectors (thick restart, no extra products). Zero means a cap of about 512 MiB, at most 400 vectors.
	MaxBasis int
	// Init is an optional k×d start basis (rows, orthonormal); nil draws a Gaussian matrix with Seed and
	// orthonormalises it by QR. Krylov orthonormalises its start block, made of Init's rows when BlockSize ≥
	// Rank+Oversample and of random (Seed) combinations of them otherwise.
	Init []float32
	// Seed seeds the random start.
	Seed uint64
	// Progress, if set, is called after each iteration with the iteration number (1-based) and the change measured
	// by the stopping rule.
	Progress func(iter int, change float64)
}

const (
	// DefaultKrylovTol is the default Tol of the Krylov method: the largest relative Ritz residual
	// ‖JᵀJ v_i − σ_i² v_i‖/σ_i² of the top k pairs.
	DefaultKrylovTol = 1e-3
	// DefaultBlockSize is the default number of vectors the Krylov method evaluates per iteration (Lanczos).
	DefaultBlockSize = 1
)

// Subspace is the result of SubspaceIteration: approximate top-k singular triplets of J.
type Subspace struct {
	// V holds the k right singular vectors as rows (k×d, the authors' vT).
	V []float32
	// S are the singular values, descending.
	S []float64
	// U holds J·v_i for each returned row v_i (k rows of J's output length; norm S_i).
	U []float32
	// Iterations run, and Evaluations = Jacobian products used (one JVP and one VJP per vector per iteration).
	Iterations, Evaluations int
	// Residuals are the relative residuals ‖JᵀJ v_i − S_i² v_i‖/S_i² of the returned rows (0 for an exact
	// singular pair; they bound the angle to the exact singular vector by Residual·σ_i²/gap_i).
	//
	// With StopFaithful the power method returns the authors' output instead, whose rows are one power step
	// past its last products: V = the right singular vectors of JᵀJ·V_prev, S = the square roots of their
	// singular values, and U and Residuals those of V_prev (the authors' un-normalised u).
	Residuals []float64
	// Change is the last value of the stopping rule's measure; Converged says whether it passed.
	Change    float64
	Converged bool
	// Rank and Dim are k and d.
	Rank, Dim int
	// Method is the algorithm that produced the result.
	Method Method
}

// Row returns the i-th right singular vector.
func (s *Subspace) Row(i int) []float32 { return s.V[i*s.Dim : (i+1)*s.Dim] }

// JTJFunc computes, for k vectors V (rows, flat k·d), U = J·V (k rows of J's output length L) and V̂ = Jᵀ·U
// (k rows of d).
type JTJFunc func(v []float32) (u, vhat []float32, err error)

// subspaceIterator is one running subspace computation; several run in lockstep in Pipeline.Subspaces.
type subspaceIterator interface {
	// block returns the vectors to evaluate next (rows, flat).
	block() []float32
	// step consumes U = J·block and V̂ = JᵀJ·block.
	step(u, vhat []float32) error
	// finished says whether the iteration is over.
	finished() bool
	// result returns the current result.
	result() *Subspace
	// iterations returns the number of steps taken.
	iterations() int
}

func (o SubspaceOptions) withDefaults() SubspaceOptions {
	if o.Stop == StopFaithful {
		o.Method = MethodPower
	}
	o.Oversample = max(o.Oversample, 0)
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	o.BlockSize = max(min(o.BlockSize, o.Rank+o.Oversample), 1)
	if o.MaxIter == 0 {
		o.MaxIter = 50
		if o.Method == MethodKrylov { // at most the products of 50 power iterations
			o.MaxIter = (50*o.Rank + o.BlockSize - 1) / o.BlockSize
		}
	}
	if o.MinIter == 0 {
		switch {
		case o.Stop == StopFaithful:
			o.MinIter = 10
		case o.Method == MethodPower:
			o.MinIter = 2
		default:
			o.MinIter = 1
		}
	}
	if o.Tol == 0 {
		switch {
		case o.Stop == StopFaithful:
			o.Tol = 1e-4
		case o.Method == MethodPower:
			o.Tol = 1e-3
		default:
			o.Tol = DefaultKrylovTol
		}
	}
	return o
}

// newSubspaceIterator validates opts and starts the chosen method for a d-dimensional Jacobian.
func newSubspaceIterator(dim int, opts SubspaceOptions) (subspaceIterator, error) {
	opts = opts.withDefaults()
	k := opts.Rank
	if k <= 0 {
		return nil, fmt.Errorf("subspace rank must be positive, got %d", k)
	}
	if k > dim {
		return nil, fmt.Errorf("subspace rank %d exceeds the dimension %d", k, dim)
	}
	if opts.Init != nil && len(opts.Init) != k*dim {
		return nil, fmt.Errorf("start basis has %d values, want rank %d × dimension %d", len(opts.Init), k, dim)
	}
	if opts.MinIter < 0 || opts.MaxIter < 0 || opts.Tol < 0 {
		return nil, fmt.Errorf("subspace options: MinIter %d, MaxIter %d and Tol %g must not be negative", opts.MinIter, opts.MaxIter, opts.Tol)
	}
	switch opts.Method {
	case MethodPower:
		return newPowerState(dim, opts), nil
	case MethodKrylov:
		return newKrylovState(dim, opts), nil
	}
	return nil, fmt.Errorf("unknown subspace method %d (use MethodKrylov or MethodPower)", opts.Method)
}

// RandomOrthonormal returns k×d orthonormal rows: the Q of a QR factorisation of a Gaussian d×k matrix, transposed.
func RandomOrthonormal(k, d int, seed uint64) *mat.Dense {
	return mat.DenseCopyOf(num.OrthonormalColumns(num.NewRand(seed, 0x5eed), d, k).T())
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

// PrincipalCosines returns the cosines of the principal angles between the row spaces of a (ka×dim) and
// b (kb×dim), both with orthonormal rows, in descending order (min(ka, kb) values). The last one is the
// "overlap" of the LOCO-Edit golden checks (0.1925 for the authors' rank-5 null subspace against the exact
// one); the mean of their squares is ‖A Bᵀ‖_F²/min(ka, kb).
func PrincipalCosines(a, b []float32, dim int) ([]float64, error) {
	if dim <= 0 || len(a) == 0 || len(b) == 0 || len(a)%dim != 0 || len(b)%dim != 0 {
		return nil, fmt.Errorf("principal angles: bases of %d and %d values are not non-empty sets of rows of %d", len(a), len(b), dim)
	}
	am := mat.NewDense(len(a)/dim, dim, num.Float64s(a))
	bm := mat.NewDense(len(b)/dim, dim, num.Float64s(b))
	var m mat.Dense
	m.Mul(am, bm.T())
	var svd mat.SVD
	if !svd.Factorize(&m, mat.SVDNone) {
		return nil, errors.New("principal angles: the SVD did not converge")
	}
	return svd.Values(nil), nil
}

// SubspaceIteration computes the top-k right singular vectors of a d-dimensional Jacobian given by jtj, with
// the block Krylov method (default) or the authors' power method (Algorithm 1).
func SubspaceIteration(dim int, jtj JTJFunc, opts SubspaceOptions) (*Subspace, error) {
	s, err := newSubspaceIterator(dim, opts)
	if err != nil {
		return nil, err
	}
	for !s.finished() {
		u, vhat, err := jtj(s.block())
		if err != nil {
			return nil, fmt.Errorf("subspace iteration %d: %w", s.iterations()+1, err)
		}
		if err := s.step(u, vhat); err != nil {
			return nil, err
		}
	}
	return s.result(), nil
}

// SubspaceProblem is one subspace to compute at a point: the Jacobian of mask ⊙ out(x) (nil mask: all of it).
type SubspaceProblem struct {
	Mask []float32
	SubspaceOptions
}

// BatchJTJFunc computes U = J_i·V_i and V̂ = J_iᵀ·U_i for a batch of vectors V (rows, flat) where J_i is the
// Jacobian restricted to the mask of row i (masks: one row of d values per vector).
type BatchJTJFunc func(vs, masks []float32) (u, vhat []float32, err error)

// Subspaces computes several subspaces of the same Jacobian (e.g. of a mask and of its complement) at x, t:
// their iterations run in lockstep so each step evaluates every still-running block in one batched graph.
func (p *Pipeline) Subspaces(output Output, x []float32, t float32, problems []SubspaceProblem) ([]*Subspace, error) {
	return subspacesLockstep(p.dim, p.outputShape(output), problems, func(vs, masks []float32) ([]float32, []float32, error) {
		return p.JTJ(output, x, t, vs, masks)
	})
}

// subspacesLockstep runs several subspace problems of dimension dim in lockstep with one batched product per step;
// masks have the output's shape.
func subspacesLockstep(dim int, outShape []int, problems []SubspaceProblem, jtj BatchJTJFunc) ([]*Subspace, error) {
	outDim := outShape[0] * outShape[1] * outShape[2]
	states := make([]subspaceIterator, len(problems))
	for i, pr := range problems {
		if pr.Mask != nil {
			if len(pr.Mask) != outDim {
				return nil, fmt.Errorf("subspace %d: mask has %d values, the model's outputs have %d (C,H,W = %v)", i, len(pr.Mask), outDim, outShape)
			}
			if n := countNonzero(pr.Mask); n == 0 {
				return nil, fmt.Errorf("subspace %d: %w", i, ErrEmptyMask)
			} else if pr.Rank > n {
				return nil, fmt.Errorf("subspace %d: rank %d is larger than the %d masked values", i, pr.Rank, n)
			}
		}
		s, err := newSubspaceIterator(dim, pr.SubspaceOptions)
		if err != nil {
			return nil, fmt.Errorf("subspace %d: %w", i, err)
		}
		states[i] = s
	}
	ones := make([]float32, outDim)
	for i := range ones {
		ones[i] = 1
	}
	for {
		var vs, masks []float32
		var active []subspaceIterator
		var sizes []int
		for i, s := range states {
			if s.finished() {
				continue
			}
			b := s.block()
			active = append(active, s)
			sizes = append(sizes, len(b))
			vs = append(vs, b...)
			m := problems[i].Mask
			if m == nil {
				m = ones
			}
			for range len(b) / dim {
				masks = append(masks, m...)
			}
		}
		if len(active) == 0 {
			break
		}
		u, vhat, err := jtj(vs, masks)
		if err != nil {
			return nil, fmt.Errorf("subspace iteration %d: %w", active[0].iterations()+1, err)
		}
		if rows := len(vs) / dim; len(u) != rows*outDim || len(vhat) != len(vs) {
			return nil, fmt.Errorf("subspace iteration %d: the Jacobian products returned %d and %d values for %d vectors (want %d and %d)",
				active[0].iterations()+1, len(u), len(vhat), rows, rows*outDim, len(vs))
		}
		off, uoff := 0, 0
		for j, s := range active {
			n := sizes[j]
			un := n / dim * outDim
			if err := s.step(u[uoff:uoff+un], vhat[off:off+n]); err != nil {
				return nil, err
			}
			off, uoff = off+n, uoff+un
		}
	}
	out := make([]*Subspace, len(states))
	for i, s := range states {
		out[i] = s.result()
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

// ErrEmptyMask is returned when a mask selects nothing.
var ErrEmptyMask = errors.New("the mask is empty: it must select at least one value (check the mask image or region)")
