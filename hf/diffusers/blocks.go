package diffusers

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/locoedit/locoedit/mlx"
)

// Thin aliases so the blocks read like diffusers' modules.
var (
	conv      = mlx.Conv2D
	dense     = mlx.Dense
	groupNorm = mlx.GroupNorm
	silu      = mlx.SiLU
)

// blockOpts are the per-block settings diffusers passes down from UNet2DModel.
type blockOpts struct {
	groups      int     // resnet_groups (norm_num_groups)
	attnGroups  int     // GroupNorm groups of attention blocks
	eps         float64 // resnet_eps (norm_eps)
	headDim     int     // attention_head_dim (0: one head over all channels)
	outputScale float64 // output_scale_factor
	tembDim     int     // time embedding channels
}

// timestepEmbedding is diffusers' get_timestep_embedding (positional, max_period 10000, scale 1) for t [B],
// emulating PyTorch's float32 arithmetic for the frequencies. Returns [B, dim].
func timestepEmbedding(t *Node, dim int, flipSinToCos bool, freqShift float64) *Node {
	half := dim / 2
	freqs := make([]float32, half)
	logPeriod := float32(-math.Log(10000))
	for i := range freqs {
		exponent := logPeriod * float32(i) / float32(float64(half)-freqShift)
		freqs[i] = float32(math.Exp(float64(exponent)))
	}
	g := t.Graph()
	args := Mul(InsertAxes(ConvertDType(t, dtypes.Float32), -1), InsertAxes(Const(g, tensors.FromFlatDataAndDimensions(freqs, half)), 0))
	first, second := Sin(args), Cos(args)
	if flipSinToCos {
		first, second = second, first
	}
	emb := Concatenate([]*Node{first, second}, 1)
	if dim%2 == 1 {
		emb = mlx.PadSpatial(Reshape(emb, emb.Shape().Dimensions[0], 1, 2*half, 1), [4]int{0, 0, 0, 1})
		emb = Reshape(emb, emb.Shape().Dimensions[0], dim)
	}
	return emb
}

// resnetBlock2D is diffusers' ResnetBlock2D (time_embedding_norm "default"): x [B,H,W,Cin], temb [B,T], or nil
// for the blocks built with temb_channels=None (the VAE's), which have no time_emb_proj.
func resnetBlock2D(p params, x, temb *Node, cin, cout int, o blockOpts) *Node {
	h := silu(p.groupNorm("norm1", x, o.groups, o.eps))
	h, bias1 := p.conv2DNoBias("conv1", h, cin, cout, 3, 1, [4]int{1, 1, 1, 1})
	if temb != nil {
		t := p.linear("time_emb_proj", silu(temb), o.tembDim, cout)
		b := t.Shape().Dimensions[0]
		// conv1's bias and the time embedding projection are per-channel shifts: add them in one broadcast.
		t = Add(t, BroadcastToDims(Reshape(bias1, 1, cout), b, cout))
		h = Add(h, BroadcastToDims(Reshape(t, b, 1, 1, cout), h.Shape().Dimensions...))
	} else {
		h = mlx.AddBias(h, bias1)
	}
	h = silu(p.groupNorm("norm2", h, o.groups, o.eps))
	h, bias2 := p.conv2DNoBias("conv2", h, cout, cout, 3, 1, [4]int{1, 1, 1, 1})
	var out *Node
	if cin != cout {
		sc, biasSC := p.conv2DNoBias("conv_shortcut", x, cin, cout, 1, 1, [4]int{})
		out = Add(h, mlx.AddBias(sc, Add(biasSC, bias2)))
	} else {
		out = Add(x, mlx.AddBias(h, bias2))
	}
	if o.outputScale != 1 {
		out = DivScalar(out, o.outputScale)
	}
	return p.tap(out)
}

// attentionBlock is diffusers' Attention with residual connection over the spatial positions of x [B,H,W,C]
// (the processor used by UNet2DModel's attention blocks). New and legacy weight names load into the same
// variables (see Load).
func attentionBlock(p params, x *Node, o blockOpts) *Node {
	d := x.Shape().Dimensions
	b, hh, ww, c := d[0], d[1], d[2], d[3]
	heads := 1
	if o.headDim > 0 {
		heads = c / o.headDim
	}
	dh := c / heads
	n := hh * ww
	h := Reshape(p.groupNorm("group_norm", x, o.attnGroups, o.eps), b, n, c)
	// The 1/√dh score scale is folded into the query projection's (small) weights.
	scale := 1 / math.Sqrt(float64(dh))
	qm := p.in("to_q")
	q := dense(h, MulScalar(qm.get("weight", Linear, c, c), scale), MulScalar(qm.get("bias", Vector, c), scale))
	k := p.linear("to_k", h, c, c)
	v := p.linear("to_v", h, c, c)
	// Softmax over the keys, normalised after the product with v: dividing the [b, q, c] result costs a
	// fraction of dividing the [b, q, k] weights (c < k in every UNet2DModel attention).
	var attn *Node
	if heads == 1 {
		// Plain DotGenerals in the layouts they produce: no transposes.
		w, inv := unnormalisedSoftmax(DotGeneral(q, []int{2}, []int{0}, k, []int{2}, []int{0})) // [b, q, k], [b, q, 1]
		attn = DotGeneral(w, []int{2}, []int{0}, v, []int{1}, []int{0})                         // [b, q, c]
		attn = Mul(attn, BroadcastToDims(inv, b, n, c))
	} else {
		q, k, v = Reshape(q, b, n, heads, dh), Reshape(k, b, n, heads, dh), Reshape(v, b, n, heads, dh)
		w, inv := unnormalisedSoftmax(DotGeneral(q, []int{3}, []int{0, 2}, k, []int{3}, []int{0, 2})) // [b, h, q, k]
		attn = DotGeneral(w, []int{3}, []int{0, 1}, v, []int{1}, []int{0, 2})                         // [b, h, q, d]
		attn = Mul(attn, BroadcastToDims(inv, b, heads, n, dh))
		attn = Reshape(TransposeAllAxes(attn, 0, 2, 1, 3), b, n, c)
	}
	out := Reshape(p.linear("to_out.0", attn, c, c), b, hh, ww, c)
	out = Add(out, x)
	if o.outputScale != 1 {
		out = DivScalar(out, o.outputScale)
	}
	return p.tap(out)
}

// unnormalisedSoftmax returns the numerators of the softmax over the last axis, exp(x − rowmax) (the row
// maximum held constant for the gradient, as graph.Softmax does), and the reciprocals of their row sums
// (shaped like x with a last axis of 1): softmax(x) = w·inv. Broadcasts are explicit: implicit broadcasting in
// binary ops is several times slower on the pure-Go backend.
func unnormalisedSoftmax(x *Node) (w, inv *Node) {
	rowMax := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	w = Exp(Sub(x, BroadcastToDims(rowMax, x.Shape().Dimensions...)))
	inv = Div(ScalarOne(x.Graph(), x.DType()), ReduceAndKeep(w, ReduceSum, -1))
	return w, inv
}

// downsample2D is diffusers' Downsample2D with a conv: padding 0 means F.pad (0,1,0,1) then a stride-2 conv.
func downsample2D(p params, x *Node, c, padding int) *Node {
	pad := [4]int{0, 1, 0, 1}
	if padding == 1 {
		pad = [4]int{1, 1, 1, 1}
	}
	return p.tap(p.conv2D("conv", x, c, c, 3, 2, pad))
}

// upsample2D is diffusers' Upsample2D with a conv: nearest ×2, then a 3×3 conv.
func upsample2D(p params, x *Node, c int) *Node {
	return p.tap(p.conv2D("conv", mlx.UpsampleNearest2x(x), c, c, 3, 1, [4]int{1, 1, 1, 1}))
}

// attendFn is the attention layer that follows each resnet of a block (self-attention, a Transformer2DModel), or
// nil for blocks without one.
type attendFn func(p params, x *Node) *Node

// selfAttention is the attendFn of the Attn*Block2D blocks: attentionBlock with the block's options.
func selfAttention(o blockOpts) attendFn {
	return func(p params, x *Node) *Node { return attentionBlock(p, x, o) }
}

// downBlock is DownBlock2D (attend nil), AttnDownBlock2D or CrossAttnDownBlock2D (attend the block's attention
// layer). It returns the block's output and the skip states it emits.
func downBlock(p params, x, temb *Node, cin, cout, layers int, attend attendFn, addDownsample bool, downPad int, o blockOpts) (*Node, []*Node) {
	var skips []*Node
	for i := range layers {
		in := cout
		if i == 0 {
			in = cin
		}
		x = resnetBlock2D(p.in(fmt.Sprintf("resnets.%d", i)), x, temb, in, cout, o)
		if attend != nil {
			x = attend(p.in(fmt.Sprintf("attentions.%d", i)), x)
		}
		skips = append(skips, x)
	}
	if addDownsample {
		x = downsample2D(p.in("downsamplers.0"), x, cout, downPad)
		skips = append(skips, x)
	}
	return x, skips
}

// upBlock is UpBlock2D (attend nil), AttnUpBlock2D or CrossAttnUpBlock2D; skips are consumed from the end.
func upBlock(p params, x, temb *Node, skips []*Node, prevOut, cout, layers int, attend attendFn, addUpsample bool, o blockOpts) *Node {
	for i := range layers {
		skip := skips[len(skips)-1-i]
		resIn := cout
		if i == 0 {
			resIn = prevOut
		}
		x = Concatenate([]*Node{x, skip}, 3)
		x = resnetBlock2D(p.in(fmt.Sprintf("resnets.%d", i)), x, temb, resIn+skip.Shape().Dimensions[3], cout, o)
		if attend != nil {
			x = attend(p.in(fmt.Sprintf("attentions.%d", i)), x)
		}
	}
	if addUpsample {
		x = upsample2D(p.in("upsamplers.0"), x, cout)
	}
	return x
}

// midBlock is UNetMidBlock2D with one attention layer (or none, attend nil) or UNetMidBlock2DCrossAttn:
// resnet, attention, resnet.
func midBlock(p params, x, temb *Node, c int, o blockOpts, attend attendFn) *Node {
	x = resnetBlock2D(p.in("resnets.0"), x, temb, c, c, o)
	if attend != nil {
		x = attend(p.in("attentions.0"), x)
	}
	return resnetBlock2D(p.in("resnets.1"), x, temb, c, c, o)
}
