package guided

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// UNetModel is guided-diffusion's UNetModel. Its weights live in a context whose scopes mirror the PyTorch
// state-dict names ("input_blocks.1.0.in_layers.2.weight" is variable "weight" in scope
// "/input_blocks/1/0/in_layers/2").
type UNetModel struct {
	Config *Config
	ctx    *context.Context
}

// Context returns the context holding the model's weights.
func (m *UNetModel) Context() *context.Context { return m.ctx }

// Forward builds the network's output for x [B,C,H,W] (NCHW, float32) and t [B] or [1] (float32, fed to the
// time embedding as is, so fractional times work): [B,out_channels,H,W], ε followed by the variance channels
// when the model learns σ. ctx holds the weights (nil: the model's own).
func (m *UNetModel) Forward(ctx *context.Context, x, t *Node) *Node {
	if ctx == nil {
		ctx = m.ctx
	}
	return builder{c: m.Config}.forward(statedict.NewBuilder(ctx, x.Graph()), x, t)
}

// Eps builds ε(x, t): the first in_channels output channels ([B,C,H,W], shaped like x).
func (m *UNetModel) Eps(ctx *context.Context, x, t *Node) *Node {
	return m.Config.eps(m.Forward(ctx, x, t))
}

// eps keeps ε of the network's output: the first in_channels channels when the model also learned σ.
func (c *Config) eps(out *Node) *Node {
	if !c.LearnsSigma() {
		return out
	}
	return Slice(out, AxisRange(), AxisRange(0, c.InChannels))
}

// SplitAtBottleneck builds the middle block's output h [B,ch,h,w] (NCHW) for x [B,C,H,W] at times t [B] or
// [1], and a function that finishes the network (all output channels, as Forward) from k bottlenecks
// hs [k,ch,h,w] with the skip connections and time embedding of x, which must then have B = 1 (they are
// repeated k times). ctx holds the weights (nil: the model's own).
func (m *UNetModel) SplitAtBottleneck(ctx *context.Context, x, t *Node) (*Node, func(hs *Node) *Node) {
	if ctx == nil {
		ctx = m.ctx
	}
	sb := statedict.NewBuilder(ctx, x.Graph())
	b := builder{c: m.Config}
	e := b.encode(sb, x, t)
	decode := func(hs *Node) *Node {
		k := hs.Shape().Dimensions[0]
		r := e
		r.emb = mlx.RepeatRows(e.emb, k)
		r.skips = make([]*Node, len(e.skips))
		for i, s := range e.skips {
			r.skips[i] = mlx.RepeatRows(s, k)
		}
		return b.decode(sb, r, mlx.NCHWToNHWC(hs))
	}
	return mlx.NHWCToNCHW(e.h), decode
}

// builder composes the network from the config. With flops set, it also counts the floating-point
// operations of the products (2 per multiply-add of every convolution, linear layer and attention product).
type builder struct {
	c     *Config
	flops *int64
}

func (b builder) count(macs int) {
	if b.flops != nil {
		*b.flops += 2 * int64(macs)
	}
}

// conv applies the Conv2d module name with a k×k kernel and "same" padding k/2 (stride 2 halves the size).
func (b builder) conv(m statedict.Builder, name string, x *Node, cin, cout, k, stride int) *Node {
	p := k / 2
	y := m.Conv2D(name, x, cin, cout, k, stride, [4]int{p, p, p, p})
	b.count(y.Shape().Size() * cin * k * k)
	return y
}

func (b builder) linear(m statedict.Builder, name string, x *Node, in, out int) *Node {
	y := m.Linear(name, x, in, out)
	b.count(y.Shape().Size() * in)
	return y
}

// norm is GroupNorm32: 32 groups, ε 1e-5, float32.
func norm(m statedict.Builder, name string, x *Node) *Node {
	return m.GroupNorm(name, x, groups, normEps)
}

// resample selects a ResBlock's up- or downsampling.
type resample int

const (
	keep resample = iota
	up
	down
)

// avgPool2 is a 2×2 average pool with stride 2 of x [B,H,W,C].
func avgPool2(x *Node) *Node {
	d := x.Shape().Dimensions
	return ReduceMean(Reshape(x, d[0], d[1]/2, 2, d[2]/2, 2, d[3]), 2, 4)
}

func (r resample) apply(x *Node) *Node {
	switch r {
	case up:
		return mlx.UpsampleNearest2x(x)
	case down:
		return avgPool2(x)
	}
	return x
}

// broadcastChannels broadcasts v [B,C] over x [B,H,W,C].
func broadcastChannels(v, x *Node) *Node {
	d := v.Shape().Dimensions
	return BroadcastToDims(Reshape(v, d[0], 1, 1, d[1]), x.Shape().Dimensions...)
}

// resBlock is ResBlock: norm, SiLU, (up/downsampling of both paths), conv; the time embedding as a shift, or
// with use_scale_shift_norm as a scale and shift of the second norm (h = norm(h)·(1+scale) + shift); SiLU,
// conv; plus the skip path (a 1×1 conv when the channels change).
func (b builder) resBlock(m statedict.Builder, x, emb *Node, cin, cout int, r resample) *Node {
	h := r.apply(mlx.SiLU(norm(m, "in_layers.0", x)))
	x = r.apply(x)
	h = b.conv(m, "in_layers.2", h, cin, cout, 3, 1)
	tdim := emb.Shape().Dimensions[1]
	if b.c.UseScaleShiftNorm {
		e := b.linear(m, "emb_layers.1", mlx.SiLU(emb), tdim, 2*cout)
		scale := Slice(e, AxisRange(), AxisRange(0, cout))
		shift := Slice(e, AxisRange(), AxisRange(cout, 2*cout))
		h = norm(m, "out_layers.0", h)
		h = Add(Mul(h, broadcastChannels(OnePlus(scale), h)), broadcastChannels(shift, h))
		h = mlx.SiLU(h)
	} else {
		e := b.linear(m, "emb_layers.1", mlx.SiLU(emb), tdim, cout)
		h = mlx.SiLU(norm(m, "out_layers.0", Add(h, broadcastChannels(e, h))))
	}
	h = b.conv(m, "out_layers.3", h, cout, cout, 3, 1)
	if cin != cout {
		x = b.conv(m, "skip_connection", x, cin, cout, 1, 1)
	}
	return Add(x, h)
}

// attention is AttentionBlock: norm, the qkv 1-D convolution, multi-head attention, proj_out, residual. The
// qkv rows are [q|k|v] per head in the legacy order, and q rows of all heads, then k, then v in the new order;
// q and k are both scaled by ch^−¼, which is the usual 1/√ch of the scores.
func (b builder) attention(m statedict.Builder, x *Node, heads int) *Node {
	d := x.Shape().Dimensions
	bs, n, c := d[0], d[1]*d[2], d[3]
	dh := c / heads
	h := Reshape(norm(m, "norm", x), bs, n, c)
	w := Reshape(m.In("qkv").Get("weight", statedict.Conv1D, 1, c, 3*c), c, 3*c)
	bias := m.In("qkv").Get("bias", statedict.Vector, 3*c)
	// part returns the weight and bias rows of q (0), k (1) or v (2) as [c, c] and [c], heads in order.
	part := func(i int) (*Node, *Node) {
		if b.c.UseNewAttentionOrder {
			return Reshape(Slice(Reshape(w, c, 3, c), AxisRange(), AxisElem(i)), c, c),
				Reshape(Slice(Reshape(bias, 3, c), AxisElem(i)), c)
		}
		return Reshape(Slice(Reshape(w, c, heads, 3, dh), AxisRange(), AxisRange(), AxisElem(i)), c, c),
			Reshape(Slice(Reshape(bias, heads, 3, dh), AxisRange(), AxisElem(i)), c)
	}
	wq, bq := part(0)
	wk, bk := part(1)
	wv, bv := part(2)
	a := mlx.Attention(mlx.Dense(h, wq, bq), mlx.Dense(h, wk, bk), mlx.Dense(h, wv, bv), heads, false)
	pw := Reshape(m.In("proj_out").Get("weight", statedict.Conv1D, 1, c, c), c, c)
	out := mlx.Dense(a, pw, m.In("proj_out").Get("bias", statedict.Vector, c))
	b.count(bs * n * c * 4 * c) // qkv and proj_out
	b.count(bs * 2 * n * n * c) // scores and the weighted sum
	return Add(x, Reshape(out, d...))
}

// downsample is Downsample: a stride-2 3×3 conv (conv_resample) or a 2×2 average pool.
func (b builder) downsample(m statedict.Builder, x *Node, ch int) *Node {
	if b.c.ConvResample {
		return b.conv(m, "op", x, ch, ch, 3, 2)
	}
	return avgPool2(x)
}

// upsample is Upsample: nearest ×2, then a 3×3 conv (conv_resample).
func (b builder) upsample(m statedict.Builder, x *Node, ch int) *Node {
	x = mlx.UpsampleNearest2x(x)
	if b.c.ConvResample {
		return b.conv(m, "conv", x, ch, ch, 3, 1)
	}
	return x
}

// checkInput validates x [B,C,H,W] and t [B] or [1] (panics are turned into errors at the package edges).
func (c *Config) checkInput(x, t *Node) {
	d := x.Shape().Dimensions
	mult := 1 << (c.Levels() - 1)
	if x.Rank() != 4 || d[1] != c.InChannels || d[2]%mult != 0 || d[3]%mult != 0 {
		panic(fmt.Errorf("%s: input must be [B,%d,H,W] (NCHW) with H and W multiples of %d, got %s", ClassName, c.InChannels, mult, x.Shape()))
	}
	if t.Shape().Size() != 1 && t.Shape().Size() != d[0] {
		panic(fmt.Errorf("%s: t must be [1] or [%d], got %s", ClassName, d[0], t.Shape()))
	}
}

// forward is UNetModel.forward, returning all output channels (NCHW).
func (b builder) forward(m statedict.Builder, x, t *Node) *Node {
	e := b.encode(m, x, t)
	return b.decode(m, e, e.h)
}

// encoded is the state of the network after its middle block: the bottleneck h (NHWC), the time embedding
// and the skip connections the output blocks consume, with their channel counts.
type encoded struct {
	h, emb        *Node
	skips         []*Node
	skipCh        []int
	ch, downscale int
}

// encode runs the time embedding, the input blocks and the middle block.
func (b builder) encode(m statedict.Builder, x, t *Node) encoded {
	c := b.c
	c.checkInput(x, t)
	batch := x.Shape().Dimensions[0]
	x = ConvertDType(x, dtypes.Float32)
	t = Reshape(ConvertDType(t, dtypes.Float32), t.Shape().Size())
	if t.Shape().Dimensions[0] != batch {
		t = BroadcastToDims(t, batch)
	}
	mc, tdim := c.ModelChannels, 4*c.ModelChannels
	emb := diffusers.TimestepEmbedding(t, mc, true, 0)
	emb = b.linear(m, "time_embed.2", mlx.SiLU(b.linear(m, "time_embed.0", emb, mc, tdim)), tdim, tdim)

	chans := c.levelChannels()
	ch := chans[0]
	h := b.conv(m.In("input_blocks.0"), "0", mlx.NCHWToNHWC(x), c.InChannels, ch, 3, 1)
	skips, skipCh := []*Node{h}, []int{ch}
	block, ds := 1, 1
	for level, out := range chans {
		for range c.NumResBlocks {
			bm := m.In(fmt.Sprint("input_blocks.", block))
			h = b.resBlock(bm.In("0"), h, emb, ch, out, keep)
			ch = out
			if slices.Contains(c.AttentionResolutions, ds) {
				h = b.attention(bm.In("1"), h, b.mustHeads(ch, c.NumHeads))
			}
			skips, skipCh = append(skips, h), append(skipCh, ch)
			block++
		}
		if level < len(chans)-1 {
			bm := m.In(fmt.Sprint("input_blocks.", block)).In("0")
			if c.ResblockUpdown {
				h = b.resBlock(bm, h, emb, ch, ch, down)
			} else {
				h = b.downsample(bm, h, ch)
			}
			skips, skipCh = append(skips, h), append(skipCh, ch)
			block++
			ds *= 2
		}
	}

	mid := m.In("middle_block")
	h = b.resBlock(mid.In("0"), h, emb, ch, ch, keep)
	h = b.attention(mid.In("1"), h, b.mustHeads(ch, c.NumHeads))
	h = b.resBlock(mid.In("2"), h, emb, ch, ch, keep)
	return encoded{h: h, emb: emb, skips: skips, skipCh: skipCh, ch: ch, downscale: ds}
}

// decode runs the output blocks and the output head on the bottleneck h (NHWC) with e's skip connections and
// time embedding (h and e's tensors have the same batch size).
func (b builder) decode(m statedict.Builder, e encoded, h *Node) *Node {
	c := b.c
	chans := c.levelChannels()
	ch, ds := e.ch, e.downscale
	skips, skipCh := slices.Clone(e.skips), slices.Clone(e.skipCh)
	block := 0
	for level := len(chans) - 1; level >= 0; level-- {
		for i := range c.NumResBlocks + 1 {
			bm := m.In(fmt.Sprint("output_blocks.", block))
			skip, sch := skips[len(skips)-1], skipCh[len(skipCh)-1]
			skips, skipCh = skips[:len(skips)-1], skipCh[:len(skipCh)-1]
			h = b.resBlock(bm.In("0"), Concatenate([]*Node{h, skip}, 3), e.emb, ch+sch, chans[level], keep)
			ch = chans[level]
			layer := 1
			if slices.Contains(c.AttentionResolutions, ds) {
				h = b.attention(bm.In("1"), h, b.mustHeads(ch, c.headsUpsample()))
				layer++
			}
			if level > 0 && i == c.NumResBlocks {
				um := bm.In(fmt.Sprint(layer))
				if c.ResblockUpdown {
					h = b.resBlock(um, h, e.emb, ch, ch, up)
				} else {
					h = b.upsample(um, h, ch)
				}
				ds /= 2
			}
			block++
		}
	}
	h = mlx.SiLU(norm(m, "out.0", h))
	return mlx.NHWCToNCHW(b.conv(m, "out.2", h, ch, c.OutChannels, 3, 1))
}

func (b builder) mustHeads(ch, numHeads int) int {
	heads, err := b.c.heads(ch, numHeads)
	if err != nil {
		panic(err)
	}
	return heads
}

// analyse lists the weights the configuration needs (name, kind, PyTorch shape, in the order the forward pass
// uses them) and counts the forward pass's floating-point operations at image_size, batch 1.
func (c *Config) analyse() ([]statedict.Spec, int64, error) {
	if err := c.Validate(); err != nil {
		return nil, 0, err
	}
	var flops int64
	specs, err := statedict.Record(ClassName, func(m statedict.Builder, g *Graph) {
		x := Parameter(g, "x", shapes.Make(dtypes.Float32, 1, c.InChannels, c.ImageSize, c.ImageSize))
		t := Parameter(g, "t", shapes.Make(dtypes.Float32, 1))
		builder{c: c, flops: &flops}.forward(m, x, t)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("listing the weights of %s: %w", ClassName, err)
	}
	return specs, flops, nil
}

// ParamSpecs lists every weight the configuration needs, with its state-dict name and PyTorch shape, in the
// order the forward pass uses them: the weight contract of a checkpoint.
func (c *Config) ParamSpecs() ([]statedict.Spec, error) {
	specs, _, err := c.analyse()
	return specs, err
}

// NumParams is the number of parameters of the configuration.
func (c *Config) NumParams() (int, error) {
	specs, err := c.ParamSpecs()
	if err != nil {
		return 0, err
	}
	return statedict.NumParams(specs), nil
}

// ForwardFLOPs counts the floating-point operations of one forward pass of one image_size² sample: two per
// multiply-add of the convolutions, linear layers and attention products (normalisations, activations and
// additions, a few percent more, are left out, as in the usual MAC-based counts).
func (c *Config) ForwardFLOPs() (int64, error) {
	_, flops, err := c.analyse()
	return flops, err
}
