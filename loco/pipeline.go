package loco

import (
	"fmt"
	"math"
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/mlx"
)

// Output selects the function whose Jacobian is taken.
type Output int

const (
	// OutputX0 is the posterior-mean predictor x̂0(x_t) = (x_t − √(1−ᾱ)·ε)/√ᾱ (the paper's PMP).
	OutputX0 Output = iota
	// OutputEps is the noise prediction ε(x_t) (the "∂ε/∂x" variant of Table 1).
	OutputEps
)

// String implements fmt.Stringer.
func (o Output) String() string {
	if o == OutputEps {
		return "eps"
	}
	return "x0"
}

// ParseOutput parses "x0" or "eps".
func ParseOutput(s string) (Output, error) {
	switch s {
	case "x0", "":
		return OutputX0, nil
	case "eps":
		return OutputEps, nil
	}
	return 0, fmt.Errorf("unknown output %q (use x0 or eps)", s)
}

// Pipeline runs a Denoiser's graphs: ε and x̂0 for batches, exact Jacobian products of x̂0 (or ε), optionally
// restricted to a mask, sampling and inversion, and the edit pipeline (EditJob).
//
// Two shapes matter. The edited variable x_t has SampleShape (Dim values): latents, directions and sampler states
// have it. The PMP output x̂0 has OutputShape (OutputDim values): masks and the outputs of Jacobian products live
// there. For a pixel-space model both are the image shape.
//
// Tensors are flat float32 slices in NCHW order; a batch of n samples is n·Dim values. Graphs are compiled once
// per input shape and reused. A Pipeline is safe for use by one goroutine at a time.
type Pipeline struct {
	Model   Denoiser
	ctx     *context.Context // the model's weights
	graphs  mlx.Graphs
	shape   []int // C,H,W of x_t
	dim     int
	out     []int // shape of x̂0
	outDim  int
	sampler Sampler
}

// NewPipeline prepares m to run on the shared backend (mlx.Backend, from $GOMLX_BACKEND).
func NewPipeline(m Denoiser) (*Pipeline, error) {
	if _, err := mlx.Backend(); err != nil {
		return nil, err
	}
	shape := m.SampleShape()
	if len(shape) != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 {
		return nil, fmt.Errorf("model %s: sample shape %v is not [C,H,W]", m.Name(), shape)
	}
	p := &Pipeline{Model: m, ctx: m.Context(), shape: slices.Clone(shape), dim: shape[0] * shape[1] * shape[2], sampler: DDIM}
	if p.ctx == nil {
		p.ctx = context.New()
	}
	p.out, p.outDim = p.shape, p.dim
	if sp, ok := m.(SamplerProvider); ok {
		p.sampler = sp.Sampler()
	}
	return p, nil
}

// Dim is the number of values of one x_t (C·H·W).
func (p *Pipeline) Dim() int { return p.dim }

// SampleShape is the shape [C,H,W] of the edited variable x_t.
func (p *Pipeline) SampleShape() []int { return p.shape }

// OutputShape is the shape of the PMP output x̂0 (and of masks).
func (p *Pipeline) OutputShape() []int { return p.out }

// OutputDim is the number of values of one x̂0.
func (p *Pipeline) OutputDim() int { return p.outDim }

// RunGraph runs a graph function of the model's weights on tensors: it is compiled on first use under name in
// the pipeline's cache (other packages build their graphs there, e.g. the bottleneck analyses).
func (p *Pipeline) RunGraph(name string, fn mlx.GraphFn, inputs ...*tensors.Tensor) ([]*tensors.Tensor, error) {
	out, err := p.graphs.Run(p.ctx.Reuse(), name, fn, inputs...)
	if err != nil {
		return nil, fmt.Errorf("model %s: running %s: %w", p.Model.Name(), name, err)
	}
	return out, nil
}

// RunFloat32 is RunGraph on flat float32 inputs of the given dimensions, with flat float32 outputs.
func (p *Pipeline) RunFloat32(name string, fn mlx.GraphFn, inputs [][]float32, dims [][]int) ([][]float32, error) {
	outs, err := p.graphs.RunFloat32(p.ctx.Reuse(), name, fn, inputs, dims)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", p.Model.Name(), err)
	}
	return outs, nil
}

// outputShape is the shape of the differentiated output: x̂0's, or ε's (x_t's).
func (p *Pipeline) outputShape(o Output) []int {
	if o == OutputEps {
		return p.shape
	}
	return p.out
}

// batchOf validates a flat batch of samples of shape and returns its size.
func batchOf(name string, x []float32, shape []int) (int, error) {
	d := shape[0] * shape[1] * shape[2]
	if len(x) == 0 {
		return 0, fmt.Errorf("%s holds no samples (a batch of 0): give at least one", name)
	}
	if len(x)%d != 0 {
		return 0, fmt.Errorf("%s has %d values, not a multiple of one sample's %d (C,H,W = %v): check the image size and channels", name, len(x), d, shape)
	}
	return len(x) / d, nil
}

// alphaBars returns ᾱ[floor t] as float32 for each t, after checking t is inside the schedule.
func (p *Pipeline) alphaBars(ts []float32) ([]float32, error) {
	if err := p.CheckTimes(ts); err != nil {
		return nil, err
	}
	s := p.Model.Schedule()
	out := make([]float32, len(ts))
	for i, t := range ts {
		out[i] = s.AlphaBar32(t)
	}
	return out, nil
}

// expandT returns per-sample times for a batch of n (t of length 1 is broadcast).
func expandT(t []float32, n int) ([]float32, error) {
	if len(t) == n {
		return t, nil
	}
	if len(t) != 1 {
		return nil, fmt.Errorf("t has %d values for a batch of %d: give one t, or one per sample", len(t), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = t[0]
	}
	return out, nil
}

// outputs builds ε and x̂0 from the model's prediction for x [B,C,H,W], t [B], ab = ᾱ [B].
func (p *Pipeline) outputs(ctx *context.Context, x, t, ab *Node) (eps, x0 *Node) {
	pred := p.Model.Predict(ctx, x, t)
	b := x.Shape().Dimensions[0]
	ab = Reshape(ab, b, 1, 1, 1)
	sa, s1a := Sqrt(ab), Sqrt(OneMinus(ab))
	if p.Model.Prediction() == PredictSample {
		return Div(Sub(x, Mul(sa, pred)), s1a), pred
	}
	return pred, Div(Sub(x, Mul(s1a, pred)), sa)
}

func checkFinite(x []float32) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("non-finite value %g at index %d", v, i)
		}
	}
	return nil
}

// batchDims is [n, shape…].
func batchDims(n int, shape []int) []int { return append([]int{n}, shape...) }

// Noise returns x_T ~ N(0, I) for each seed, concatenated (one sample of SampleShape per seed). A seed gives the
// same noise whatever the other seeds are, in every figure and analysis.
func (p *Pipeline) Noise(seeds ...uint64) []float32 {
	out := make([]float32, 0, len(seeds)*p.dim)
	for _, s := range seeds {
		out = append(out, num.Gaussian(num.NewRand(s, 0x7a1e), p.dim)...)
	}
	return out
}

// Predict returns ε (n·Dim values) and x̂0 (n·OutputDim) for a batch x at times t (one t, or one per sample).
func (p *Pipeline) Predict(x, t []float32) (eps, x0 []float32, err error) {
	n, err := batchOf("x", x, p.shape)
	if err != nil {
		return nil, nil, err
	}
	if t, err = expandT(t, n); err != nil {
		return nil, nil, err
	}
	ab, err := p.alphaBars(t)
	if err != nil {
		return nil, nil, err
	}
	outs, err := p.RunFloat32("predict", func(ctx *context.Context, in []*Node) []*Node {
		eps, x0 := p.outputs(ctx, in[0], in[1], in[2])
		return []*Node{eps, x0}
	}, [][]float32{x, t, ab}, [][]int{batchDims(n, p.shape), {n}, {n}})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

// Jacobian-product graphs take one point x [1,C,H,W], its t and ᾱ, k vectors and k masks (the function is
// f_i(x) = mask_i ⊙ out(x), out = x̂0 or ε); every row is evaluated at the same x.

func (p *Pipeline) masked(output Output) func(ctx *context.Context, x, t, ab, mask *Node) *Node {
	return func(ctx *context.Context, x, t, ab, mask *Node) *Node {
		eps, x0 := p.outputs(ctx, x, t, ab)
		if output == OutputEps {
			return Mul(eps, mask)
		}
		return Mul(x0, mask)
	}
}

// broadcastRows repeats x [1,…] (and t, ab [1]) k times. Graph functions must take k from their inputs' shapes:
// an Exec rebuilds the graph with the same function for each new batch size.
func broadcastRows(x, t, ab *Node, k int) (*Node, *Node, *Node) {
	return mlx.RepeatRows(x, k), mlx.RepeatRows(t, k), mlx.RepeatRows(ab, k)
}

// jacobianInputs validates one point x, k flat vectors of the given shape (x_t's for J·v, the output's for Jᵀ·u)
// and k (or 1, or no) masks of the output's shape, and returns k, ᾱ(t) and the k masks.
func (p *Pipeline) jacobianInputs(output Output, x []float32, t float32, vs []float32, vecShape []int, masks []float32) (k int, ab float32, m []float32, err error) {
	if len(x) != p.dim {
		return 0, 0, nil, fmt.Errorf("x has %d values, want one sample of %d (C,H,W = %v)", len(x), p.dim, p.shape)
	}
	if k, err = batchOf("vectors", vs, vecShape); err != nil {
		return 0, 0, nil, err
	}
	abs, err := p.alphaBars([]float32{t})
	if err != nil {
		return 0, 0, nil, err
	}
	shape := p.outputShape(output)
	od := shape[0] * shape[1] * shape[2]
	switch {
	case masks == nil:
		m = make([]float32, k*od)
		for i := range m {
			m[i] = 1
		}
	case len(masks) == od:
		m = make([]float32, 0, k*od)
		for range k {
			m = append(m, masks...)
		}
	case len(masks) == k*od:
		m = masks
	default:
		return 0, 0, nil, fmt.Errorf("masks have %d values: want one mask of %d (C,H,W = %v) or one per vector", len(masks), od, shape)
	}
	return k, abs[0], m, nil
}

// JVP returns J·v for k vectors vs (flat, k·Dim) at x (one sample), with J the Jacobian of mask ⊙ out at time
// t: k outputs of out's shape. masks is nil (no mask), one mask or one per vector, 1 inside and 0 outside.
func (p *Pipeline) JVP(output Output, x []float32, t float32, vs, masks []float32) ([]float32, error) {
	k, ab, m, err := p.jacobianInputs(output, x, t, vs, p.shape, masks)
	if err != nil {
		return nil, err
	}
	f := p.masked(output)
	outs, err := p.RunFloat32("jvp-"+output.String(), func(ctx *context.Context, in []*Node) []*Node {
		xs, ts, abs := broadcastRows(in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		_, jv := mlx.JacobianVector(func(x *Node) *Node { return f(ctx, x, ts, abs, in[4]) }, xs, in[3])
		return []*Node{jv}
	}, [][]float32{x, {t}, {ab}, vs, m}, [][]int{batchDims(1, p.shape), {1}, {1}, batchDims(k, p.shape), batchDims(k, p.outputShape(output))})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// VJP returns Jᵀ·u for k cotangents us (flat, of out's shape) at x: k vectors of Dim values; see JVP.
func (p *Pipeline) VJP(output Output, x []float32, t float32, us, masks []float32) ([]float32, error) {
	k, ab, m, err := p.jacobianInputs(output, x, t, us, p.outputShape(output), masks)
	if err != nil {
		return nil, err
	}
	f := p.masked(output)
	outs, err := p.RunFloat32("vjp-"+output.String(), func(ctx *context.Context, in []*Node) []*Node {
		xs, ts, abs := broadcastRows(in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		_, vjp := mlx.VectorJacobian(func(x *Node) *Node { return f(ctx, x, ts, abs, in[4]) }, xs, in[3])
		return []*Node{vjp}
	}, [][]float32{x, {t}, {ab}, us, m}, [][]int{batchDims(1, p.shape), {1}, {1}, batchDims(k, p.outputShape(output)), batchDims(k, p.outputShape(output))})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// JTJ returns U = J·V (of out's shape) and V̂ = Jᵀ·U (Dim values each) for k vectors in one graph (one step of
// Algorithm 1), sharing the forward pass between the two products.
func (p *Pipeline) JTJ(output Output, x []float32, t float32, vs, masks []float32) (u, vhat []float32, err error) {
	k, ab, m, err := p.jacobianInputs(output, x, t, vs, p.shape, masks)
	if err != nil {
		return nil, nil, err
	}
	f := p.masked(output)
	outs, err := p.RunFloat32("jtj-"+output.String(), func(ctx *context.Context, in []*Node) []*Node {
		xs, ts, abs := broadcastRows(in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		y, jv := mlx.JacobianVector(func(x *Node) *Node { return f(ctx, x, ts, abs, in[4]) }, xs, in[3])
		jtjv := Gradient(ReduceAllSum(Mul(y, StopGradient(jv))), xs)[0]
		return []*Node{jv, jtjv}
	}, [][]float32{x, {t}, {ab}, vs, m}, [][]int{batchDims(1, p.shape), {1}, {1}, batchDims(k, p.shape), batchDims(k, p.outputShape(output))})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}
