package mlx

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
)

// ConvMethod selects how Conv2D computes a convolution.
type ConvMethod int

const (
	// ConvAuto uses im2col on the pure-Go backend (7–10× faster there than its builtin convolution) and the
	// backend's own convolution elsewhere for stride-1 convolutions.
	ConvAuto ConvMethod = iota
	// ConvIm2Col gathers the k×k patches with Slices and multiplies them with one DotGeneral.
	ConvIm2Col
	// ConvBuiltin uses graph.Convolve (stride 1 only: a strided builtin convolution cannot be
	// differentiated twice in GoMLX v0.26.0; strided convolutions always use im2col).
	ConvBuiltin
)

// DefaultConvMethod is the method Conv2D uses; tests switch it to compare both.
var DefaultConvMethod = ConvAuto

// Conv2D convolves x [B,H,W,Cin] (NHWC) with kernel [kh,kw,Cin,Cout] (HWIO) at the given stride, after
// zero-padding x by pad = {top, bottom, left, right}. It returns [B,Ho,Wo,Cout] with
// Ho = (H+top+bottom−kh)/stride + 1. The result can be differentiated twice on every backend.
func Conv2D(x, kernel *Node, stride int, pad [4]int) *Node {
	if x.Rank() != 4 || kernel.Rank() != 4 {
		panic(fmt.Errorf("Conv2D: want x [B,H,W,C] and kernel [kh,kw,Cin,Cout], got %s and %s", x.Shape(), kernel.Shape()))
	}
	kh, kw, cin, cout := kernel.Shape().Dimensions[0], kernel.Shape().Dimensions[1], kernel.Shape().Dimensions[2], kernel.Shape().Dimensions[3]
	if x.Shape().Dimensions[3] != cin {
		panic(fmt.Errorf("Conv2D: input has %d channels but the kernel expects %d", x.Shape().Dimensions[3], cin))
	}
	if kh == 1 && kw == 1 && stride == 1 && pad == [4]int{} {
		return DotGeneral(x, []int{3}, nil, Reshape(kernel, cin, cout), []int{0}, nil)
	}
	method := DefaultConvMethod
	if method == ConvAuto {
		method = ConvIm2Col
		if !IsPureGo(x.Graph().Backend()) {
			method = ConvBuiltin
		}
	}
	if method == ConvBuiltin && stride == 1 && pad[0] == pad[1] && pad[2] == pad[3] && kh%2 == 1 && kw%2 == 1 {
		// Symmetric padding and odd kernels only: GoMLX's Convolve gradient is wrong for even kernels and
		// fails for asymmetric padding. No StridePerAxis: it blocks second-order gradients.
		return Convolve(x, kernel).PaddingPerDim([][2]int{{pad[0], pad[1]}, {pad[2], pad[3]}}).Done()
	}
	return conv2DIm2Col(x, kernel, stride, pad)
}

func conv2DIm2Col(x, kernel *Node, stride int, pad [4]int) *Node {
	kh, kw, cin, cout := kernel.Shape().Dimensions[0], kernel.Shape().Dimensions[1], kernel.Shape().Dimensions[2], kernel.Shape().Dimensions[3]
	xp := PadSpatial(x, pad)
	hp, wp := xp.Shape().Dimensions[1], xp.Shape().Dimensions[2]
	ho, wo := (hp-kh)/stride+1, (wp-kw)/stride+1
	if ho <= 0 || wo <= 0 {
		panic(fmt.Errorf("Conv2D: input %s too small for a %dx%d kernel", x.Shape(), kh, kw))
	}
	patches := make([]*Node, 0, kh*kw)
	for dy := range kh {
		for dx := range kw {
			ys, xs := AxisRange(dy, dy+(ho-1)*stride+1), AxisRange(dx, dx+(wo-1)*stride+1)
			if stride > 1 {
				ys, xs = ys.Stride(stride), xs.Stride(stride)
			}
			patches = append(patches, Slice(xp, AxisRange(), ys, xs, AxisRange()))
		}
	}
	cols := patches[0]
	if len(patches) > 1 {
		cols = Concatenate(patches, 3) // [B,Ho,Wo,kh*kw*Cin], ordered (dy, dx, cin) like the HWIO kernel.
	}
	return DotGeneral(cols, []int{3}, nil, Reshape(kernel, kh*kw*cin, cout), []int{0}, nil)
}

// PadSpatial zero-pads the spatial axes of x [B,H,W,C] by {top, bottom, left, right}.
func PadSpatial(x *Node, pad [4]int) *Node {
	if pad == [4]int{} {
		return x
	}
	zero := ScalarZero(x.Graph(), x.DType())
	return Pad(x, zero, backends.PadAxis{}, backends.PadAxis{Start: pad[0], End: pad[1]},
		backends.PadAxis{Start: pad[2], End: pad[3]}, backends.PadAxis{})
}

// Dense applies x·w + b over x's last axis; w is [in, out], b is [out] or nil.
func Dense(x, w, b *Node) *Node {
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{0}, nil)
	if b != nil {
		y = Add(y, AlignLastAxis(b, y.Rank()))
	}
	return y
}

// AlignLastAxis reshapes a vector v [n] to [1,…,1,n] of the given rank, so it broadcasts over the last axis.
func AlignLastAxis(v *Node, rank int) *Node {
	if v.Rank() == rank {
		return v
	}
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = 1
	}
	dims[rank-1] = v.Shape().Size()
	return Reshape(v, dims...)
}

// GroupNorm normalises x [B,H,W,C] (or [B,C]) over groups of channels (and space), with variance computed as
// the mean of squared deviations (no Rsqrt, so it differentiates twice everywhere), then applies the
// per-channel affine scale and bias (either may be nil).
func GroupNorm(x *Node, groups int, eps float64, scale, bias *Node) *Node {
	dims := x.Shape().Dimensions
	c := dims[len(dims)-1]
	if c%groups != 0 {
		panic(fmt.Errorf("GroupNorm: %d channels do not split into %d groups", c, groups))
	}
	grouped := append(append([]int{}, dims[:len(dims)-1]...), groups, c/groups)
	xg := Reshape(x, grouped...)
	axes := make([]int, 0, len(grouped)-2)
	for a := 1; a < len(grouped)-2; a++ {
		axes = append(axes, a)
	}
	axes = append(axes, len(grouped)-1)
	mean := ReduceAndKeep(xg, ReduceMean, axes...)
	centred := Sub(xg, mean)
	variance := ReduceAndKeep(Square(centred), ReduceMean, axes...)
	y := Div(centred, Sqrt(AddScalar(variance, eps)))
	y = Reshape(y, dims...)
	if scale != nil {
		y = Mul(y, AlignLastAxis(scale, y.Rank()))
	}
	if bias != nil {
		y = Add(y, AlignLastAxis(bias, y.Rank()))
	}
	return y
}

// SiLU is x·σ(x).
func SiLU(x *Node) *Node { return Mul(x, Sigmoid(x)) }

// UpsampleNearest2x doubles the spatial size of x [B,H,W,C] by repeating pixels (diffusers' nearest
// interpolation). Built from Reshape and broadcasting: GoMLX's Interpolate has a wrong gradient for batch > 1.
func UpsampleNearest2x(x *Node) *Node {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	y := Reshape(x, b, h, 1, w, 1, c)
	y = BroadcastToDims(y, b, h, 2, w, 2, c)
	return Reshape(y, b, 2*h, 2*w, c)
}

// NCHWToNHWC transposes [B,C,H,W] to [B,H,W,C].
func NCHWToNHWC(x *Node) *Node { return TransposeAllAxes(x, 0, 2, 3, 1) }

// NHWCToNCHW transposes [B,H,W,C] to [B,C,H,W].
func NHWCToNCHW(x *Node) *Node { return TransposeAllAxes(x, 0, 3, 1, 2) }
