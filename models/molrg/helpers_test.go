package molrg

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/mlx"
)

// randomParams builds a small random MoLRG on [3,4,4] (d = 48) with unequal ranks (so the bases tensor is padded),
// random means, variances, residual variances and priors.
func randomParams(t testing.TB, seed uint64) *Params {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	c, h, w := 3, 4, 4
	d := c * h * w
	ranks := []int{3, 5, 4}
	k, r := len(ranks), 5
	cfg := defaultConfig(c, h, w, k, r)
	cfg.Ranks = ranks
	cfg.ClassNames = []string{"a", "b", "c"}
	p := &Params{Config: cfg}
	priors := []float64{0.5, 0.3, 0.2}
	for j := range k {
		mean := make([]float32, d)
		for i := range mean {
			mean[i] = float32(0.5 * rng.NormFloat64())
		}
		g := mat.NewDense(d, ranks[j], nil)
		for i := range d {
			for a := range ranks[j] {
				g.Set(i, a, rng.NormFloat64())
			}
		}
		var qr mat.QR
		qr.Factorize(g)
		var q mat.Dense
		qr.QTo(&q)
		basis := make([]float32, r*d)
		vars := make([]float32, r)
		for a := range ranks[j] {
			for i := range d {
				basis[a*d+i] = float32(q.At(i, a))
			}
			vars[a] = float32(0.2 + 3*rng.Float64())
		}
		p.Means = append(p.Means, mean)
		p.Bases = append(p.Bases, basis)
		p.Variances = append(p.Variances, vars)
		p.ResidualVariances = append(p.ResidualVariances, float32(0.01+0.05*rng.Float64()))
		p.Priors = append(p.Priors, float32(priors[j]))
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func newModel(t testing.TB, p *Params, name string) *Model {
	t.Helper()
	m, err := New(p, name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustEmbedded(t testing.TB) *Model {
	t.Helper()
	m, err := LoadEmbedded(EmbeddedName)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// evalModel runs fn(ctx, x, t, extra...) on the model's context and returns the outputs as float64.
func evalModel(t testing.TB, m *Model, fn func(ctx *context.Context, in []*Node) []*Node, inputs ...*tensors.Tensor) [][]float64 {
	t.Helper()
	b, err := mlx.Backend()
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]float64
	err = mlx.Call(func() {
		e := context.MustNewExec(b, m.Context(), fn)
		defer e.Finalize()
		args := make([]any, len(inputs))
		for i, in := range inputs {
			args[i] = in
		}
		for _, r := range e.MustExec(args...) {
			switch r.DType() {
			case dtypes.Float32:
				f := tensors.MustCopyFlatData[float32](r)
				o := make([]float64, len(f))
				for i, v := range f {
					o[i] = float64(v)
				}
				outs = append(outs, o)
			default:
				outs = append(outs, tensors.MustCopyFlatData[float64](r))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// predict64 evaluates Predict in float64 for b samples (flat x) at times ts.
func predict64(t testing.TB, m *Model, x []float64, ts []float32) []float64 {
	t.Helper()
	shape := append([]int{len(ts)}, m.SampleShape()...)
	return evalModel(t, m, func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.Predict(ctx, in[0], in[1])}
	}, tensors.FromFlatDataAndDimensions(x, shape...), tensors.FromFlatDataAndDimensions(ts, len(ts)))[0]
}

// jvp64 evaluates J·v (float64) for each row of x and v at the times ts.
func jvp64(t testing.TB, m *Model, x, v []float64, ts []float32) []float64 {
	t.Helper()
	shape := append([]int{len(ts)}, m.SampleShape()...)
	return evalModel(t, m, func(ctx *context.Context, in []*Node) []*Node {
		_, jv := mlx.JacobianVector(func(x *Node) *Node { return m.Predict(ctx, x, in[1]) }, in[0], in[2])
		return []*Node{jv}
	}, tensors.FromFlatDataAndDimensions(x, shape...), tensors.FromFlatDataAndDimensions(ts, len(ts)),
		tensors.FromFlatDataAndDimensions(v, shape...))[0]
}

// jacobian returns the full d×d Jacobian of the posterior mean at x (one sample) and time tt, computed with d
// batched exact JVPs against the identity; J.At(i, j) = ∂x̂0_i/∂x_j.
func jacobian(t testing.TB, m *Model, x []float64, tt float32) *mat.Dense {
	t.Helper()
	d := len(x)
	xs := make([]float64, d*d)
	vs := make([]float64, d*d)
	ts := make([]float32, d)
	for j := range d {
		copy(xs[j*d:], x)
		vs[j*d+j] = 1
		ts[j] = tt
	}
	cols := jvp64(t, m, xs, vs, ts)
	jac := mat.NewDense(d, d, nil)
	for j := range d {
		for i := range d {
			jac.Set(i, j, cols[j*d+i])
		}
	}
	return jac
}

func randn(rng *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = scale * rng.NormFloat64()
	}
	return v
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func maxAbs(a []float64) float64 {
	m := 0.0
	for _, v := range a {
		m = max(m, math.Abs(v))
	}
	return m
}

func norm(a []float64) float64 {
	s := 0.0
	for _, v := range a {
		s += v * v
	}
	return math.Sqrt(s)
}

// jvp32 evaluates J·v in float32 for one sample.
func jvp32(t testing.TB, m *Model, x, v []float32, tt float32) []float32 {
	t.Helper()
	shape := append([]int{1}, m.SampleShape()...)
	out := evalModel(t, m, func(ctx *context.Context, in []*Node) []*Node {
		_, jv := mlx.JacobianVector(func(x *Node) *Node { return m.Predict(ctx, x, in[1]) }, in[0], in[2])
		return []*Node{jv}
	}, tensors.FromFlatDataAndDimensions(x, shape...), tensors.FromFlatDataAndDimensions([]float32{tt}, 1),
		tensors.FromFlatDataAndDimensions(v, shape...))[0]
	return num.Float32s(out)
}

// evalModelPredictT1 evaluates Predict for a batch with a single time of shape [1].
func evalModelPredictT1(t testing.TB, m *Model, x []float64, tt float32) []float64 {
	t.Helper()
	b := len(x) / m.Params().Dim()
	return evalModel(t, m, func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.Predict(ctx, in[0], in[1])}
	}, tensors.FromFlatDataAndDimensions(x, append([]int{b}, m.SampleShape()...)...), tensors.FromFlatDataAndDimensions([]float32{tt}, 1))[0]
}

// predictValues is the model's x̂0 for a batch of flat samples, one time per sample, through a loco.Pipeline.
func predictValues(t testing.TB, m *Model, x, ts []float32) ([]float32, error) {
	t.Helper()
	p, err := loco.NewPipeline(m)
	if err != nil {
		return nil, err
	}
	_, x0, err := p.Predict(x, ts)
	return x0, err
}

// sampleDDIM runs deterministic DDIM on the 100-step LOCO grid from the noise of the seeds (one sample each).
func sampleDDIM(t testing.TB, m loco.Denoiser, seeds ...uint64) []float32 {
	t.Helper()
	p, err := loco.NewPipeline(m)
	if err != nil {
		t.Fatal(err)
	}
	xs, err := p.Sample(p.Noise(seeds...), 0, -1, loco.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return xs
}

// seedRange is start, start+1, …, start+n−1.
func seedRange(start, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(start + i)
	}
	return out
}
