package analysis

import (
	"fmt"
	"io"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
)

// MaxExactDim is the largest input dimension d for which FullJacobian forms the d×d Jacobian (d products and a
// dense SVD); above it use EstimateSpectrum and the stochastic Symmetry estimate.
const MaxExactDim = 4096

// JacobianOptions configure FullJacobian and Spectrum.
type JacobianOptions struct {
	// Mask, if set (d values, 1 inside and 0 outside), restricts the output: the Jacobian of Mask ⊙ out.
	Mask []float32
	// Batch is the number of Jacobian products per graph call (0: DefaultBatch).
	Batch int
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

// checkPoint validates one sample x for p.
func checkPoint(p *loco.Pipeline, x []float32) error {
	if p == nil {
		return fmt.Errorf("nil pipeline")
	}
	if len(x) != p.Dim() {
		return fmt.Errorf("x has %d values, want one sample of %d (C,H,W = %v)", len(x), p.Dim(), p.SampleShape())
	}
	return nil
}

// FullJacobian returns the d×d Jacobian J[i][j] = ∂out_i/∂x_j of out ∈ {x̂0, ε} at one sample x (d = C·H·W
// values, NCHW) and time t: JacobianRows of every row, i.e. d exact vector-Jacobian products of the standard
// basis, opts.Batch per graph call. It refuses d > MaxExactDim (d products and d² memory): use EstimateSpectrum
// there.
func FullJacobian(p *loco.Pipeline, out loco.Output, x []float32, t float32, opts JacobianOptions) (*mat.Dense, error) {
	if err := checkPoint(p, x); err != nil {
		return nil, fmt.Errorf("full Jacobian: %w", err)
	}
	d := p.Dim()
	if d > MaxExactDim {
		return nil, fmt.Errorf("full Jacobian: d = %d exceeds MaxExactDim = %d (it would take %d products and a %d×%d SVD): use EstimateSpectrum, or Symmetry with its stochastic estimate", d, MaxExactDim, d, d, d)
	}
	all := make([]int, d)
	for i := range all {
		all[i] = i
	}
	return JacobianRows(p, out, x, t, all, opts)
}

// JacobianRows returns the rows of the Jacobian of out at x, t with the given output indices (len(rows)×d): row i
// is Jᵀe_i, one vector-Jacobian product each, batched.
func JacobianRows(p *loco.Pipeline, out loco.Output, x []float32, t float32, rows []int, opts JacobianOptions) (*mat.Dense, error) {
	return jacobianSlice(p, out, x, t, rows, opts, false)
}

// JacobianColumns returns the columns of the Jacobian of out at x, t with the given input indices (d×len(cols)):
// column j is Je_j, one Jacobian-vector product each, batched.
func JacobianColumns(p *loco.Pipeline, out loco.Output, x []float32, t float32, cols []int, opts JacobianOptions) (*mat.Dense, error) {
	return jacobianSlice(p, out, x, t, cols, opts, true)
}

func jacobianSlice(p *loco.Pipeline, out loco.Output, x []float32, t float32, idx []int, opts JacobianOptions, columns bool) (*mat.Dense, error) {
	what := "rows"
	if columns {
		what = "columns"
	}
	if err := checkPoint(p, x); err != nil {
		return nil, fmt.Errorf("Jacobian %s: %w", what, err)
	}
	d := p.Dim()
	if opts.Mask != nil && len(opts.Mask) != d {
		return nil, fmt.Errorf("Jacobian %s: the mask has %d values, want %d", what, len(opts.Mask), d)
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("Jacobian %s: no indices given", what)
	}
	basis := make([]float32, len(idx)*d)
	for k, i := range idx {
		if i < 0 || i >= d {
			return nil, fmt.Errorf("Jacobian %s: index %d is outside [0, %d)", what, i, d)
		}
		basis[k*d+i] = 1
	}
	product := p.VJP
	if columns {
		product = p.JVP
	}
	bar := progress.New(opts.Progress, len(idx), fmt.Sprintf("Jacobian ∂%s/∂x %s (d=%d)", out, what, d))
	vs, err := chunked1(basis, d, d, batchOrDefault(opts.Batch), nil, func(b []float32) ([]float32, error) {
		return product(out, x, t, b, opts.Mask)
	}, func(n int) { progress.Add(bar, n) })
	if err != nil {
		return nil, fmt.Errorf("Jacobian %s at t = %g: %w", what, t, err)
	}
	m := mat.NewDense(len(idx), d, num.Float64s(vs))
	if columns {
		return mat.DenseCopyOf(m.T()), nil
	}
	return m, nil
}

// SingularValues returns the singular values of j in decreasing order.
func SingularValues(j mat.Matrix) ([]float64, error) {
	var svd mat.SVD
	if !svd.Factorize(j, mat.SVDNone) {
		r, c := j.Dims()
		return nil, fmt.Errorf("the SVD of the %d×%d Jacobian did not converge", r, c)
	}
	return svd.Values(nil), nil
}

// Spectrum returns the exact singular values (decreasing) of the Jacobian of out at x, t: FullJacobian followed
// by a dense SVD (d ≤ MaxExactDim).
func Spectrum(p *loco.Pipeline, out loco.Output, x []float32, t float32, opts JacobianOptions) ([]float64, error) {
	j, err := FullJacobian(p, out, x, t, opts)
	if err != nil {
		return nil, err
	}
	s, err := SingularValues(j)
	if err != nil {
		return nil, fmt.Errorf("spectrum at t = %g: %w", t, err)
	}
	return s, nil
}
