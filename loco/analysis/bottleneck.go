package analysis

import (
	"fmt"
	"math"
	"slices"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/diffusers"
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

// HasBottleneck reports whether m's network splits at a bottleneck that NewBottleneck can use (a diffusers
// UNet2DModel). The embedded MoLRG models have none: for them only ∂ε/∂x and ∂x̂0/∂x exist.
func HasBottleneck(m loco.Denoiser) bool {
	u, ok := m.(*loco.UNetDenoiser)
	return ok && u.UNet != nil
}

// Bottleneck evaluates a UNet denoiser split at its mid block, h = Encode(x_t).H, and the exact Jacobian products
// of the five Jacobians of Fig. 12 (Jacobian). Vectors are flat float32 slices: images NCHW (d = C·H·W
// values), bottlenecks NCHW too (m = C_h·H_h·W_h values, HShape). Graphs run on the pipeline's backend with the
// model's weights and are compiled once per shape. A Bottleneck is safe for use by one goroutine at a time.
type Bottleneck struct {
	// Pipeline runs the whole-network products (∂ε/∂x, ∂x̂0/∂x) and the DDIM trajectories.
	Pipeline *loco.Pipeline

	unet   *diffusers.UNet2DModel
	hShape []int // [C_h, H_h, W_h]
	hDim   int

	mu    sync.Mutex
	execs map[string]*context.Exec
}

// NewBottleneck prepares the bottleneck Jacobians of p's model, which must be a diffusers UNet2DModel
// (HasBottleneck). It runs the encoder once to learn h's shape.
func NewBottleneck(p *loco.Pipeline) (*Bottleneck, error) {
	if p == nil {
		return nil, fmt.Errorf("bottleneck: nil pipeline")
	}
	if !HasBottleneck(p.Model) {
		return nil, fmt.Errorf("bottleneck: model %s (%T) has no UNet bottleneck: the h-space Jacobians need a diffusers "+
			"UNet2DModel (e.g. google/ddpm-cifar10-32); for this model use RankAlongTrajectories with loco.OutputEps and "+
			"loco.OutputX0 (∂ε/∂x and ∂x̂0/∂x)", p.Model.Name(), p.Model)
	}
	b := &Bottleneck{Pipeline: p, unet: p.Model.(*loco.UNetDenoiser).UNet, execs: map[string]*context.Exec{}}
	h, err := b.H(make([]float32, p.Dim()), 0)
	if err != nil {
		return nil, fmt.Errorf("bottleneck of %s: %w", p.Model.Name(), err)
	}
	if b.hShape == nil || b.hDim != len(h) {
		return nil, fmt.Errorf("bottleneck of %s: internal: h shape %v for %d values", p.Model.Name(), b.hShape, len(h))
	}
	return b, nil
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
	n, err := b.batch("x", x, b.Pipeline.Dim())
	if err != nil {
		return nil, err
	}
	if _, err := b.alphaBar(t); err != nil {
		return nil, err
	}
	outs, err := b.run("h", func(ctx *context.Context, in []*Node) []*Node {
		h := mlx.NHWCToNCHW(b.unet.Encode(ctx, in[0], in[1]).H)
		b.hShape = slices.Clone(h.Shape().Dimensions[1:])
		b.hDim = b.hShape[0] * b.hShape[1] * b.hShape[2]
		return []*Node{h}
	}, [][]float32{x, {t}}, [][]int{b.imageDims(n), {1}})
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
		k := in[3].Shape().Dimensions[0]
		dec := b.decoder(ctx, in[0], in[1], in[2], k)
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
	return b.product("jvp", j, x, t, vs)
}

// VJP returns Jᵀ·u for k cotangents us (k·rows values, see Dims); see JVP.
func (b *Bottleneck) VJP(j Jacobian, x []float32, t float32, us []float32) ([]float32, error) {
	return b.product("vjp", j, x, t, us)
}

// JTJ returns JᵀJ·v for k vectors vs (k·cols values) in one graph sharing the forward pass; see JVP.
func (b *Bottleneck) JTJ(j Jacobian, x []float32, t float32, vs []float32) ([]float32, error) {
	return b.product("jtj", j, x, t, vs)
}

func (b *Bottleneck) product(kind string, j Jacobian, x []float32, t float32, vs []float32) ([]float32, error) {
	if err := j.valid(); err != nil {
		return nil, err
	}
	p := b.Pipeline
	if !j.throughH() {
		switch kind {
		case "jvp":
			return p.JVP(j.output(), x, t, vs, nil)
		case "vjp":
			return p.VJP(j.output(), x, t, vs, nil)
		}
		_, vhat, err := p.JTJ(j.output(), x, t, vs, nil)
		return vhat, err
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
		k := in[3].Shape().Dimensions[0]
		at, f := b.function(ctx, j, in[0], in[1], in[2], k)
		switch kind {
		case "jvp":
			_, jv := mlx.JacobianVector(f, at, in[3])
			return []*Node{jv}
		case "vjp":
			_, vj := mlx.VectorJacobian(f, at, in[3])
			return []*Node{vj}
		}
		y, jv := mlx.JacobianVector(f, at, in[3])
		return []*Node{Gradient(ReduceAllSum(Mul(y, StopGradient(jv))), at)[0]}
	}, [][]float32{x, {t}, {ab}, vs}, [][]int{b.imageDims(1), {1}, {1}, dims})
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", kind, j, err)
	}
	return outs[0], nil
}

// function returns, inside a graph for the point x [1,C,H,W] at t [1] with ᾱ [1], the input of Jacobian j repeated
// k times (x_t, or h as NCHW) and the function whose Jacobian it is, which treats rows independently.
func (b *Bottleneck) function(ctx *context.Context, j Jacobian, x, t, ab *Node, k int) (*Node, func(*Node) *Node) {
	if j == DhDx {
		return repeat(x, k), func(xs *Node) *Node { return mlx.NHWCToNCHW(b.unet.Encode(ctx, xs, t).H) }
	}
	h := mlx.NHWCToNCHW(b.unet.Encode(ctx, x, t).H)
	dec := b.decoder(ctx, x, t, ab, k)
	return repeat(h, k), func(hs *Node) *Node {
		eps, x0 := dec(hs)
		if j == DepsDh {
			return eps
		}
		return x0
	}
}

// decoder returns the map from k bottlenecks hs [k,C_h,H_h,W_h] (NCHW) to ε and x̂0 [k,C,H,W], with the skip
// connections and the time embedding of the point x [1,C,H,W] held fixed.
func (b *Bottleneck) decoder(ctx *context.Context, x, t, ab *Node, k int) func(hs *Node) (eps, x0 *Node) {
	enc := b.unet.Encode(ctx, x, t)
	skips := make([]*Node, len(enc.Skips))
	for i, s := range enc.Skips {
		skips[i] = repeat(s, k)
	}
	temb := repeat(enc.Temb, k)
	xs := repeat(x, k)
	ab = Reshape(ab, 1, 1, 1, 1)
	sa, s1a := Sqrt(ab), Sqrt(OneMinus(ab))
	sample := b.Pipeline.Model.Prediction() == loco.PredictSample
	return func(hs *Node) (eps, x0 *Node) {
		pred := b.unet.Decode(ctx, diffusers.Bottleneck{H: mlx.NCHWToNHWC(hs), Skips: skips, Temb: temb})
		if sample {
			return Div(Sub(xs, Mul(sa, pred)), s1a), pred
		}
		return pred, Div(Sub(xs, Mul(s1a, pred)), sa)
	}
}

// repeat broadcasts a node with leading dimension 1 to k rows.
func repeat(n *Node, k int) *Node {
	dims := slices.Clone(n.Shape().Dimensions)
	dims[0] = k
	return BroadcastToDims(n, dims...)
}

func (b *Bottleneck) imageDims(n int) []int {
	s := b.Pipeline.SampleShape()
	return []int{n, s[0], s[1], s[2]}
}

func (b *Bottleneck) hDims(n int) []int { return []int{n, b.hShape[0], b.hShape[1], b.hShape[2]} }

// batch validates a flat batch of vectors of length dim and returns how many there are.
func (b *Bottleneck) batch(name string, v []float32, dim int) (int, error) {
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
	if k, err = b.batch(what, vs, dim); err != nil {
		return 0, 0, err
	}
	ab, err = b.alphaBar(t)
	return k, ab, err
}

// run executes the graph named key (built by fn on first use) on flat float32 inputs with the given dimensions.
func (b *Bottleneck) run(key string, fn func(ctx *context.Context, in []*Node) []*Node, inputs [][]float32, dims [][]int) ([][]float32, error) {
	e, err := b.exec(key, fn)
	if err != nil {
		return nil, err
	}
	outs, err := mlx.ExecFloat32(e, inputs, dims)
	if err != nil {
		return nil, fmt.Errorf("running the %s graph of %s: %w", key, b.Pipeline.Model.Name(), err)
	}
	return outs, nil
}

func (b *Bottleneck) exec(key string, fn func(ctx *context.Context, in []*Node) []*Node) (*context.Exec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.execs[key]; ok {
		return e, nil
	}
	var e *context.Exec
	err := mlx.Call(func() {
		var err error
		e, err = context.NewExec(b.Pipeline.Backend(), b.unet.Context().Reuse(), fn)
		if err != nil {
			panic(err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("building the %s graph of %s: %w", key, b.Pipeline.Model.Name(), err)
	}
	b.execs[key] = e
	return e, nil
}
