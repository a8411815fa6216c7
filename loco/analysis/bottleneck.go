package analysis

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/mlx"
)

// Jacobian names one of the Jacobians of the paper's Fig. 12, taken through a UNet's bottleneck h (the
// mid block's output): x_t → h → (ε, x̂0).
type Jacobian int

const (
	// DhDx is ∂h/∂x_t, the encoder (conv_in, the down blocks and the mid block): m×d for h of m values.
	DhDx Jacobian = iota
	// DepsDh is ∂ε/∂h, the decoder (up blocks and output layers) with the skip connections and the time embedding
	// held at their values for x_t: d×m.
	DepsDh
	// Dx0Dh is ∂x̂0/∂h for x̂0(h) = (x_t − √(1−ᾱ)·ε(h))/√ᾱ with x_t held: −√(1−ᾱ)/√ᾱ·∂ε/∂h, d×m.
	Dx0Dh
	// DepsDx is ∂ε/∂x_t through the whole network, skip connections included: d×d.
	DepsDx
	// Dx0Dx is ∂x̂0/∂x_t, the Jacobian of the posterior-mean predictor: d×d.
	Dx0Dx
)

// AllJacobians lists the five Jacobians of Fig. 12 in the paper's order.
var AllJacobians = []Jacobian{DhDx, DepsDh, Dx0Dh, DepsDx, Dx0Dx}

// WholeNetworkJacobians are the two of them that every model has (no bottleneck needed).
var WholeNetworkJacobians = []Jacobian{DepsDx, Dx0Dx}

// String implements fmt.Stringer ("∂h/∂x", "∂ε/∂h", …).
func (j Jacobian) String() string {
	switch j {
	case DhDx:
		return "∂h/∂x"
	case DepsDh:
		return "∂ε/∂h"
	case Dx0Dh:
		return "∂x̂0/∂h"
	case DepsDx:
		return "∂ε/∂x"
	case Dx0Dx:
		return "∂x̂0/∂x"
	}
	return fmt.Sprintf("Jacobian(%d)", int(j))
}

// throughH says whether j needs the bottleneck (is not a whole-network Jacobian).
func (j Jacobian) throughH() bool { return j == DhDx || j == DepsDh || j == Dx0Dh }

// output is the whole-network output of DepsDx and Dx0Dx.
func (j Jacobian) output() loco.Output {
	if j == DepsDx {
		return loco.OutputEps
	}
	return loco.OutputX0
}

func (j Jacobian) valid() error {
	if j < DhDx || j > Dx0Dx {
		return fmt.Errorf("unknown Jacobian %d (valid: %v)", int(j), AllJacobians)
	}
	return nil
}

// HasBottleneck reports whether m's network splits at a bottleneck (loco.BottleneckSplitter, e.g. a diffusers
// UNet2DModel). The embedded MoLRG models have none: for them only ∂ε/∂x and ∂x̂0/∂x exist.
func HasBottleneck(m loco.Denoiser) bool {
	_, ok := m.(loco.BottleneckSplitter)
	return ok
}

// Bottleneck evaluates a denoiser split at its bottleneck h (a UNet's mid block) and the exact Jacobian products
// of the five Jacobians of Fig. 12 (Jacobian). Vectors are flat float32 slices: images NCHW (d values),
// bottlenecks NCHW too (m = C_h·H_h·W_h values, HShape). Graphs run in the pipeline's graph cache, with the
// model's weights, and are compiled once per shape. A Bottleneck is safe for use by one goroutine at a time.
type Bottleneck struct {
	// Pipeline runs the whole-network products (∂ε/∂x, ∂x̂0/∂x) and the DDIM trajectories.
	Pipeline *loco.Pipeline

	split  loco.BottleneckSplitter
	hShape []int // [C_h, H_h, W_h]
	hDim   int
}

// NewBottleneck prepares the bottleneck Jacobians of p's model, which must have a bottleneck (HasBottleneck).
// It runs the encoder once to learn h's shape.
func NewBottleneck(p *loco.Pipeline) (*Bottleneck, error) {
	if p == nil {
		return nil, fmt.Errorf("bottleneck: nil pipeline")
	}
	split, ok := p.Model.(loco.BottleneckSplitter)
	if !ok {
		return nil, fmt.Errorf("bottleneck: model %s has no bottleneck: the h-space Jacobians need a network with one, such as a "+
			"diffusers UNet2DModel (e.g. google/ddpm-cifar10-32); for this model use RankAlongTrajectories with loco.OutputEps and "+
			"loco.OutputX0 (∂ε/∂x and ∂x̂0/∂x)", p.Model.Name())
	}
	b := &Bottleneck{Pipeline: p, split: split}
	// Run the encoder once on a zero image to learn h's shape.
	s := p.SampleShape()
	res, err := p.RunGraph("bottleneck-h", b.hGraph, tensors.FromShape(shapes.Make(dtypes.Float32, 1, s[0], s[1], s[2])),
		tensors.FromFlatDataAndDimensions([]float32{0}, 1))
	if err == nil {
		b.hShape = slices.Clone(res[0].Shape().Dimensions[1:])
		res[0].FinalizeAll()
	}
	if err != nil {
		return nil, fmt.Errorf("bottleneck of %s: %w", p.Model.Name(), err)
	}
	if len(b.hShape) != 3 {
		return nil, fmt.Errorf("bottleneck of %s: h has shape %v, want [C, H, W] per sample", p.Model.Name(), b.hShape)
	}
	b.hDim = b.hShape[0] * b.hShape[1] * b.hShape[2]
	return b, nil
}

// hGraph builds the bottleneck h of a batch x at times t.
func (b *Bottleneck) hGraph(ctx *context.Context, in []*Node) []*Node {
	h, _ := b.split.SplitAtBottleneck(ctx, in[0], in[1])
	return []*Node{h}
}

// HShape is the shape [C_h, H_h, W_h] of one bottleneck h.
func (b *Bottleneck) HShape() []int { return slices.Clone(b.hShape) }

// HDim is m = C_h·H_h·W_h, the number of values of one h.
func (b *Bottleneck) HDim() int { return b.hDim }

// Dims returns the shape (rows = output values, cols = input values) of Jacobian j.
func (b *Bottleneck) Dims(j Jacobian) (rows, cols int) {
	d := b.Pipeline.Dim()
	switch j {
	case DhDx:
		return b.hDim, d
	case DepsDh, Dx0Dh:
		return d, b.hDim
	}
	return d, d
}

// H returns the bottleneck h (NCHW, m values each) of a batch x (n·d values) at time t.
func (b *Bottleneck) H(x []float32, t float32) ([]float32, error) {
	n, err := batch("x", x, b.Pipeline.Dim())
	if err != nil {
		return nil, err
	}
	if _, err := b.alphaBar(t); err != nil {
		return nil, err
	}
	outs, err := b.run("h", b.hGraph, [][]float32{x, {t}}, [][]int{b.imageDims(n), {1}})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Decode returns ε and x̂0 = (x − √(1−ᾱ)·ε)/√ᾱ for k bottlenecks hs (k·m values) decoded with the skip connections
// and the time embedding of the point x (one sample, d values) at time t. Decode(x, t, H(x, t)) is the model's
// own prediction at x.
func (b *Bottleneck) Decode(x []float32, t float32, hs []float32) (eps, x0 []float32, err error) {
	k, ab, err := b.inputs(x, t, hs, b.hDim, "bottlenecks")
	if err != nil {
		return nil, nil, err
	}
	outs, err := b.run("decode", func(ctx *context.Context, in []*Node) []*Node {
		_, dec := b.decoder(ctx, in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		eps, x0 := dec(in[3])
		return []*Node{eps, x0}
	}, [][]float32{x, {t}, {ab}, hs}, [][]int{b.imageDims(1), {1}, {1}, b.hDims(k)})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

// JVP returns J·v for k vectors vs (k·cols values, see Dims) with J = Jacobian j at the point x (one sample) and
// time t.
func (b *Bottleneck) JVP(j Jacobian, x []float32, t float32, vs []float32) ([]float32, error) {
	outs, err := b.product("jvp", j, x, t, vs)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// VJP returns Jᵀ·u for k cotangents us (k·rows values, see Dims); see JVP.
func (b *Bottleneck) VJP(j Jacobian, x []float32, t float32, us []float32) ([]float32, error) {
	outs, err := b.product("vjp", j, x, t, us)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// JTJ returns U = J·V and V̂ = JᵀJ·V for k vectors vs (k·cols values) in one graph sharing the forward pass; see
// JVP.
func (b *Bottleneck) JTJ(j Jacobian, x []float32, t float32, vs []float32) (u, vhat []float32, err error) {
	outs, err := b.product("jtj", j, x, t, vs)
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

func (b *Bottleneck) product(kind string, j Jacobian, x []float32, t float32, vs []float32) ([][]float32, error) {
	if err := j.valid(); err != nil {
		return nil, err
	}
	p := b.Pipeline
	if !j.throughH() {
		switch kind {
		case "jvp":
			jv, err := p.JVP(j.output(), x, t, vs, nil)
			return [][]float32{jv}, err
		case "vjp":
			vj, err := p.VJP(j.output(), x, t, vs, nil)
			return [][]float32{vj}, err
		}
		u, vhat, err := p.JTJ(j.output(), x, t, vs, nil)
		return [][]float32{u, vhat}, err
	}
	rows, cols := b.Dims(j)
	inDim, what := cols, "vectors"
	if kind == "vjp" {
		inDim, what = rows, "cotangents"
	}
	k, ab, err := b.inputs(x, t, vs, inDim, what)
	if err != nil {
		return nil, err
	}
	dims := b.imageDims(k)
	if inDim == b.hDim {
		dims = b.hDims(k)
	}
	outs, err := b.run(kind+"-"+j.String(), func(ctx *context.Context, in []*Node) []*Node {
		at, f := b.function(ctx, j, in[0], in[1], in[2], in[3].Shape().Dimensions[0])
		switch kind {
		case "jvp":
			_, jv := mlx.JacobianVector(f, at, in[3])
			return []*Node{jv}
		case "vjp":
			_, vj := mlx.VectorJacobian(f, at, in[3])
			return []*Node{vj}
		}
		y, jv := mlx.JacobianVector(f, at, in[3])
		return []*Node{jv, Gradient(ReduceAllSum(Mul(y, StopGradient(jv))), at)[0]}
	}, [][]float32{x, {t}, {ab}, vs}, [][]int{b.imageDims(1), {1}, {1}, dims})
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", kind, j, err)
	}
	return outs, nil
}

// function returns, inside a graph for the point x [1,C,H,W] at t [1] with ᾱ [1], the input of Jacobian j repeated
// k times (x_t, or h as NCHW) and the function whose Jacobian it is, which treats rows independently.
func (b *Bottleneck) function(ctx *context.Context, j Jacobian, x, t, ab *Node, k int) (*Node, func(*Node) *Node) {
	if j == DhDx {
		return mlx.RepeatRows(x, k), func(xs *Node) *Node {
			h, _ := b.split.SplitAtBottleneck(ctx, xs, t)
			return h
		}
	}
	h, dec := b.decoder(ctx, x, t, ab, k)
	return mlx.RepeatRows(h, k), func(hs *Node) *Node {
		eps, x0 := dec(hs)
		if j == DepsDh {
			return eps
		}
		return x0
	}
}

// decoder returns the point's bottleneck h [1,C_h,H_h,W_h] and the map from k bottlenecks hs to ε and x̂0 [k,C,H,W],
// with the skip connections and the time embedding of the point x [1,C,H,W] held fixed.
func (b *Bottleneck) decoder(ctx *context.Context, x, t, ab *Node, k int) (*Node, func(hs *Node) (eps, x0 *Node)) {
	h, decode := b.split.SplitAtBottleneck(ctx, x, t)
	xs := mlx.RepeatRows(x, k)
	ab = Reshape(ab, 1, 1, 1, 1)
	sa, s1a := Sqrt(ab), Sqrt(OneMinus(ab))
	sample := b.Pipeline.Model.Prediction() == loco.PredictSample
	return h, func(hs *Node) (eps, x0 *Node) {
		pred := decode(hs)
		if sample {
			return Div(Sub(xs, Mul(sa, pred)), s1a), pred
		}
		return pred, Div(Sub(xs, Mul(s1a, pred)), sa)
	}
}

func (b *Bottleneck) imageDims(n int) []int {
	s := b.Pipeline.SampleShape()
	return []int{n, s[0], s[1], s[2]}
}

func (b *Bottleneck) hDims(n int) []int { return []int{n, b.hShape[0], b.hShape[1], b.hShape[2]} }

// batch validates a flat batch of vectors of length dim and returns how many there are.
func batch(name string, v []float32, dim int) (int, error) {
	if len(v) == 0 || len(v)%dim != 0 {
		return 0, fmt.Errorf("%s have %d values, not a positive multiple of %d", name, len(v), dim)
	}
	return len(v) / dim, nil
}

// alphaBar returns ᾱ(t) after checking t lies in the schedule.
func (b *Bottleneck) alphaBar(t float32) (float32, error) {
	s := b.Pipeline.Model.Schedule()
	if math.IsNaN(float64(t)) || t < 0 || int(t) >= s.NumTrainSteps() {
		return 0, fmt.Errorf("timestep %g is outside the schedule [0, %d)", t, s.NumTrainSteps())
	}
	return s.AlphaBar32(t), nil
}

// checkPoint validates one point x and its time t.
func (b *Bottleneck) checkPoint(x []float32, t float32) error {
	if d := b.Pipeline.Dim(); len(x) != d {
		return fmt.Errorf("x has %d values, want one sample of %d (C,H,W = %v)", len(x), d, b.Pipeline.SampleShape())
	}
	_, err := b.alphaBar(t)
	return err
}

// inputs validates one point x, its time and k vectors of length dim.
func (b *Bottleneck) inputs(x []float32, t float32, vs []float32, dim int, what string) (k int, ab float32, err error) {
	if err := b.checkPoint(x, t); err != nil {
		return 0, 0, err
	}
	if k, err = batch(what, vs, dim); err != nil {
		return 0, 0, err
	}
	ab, err = b.alphaBar(t)
	return k, ab, err
}

// run executes the graph named key (built by fn on first use) in the pipeline's graph cache.
func (b *Bottleneck) run(key string, fn func(ctx *context.Context, in []*Node) []*Node, inputs [][]float32, dims [][]int) ([][]float32, error) {
	return b.Pipeline.RunFloat32("bottleneck-"+key, fn, inputs, dims)
}
