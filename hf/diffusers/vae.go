package diffusers

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// AutoencoderKLConfig is the config.json of a diffusers AutoencoderKL (the VAE of Stable Diffusion and latent
// consistency models).
type AutoencoderKLConfig struct {
	ClassName        string   `json:"_class_name"`
	InChannels       int      `json:"in_channels"`
	OutChannels      int      `json:"out_channels"`
	DownBlockTypes   []string `json:"down_block_types"`
	UpBlockTypes     []string `json:"up_block_types"`
	BlockOutChannels []int    `json:"block_out_channels"`
	LayersPerBlock   int      `json:"layers_per_block"`
	ActFn            string   `json:"act_fn"`
	LatentChannels   int      `json:"latent_channels"`
	NormNumGroups    int      `json:"norm_num_groups"`
	SampleSize       int      `json:"sample_size"`
	// ScalingFactor is the factor diffusers pipelines multiply encoded latents by (and divide by before
	// decoding); Encode and Decode here do not apply it, as AutoencoderKL.encode/decode do not.
	ScalingFactor        float64   `json:"scaling_factor"`
	ShiftFactor          *float64  `json:"shift_factor"`
	LatentsMean          []float64 `json:"latents_mean"`
	LatentsStd           []float64 `json:"latents_std"`
	ForceUpcast          bool      `json:"force_upcast"`
	UseQuantConv         bool      `json:"use_quant_conv"`
	UsePostQuantConv     bool      `json:"use_post_quant_conv"`
	MidBlockAddAttention bool      `json:"mid_block_add_attention"`
	DiffusersVersion     string    `json:"_diffusers_version"`
}

// DefaultAutoencoderKLConfig returns diffusers' defaults for AutoencoderKL, which config.json files override.
func DefaultAutoencoderKLConfig() *AutoencoderKLConfig {
	return &AutoencoderKLConfig{
		ClassName: "AutoencoderKL", InChannels: 3, OutChannels: 3,
		DownBlockTypes: []string{"DownEncoderBlock2D"}, UpBlockTypes: []string{"UpDecoderBlock2D"},
		BlockOutChannels: []int{64}, LayersPerBlock: 1, ActFn: "silu", LatentChannels: 4, NormNumGroups: 32,
		SampleSize: 32, ScalingFactor: 0.18215, ForceUpcast: true, UseQuantConv: true, UsePostQuantConv: true,
		MidBlockAddAttention: true,
	}
}

// ParseAutoencoderKLConfig parses and validates the JSON of an AutoencoderKL config.
func ParseAutoencoderKLConfig(data []byte) (*AutoencoderKLConfig, error) {
	cfg := DefaultAutoencoderKLConfig()
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("parsing AutoencoderKL config.json: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ReadAutoencoderKLConfig reads and validates an AutoencoderKL config.json.
func ReadAutoencoderKLConfig(path string) (*AutoencoderKLConfig, error) {
	return readConfig(path, "VAE config", ParseAutoencoderKLConfig)
}

// checkFields checks that every option is one this package implements and every size is in range.
func (c *AutoencoderKLConfig) checkFields() error {
	if c.ClassName != "" && c.ClassName != "AutoencoderKL" {
		return fmt.Errorf("config _class_name is %q: want AutoencoderKL", c.ClassName)
	}
	for _, f := range []struct {
		field string
		v     int
	}{{"in_channels", c.InChannels}, {"out_channels", c.OutChannels}, {"latent_channels", c.LatentChannels}} {
		if err := inRange(f.field, f.v, 1, MaxChannels); err != nil {
			return err
		}
	}
	n := len(c.BlockOutChannels)
	if n == 0 || len(c.DownBlockTypes) != n || len(c.UpBlockTypes) != n {
		return fmt.Errorf("config has %d block_out_channels, %d down_block_types and %d up_block_types: they must match and not be empty",
			n, len(c.DownBlockTypes), len(c.UpBlockTypes))
	}
	for i, t := range c.DownBlockTypes {
		if t != "DownEncoderBlock2D" {
			return unsupported(fmt.Sprintf("down_block_types[%d]", i), fmt.Sprintf("%q", t), "DownEncoderBlock2D")
		}
	}
	for i, t := range c.UpBlockTypes {
		if t != "UpDecoderBlock2D" {
			return unsupported(fmt.Sprintf("up_block_types[%d]", i), fmt.Sprintf("%q", t), "UpDecoderBlock2D")
		}
	}
	if c.ActFn != "silu" && c.ActFn != "swish" {
		return unsupported("act_fn", fmt.Sprintf("%q", c.ActFn), `"silu"`)
	}
	if err := inRange("layers_per_block", c.LayersPerBlock, 1, MaxLayersPerBlock); err != nil {
		return err
	}
	if err := inRange("norm_num_groups", c.NormNumGroups, 1, MaxChannels); err != nil {
		return err
	}
	if err := checkChannels("block_out_channels", c.BlockOutChannels, c.NormNumGroups); err != nil {
		return err
	}
	if err := inRange("sample_size", c.SampleSize, 1, MaxSampleSize); err != nil {
		return err
	}
	return positiveFinite("scaling_factor", c.ScalingFactor)
}

// DownFactor is the ratio of image to latent size: 2^(levels−1).
func (c *AutoencoderKLConfig) DownFactor() int { return 1 << (len(c.BlockOutChannels) - 1) }

// vaeOpts are the block settings of the encoder and decoder (GroupNorm eps 1e-6, no time embedding, one-head
// mid-block attention).
func (c *AutoencoderKLConfig) vaeOpts() blockOpts {
	return blockOpts{groups: c.NormNumGroups, attnGroups: c.NormNumGroups, eps: 1e-6, outputScale: 1}
}

// vaeMidBlock is the encoder's and decoder's UNetMidBlock2D: resnet, single-head self-attention, resnet.
func (c *AutoencoderKLConfig) vaeMidBlock(p params, h *Node, ch int) *Node {
	o := c.vaeOpts()
	o.headDim = ch
	var attend attendFn
	if c.MidBlockAddAttention {
		attend = selfAttention(o)
	}
	return midBlock(p.in("mid_block"), h, nil, ch, o, attend)
}

// AutoencoderKL is diffusers' AutoencoderKL in GoMLX: Encode maps images to the mean of the latent
// distribution, Decode maps latents to images, both without scaling_factor.
type AutoencoderKL struct {
	Config *AutoencoderKLConfig
	ctx    *context.Context
	run    mlx.Graphs
}

// Context returns the context holding the model's weights.
func (m *AutoencoderKL) Context() *context.Context { return m.ctx }

func (m *AutoencoderKL) params(ctx *context.Context, g *Graph) params {
	if ctx == nil {
		ctx = m.ctx
	}
	return params{Builder: statedict.NewBuilder(ctx, g)}
}

// Encode builds encode(x).latent_dist.mean for images x [B,in_channels,H,W] (NCHW): the first latent_channels
// of the (quantised) moments, [B,latent_channels,H/f,W/f] with f = DownFactor. No scaling_factor is applied.
func (m *AutoencoderKL) Encode(ctx *context.Context, x *Node) *Node {
	return m.encode(m.params(ctx, x.Graph()), x)
}

// Decode builds decode(z).sample for latents z [B,latent_channels,h,w] (NCHW): [B,out_channels,h·f,w·f]. The
// latents are used as given (divide by scaling_factor first, as pipelines do).
func (m *AutoencoderKL) Decode(ctx *context.Context, z *Node) *Node {
	return m.decode(m.params(ctx, z.Graph()), z)
}

func (m *AutoencoderKL) encode(p params, x *Node) *Node {
	c := m.Config
	if x.Rank() != 4 || x.Shape().Dimensions[1] != c.InChannels {
		panic(fmt.Errorf("AutoencoderKL.Encode: input must be [B,%d,H,W] (NCHW), got %s", c.InChannels, x.Shape()))
	}
	o := c.vaeOpts()
	e := p.in("encoder")
	h := e.conv2D("conv_in", mlx.NCHWToNHWC(ConvertDType(x, dtypes.Float32)), c.InChannels, c.BlockOutChannels[0], 3, 1, [4]int{1, 1, 1, 1})
	out := c.BlockOutChannels[0]
	n := len(c.BlockOutChannels)
	for i := range n {
		in := out
		out = c.BlockOutChannels[i]
		h, _ = downBlock(e.in(fmt.Sprintf("down_blocks.%d", i)), h, nil, in, out, c.LayersPerBlock, nil, i < n-1, 0, o)
	}
	h = c.vaeMidBlock(e, h, out)
	h = silu(e.groupNorm("conv_norm_out", h, c.NormNumGroups, 1e-6))
	l := c.LatentChannels
	h = e.conv2D("conv_out", h, out, 2*l, 3, 1, [4]int{1, 1, 1, 1})
	if c.UseQuantConv {
		h = p.conv2D("quant_conv", h, 2*l, 2*l, 1, 1, [4]int{})
	}
	mean := Slice(h, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, l))
	return mlx.NHWCToNCHW(mean)
}

func (m *AutoencoderKL) decode(p params, z *Node) *Node {
	c := m.Config
	l := c.LatentChannels
	if z.Rank() != 4 || z.Shape().Dimensions[1] != l {
		panic(fmt.Errorf("AutoencoderKL.Decode: latents must be [B,%d,h,w] (NCHW), got %s", l, z.Shape()))
	}
	o := c.vaeOpts()
	h := mlx.NCHWToNHWC(ConvertDType(z, dtypes.Float32))
	if c.UsePostQuantConv {
		h = p.conv2D("post_quant_conv", h, l, l, 1, 1, [4]int{})
	}
	d := p.in("decoder")
	n := len(c.BlockOutChannels)
	out := c.BlockOutChannels[n-1]
	h = d.conv2D("conv_in", h, l, out, 3, 1, [4]int{1, 1, 1, 1})
	h = c.vaeMidBlock(d, h, out)
	for i := range n {
		in := out
		out = c.BlockOutChannels[n-1-i]
		h = upDecoderBlock(d.in(fmt.Sprintf("up_blocks.%d", i)), h, in, out, c.LayersPerBlock+1, i < n-1, o)
	}
	h = silu(d.groupNorm("conv_norm_out", h, c.NormNumGroups, 1e-6))
	h = d.conv2D("conv_out", h, out, c.OutChannels, 3, 1, [4]int{1, 1, 1, 1})
	return mlx.NHWCToNCHW(h)
}

// upDecoderBlock is diffusers' UpDecoderBlock2D: resnets without time embedding, then an optional upsampler.
func upDecoderBlock(p params, x *Node, cin, cout, layers int, addUpsample bool, o blockOpts) *Node {
	for i := range layers {
		in := cout
		if i == 0 {
			in = cin
		}
		x = resnetBlock2D(p.in(fmt.Sprintf("resnets.%d", i)), x, nil, in, cout, o)
	}
	if addUpsample {
		x = upsample2D(p.in("upsamplers.0"), x, cout)
	}
	return x
}

// ParamSpecs lists every weight the configuration needs (encoder, quant convs, decoder), with its diffusers
// name and PyTorch shape. The config is validated first (Validate).
func (c *AutoencoderKLConfig) ParamSpecs() ([]ParamSpec, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &AutoencoderKL{Config: c}
	f := c.DownFactor()
	specs, err := statedict.Record("vae_param_specs", func(b statedict.Builder, g *Graph) {
		p := params{Builder: b}
		m.encode(p, Parameter(g, "x", shapes.Make(dtypes.Float32, 1, c.InChannels, f, f)))
		m.decode(p, Parameter(g, "z", shapes.Make(dtypes.Float32, 1, c.LatentChannels, 1, 1)))
	})
	if err != nil {
		return nil, fmt.Errorf("listing AutoencoderKL weights: %w", err)
	}
	return specs, nil
}

// LoadAutoencoderKL loads a diffusers AutoencoderKL folder (config.json and the safetensors weights).
func LoadAutoencoderKL(dir string) (*AutoencoderKL, error) {
	cfg, err := ReadAutoencoderKLConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	return buildAutoencoderKL(cfg, statedict.FromDir(dir, diffusersLoad))
}

// NewAutoencoderKL builds the model for cfg with weights from src by their diffusers names; the mid-block
// attention may use either naming scheme (query/key/value/proj_attn or to_q/to_k/to_v/to_out.0).
func NewAutoencoderKL(cfg *AutoencoderKLConfig, src TensorSource) (*AutoencoderKL, error) {
	return buildAutoencoderKL(cfg, statedict.FromSource(src, diffusersLoad))
}

// NewRandomAutoencoderKL builds the model for cfg with random weights (statedict.Random).
func NewRandomAutoencoderKL(cfg *AutoencoderKLConfig, seed uint64) (*AutoencoderKL, error) {
	return buildAutoencoderKL(cfg, statedict.FromRandom(seed))
}

func (m *AutoencoderKL) ready(what string) error {
	if m == nil || m.Config == nil || m.ctx == nil {
		return fmt.Errorf("AutoencoderKL.%s: the model is not initialised (use LoadAutoencoderKL, NewAutoencoderKL or NewRandomAutoencoderKL)", what)
	}
	return nil
}

// checkLatents checks z [B,latent_channels,h,w].
func (c *AutoencoderKLConfig) checkLatents(what string, z *tensors.Tensor) error {
	if err := checkTensor(what, z, -1, c.LatentChannels, -1, -1); err != nil {
		return fmt.Errorf("%w (latents [B,%d,h,w], NCHW)", err, c.LatentChannels)
	}
	if d := z.Shape().Dimensions; slices.Min(d) < 1 {
		return fmt.Errorf("%s %v is empty", what, d)
	}
	return nil
}

// DecodeImages returns decode(z) [B,out_channels,h·f,w·f] for latents z [B,latent_channels,h,w] (no
// scaling_factor applied). Never panics; safe for concurrent use.
func (m *AutoencoderKL) DecodeImages(z *tensors.Tensor) (*tensors.Tensor, error) {
	if err := m.ready("DecodeImages"); err != nil {
		return nil, err
	}
	if err := m.Config.checkLatents("AutoencoderKL latents z", z); err != nil {
		return nil, err
	}
	out, err := m.run.Run(m.ctx, "decode", func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.Decode(ctx, in[0])}
	}, z)
	if err != nil {
		return nil, fmt.Errorf("AutoencoderKL.DecodeImages on %s: %w", z.Shape(), err)
	}
	return out[0], nil
}

// EncodeImages returns encode(x).latent_dist.mean [B,latent_channels,H/f,W/f] for images x
// [B,in_channels,H,W] (H and W multiples of f = DownFactor; no scaling_factor applied).
func (m *AutoencoderKL) EncodeImages(x *tensors.Tensor) (*tensors.Tensor, error) {
	if err := m.ready("EncodeImages"); err != nil {
		return nil, err
	}
	c := m.Config
	if err := checkTensor("AutoencoderKL image", x, -1, c.InChannels, -1, -1); err != nil {
		return nil, fmt.Errorf("%w (images [B,%d,H,W], NCHW)", err, c.InChannels)
	}
	d := x.Shape().Dimensions
	f := c.DownFactor()
	if d[0] < 1 || d[2] < 1 || d[3] < 1 || d[2]%f != 0 || d[3]%f != 0 {
		return nil, fmt.Errorf("AutoencoderKL image %v: height and width must be positive multiples of %d (the encoder halves them %d times)", d, f, len(c.BlockOutChannels)-1)
	}
	out, err := m.run.Run(m.ctx, "encode", func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.Encode(ctx, in[0])}
	}, x)
	if err != nil {
		return nil, fmt.Errorf("AutoencoderKL.EncodeImages on %s: %w", x.Shape(), err)
	}
	return out[0], nil
}

// DecodeVJP returns decode(z) and the exact vector-Jacobian product uᵀ·∂decode/∂z for each sample (u shaped like
// the decoded images).
func (m *AutoencoderKL) DecodeVJP(z, u *tensors.Tensor) (decoded, vjp *tensors.Tensor, err error) {
	return m.decodeProduct("DecodeVJP", z, u, true)
}

// DecodeJVP returns decode(z) and the exact Jacobian-vector product ∂decode/∂z·v for each sample (v shaped
// like z).
func (m *AutoencoderKL) DecodeJVP(z, v *tensors.Tensor) (decoded, jvp *tensors.Tensor, err error) {
	return m.decodeProduct("DecodeJVP", z, v, false)
}

func (m *AutoencoderKL) decodeProduct(what string, z, w *tensors.Tensor, vjp bool) (*tensors.Tensor, *tensors.Tensor, error) {
	if err := m.ready(what); err != nil {
		return nil, nil, err
	}
	c := m.Config
	if err := c.checkLatents("AutoencoderKL latents z", z); err != nil {
		return nil, nil, err
	}
	d := z.Shape().Dimensions
	want, name := []int{d[0], c.OutChannels, d[2] * c.DownFactor(), d[3] * c.DownFactor()}, "jvp"
	if vjp {
		name = "vjp"
	} else {
		want = d
	}
	if err := checkTensor("AutoencoderKL."+what+" direction", w, want...); err != nil {
		return nil, nil, err
	}
	out, err := m.run.Run(m.ctx, "decode-"+name, jacobianProducts(func(ctx *context.Context, z *Node, _ []*Node) *Node {
		return m.Decode(ctx, z)
	}, vjp), z, w)
	if err != nil {
		return nil, nil, fmt.Errorf("AutoencoderKL.%s on %s: %w", what, z.Shape(), err)
	}
	return out[0], out[1], nil
}

// StateDict returns the model's weights by their diffusers names in PyTorch layout (the inverse of
// NewAutoencoderKL).
func (m *AutoencoderKL) StateDict() (map[string]*safetensors.Tensor, error) {
	specs, err := m.Config.ParamSpecs()
	if err != nil {
		return nil, err
	}
	return statedict.Export(m.ctx, specs)
}

// buildAutoencoderKL builds the model for cfg with weights from w.
func buildAutoencoderKL(cfg *AutoencoderKLConfig, w statedict.Weights) (*AutoencoderKL, error) {
	ctx, err := statedict.Build(cfg.ParamSpecs, w)
	if err != nil {
		return nil, err
	}
	return &AutoencoderKL{Config: cfg, ctx: ctx}, nil
}
