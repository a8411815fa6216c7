package diffusers

import (
	"fmt"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// UNet2DConditionModel is diffusers' UNet2DConditionModel in GoMLX: the text-conditioned noise predictor
// ε(x, t, text[, cond]) of Stable Diffusion and latent consistency models. Its weights live in a context whose
// scopes mirror the diffusers state-dict names, as for UNet2DModel.
type UNet2DConditionModel struct {
	Config *UNet2DConditionConfig
	ctx    *context.Context
	run    mlx.Graphs
}

// Context returns the context holding the model's weights.
func (m *UNet2DConditionModel) Context() *context.Context { return m.ctx }

// Forward builds ε for the latents x [B,C,H,W] (NCHW), the times t [B] or [1] (fed to the time embedding as
// they are, so fractional times work), the text embeddings (encoder hidden states) text [B,L,D] or [1,L,D], and,
// for models with time_cond_proj_dim (latent consistency models), the guidance embedding cond [B,d] or [1,d]
// (diffusers' timestep_cond; nil for none). The output is [B,out_channels,H,W].
func (m *UNet2DConditionModel) Forward(ctx *context.Context, x, t, text, cond *Node) *Node {
	return m.forward(m.params(ctx, x.Graph()), x, t, text, cond, nil)
}

// ForwardWithActivations is Forward that also returns the outputs of diffusers modules by name ("time_proj",
// "time_embedding", "conv_in", "down_blocks.0", "down_blocks.0.attentions.0", "mid_block", …; image-shaped
// ones as NCHW).
func (m *UNet2DConditionModel) ForwardWithActivations(ctx *context.Context, x, t, text, cond *Node) (*Node, map[string]*Node) {
	taps := map[string]*Node{}
	out := m.forward(m.params(ctx, x.Graph()), x, t, text, cond, taps)
	return out, taps
}

func (m *UNet2DConditionModel) params(ctx *context.Context, g *Graph) params {
	if ctx == nil {
		ctx = m.ctx
	}
	return params{Builder: statedict.NewBuilder(ctx, g)}
}

// broadcastBatch returns v ([1,…] or [batch,…]) with batch rows.
func broadcastBatch(model, name string, v *Node, batch int) *Node {
	d := v.Shape().Dimensions
	if v.Rank() == 0 || (d[0] != 1 && d[0] != batch) {
		panic(fmt.Errorf("%s: %s must have 1 or %d rows, got %s", model, name, batch, v.Shape()))
	}
	if d[0] == batch {
		return v
	}
	d = append([]int{batch}, d[1:]...)
	return BroadcastToDims(v, d...)
}

func (m *UNet2DConditionModel) forward(p params, x, t, text, cond *Node, taps map[string]*Node) *Node {
	c := m.Config
	const model = "UNet2DConditionModel"
	if x.Rank() != 4 || x.Shape().Dimensions[1] != c.InChannels {
		panic(fmt.Errorf("%s: input must be [B,%d,H,W] (NCHW), got %s", model, c.InChannels, x.Shape()))
	}
	x = ConvertDType(x, dtypes.Float32)
	batch := x.Shape().Dimensions[0]
	t = batchTimes(model, t, batch)
	contextDim, err := c.ContextDim()
	if err != nil {
		panic(err)
	}
	if text.Rank() != 3 || text.Shape().Dimensions[2] != contextDim {
		panic(fmt.Errorf("%s: text embeddings must be [B,L,%d] (cross_attention_dim %d), got %s", model, contextDim, contextDim, text.Shape()))
	}
	text = broadcastBatch(model, "text", ConvertDType(text, dtypes.Float32), batch)
	if c.CenterInputSample {
		x = AddScalar(MulScalar(x, 2), -1)
	}

	c0 := c.BlockOutChannels[0]
	tproj := timestepEmbedding(t, c0, c.FlipSinToCos, c.FreqShift)
	tap(taps, "time_proj", tproj)
	te := p.in("time_embedding")
	if cond != nil {
		if c.TimeCondProjDim == nil {
			panic(fmt.Errorf("%s: a guidance embedding (timestep_cond) was given, but the model has no time_cond_proj_dim", model))
		}
		d := *c.TimeCondProjDim
		if cond.Rank() != 2 || cond.Shape().Dimensions[1] != d {
			panic(fmt.Errorf("%s: the guidance embedding (timestep_cond) must be [B,%d] (time_cond_proj_dim), got %s", model, d, cond.Shape()))
		}
		cond = broadcastBatch(model, "timestep_cond", ConvertDType(cond, dtypes.Float32), batch)
		tproj = Add(tproj, te.LinearNoBias("cond_proj", cond, d, c0))
	}
	ted := c.TimeEmbedDim()
	temb := te.linear("linear_2", silu(te.linear("linear_1", tproj, c0, ted)), ted, ted)
	if c.TimestepPostAct != nil {
		temb = silu(temb)
	}
	if c.TimeEmbeddingActFn != nil {
		temb = silu(temb)
	}
	tap(taps, "time_embedding", temb)

	groups := *c.NormNumGroups
	o := blockOpts{groups: groups, attnGroups: groups, eps: c.NormEps, outputScale: 1, tembDim: ted}
	n := c.NumBlocks()
	attend := func(kind string, i int) attendFn {
		if kind != "CrossAttnDownBlock2D" && kind != "CrossAttnUpBlock2D" && kind != "UNetMidBlock2DCrossAttn" {
			return nil
		}
		return crossAttention(text, transformerOpts{heads: c.AttentionHeadDim.at(i), layers: c.TransformerLayersPerBlock.at(i),
			groups: groups, contextDim: c.CrossAttentionDim.at(i), linearProjection: c.UseLinearProjection})
	}

	kin := c.ConvInKernel / 2
	h := p.conv2D("conv_in", mlx.NCHWToNHWC(x), c.InChannels, c0, c.ConvInKernel, 1, [4]int{kin, kin, kin, kin})
	tap(taps, "conv_in", h)
	skips := []*Node{h}
	out := c0
	for i, kind := range c.DownBlockTypes {
		in := out
		out = c.BlockOutChannels[i]
		bp := p.in(fmt.Sprintf("down_blocks.%d", i))
		bp.taps = taps
		var s []*Node
		h, s = downBlock(bp, h, temb, in, out, c.LayersPerBlock.at(i), attend(kind, i), i < n-1, c.DownsamplePadding, o)
		skips = append(skips, s...)
		tap(taps, fmt.Sprintf("down_blocks.%d", i), h)
	}

	mo := o
	mo.outputScale = c.MidBlockScaleFactor
	mp := p.in("mid_block")
	mp.taps = taps
	h = midBlock(mp, h, temb, out, mo, attend(*c.MidBlockType, n-1))
	tap(taps, "mid_block", h)

	for i, kind := range c.UpBlockTypes {
		prev := out
		rev := n - 1 - i // diffusers reverses the per-block lists for the up path
		out = c.BlockOutChannels[rev]
		layers := c.LayersPerBlock.at(rev) + 1
		if len(skips) < layers {
			panic(fmt.Errorf("%s: up block %d needs %d skip states, %d are left", model, i, layers, len(skips)))
		}
		bp := p.in(fmt.Sprintf("up_blocks.%d", i))
		bp.taps = taps
		h = upBlock(bp, h, temb, skips[len(skips)-layers:], prev, out, layers, attend(kind, rev), i < n-1, o)
		skips = skips[:len(skips)-layers]
		tap(taps, fmt.Sprintf("up_blocks.%d", i), h)
	}
	h = p.groupNorm("conv_norm_out", h, groups, c.NormEps)
	tap(taps, "conv_norm_out", h)
	kout := c.ConvOutKernel / 2
	h = p.conv2D("conv_out", silu(h), c0, c.OutChannels, c.ConvOutKernel, 1, [4]int{kout, kout, kout, kout})
	tap(taps, "conv_out", h)
	return mlx.NHWCToNCHW(h)
}

// ParamSpecs lists every weight the configuration needs, with its diffusers name and PyTorch shape, in the
// order the forward pass uses them. The config is validated first (Validate).
func (c *UNet2DConditionConfig) ParamSpecs() ([]ParamSpec, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &UNet2DConditionModel{Config: c}
	contextDim, err := c.ContextDim()
	if err != nil {
		return nil, err
	}
	size := 1 << (c.NumBlocks() - 1)
	specs, err := statedict.Record("unet_cond_param_specs", func(b statedict.Builder, g *Graph) {
		x := Parameter(g, "x", shapes.Make(dtypes.Float32, 1, c.InChannels, size, size))
		t := Parameter(g, "t", shapes.Make(dtypes.Float32, 1))
		text := Parameter(g, "text", shapes.Make(dtypes.Float32, 1, 1, contextDim))
		var cond *Node
		if c.TimeCondProjDim != nil {
			cond = Parameter(g, "cond", shapes.Make(dtypes.Float32, 1, *c.TimeCondProjDim))
		}
		m.forward(params{Builder: b}, x, t, text, cond, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("listing UNet2DConditionModel weights: %w", err)
	}
	return specs, nil
}

// LoadUNet2DCondition loads a diffusers UNet2DConditionModel folder (config.json and the safetensors weights,
// single-file or sharded).
func LoadUNet2DCondition(dir string) (*UNet2DConditionModel, error) {
	cfg, err := ReadUNet2DConditionConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	return buildUNet2DConditionModel(cfg, statedict.FromDir(dir, diffusersLoad))
}

// NewUNet2DCondition builds the model for cfg with weights from src, by their diffusers names. Every weight
// must be present with the shape the config implies, and no tensor may be left over.
func NewUNet2DCondition(cfg *UNet2DConditionConfig, src TensorSource) (*UNet2DConditionModel, error) {
	return buildUNet2DConditionModel(cfg, statedict.FromSource(src, diffusersLoad))
}

// NewRandomUNet2DCondition builds the model for cfg with random weights (statedict.Random), for tests and
// benchmarks.
func NewRandomUNet2DCondition(cfg *UNet2DConditionConfig, seed uint64) (*UNet2DConditionModel, error) {
	return buildUNet2DConditionModel(cfg, statedict.FromRandom(seed))
}

// StateDict returns the model's weights by their diffusers names in PyTorch layout (the inverse of
// NewUNet2DCondition).
func (m *UNet2DConditionModel) StateDict() (map[string]*safetensors.Tensor, error) {
	specs, err := m.Config.ParamSpecs()
	if err != nil {
		return nil, err
	}
	return statedict.Export(m.ctx, specs)
}

// CondInputs are the inputs of a UNet2DConditionModel evaluation.
type CondInputs struct {
	X    *tensors.Tensor // latents [B,in_channels,H,W] (NCHW float32)
	T    []float32       // times: one for the whole batch or one per sample (fractional times are fed as they are)
	Text *tensors.Tensor // text embeddings (encoder hidden states) [B,L,cross_attention_dim] or [1,L,…]
	Cond *tensors.Tensor // guidance embedding (timestep_cond) [B,time_cond_proj_dim] or [1,…]; nil for none
}

// Check reports whether the inputs fit the model, naming the first problem and what the model wants: x must be
// [B, in_channels, H, W] with H and W positive multiples of 2^(levels−1); t one value or B, all finite; text
// [B or 1, L, cross_attention_dim]; cond absent, or [B or 1, time_cond_proj_dim] for a model that has one.
func (c *UNet2DConditionConfig) Check(in CondInputs) error {
	const model = "UNet2DConditionModel"
	if err := checkTensor(model+" input x", in.X, -1, c.InChannels, -1, -1); err != nil {
		return fmt.Errorf("%w (latents, NCHW)", err)
	}
	d := in.X.Shape().Dimensions
	b, h, w := d[0], d[2], d[3]
	mult := 1 << (c.NumBlocks() - 1)
	if b < 1 || h < 1 || w < 1 || h%mult != 0 || w%mult != 0 {
		return fmt.Errorf("%s input x %v: batch must be at least 1 and height and width positive multiples of %d (the model halves the resolution %d times)",
			model, d, mult, c.NumBlocks()-1)
	}
	if len(in.T) != 1 && len(in.T) != b {
		return fmt.Errorf("%s got %d time values for a batch of %d: give one t for the whole batch or one per sample", model, len(in.T), b)
	}
	if err := CheckTimes(model, in.T); err != nil {
		return err
	}
	contextDim, err := c.ContextDim()
	if err != nil {
		return err
	}
	if err := checkTensor(model+" text embeddings", in.Text, -1, -1, contextDim); err != nil {
		return fmt.Errorf("%w ([B,L,%d]: the text encoder's hidden states)", err, contextDim)
	}
	if tb := in.Text.Shape().Dimensions[0]; (tb != 1 && tb != b) || in.Text.Shape().Dimensions[1] < 1 {
		return fmt.Errorf("%s: text embeddings %v for a batch of %d: give [%d,L,%d] or [1,L,%d]", model, in.Text.Shape().Dimensions, b, b, contextDim, contextDim)
	}
	if in.Cond != nil {
		if c.TimeCondProjDim == nil {
			return fmt.Errorf("%s: a guidance embedding (cond, timestep_cond) was given, but the model's config has no time_cond_proj_dim", model)
		}
		dc := *c.TimeCondProjDim
		if err := checkTensor(model+" guidance embedding cond", in.Cond, -1, dc); err != nil {
			return fmt.Errorf("%w ([B,%d]: timestep_cond)", err, dc)
		}
		if cb := in.Cond.Shape().Dimensions[0]; cb != 1 && cb != b {
			return fmt.Errorf("%s: guidance embedding cond has %d rows for a batch of %d", model, cb, b)
		}
	}
	return nil
}

// args returns the graph inputs [x, t, text, (cond)] and the name suffix of the computation.
func (in CondInputs) args() ([]*tensors.Tensor, string) {
	args := []*tensors.Tensor{in.X, tensors.FromFlatDataAndDimensions(in.T, len(in.T)), in.Text}
	if in.Cond != nil {
		return append(args, in.Cond), "+cond"
	}
	return args, ""
}

// epsOf builds ε from the graph inputs x, then [t, text, (cond)].
func (m *UNet2DConditionModel) epsOf(ctx *context.Context, x *Node, rest []*Node) *Node {
	var cond *Node
	if len(rest) > 2 {
		cond = rest[2]
	}
	return m.Forward(ctx, x, rest[0], rest[1], cond)
}

func (m *UNet2DConditionModel) ready(what string) error {
	if m == nil || m.Config == nil || m.ctx == nil {
		return fmt.Errorf("UNet2DConditionModel.%s: the model is not initialised (use LoadUNet2DCondition, NewUNet2DCondition or NewRandomUNet2DCondition)", what)
	}
	return nil
}

// Eps returns the noise prediction ε(x, t, text[, cond]) [B, out_channels, H, W]. Invalid inputs are reported
// as errors that name the problem, as are failures inside GoMLX; Eps never panics. Graphs are compiled once per
// input shape. Safe for concurrent use.
func (m *UNet2DConditionModel) Eps(in CondInputs) (*tensors.Tensor, error) {
	if err := m.ready("Eps"); err != nil {
		return nil, err
	}
	if err := m.Config.Check(in); err != nil {
		return nil, err
	}
	args, suffix := in.args()
	out, err := m.run.Run(m.ctx, "eps"+suffix, func(ctx *context.Context, g []*Node) []*Node {
		return []*Node{m.epsOf(ctx, g[0], g[1:])}
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("UNet2DConditionModel.Eps on input %s: %w", in.X.Shape(), err)
	}
	return out[0], nil
}

// EpsJVP returns ε and the exact Jacobian-vector product (∂ε/∂x)·v for each sample (v shaped like x).
func (m *UNet2DConditionModel) EpsJVP(in CondInputs, v *tensors.Tensor) (eps, jvp *tensors.Tensor, err error) {
	return m.jacobianProduct("EpsJVP", in, v, false)
}

// EpsVJP returns ε and the exact vector-Jacobian product uᵀ·(∂ε/∂x) for each sample (u shaped like ε).
func (m *UNet2DConditionModel) EpsVJP(in CondInputs, u *tensors.Tensor) (eps, vjp *tensors.Tensor, err error) {
	return m.jacobianProduct("EpsVJP", in, u, true)
}

func (m *UNet2DConditionModel) jacobianProduct(what string, in CondInputs, w *tensors.Tensor, vjp bool) (*tensors.Tensor, *tensors.Tensor, error) {
	if err := m.ready(what); err != nil {
		return nil, nil, err
	}
	if err := m.Config.Check(in); err != nil {
		return nil, nil, err
	}
	d := in.X.Shape().Dimensions
	if err := checkTensor(fmt.Sprintf("UNet2DConditionModel.%s direction", what), w, d[0], m.Config.OutChannels, d[2], d[3]); err != nil {
		return nil, nil, err
	}
	if !vjp && m.Config.OutChannels != m.Config.InChannels {
		return nil, nil, fmt.Errorf("UNet2DConditionModel.%s: v must be shaped like x, which has %d channels", what, m.Config.InChannels)
	}
	args, suffix := in.args()
	name := "jvp"
	if vjp {
		name = "vjp"
	}
	out, err := m.run.Run(m.ctx, name+suffix, jacobianProducts(m.epsOf, vjp), append(args, w)...)
	if err != nil {
		return nil, nil, fmt.Errorf("UNet2DConditionModel.%s on input %s: %w", what, in.X.Shape(), err)
	}
	return out[0], out[1], nil
}

// buildUNet2DConditionModel builds the model for cfg with weights from w.
func buildUNet2DConditionModel(cfg *UNet2DConditionConfig, w statedict.Weights) (*UNet2DConditionModel, error) {
	ctx, err := statedict.Build(cfg.ParamSpecs, w)
	if err != nil {
		return nil, err
	}
	return &UNet2DConditionModel{Config: cfg, ctx: ctx}, nil
}
