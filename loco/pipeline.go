package loco

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"

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

// Pipeline runs a Denoiser's graphs: ε and x̂0 for batches, and exact Jacobian products of x̂0 (or ε),
// optionally restricted to a mask. Tensors are flat float32 slices in NCHW order; a batch of n samples is
// n·C·H·W values. Graphs are compiled once per input shape and reused. A Pipeline is safe for use by one
// goroutine at a time.
type Pipeline struct {
	Model   Denoiser
	backend backends.Backend
	shape   []int // C,H,W
	dim     int

	mu    sync.Mutex
	execs map[string]*context.Exec
}

// NewPipeline prepares m to run on the shared backend (mlx.Backend, from $GOMLX_BACKEND).
func NewPipeline(m Denoiser) (*Pipeline, error) {
	b, err := mlx.Backend()
	if err != nil {
		return nil, err
	}
	shape := m.SampleShape()
	if len(shape) != 3 {
		return nil, fmt.Errorf("model %s: sample shape %v is not [C,H,W]", m.Name(), shape)
	}
	return &Pipeline{Model: m, backend: b, shape: shape, dim: shape[0] * shape[1] * shape[2], execs: map[string]*context.Exec{}}, nil
}

// Dim is C·H·W, the length of one sample.
func (p *Pipeline) Dim() int { return p.dim }

// SampleShape is [C,H,W].
func (p *Pipeline) SampleShape() []int { return p.shape }

// Backend is the backend the pipeline runs on.
func (p *Pipeline) Backend() backends.Backend { return p.backend }

// batchOf validates a flat batch and returns its size.
func (p *Pipeline) batchOf(name string, x []float32) (int, error) {
	if len(x) == 0 || len(x)%p.dim != 0 {
		return 0, fmt.Errorf("%s has %d values, not a multiple of one sample's %d (C,H,W = %v): check the image size and channels", name, len(x), p.dim, p.shape)
	}
	return len(x) / p.dim, nil
}

// alphaBars returns ᾱ[floor t] as float32 for each t, after checking t is inside the schedule.
func (p *Pipeline) alphaBars(ts []float32) ([]float32, error) {
	s := p.Model.Schedule()
	out := make([]float32, len(ts))
	for i, t := range ts {
		if math.IsNaN(float64(t)) || t < 0 || int(t) >= s.NumTrainSteps() {
			return nil, fmt.Errorf("timestep %g is outside the schedule [0, %d)", t, s.NumTrainSteps())
		}
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

// exec returns the compiled graph named key, building it with fn on first use.
func (p *Pipeline) exec(key string, fn func(ctx *context.Context, in []*Node) []*Node) (*context.Exec, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.execs[key]; ok {
		return e, nil
	}
	ctx := p.Model.Context()
	if ctx == nil {
		ctx = context.New()
	}
	var e *context.Exec
	err := mlx.Call(func() {
		var err error
		e, err = context.NewExec(p.backend, ctx.Reuse(), fn)
		if err != nil {
			panic(err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("building %s graph: %w", key, err)
	}
	p.execs[key] = e
	return e, nil
}

// run executes a compiled graph on flat float32 inputs with the given shapes and returns flat outputs.
func (p *Pipeline) run(key string, fn func(ctx *context.Context, in []*Node) []*Node, inputs [][]float32, dims [][]int) ([][]float32, error) {
	e, err := p.exec(key, fn)
	if err != nil {
		return nil, err
	}
	outs, err := mlx.ExecFloat32(e, inputs, dims)
	if err != nil {
		return nil, fmt.Errorf("running %s graph of %s: %w", key, p.Model.Name(), err)
	}
	return outs, nil
}

func checkFinite(x []float32) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("non-finite value %g at index %d", v, i)
		}
	}
	return nil
}

func (p *Pipeline) imageDims(n int) []int { return []int{n, p.shape[0], p.shape[1], p.shape[2]} }

// Predict returns ε and x̂0 for a batch x at times t (one t, or one per sample).
func (p *Pipeline) Predict(x, t []float32) (eps, x0 []float32, err error) {
	n, err := p.batchOf("x", x)
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
	outs, err := p.run("predict", func(ctx *context.Context, in []*Node) []*Node {
		eps, x0 := p.outputs(ctx, in[0], in[1], in[2])
		return []*Node{eps, x0}
	}, [][]float32{x, t, ab}, [][]int{p.imageDims(n), {n}, {n}})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

// Jacobian-product graphs take one point x [1,C,H,W], its t and ᾱ, k vectors [k,C,H,W] and k masks [k,C,H,W]
// (the function is f_i(x) = mask_i ⊙ out(x), out = x̂0 or ε); every row is evaluated at the same x.

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
	d := x.Shape().Dimensions
	return BroadcastToDims(x, k, d[1], d[2], d[3]), BroadcastToDims(t, k), BroadcastToDims(ab, k)
}

// checkRows validates k flat vectors and k (or 1) masks.
func (p *Pipeline) jacobianInputs(x []float32, t float32, vs, masks []float32) (k int, ab float32, m []float32, err error) {
	if len(x) != p.dim {
		return 0, 0, nil, fmt.Errorf("x has %d values, want one sample of %d (C,H,W = %v)", len(x), p.dim, p.shape)
	}
	if k, err = p.batchOf("vectors", vs); err != nil {
		return 0, 0, nil, err
	}
	abs, err := p.alphaBars([]float32{t})
	if err != nil {
		return 0, 0, nil, err
	}
	switch {
	case masks == nil:
		m = make([]float32, k*p.dim)
		for i := range m {
			m[i] = 1
		}
	case len(masks) == p.dim:
		m = make([]float32, 0, k*p.dim)
		for range k {
			m = append(m, masks...)
		}
	case len(masks) == k*p.dim:
		m = masks
	default:
		return 0, 0, nil, fmt.Errorf("masks have %d values: want one mask of %d (C,H,W = %v) or one per vector", len(masks), p.dim, p.shape)
	}
	return k, abs[0], m, nil
}

// JVP returns J·v for k vectors vs (flat, k·d) at x (one sample, d), with J the Jacobian of mask ⊙ out at time t.
// masks is nil (no mask), one mask (d) or one per vector (k·d), 1 inside and 0 outside.
func (p *Pipeline) JVP(output Output, x []float32, t float32, vs, masks []float32) ([]float32, error) {
	k, ab, m, err := p.jacobianInputs(x, t, vs, masks)
	if err != nil {
		return nil, err
	}
	f := p.masked(output)
	outs, err := p.run("jvp-"+output.String(), func(ctx *context.Context, in []*Node) []*Node {
		xs, ts, abs := broadcastRows(in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		_, jv := mlx.JacobianVector(func(x *Node) *Node { return f(ctx, x, ts, abs, in[4]) }, xs, in[3])
		return []*Node{jv}
	}, [][]float32{x, {t}, {ab}, vs, m}, [][]int{p.imageDims(1), {1}, {1}, p.imageDims(k), p.imageDims(k)})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// VJP returns Jᵀ·u for k cotangents us (flat, k·d) at x; see JVP.
func (p *Pipeline) VJP(output Output, x []float32, t float32, us, masks []float32) ([]float32, error) {
	k, ab, m, err := p.jacobianInputs(x, t, us, masks)
	if err != nil {
		return nil, err
	}
	f := p.masked(output)
	outs, err := p.run("vjp-"+output.String(), func(ctx *context.Context, in []*Node) []*Node {
		xs, ts, abs := broadcastRows(in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		_, vjp := mlx.VectorJacobian(func(x *Node) *Node { return f(ctx, x, ts, abs, in[4]) }, xs, in[3])
		return []*Node{vjp}
	}, [][]float32{x, {t}, {ab}, us, m}, [][]int{p.imageDims(1), {1}, {1}, p.imageDims(k), p.imageDims(k)})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// JTJ returns U = J·V and V̂ = Jᵀ·U for k vectors in one graph (one step of Algorithm 1), sharing the
// forward pass between the two products.
func (p *Pipeline) JTJ(output Output, x []float32, t float32, vs, masks []float32) (u, vhat []float32, err error) {
	k, ab, m, err := p.jacobianInputs(x, t, vs, masks)
	if err != nil {
		return nil, nil, err
	}
	f := p.masked(output)
	outs, err := p.run("jtj-"+output.String(), func(ctx *context.Context, in []*Node) []*Node {
		xs, ts, abs := broadcastRows(in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		y, jv := mlx.JacobianVector(func(x *Node) *Node { return f(ctx, x, ts, abs, in[4]) }, xs, in[3])
		jtjv := Gradient(ReduceAllSum(Mul(y, StopGradient(jv))), xs)[0]
		return []*Node{jv, jtjv}
	}, [][]float32{x, {t}, {ab}, vs, m}, [][]int{p.imageDims(1), {1}, {1}, p.imageDims(k), p.imageDims(k)})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}
