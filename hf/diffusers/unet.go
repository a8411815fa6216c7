package diffusers

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// UNet2DModel is diffusers' UNet2DModel in GoMLX. Its weights live in a context whose scopes mirror the
// diffusers state-dict names ("down_blocks.0.resnets.1.conv1.weight" is variable "weight" in scope
// "/down_blocks/0/resnets/1/conv1").
type UNet2DModel struct {
	Config *UNet2DConfig
	ctx    *context.Context
	run    mlx.Graphs // compiled forward pass of Eps
}

// Context returns the context holding the model's weights.
func (m *UNet2DModel) Context() *context.Context { return m.ctx }

// Bottleneck is the UNet split at its mid block (h in the paper's Fig. 12): the encoder maps x to H, the
// decoder maps H (with the encoder's skips held as given) to the output.
type Bottleneck struct {
	H     *Node   // mid-block output [B,h,w,C] (NHWC)
	Skips []*Node // skip states of the down path (NHWC)
	Temb  *Node   // time embedding [B, 4·C0]
}

// Forward builds ε(x, t) for x [B,C,H,W] (NCHW, float32) and t [B] or [1] (float32; fed to the time embedding as
// is, so fractional times work). The output is [B,out_channels,H,W].
func (m *UNet2DModel) Forward(ctx *context.Context, x, t *Node) *Node {
	return m.forward(m.params(ctx, x.Graph(), nil), x, t, nil)
}

// ForwardWithActivations is Forward that also returns the outputs of diffusers modules by name ("conv_in",
// "down_blocks.0.resnets.0", "mid_block", "conv_out", …; image-shaped ones as NCHW).
func (m *UNet2DModel) ForwardWithActivations(ctx *context.Context, x, t *Node) (*Node, map[string]*Node) {
	taps := map[string]*Node{}
	out := m.forward(m.params(ctx, x.Graph(), nil), x, t, taps)
	return out, taps
}

// Encode runs the UNet up to and including the mid block.
func (m *UNet2DModel) Encode(ctx *context.Context, x, t *Node) Bottleneck {
	p := m.params(ctx, x.Graph(), nil)
	return m.encode(p, x, t, nil)
}

// Decode runs the up path and the output layers from a bottleneck, returning [B,out_channels,H,W].
func (m *UNet2DModel) Decode(ctx *context.Context, b Bottleneck) *Node {
	return m.decode(m.params(ctx, b.H.Graph(), nil), b, nil)
}

func (m *UNet2DModel) params(ctx *context.Context, g *Graph, record *[]ParamSpec) params {
	if ctx == nil {
		ctx = m.ctx
	}
	if record != nil {
		return params{Builder: statedict.Recorder(g, record)}
	}
	return params{Builder: statedict.NewBuilder(ctx, g)}
}

func (m *UNet2DModel) opts() blockOpts {
	c := m.Config
	return blockOpts{groups: c.NormNumGroups, attnGroups: c.NormNumGroups, eps: c.NormEps, outputScale: 1,
		tembDim: 4 * c.BlockOutChannels[0]}
}

// batchTimes returns the time values t ([], [1] or [batch]) as float32 [batch], one per sample.
func batchTimes(model string, t *Node, batch int) *Node {
	if t.Rank() == 0 {
		t = Reshape(t, 1)
	}
	if t.Rank() != 1 || (t.Shape().Dimensions[0] != 1 && t.Shape().Dimensions[0] != batch) {
		panic(fmt.Errorf("%s: t must be [1] or [%d], got %s", model, batch, t.Shape()))
	}
	t = ConvertDType(t, dtypes.Float32)
	if t.Shape().Dimensions[0] != batch {
		t = BroadcastToDims(t, batch)
	}
	return t
}

func tap(taps map[string]*Node, name string, x *Node) {
	if taps == nil {
		return
	}
	if x.Rank() == 4 {
		x = mlx.NHWCToNCHW(x)
	}
	taps[name] = x
}

func (m *UNet2DModel) forward(p params, x, t *Node, taps map[string]*Node) *Node {
	return m.decode(p, m.encode(p, x, t, taps), taps)
}

func (m *UNet2DModel) encode(p params, x, t *Node, taps map[string]*Node) Bottleneck {
	c := m.Config
	if x.Rank() != 4 || x.Shape().Dimensions[1] != c.InChannels {
		panic(fmt.Errorf("UNet2DModel: input must be [B,%d,H,W] (NCHW), got %s", c.InChannels, x.Shape()))
	}
	if x.DType() != dtypes.Float32 {
		x = ConvertDType(x, dtypes.Float32)
	}
	batch := x.Shape().Dimensions[0]
	t = batchTimes("UNet2DModel", t, batch)
	if c.CenterInputSample {
		x = AddScalar(MulScalar(x, 2), -1)
	}
	c0 := c.BlockOutChannels[0]
	tproj := timestepEmbedding(t, c0, c.FlipSinToCos, c.FreqShift)
	tap(taps, "time_proj", tproj)
	te := p.in("time_embedding")
	temb := te.linear("linear_2", silu(te.linear("linear_1", tproj, c0, 4*c0)), 4*c0, 4*c0)
	tap(taps, "time_embedding", temb)

	o := m.opts()
	h := p.conv2D("conv_in", mlx.NCHWToNHWC(x), c.InChannels, c0, 3, 1, [4]int{1, 1, 1, 1})
	tap(taps, "conv_in", h)
	skips := []*Node{h}
	out := c0
	for i, kind := range c.DownBlockTypes {
		in := out
		out = c.BlockOutChannels[i]
		bo := o
		bo.headDim = m.headDim(out)
		bp := p.in(fmt.Sprintf("down_blocks.%d", i))
		bp.taps = taps
		var s []*Node
		h, s = downBlock(bp, h, temb, in, out, c.LayersPerBlock, blockAttention(kind, bo), i < len(c.BlockOutChannels)-1, c.DownsamplePadding, bo)
		skips = append(skips, s...)
		tap(taps, fmt.Sprintf("down_blocks.%d", i), h)
	}
	last := c.BlockOutChannels[len(c.BlockOutChannels)-1]
	mo := o
	mo.outputScale = c.MidBlockScaleFactor
	mo.headDim = m.headDim(last)
	if c.AttnNormNumGroups != nil {
		mo.attnGroups = *c.AttnNormNumGroups
	}
	mp := p.in("mid_block")
	mp.taps = taps
	var attend attendFn
	if c.AddAttention == nil || *c.AddAttention {
		attend = selfAttention(mo)
	}
	h = midBlock(mp, h, temb, last, mo, attend)
	tap(taps, "mid_block", h)
	return Bottleneck{H: h, Skips: skips, Temb: temb}
}

func (m *UNet2DModel) decode(p params, b Bottleneck, taps map[string]*Node) *Node {
	c := m.Config
	o := m.opts()
	n := len(c.BlockOutChannels)
	h, skips := b.H, b.Skips
	out := c.BlockOutChannels[n-1]
	for i, kind := range c.UpBlockTypes {
		prev := out
		out = c.BlockOutChannels[n-1-i]
		layers := c.LayersPerBlock + 1
		bo := o
		bo.headDim = m.headDim(out)
		bp := p.in(fmt.Sprintf("up_blocks.%d", i))
		bp.taps = taps
		h = upBlock(bp, h, b.Temb, skips[len(skips)-layers:], prev, out, layers, blockAttention(kind, bo), i < n-1, bo)
		skips = skips[:len(skips)-layers]
		tap(taps, fmt.Sprintf("up_blocks.%d", i), h)
	}
	h = p.groupNorm("conv_norm_out", h, c.NormNumGroups, c.NormEps)
	tap(taps, "conv_norm_out", h)
	h = p.conv2D("conv_out", silu(h), c.BlockOutChannels[0], c.OutChannels, 3, 1, [4]int{1, 1, 1, 1})
	tap(taps, "conv_out", h)
	return mlx.NHWCToNCHW(h)
}

// blockAttention is the attention layer of a UNet2DModel block type: self-attention in the Attn* blocks, none
// elsewhere.
func blockAttention(kind string, o blockOpts) attendFn {
	if strings.HasPrefix(kind, "Attn") {
		return selfAttention(o)
	}
	return nil
}

// headDim is attention_head_dim, where null means one head over all channels.
func (m *UNet2DModel) headDim(channels int) int {
	if m.Config.AttentionHeadDim == nil {
		return channels
	}
	return *m.Config.AttentionHeadDim
}

// ParamSpecs lists every weight the configuration needs, with its diffusers name and PyTorch shape, in the
// order the forward pass uses them. The config is validated first (Validate), so nothing is built for a config
// that is out of range or above the limits.
func (c *UNet2DConfig) ParamSpecs() ([]ParamSpec, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &UNet2DModel{Config: c}
	specs, err := statedict.Record("unet_param_specs", func(b statedict.Builder, g *Graph) {
		x := Parameter(g, "x", shapes.Make(dtypes.Float32, 1, c.InChannels, c.SampleSize, c.SampleSize))
		t := Parameter(g, "t", shapes.Make(dtypes.Float32, 1))
		m.forward(params{Builder: b}, x, t, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("listing UNet2DModel weights: %w", err)
	}
	return specs, nil
}

// NumParams is the number of parameters of the configuration.
func (c *UNet2DConfig) NumParams() (int, error) {
	specs, err := c.ParamSpecs()
	if err != nil {
		return 0, err
	}
	return statedict.NumParams(specs), nil
}
