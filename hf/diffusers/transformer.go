package diffusers

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified

	"github.com/locoedit/locoedit/mlx"
)

// transformerOpts are the settings of a Transformer2DModel inside a UNet2DConditionModel block.
type transformerOpts struct {
	heads            int  // attention heads (each of channels/heads features)
	layers           int  // BasicTransformerBlocks (transformer_layers_per_block)
	groups           int  // GroupNorm groups of the input norm (the block's resnet_groups)
	contextDim       int  // cross_attention_dim: feature size of the encoder hidden states
	linearProjection bool // use_linear_projection: proj_in/proj_out are Linear instead of 1×1 Conv2d
}

// transformerNormEps is the LayerNorm epsilon of the BasicTransformerBlocks (Transformer2DModel's norm_eps, which
// UNet2DConditionModel leaves at its default).
const transformerNormEps = 1e-5

// crossAttention returns the attendFn of the CrossAttn*Block2D blocks: a Transformer2DModel attending to context.
func crossAttention(context *Node, o transformerOpts) attendFn {
	return func(p params, x *Node) *Node { return transformer2D(p, x, context, o) }
}

// transformer2D is diffusers' Transformer2DModel over continuous inputs: GroupNorm (eps 1e-6), proj_in, the
// BasicTransformerBlocks over the H·W positions, proj_out and the residual. x is [B,H,W,C] (NHWC), context
// [B,L,D].
func transformer2D(p params, x, context *Node, o transformerOpts) *Node {
	d := x.Shape().Dimensions
	b, hh, ww, c := d[0], d[1], d[2], d[3]
	inner := o.heads * (c / o.heads)
	h := p.groupNorm("norm", x, o.groups, 1e-6)
	if o.linearProjection {
		h = p.linear("proj_in", Reshape(h, b, hh*ww, c), c, inner)
	} else {
		h = Reshape(p.conv2D("proj_in", h, c, inner, 1, 1, [4]int{}), b, hh*ww, inner)
	}
	for i := range o.layers {
		h = basicTransformerBlock(p.in(fmt.Sprintf("transformer_blocks.%d", i)), h, context, inner, o)
	}
	if o.linearProjection {
		h = Reshape(p.linear("proj_out", h, inner, c), b, hh, ww, c)
	} else {
		h = p.conv2D("proj_out", Reshape(h, b, hh, ww, inner), inner, c, 1, 1, [4]int{})
	}
	return p.tap(Add(h, x))
}

// basicTransformerBlock is diffusers' BasicTransformerBlock with layer norms: self-attention, cross-attention to
// context, GEGLU feed-forward, each pre-normed and residual. h is [B,N,dim].
func basicTransformerBlock(p params, h, context *Node, dim int, o transformerOpts) *Node {
	h = Add(h, attention(p.in("attn1"), p.LayerNorm("norm1", h, transformerNormEps), nil, dim, dim, o.heads))
	h = Add(h, attention(p.in("attn2"), p.LayerNorm("norm2", h, transformerNormEps), context, dim, o.contextDim, o.heads))
	h = Add(h, feedForward(p.in("ff"), p.LayerNorm("norm3", h, transformerNormEps), dim))
	return p.tap(h)
}

// attention is diffusers' Attention as the transformer blocks build it (no bias on to_q/to_k/to_v, bias on
// to_out.0): x [B,N,dim] attends to context [B,L,contextDim], or to itself when context is nil.
func attention(p params, x, context *Node, dim, contextDim, heads int) *Node {
	if context == nil {
		context, contextDim = x, dim
	}
	q := p.LinearNoBias("to_q", x, dim, dim)
	k := p.LinearNoBias("to_k", context, contextDim, dim)
	v := p.LinearNoBias("to_v", context, contextDim, dim)
	return p.linear("to_out.0", mlx.Attention(q, k, v, heads, false), dim, dim)
}

// feedForward is diffusers' FeedForward with the GEGLU activation: proj to 2·4·dim, value·GELU(gate), back to dim.
// The value and gate halves are taken from the weights rather than from the activations: slicing constants adds
// nothing to the gradients.
func feedForward(p params, x *Node, dim int) *Node {
	inner := 4 * dim
	proj := p.in("net.0.proj")
	w, bias := proj.get("weight", Linear, dim, 2*inner), proj.get("bias", Vector, 2*inner)
	half := func(n *Node, i int) *Node {
		if n.Rank() == 1 {
			return Slice(n, AxisRange(i*inner, (i+1)*inner))
		}
		return Slice(n, AxisRange(), AxisRange(i*inner, (i+1)*inner))
	}
	value := dense(x, half(w, 0), half(bias, 0))
	gate := dense(x, half(w, 1), half(bias, 1))
	return p.linear("net.2", Mul(value, mlx.GELU(gate)), inner, dim)
}
