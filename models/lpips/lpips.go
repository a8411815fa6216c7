// Package lpips is the LPIPS perceptual distance (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep
// Features as a Perceptual Metric", version 0.1) with the AlexNet trunk, in GoMLX: the metric LOCO-Edit's
// Table 1 reports beside SSIM.
//
// The distance between two images in [−1, 1] shifts and scales each input per channel (LPIPS's scaling
// layer), takes the five ReLU outputs of torchvision's AlexNet feature layers, normalises each position's
// feature vector to unit length, weights the squared differences per channel with LPIPS's learned 1×1 linear
// layers, averages over space and sums over the five layers.
//
// The weights are the user's: torchvision's ImageNet AlexNet (alexnet-owt-7be5be79.pth) and LPIPS's v0.1
// linear layers (lpips/weights/v0.1/alex.pth of the lpips package), both PyTorch files read through hf/torch,
// in one folder (Load, or Default with --lpips-weights / $LOCO_LPIPS_WEIGHTS). loco/metrics.LPIPS uses
// Default.
package lpips

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// AlexNet's feature convolutions that LPIPS uses: torchvision's features.N module, its kernel, stride and
// padding, and whether a 3×3 stride-2 max pool precedes it. Each is followed by a ReLU whose output is one
// LPIPS layer.
var convs = []struct {
	module               int
	cin, cout, k, stride int
	pad                  int
	poolBefore           bool
}{
	{0, 3, 64, 11, 4, 2, false},
	{3, 64, 192, 5, 1, 2, true},
	{6, 192, 384, 3, 1, 1, true},
	{8, 384, 256, 3, 1, 1, false},
	{10, 256, 256, 3, 1, 1, false},
}

// LPIPS v0.1's scaling layer: (x − shift)/scale per RGB channel.
var (
	shift = []float32{-.030, -.088, -.188}
	scale = []float32{.458, .448, .450}
)

// MinSize is the smallest height and width AlexNet's layers can take (two 3×3 stride-2 pools after the
// stride-4 first convolution).
const MinSize = 31

// Net is LPIPS with the AlexNet trunk and its weights. Safe for concurrent use.
type Net struct {
	ctx    *context.Context
	graphs mlx.Graphs // compiles one graph per input shape
}

// maxPool3s2 is a 3×3 max pool with stride 2 and no padding of x [B,H,W,C] (MaxPool2d(3, 2)).
func maxPool3s2(x *Node) *Node {
	d := x.Shape().Dimensions
	ho, wo := (d[1]-3)/2+1, (d[2]-3)/2+1
	var out *Node
	for dy := range 3 {
		for dx := range 3 {
			s := Slice(x, AxisRange(), AxisRange(dy, dy+2*(ho-1)+1).Stride(2), AxisRange(dx, dx+2*(wo-1)+1).Stride(2), AxisRange())
			if out == nil {
				out = s
			} else {
				out = Max(out, s)
			}
		}
	}
	return out
}

// distance builds the LPIPS distance of each pair (a[i], b[i]) of NCHW images in [−1, 1]: [B]. Images with
// one channel are repeated to three, as LPIPS's scaling layer broadcasts them.
func distance(m statedict.Builder, a, b *Node) *Node {
	batch := a.Shape().Dimensions[0]
	x := mlx.NCHWToNHWC(Concatenate([]*Node{a, b}, 0))
	d := x.Shape().Dimensions
	if d[3] == 1 {
		x = BroadcastToDims(x, d[0], d[1], d[2], 3)
		d = x.Shape().Dimensions
	}
	g := x.Graph()
	sh := BroadcastToDims(Const(g, tensors.FromFlatDataAndDimensions(shift, 1, 1, 1, 3)), d...)
	sc := BroadcastToDims(Const(g, tensors.FromFlatDataAndDimensions(scale, 1, 1, 1, 3)), d...)
	h := Div(Sub(x, sh), sc)
	var total *Node
	for i, c := range convs {
		if c.poolBefore {
			h = maxPool3s2(h)
		}
		h = m.Conv2D(fmt.Sprint("features.", c.module), h, c.cin, c.cout, c.k, c.stride, [4]int{c.pad, c.pad, c.pad, c.pad})
		h = Max(h, ZerosLike(h)) // ReLU
		f := unitNormalise(h)
		hd := f.Shape().Dimensions
		fa := Slice(f, AxisRange(0, batch))
		fb := Slice(f, AxisRange(batch, 2*batch))
		diff := Square(Sub(fa, fb)) // [B,h,w,C]
		w := Reshape(m.In(fmt.Sprint("lin", i, ".model.1")).Get("weight", statedict.Conv, 1, 1, c.cout, 1), c.cout, 1)
		layer := DivScalar(ReduceSum(mlx.Dense(diff, w, nil), 1, 2, 3), float64(hd[1]*hd[2])) // spatial mean: [B]
		if total == nil {
			total = layer
		} else {
			total = Add(total, layer)
		}
	}
	return total
}

// unitNormalise divides each position's feature vector by its norm (+1e-10), as LPIPS's normalize_tensor.
func unitNormalise(x *Node) *Node {
	n := AddScalar(Sqrt(ReduceAndKeep(Square(x), ReduceSum, -1)), 1e-10)
	return Div(x, BroadcastToDims(n, x.Shape().Dimensions...))
}

// ParamSpecs lists the weights LPIPS needs: AlexNet's features.{0,3,6,8,10}.{weight,bias} (torchvision
// names) and LPIPS's lin{0…4}.model.1.weight, with their PyTorch shapes.
func ParamSpecs() ([]statedict.Spec, error) {
	return statedict.Record("LPIPS", func(m statedict.Builder, g *Graph) {
		a := Parameter(g, "a", shapes.Make(dtypes.Float32, 1, 3, 64, 64))
		distance(m, a, a)
	})
}

// New builds LPIPS with AlexNet's weights from trunk (torchvision names; its classifier.* tensors are
// ignored) and LPIPS's linear layers from lin.
func New(trunk, lin statedict.Source) (*Net, error) {
	specs, err := ParamSpecs()
	if err != nil {
		return nil, err
	}
	ignoreClassifier := func(name string) bool { return strings.HasPrefix(name, "classifier.") }
	ctx, err := statedict.Load(specs, merged{trunk, lin}, statedict.LoadOptions{Ignore: ignoreClassifier})
	if err != nil {
		return nil, fmt.Errorf("LPIPS weights: %w", err)
	}
	return &Net{ctx: ctx}, nil
}

// NewFromContext builds LPIPS on weights already in a context (by the names of ParamSpecs).
func NewFromContext(ctx *context.Context) *Net { return &Net{ctx: ctx} }

// Distances returns the LPIPS distance of each pair of images a[i], b[i]: flat NCHW batches of n images of
// c×h×w (c = 3, or 1 for greyscale, repeated to RGB) in [−1, 1], h and w at least MinSize.
func (n *Net) Distances(a, b []float32, batch, c, h, w int) ([]float64, error) {
	if batch < 1 || (c != 3 && c != 1) {
		return nil, fmt.Errorf("LPIPS: images must be RGB or greyscale (c = 3 or 1), got %d images of %d channels", batch, c)
	}
	if h < MinSize || w < MinSize {
		return nil, fmt.Errorf("LPIPS: images of %d×%d are too small for AlexNet's layers (at least %d×%d)", h, w, MinSize, MinSize)
	}
	if len(a) != batch*c*h*w || len(b) != len(a) {
		return nil, fmt.Errorf("LPIPS: %d and %d values for %d images of %d×%d×%d", len(a), len(b), batch, c, h, w)
	}
	dims := []int{batch, c, h, w}
	outs, err := n.graphs.RunFloat32(n.ctx.Reuse(), "distance", func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{distance(statedict.NewBuilder(ctx, in[0].Graph()), in[0], in[1])}
	}, [][]float32{a, b}, [][]int{dims, dims})
	if err != nil {
		return nil, fmt.Errorf("LPIPS: %w", err)
	}
	d := make([]float64, batch)
	for i, v := range outs[0] {
		d[i] = float64(v)
	}
	return d, nil
}

// Distance is the LPIPS distance between two images (see Distances).
func (n *Net) Distance(a, b []float32, c, h, w int) (float64, error) {
	d, err := n.Distances(a, b, 1, c, h, w)
	if err != nil {
		return math.NaN(), err
	}
	return d[0], nil
}

// ErrNoWeights is returned when no LPIPS weights folder is set.
var ErrNoWeights = errors.New("LPIPS needs torchvision's ImageNet AlexNet weights (alexnet-owt-7be5be79.pth) and " +
	"the LPIPS v0.1 linear layers (lpips/weights/v0.1/alex.pth of github.com/richzhang/PerceptualSimilarity, the `lpips` " +
	"Python package) in one folder, which this project does not ship: pass --lpips-weights DIR or set " + WeightsEnv)
