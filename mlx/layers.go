package mlx

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// ConvMethod selects how Conv2D computes a convolution.
type ConvMethod int

const (
	// ConvAuto uses the backend's own convolution for stride-1 convolutions: XLA's, or on the pure-Go backend the
	// implicit-GEMM executor InstallGoKernels puts in place of simplego's (which is 100× slower: with the fast
	// kernels off, ConvAuto picks Winograd or im2col there instead).
	ConvAuto ConvMethod = iota
	// ConvIm2Col gathers the k×k patches with Slices and multiplies them with one DotGeneral.
	ConvIm2Col
	// ConvBuiltin uses graph.Convolve (stride 1 only: a strided builtin convolution cannot be
	// differentiated twice in GoMLX v0.26.0; strided convolutions always use im2col).
	ConvBuiltin
	// ConvWinograd computes stride-1 3×3 convolutions with Winograd's F(2×2,3×3) algorithm: 16 matrix products
	// over transformed 4×4 input tiles instead of one product over 9 shifted copies, 2.25× fewer multiplications
	// and less data to move. Other convolutions, and outputs of odd height or width, use im2col. ConvAuto uses it
	// on the pure-Go backend when the convolution has at least 16 input channels.
	ConvWinograd
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
		switch {
		case !IsPureGo(x.Graph().Backend()) || GoKernelsOn():
			// XLA's convolutions, or this package's implicit-GEMM executor on the pure-Go backend.
			method = ConvBuiltin
		case cin >= 16:
			// With few input channels im2col's single contraction (9·Cin) is cheaper than Winograd's 16.
			method = ConvWinograd
		}
	}
	if method == ConvWinograd && winogradApplies(x, kernel, stride, pad) {
		return conv2DWinograd(x, kernel, pad)
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

// winogradApplies reports whether conv2DWinograd can compute the convolution: a 3×3 kernel, stride 1 and an
// output of even height and width (whole 2×2 output tiles).
func winogradApplies(x, kernel *Node, stride int, pad [4]int) bool {
	kd, xd := kernel.Shape().Dimensions, x.Shape().Dimensions
	ho, wo := xd[1]+pad[0]+pad[1]-2, xd[2]+pad[2]+pad[3]-2
	return kd[0] == 3 && kd[1] == 3 && stride == 1 && ho > 0 && wo > 0 && ho%2 == 0 && wo%2 == 0
}

// winogradG is the kernel transform G of F(2×2,3×3); the kernel tile becomes U = G·g·Gᵀ (4×4).
var winogradG = [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}

// conv2DWinograd computes a stride-1 3×3 convolution with Winograd's minimal filtering algorithm F(2×2,3×3)
// (Lavin & Gray, 2016). The padded input is cut into 4×4 tiles that overlap by 2; each tile d becomes
// V = Bᵀ·d·B and the kernel U = G·g·Gᵀ; each of the 16 tile positions is a product over the channels
// M = V·U; each M tile gives a 2×2 output tile Aᵀ·M·A. Every step is a linear map made of Slice, Add/Sub,
// Concatenate, Reshape and DotGeneral, so the result differentiates twice like im2col.
//
// The 16 positions are kept as separate tensors and products (rather than stacked into one batched product):
// stacking and unstacking would add copies, and their gradients would add full-size zero-padded tensors.
func conv2DWinograd(x, kernel *Node, pad [4]int) *Node {
	cin, cout := kernel.Shape().Dimensions[2], kernel.Shape().Dimensions[3]
	xp := PadSpatial(x, pad)
	d := xp.Shape().Dimensions
	b, hp, wp := d[0], d[1], d[2]
	th, tw := (hp-2)/2, (wp-2)/2 // tiles per column and per row
	tiles := b * th * tw

	// U = G·g·Gᵀ for every (cin, cout): one [16,9]·[9, Cin·Cout] product, cut into the 16 positions.
	gg := make([]float64, 0, 16*9)
	for a := range 4 {
		for bb := range 4 {
			for i := range 3 {
				for j := range 3 {
					gg = append(gg, winogradG[a][i]*winogradG[bb][j])
				}
			}
		}
	}
	ggNode := ConvertDType(Const(x.Graph(), tensors.FromFlatDataAndDimensions(gg, 16, 9)), kernel.DType())
	u := Reshape(DotGeneral(ggNode, []int{1}, nil, Reshape(kernel, 9, cin*cout), []int{0}, nil), 16, cin, cout)

	// Bᵀ on the 4 rows of each tile (row k of tile i is input row 2i+k), then B on the 4 columns (column k of
	// tile j is input column 2j+k); then the product of position (a, b) with U[a, b].
	var m [4][4]*Node // [tiles, Cout]
	r := make([]*Node, 4)
	for k := range r {
		r[k] = Slice(xp, AxisRange(), AxisRange(k, k+2*th-1).Stride(2), AxisRange(), AxisRange())
	}
	for a, ra := range applyBt(r) { // ra: [B, th, wp, Cin]
		c := make([]*Node, 4)
		for k := range c {
			c[k] = Slice(ra, AxisRange(), AxisRange(), AxisRange(k, k+2*tw-1).Stride(2), AxisRange())
		}
		for bb, v := range applyBt(c) { // v: [B, th, tw, Cin]
			uab := Reshape(Slice(u, AxisElem(4*a+bb)), cin, cout)
			m[a][bb] = DotGeneral(Reshape(v, tiles, cin), []int{1}, nil, uab, []int{0}, nil)
		}
	}

	// Aᵀ = [[1,1,1,0], [0,1,-1,-1]] on tile rows, then A on tile columns.
	var s [2][4]*Node
	for bb := range 4 {
		s[0][bb] = Add(Add(m[0][bb], m[1][bb]), m[2][bb])
		s[1][bb] = Sub(Sub(m[1][bb], m[2][bb]), m[3][bb])
	}
	outRows := make([]*Node, 2)
	for i, si := range s {
		y0 := Reshape(Add(Add(si[0], si[1]), si[2]), b, th, tw, 1, cout)
		y1 := Reshape(Sub(Sub(si[1], si[2]), si[3]), b, th, tw, 1, cout)
		outRows[i] = Reshape(Concatenate([]*Node{y0, y1}, 3), b, th, 1, 2*tw, cout) // output rows 2i'+i
	}
	return Reshape(Concatenate(outRows, 2), b, 2*th, 2*tw, cout)
}

// applyBt applies Bᵀ = [[1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]] to the four tensors t.
func applyBt(t []*Node) []*Node {
	return []*Node{Sub(t[0], t[2]), Add(t[1], t[2]), Sub(t[2], t[1]), Sub(t[1], t[3])}
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
		y = AddBias(y, b)
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
//
// The statistics are taken on the small [B,G] level and folded with the affine terms into one per-sample,
// per-channel scale and shift, so the full-size work is: two reductions, the centring, a square and one
// multiply-add, with every broadcast made explicit (implicit broadcasting in binary ops is several times
// slower on the pure-Go backend).
func GroupNorm(x *Node, groups int, eps float64, scale, bias *Node) *Node {
	dims := x.Shape().Dimensions
	c := dims[len(dims)-1]
	if c%groups != 0 {
		panic(fmt.Errorf("GroupNorm: %d channels do not split into %d groups", c, groups))
	}
	b := dims[0]
	s := x.Shape().Size() / (b * c) // spatial positions
	cg := c / groups
	xg := Reshape(x, b, s, groups, cg)
	n := float64(s * cg)
	mean := DivScalar(ReduceSum(xg, 1, 3), n) // [B,G]
	centred := Sub(xg, BroadcastToDims(Reshape(mean, b, 1, groups, 1), b, s, groups, cg))
	variance := DivScalar(ReduceSum(Square(centred), 1, 3), n)
	inv := Reshape(Div(ScalarOne(x.Graph(), x.DType()), Sqrt(AddScalar(variance, eps))), b, groups, 1) // [B,G,1]
	factor := BroadcastToDims(inv, b, groups, cg)                                                      // [B,G,Cg]
	if scale != nil {
		factor = Mul(factor, BroadcastToDims(Reshape(scale, 1, groups, cg), b, groups, cg))
	}
	y := Mul(centred, BroadcastToDims(Reshape(factor, b, 1, groups, cg), b, s, groups, cg))
	if bias != nil {
		y = Add(y, BroadcastToDims(Reshape(bias, 1, 1, groups, cg), b, s, groups, cg))
	}
	return Reshape(y, dims...)
}

// AddBias adds the vector b [n] to x over its last axis (of size n), with an explicit broadcast: the
// pure-Go backend's implicit broadcasting in binary ops is several times slower.
func AddBias(x, b *Node) *Node {
	return Add(x, BroadcastToDims(AlignLastAxis(b, x.Rank()), x.Shape().Dimensions...))
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
