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
// For a latent model (LatentModel) x_t is the latent and x̂0 the decoded image of the posterior-mean latent: the
// decoder is part of every graph that builds x̂0, so Jacobian products are taken through the UNet and the
// decoder together.
//
// Tensors are flat float32 slices in NCHW order; a batch of n samples is n·Dim values. Graphs are compiled once
// per input shape and reused. A Pipeline is safe for use by one goroutine at a time.
type Pipeline struct {
	Model Denoiser
	// DirectionsPerCall caps the number of vectors one Jacobian-product graph evaluates at once (JVP, VJP, JTJ and
	// the subspace iterations built on them): more are split into several calls with the same results. Each
	// vector costs one batch row of the network and of its two reverse passes, so this bounds the memory of large
	// models. 0 evaluates every vector in one call.
	DirectionsPerCall int

	ctx     *context.Context // the model's weights
	graphs  mlx.Graphs
	shape   []int // C,H,W of x_t
	dim     int
	out     []int // shape of x̂0
	outDim  int
	latent  LatentModel // nil for pixel-space models
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
	if lm, ok := m.(LatentModel); ok {
		out := lm.ImageShape()
		if len(out) != 3 || out[0] < 1 || out[1] < 1 || out[2] < 1 {
			return nil, fmt.Errorf("model %s: image shape %v is not [C,H,W]", m.Name(), out)
		}
		p.latent, p.out, p.outDim = lm, slices.Clone(out), out[0]*out[1]*out[2]
	}
	if sp, ok := m.(SamplerProvider); ok {
		p.sampler = sp.Sampler()
	}
	return p, nil
}

// Dim is the number of values of one x_t (C·H·W).
func (p *Pipeline) Dim() int { return p.dim }

// SampleShape is the shape [C,H,W] of the edited variable x_t.
func (p *Pipeline) SampleShape() []int { return p.shape }

// OutputShape is the shape of the PMP output x̂0 (and of masks and images): the decoded image's for a latent
// model, SampleShape otherwise.
func (p *Pipeline) OutputShape() []int { return p.out }

// Latent reports whether the model works on latents of an autoencoder (LatentModel).
func (p *Pipeline) Latent() bool { return p.latent != nil }

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

// latentOutputs builds ε and the posterior mean of the denoised variable from the model's prediction for
// x [B,C,H,W], t [B], ab = ᾱ [B].
func (p *Pipeline) latentOutputs(ctx *context.Context, x, t, ab *Node) (eps, x0 *Node) {
	return p.fromPrediction(p.Model.Predict(ctx, x, t), x, ab)
}

// fromPrediction turns a prediction (ε or x̂0, per the model's Prediction) at x into ε and x̂0.
func (p *Pipeline) fromPrediction(pred, x, ab *Node) (eps, x0 *Node) {
	b := x.Shape().Dimensions[0]
	ab = Reshape(ab, b, 1, 1, 1)
	sa, s1a := Sqrt(ab), Sqrt(OneMinus(ab))
	if p.Model.Prediction() == PredictSample {
		return Div(Sub(x, Mul(sa, pred)), s1a), pred
	}
	return pred, Div(Sub(x, Mul(s1a, pred)), sa)
}

// toImage decodes latents (identity for pixel-space models).
func (p *Pipeline) toImage(ctx *context.Context, z *Node) *Node {
	if p.latent == nil {
		return z
	}
	return p.latent.DecodeLatents(ctx, z)
}

// outputs builds ε (of x's shape) and the PMP output x̂0 (decoded for latent models) for x, t, ab.
func (p *Pipeline) outputs(ctx *context.Context, x, t, ab *Node) (eps, x0 *Node) {
	eps, z0 := p.latentOutputs(ctx, x, t, ab)
	return eps, p.toImage(ctx, z0)
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

// Predict returns ε (n·Dim values) and x̂0 (n·OutputDim: the decoded image for a latent model) for a batch x at
// times t (one t, or one per sample).
func (p *Pipeline) Predict(x, t []float32) (eps, x0 []float32, err error) {
	return p.predict("predict", p.outputs, x, t)
}

// PredictLatent returns ε and the posterior mean of the denoised variable (n·Dim values each) for a batch x at
// times t: what samplers step with. For pixel-space models it is Predict.
func (p *Pipeline) PredictLatent(x, t []float32) (eps, x0 []float32, err error) {
	return p.predict("predict-latent", p.latentOutputs, x, t)
}

func (p *Pipeline) predict(name string, f func(ctx *context.Context, x, t, ab *Node) (eps, x0 *Node), x, t []float32) (eps, x0 []float32, err error) {
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
	outs, err := p.RunFloat32(name, func(ctx *context.Context, in []*Node) []*Node {
		eps, x0 := f(ctx, in[0], in[1], in[2])
		return []*Node{eps, x0}
	}, [][]float32{x, t, ab}, [][]int{batchDims(n, p.shape), {n}, {n}})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

// Images returns the images of samples x (n·Dim values): decoded by the model's autoencoder for a latent model,
// a copy of x otherwise.
func (p *Pipeline) Images(x []float32) ([]float32, error) {
	return p.autoencode("decode-latents", "x", x, p.shape, func(lm LatentModel) func(*context.Context, *Node) *Node { return lm.DecodeLatents })
}

// Latents returns the samples of images x (n·OutputDim values in [−1,1]): encoded by the model's autoencoder for
// a latent model, a copy of x otherwise.
func (p *Pipeline) Latents(x []float32) ([]float32, error) {
	return p.autoencode("encode-images", "images", x, p.out, func(lm LatentModel) func(*context.Context, *Node) *Node { return lm.EncodeImages })
}

// autoencode runs one half of a latent model's autoencoder (picked by half) on a batch x of the given sample
// shape; for a pixel-space model it returns a copy of x.
func (p *Pipeline) autoencode(name, what string, x []float32, shape []int, half func(LatentModel) func(*context.Context, *Node) *Node) ([]float32, error) {
	n, err := batchOf(what, x, shape)
	if err != nil {
		return nil, err
	}
	if p.latent == nil {
		return slices.Clone(x), nil
	}
	f := half(p.latent)
	outs, err := p.RunFloat32(name, func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{f(ctx, in[0])}
	}, [][]float32{x}, [][]int{batchDims(n, shape)})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
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

// jacobianProduct runs the Jacobian-product graph name (built by build from xs, the point repeated per row, and
// the graph inputs t, ab, vectors, masks) on k vectors of vecShape with their masks of the output's shape, in
// chunks of at most DirectionsPerCall rows, and concatenates the outputs of the chunks.
func (p *Pipeline) jacobianProduct(name string, output Output, x []float32, t, ab float32, vs []float32, vecShape []int, m []float32, k int,
	build func(ctx *context.Context, xs, ts, abs, vecs, masks *Node) []*Node) ([][]float32, error) {
	outShape := p.outputShape(output)
	vd, md := vecShape[0]*vecShape[1]*vecShape[2], outShape[0]*outShape[1]*outShape[2]
	chunk := k
	if p.DirectionsPerCall > 0 {
		chunk = min(k, p.DirectionsPerCall)
	}
	var outs [][]float32
	for lo := 0; lo < k; lo += chunk {
		hi := min(lo+chunk, k)
		res, err := p.RunFloat32(name, func(ctx *context.Context, in []*Node) []*Node {
			xs, ts, abs := broadcastRows(in[0], in[1], in[2], in[3].Shape().Dimensions[0])
			return build(ctx, xs, ts, abs, in[3], in[4])
		}, [][]float32{x, {t}, {ab}, vs[lo*vd : hi*vd], m[lo*md : hi*md]},
			[][]int{batchDims(1, p.shape), {1}, {1}, batchDims(hi-lo, vecShape), batchDims(hi-lo, outShape)})
		if err != nil {
			return nil, err
		}
		if outs == nil {
			outs = make([][]float32, len(res))
		}
		for i, r := range res {
			outs[i] = append(outs[i], r...)
		}
	}
	return outs, nil
}

// JVP returns J·v for k vectors vs (flat, k·Dim) at x (one sample), with J the Jacobian of mask ⊙ out at time
// t: k outputs of out's shape. masks is nil (no mask), one mask or one per vector, 1 inside and 0 outside.
func (p *Pipeline) JVP(output Output, x []float32, t float32, vs, masks []float32) ([]float32, error) {
	k, ab, m, err := p.jacobianInputs(output, x, t, vs, p.shape, masks)
	if err != nil {
		return nil, err
	}
	f := p.masked(output)
	outs, err := p.jacobianProduct("jvp-"+output.String(), output, x, t, ab, vs, p.shape, m, k, func(ctx *context.Context, xs, ts, abs, vecs, masks *Node) []*Node {
		_, jv := mlx.JacobianVector(func(x *Node) *Node { return f(ctx, x, ts, abs, masks) }, xs, vecs)
		return []*Node{jv}
	})
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
	outs, err := p.jacobianProduct("vjp-"+output.String(), output, x, t, ab, us, p.outputShape(output), m, k, func(ctx *context.Context, xs, ts, abs, vecs, masks *Node) []*Node {
		_, vjp := mlx.VectorJacobian(func(x *Node) *Node { return f(ctx, x, ts, abs, masks) }, xs, vecs)
		return []*Node{vjp}
	})
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
	outs, err := p.jacobianProduct("jtj-"+output.String(), output, x, t, ab, vs, p.shape, m, k, func(ctx *context.Context, xs, ts, abs, vecs, masks *Node) []*Node {
		y, jv := mlx.JacobianVector(func(x *Node) *Node { return f(ctx, x, ts, abs, masks) }, xs, vecs)
		jtjv := Gradient(ReduceAllSum(Mul(y, StopGradient(jv))), xs)[0]
		return []*Node{jv, jtjv}
	})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}
