package diffusers

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Resource bounds on what a config.json may describe. A config comes from a file or from the network; it is
// checked against these bounds when it is parsed (and again before ParamSpecs builds anything), so a hostile
// or mistyped config fails at once with the numbers, before any graph or weight is allocated.
//
// Two kinds of bound apply. Ranges per field (below) keep the arithmetic safe and catch absurd values
// whatever the limits; they are far beyond any released model. Limits (parameters, activation memory,
// layers) bound the model as a whole; SetLimits raises them.
const (
	// MaxChannels bounds every channel count and feature size (block_out_channels, in/out/latent channels,
	// cross_attention_dim, time embedding sizes). Released models use at most a few thousand.
	MaxChannels = 1 << 16
	// MaxSampleSize bounds sample_size.
	MaxSampleSize = 1 << 15
	// MaxBlocks bounds the number of resolution levels (len(block_out_channels)).
	MaxBlocks = 8
	// MaxLayersPerBlock bounds layers_per_block and transformer_layers_per_block (released models: 1–10).
	MaxLayersPerBlock = 1000
	// MaxKernel bounds conv_in_kernel and conv_out_kernel.
	MaxKernel = 31
	// MaxConfigBytes bounds the size of a config file.
	MaxConfigBytes = 4 << 20
	// MaxTrainTimesteps bounds num_train_timesteps (every released schedule has 1000).
	MaxTrainTimesteps = 100_000
	// crossAttentionTokens is the text length the activation estimate assumes (CLIP's 77 tokens).
	crossAttentionTokens = 77
	// defaultCondSampleSize is the latent size estimated for a UNet2DConditionModel without sample_size.
	defaultCondSampleSize = 64
)

// Limits bound the size of the model a config describes (see SetLimits).
type Limits struct {
	// MaxParams bounds the parameter count. Default 4·10⁹ (16 GB as float32); Stable Diffusion 2.1's UNet has
	// 866 M, google/ddpm-ema-celebahq-256 114 M.
	MaxParams int64
	// MaxActivationBytes bounds the estimated float32 activations of one forward pass at batch 1 and the
	// config's sample_size. Default 64 GB; Stable Diffusion 2.1 at 512² needs about 1 GB, at 768² about 3 GB.
	MaxActivationBytes int64
	// MaxLayers bounds the number of layers (resnets, attention layers, transformer blocks), which sets the
	// size of the graph. Default 1000; Stable Diffusion 2.1's UNet has 38.
	MaxLayers int
}

// DefaultLimits returns the limits in force unless SetLimits changes them.
func DefaultLimits() Limits {
	return Limits{MaxParams: 4_000_000_000, MaxActivationBytes: 64_000_000_000, MaxLayers: 1000}
}

var limits = struct {
	sync.RWMutex
	l Limits
}{l: DefaultLimits()}

// SetLimits sets the limits configs are checked against and returns the previous ones; a field ≤ 0 takes its
// default. It applies to the whole process and is safe for concurrent use.
func SetLimits(l Limits) (previous Limits) {
	d := DefaultLimits()
	if l.MaxParams <= 0 {
		l.MaxParams = d.MaxParams
	}
	if l.MaxActivationBytes <= 0 {
		l.MaxActivationBytes = d.MaxActivationBytes
	}
	if l.MaxLayers <= 0 {
		l.MaxLayers = d.MaxLayers
	}
	limits.Lock()
	defer limits.Unlock()
	previous, limits.l = limits.l, l
	return previous
}

// CurrentLimits returns the limits in force.
func CurrentLimits() Limits {
	limits.RLock()
	defer limits.RUnlock()
	return limits.l
}

// Estimate is the size of a model computed from its config alone, without building anything. Params and
// Layers are exact; the activation figures are rough (within a factor of about two): float32, batch 1, at the
// config's sample_size.
type Estimate struct {
	// Params is the number of parameters; Layers the number of resnets, attention layers and transformer
	// blocks.
	Params int64
	Layers int
	// SampleSize is the spatial size the activations are estimated at.
	SampleSize int
	// ForwardBytes estimates the activations alive at the peak of a forward pass: the skip connections plus
	// the working set of the largest layer (attention scores included).
	ForwardBytes int64
	// JVPBytes estimates a Jacobian-vector product, computed by reverse mode twice: every activation of the
	// forward pass is kept, and as much again for the cotangents.
	JVPBytes int64
}

// SizeFields name, in the errors of Estimate.Check, the config fields that set a model's parameter count, its
// number of layers and its activation memory.
type SizeFields struct{ Params, Layers, Activations string }

// unetFields are the diffusers config fields of SizeFields.
var unetFields = SizeFields{
	Params:      "block_out_channels, layers_per_block and the attention sizes",
	Layers:      "layers_per_block and transformer_layers_per_block",
	Activations: "sample_size and block_out_channels",
}

// Check compares e with the limits in force (CurrentLimits), for architectures outside this package that
// estimate their size the same way; model names the architecture and fields the config fields to check.
func (e Estimate) Check(model string, fields SizeFields) error {
	return e.checkFields(model, CurrentLimits(), fields)
}

// check compares e with the limits; model names the architecture in errors.
func (e Estimate) check(model string, l Limits) error { return e.checkFields(model, l, unetFields) }

func (e Estimate) checkFields(model string, l Limits, f SizeFields) error {
	if e.Params > l.MaxParams {
		return fmt.Errorf("config describes a %s of %s parameters (%s as float32), above the limit of %s: check "+
			"%s; if the model is real, raise the limit (diffusers.SetLimits, MaxParams)",
			model, count(e.Params), bytesString(4*e.Params), count(l.MaxParams), f.Params)
	}
	if e.Layers > l.MaxLayers {
		return fmt.Errorf("config describes a %s of %d layers (resnets, attention layers and transformer blocks), "+
			"above the limit of %d: check %s; if the model is real, raise the limit (diffusers.SetLimits, MaxLayers)",
			model, e.Layers, l.MaxLayers, f.Layers)
	}
	if e.ForwardBytes > l.MaxActivationBytes {
		return fmt.Errorf("config describes a %s whose forward pass at sample_size %d would hold about %s of "+
			"activations (a Jacobian-vector product about %s), above the limit of %s: check %s; if the model is "+
			"real, raise the limit (diffusers.SetLimits, MaxActivationBytes)",
			model, e.SampleSize, bytesString(e.ForwardBytes), bytesString(e.JVPBytes), bytesString(l.MaxActivationBytes), f.Activations)
	}
	return nil
}

// count writes a parameter count with an SI suffix ("865.9 M").
func count(n int64) string {
	v := float64(n)
	for _, unit := range []string{"", " k", " M", " G"} {
		if math.Abs(v) < 1000 {
			return fmt.Sprintf("%.4g%s", v, unit)
		}
		v /= 1000
	}
	return fmt.Sprintf("%.4g T", v)
}

// bytesString writes a byte count in decimal units.
func bytesString(n int64) string {
	v := float64(n)
	for _, unit := range []string{"B", "kB", "MB", "GB", "TB", "PB"} {
		if math.Abs(v) < 1000 {
			return fmt.Sprintf("%.3g %s", v, unit)
		}
		v /= 1000
	}
	return fmt.Sprintf("%.3g EB", v)
}

// toInt64 converts a float64 count, saturating.
func toInt64(v float64) int64 {
	if v >= math.MaxInt64 || math.IsNaN(v) {
		return math.MaxInt64
	}
	return int64(v)
}

// inRange returns an error unless lo ≤ v ≤ hi; field names the config field.
func inRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("config %s = %d is out of range: it must lie in [%d, %d]", field, v, lo, hi)
	}
	return nil
}

// positiveFinite returns an error unless v is finite and positive.
func positiveFinite(field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("config %s = %v must be a positive finite number", field, v)
	}
	return nil
}

// checkUNetNumbers checks the real-valued fields both UNets share: norm_eps and mid_block_scale_factor positive
// and finite (the latter divides the mid block's output), freq_shift finite.
func checkUNetNumbers(normEps, midBlockScaleFactor, freqShift float64) error {
	if err := positiveFinite("norm_eps", normEps); err != nil {
		return err
	}
	if err := positiveFinite("mid_block_scale_factor", midBlockScaleFactor); err != nil {
		return err
	}
	if math.IsNaN(freqShift) || math.IsInf(freqShift, 0) {
		return fmt.Errorf("config freq_shift = %v must be finite", freqShift)
	}
	return nil
}

// checkChannels checks a list of channel counts: each in [1, MaxChannels] and a multiple of groups.
func checkChannels(field string, channels []int, groups int) error {
	if len(channels) == 0 {
		return fmt.Errorf("config %s is empty", field)
	}
	if err := inRange("len("+field+")", len(channels), 1, MaxBlocks); err != nil {
		return err
	}
	for i, ch := range channels {
		if err := inRange(fmt.Sprintf("%s[%d]", field, i), ch, 1, MaxChannels); err != nil {
			return err
		}
		if ch%groups != 0 {
			return fmt.Errorf("config %s[%d] = %d is not divisible by norm_num_groups = %d", field, i, ch, groups)
		}
	}
	return nil
}

// CheckBetaSchedule checks the noise schedule fields of a scheduler config (diffusers' or a MoLRG's): a known
// beta_schedule, 1 ≤ num_train_timesteps ≤ MaxTrainTimesteps and, for the linear schedules, finite betas in
// (0, 1).
func CheckBetaSchedule(schedule string, betaStart, betaEnd float64, numTrainTimesteps int) error {
	if !slices.Contains(supportedBetaSchedules, schedule) {
		return fmt.Errorf("beta_schedule %q is not supported (supported: %s)", schedule, strings.Join(supportedBetaSchedules, ", "))
	}
	if numTrainTimesteps < 1 || numTrainTimesteps > MaxTrainTimesteps {
		return fmt.Errorf("num_train_timesteps = %d is out of range: it must lie in [1, %d] (released models use 1000)",
			numTrainTimesteps, MaxTrainTimesteps)
	}
	if schedule == "squaredcos_cap_v2" {
		return nil // beta_start and beta_end are not used
	}
	for _, b := range []struct {
		field string
		v     float64
	}{{"beta_start", betaStart}, {"beta_end", betaEnd}} {
		if !(b.v > 0 && b.v < 1) {
			return fmt.Errorf("%s = %v must be a finite number in (0, 1) (DDPM uses 1e-4 and 0.02)", b.field, b.v)
		}
	}
	return nil
}

// config is what Validate and Estimate need of a model config.
type config interface {
	checkFields() error
	estimate() Estimate
}

// validate checks c's fields, then its estimated size against the limits in force.
func validate(c config, model string) error {
	if err := c.checkFields(); err != nil {
		return err
	}
	return c.estimate().check(model, CurrentLimits())
}

// estimateOf checks c's fields and returns its estimated size.
func estimateOf(c config) (Estimate, error) {
	if err := c.checkFields(); err != nil {
		return Estimate{}, err
	}
	return c.estimate(), nil
}

// Validate checks that every option is one this package implements, every size is in range and the model's
// estimated size is within the limits in force (see Limits); errors name the field, or the numbers, and the
// fix.
func (c *UNet2DConfig) Validate() error { return validate(c, "UNet2DModel") }

// Validate checks the config as UNet2DConfig.Validate does.
func (c *UNet2DConditionConfig) Validate() error { return validate(c, "UNet2DConditionModel") }

// Validate checks the config as UNet2DConfig.Validate does.
func (c *AutoencoderKLConfig) Validate() error { return validate(c, "AutoencoderKL") }

// Estimate checks the config's fields and returns the size of the model it describes at sample_size.
func (c *UNet2DConfig) Estimate() (Estimate, error) { return estimateOf(c) }

// Estimate checks the config's fields and returns the size of the model it describes at sample_size (64 when
// the config has none), with 77 text tokens.
func (c *UNet2DConditionConfig) Estimate() (Estimate, error) { return estimateOf(c) }

// Estimate checks the config's fields and returns the size of the autoencoder it describes for images of
// sample_size: the parameters of both halves and the activations of the larger pass (usually the decoder).
func (c *AutoencoderKLConfig) Estimate() (Estimate, error) { return estimateOf(c) }

// sizer accumulates an Estimate while walking an architecture's layers at their resolutions (hw positions).
type sizer struct {
	params float64
	layers int
	stored float64 // elements a reverse pass keeps: every intermediate
	skips  float64 // elements of the skip connections, alive across the UNet
	peak   float64 // largest working set of one layer, in elements
}

func (s *sizer) layer(stored, working float64) {
	s.layers++
	s.stored += stored
	s.peak = max(s.peak, working)
}

// conv counts a k×k convolution with bias from cin to cout channels, output at hw positions.
func (s *sizer) conv(cin, cout, k int, hw float64) {
	s.params += float64(k*k)*float64(cin)*float64(cout) + float64(cout)
	s.stored += hw * float64(cout)
	s.peak = max(s.peak, hw*float64(cin+cout))
}

// linear counts a Linear module.
func (s *sizer) linear(in, out int, bias bool) {
	s.params += float64(in) * float64(out)
	if bias {
		s.params += float64(out)
	}
}

// resnet counts a ResnetBlock2D (temb 0: no time embedding projection).
func (s *sizer) resnet(cin, cout, temb int, hw float64) {
	s.params += 2*float64(cin) + 9*float64(cin)*float64(cout) + float64(cout) + 2*float64(cout) + 9*float64(cout)*float64(cout) + float64(cout)
	if temb > 0 {
		s.linear(temb, cout, true)
	}
	if cin != cout {
		s.params += float64(cin)*float64(cout) + float64(cout)
	}
	s.layer(hw*float64(2*cin+6*cout), hw*float64(cin+3*cout))
}

// selfAttention counts the Attention block of UNet2DModel and the VAE (group norm, q/k/v/out with biases).
func (s *sizer) selfAttention(c, heads int, hw float64) {
	s.params += 2*float64(c) + 4*(float64(c)*float64(c)+float64(c))
	scores := float64(heads) * hw * hw
	s.layer(hw*float64(6*c)+2*scores, hw*float64(4*c)+2*scores)
}

// transformer counts a Transformer2DModel of layers BasicTransformerBlocks (self-attention, cross-attention
// to contextDim features, GEGLU feed-forward).
func (s *sizer) transformer(c, heads, layers, contextDim int, hw float64) {
	inner := heads * (c / heads)
	s.params += 2 * float64(c)
	s.linear(c, inner, true) // proj_in (Linear or 1×1 conv: the same count)
	d := float64(inner)
	perBlock := 3*2*d + // three layer norms
		3*d*d + d*d + d + // attn1: to_q, to_k, to_v without bias, to_out.0
		d*d + 2*float64(contextDim)*d + d*d + d + // attn2
		d*8*d + 8*d + 4*d*d + d // ff: net.0.proj (GEGLU, 2·4·dim), net.2
	s.params += float64(layers) * perBlock
	s.linear(inner, c, true) // proj_out
	self, cross := float64(heads)*hw*hw, float64(heads)*hw*crossAttentionTokens
	s.layers += layers
	s.stored += float64(layers)*(hw*d*24+2*self+2*cross) + 2*hw*float64(c)
	s.peak = max(s.peak, hw*d*10+2*self)
}

// estimate returns the estimate of the walk (one pass) at sample size size.
func (s *sizer) estimate(size int) Estimate {
	return Estimate{
		Params: toInt64(s.params), Layers: s.layers, SampleSize: size,
		ForwardBytes: toInt64(4 * (s.skips + s.peak)),
		JVPBytes:     toInt64(4 * (2*s.stored + s.peak)),
	}
}

// unetWalk is the layout shared by UNet2DModel and UNet2DConditionModel.
type unetWalk struct {
	in, out, size, kin, kout int
	channels                 []int
	layers                   func(i int) int // layers_per_block of level i
	temb                     int
	attend                   func(s *sizer, kind string, level, c int, hw float64) // attention after each resnet
	down, up                 []string
	mid                      string
}

// walk counts the UNet: conv_in, down blocks (with the skip stack), mid block, up blocks, conv_out.
func (u unetWalk) walk(s *sizer) {
	n := len(u.channels)
	side := float64(u.size)
	hw := side * side
	c0 := u.channels[0]
	s.conv(u.in, c0, u.kin, hw)
	skips := []int{c0}
	s.skips += hw * float64(c0)
	out := c0
	for i, kind := range u.down {
		in := out
		out = u.channels[i]
		for l := range u.layers(i) {
			cin := out
			if l == 0 {
				cin = in
			}
			s.resnet(cin, out, u.temb, hw)
			u.attend(s, kind, i, out, hw)
			skips = append(skips, out)
			s.skips += hw * float64(out)
		}
		if i < n-1 {
			hw /= 4
			s.conv(out, out, 3, hw)
			skips = append(skips, out)
			s.skips += hw * float64(out)
		}
	}
	s.resnet(out, out, u.temb, hw)
	u.attend(s, u.mid, n-1, out, hw)
	s.resnet(out, out, u.temb, hw)
	for i, kind := range u.up {
		prev := out
		rev := n - 1 - i
		out = u.channels[rev]
		for l := range u.layers(rev) + 1 {
			cin := out
			if l == 0 {
				cin = prev
			}
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			s.resnet(cin+skip, out, u.temb, hw)
			u.attend(s, kind, rev, out, hw)
		}
		if i < n-1 {
			hw *= 4
			s.conv(out, out, 3, hw)
		}
	}
	s.params += 2 * float64(c0) // conv_norm_out
	s.conv(c0, u.out, u.kout, hw)
}

func (c *UNet2DConfig) estimate() Estimate {
	s := &sizer{}
	c0 := c.BlockOutChannels[0]
	s.linear(c0, 4*c0, true)
	s.linear(4*c0, 4*c0, true)
	heads := func(ch int) int {
		if c.AttentionHeadDim == nil || *c.AttentionHeadDim <= 0 {
			return 1
		}
		return ch / *c.AttentionHeadDim
	}
	unetWalk{
		in: c.InChannels, out: c.OutChannels, size: c.SampleSize, kin: 3, kout: 3,
		channels: c.BlockOutChannels, layers: func(int) int { return c.LayersPerBlock }, temb: 4 * c0,
		down: c.DownBlockTypes, up: c.UpBlockTypes, mid: "mid",
		attend: func(s *sizer, kind string, _, ch int, hw float64) {
			if kind == "mid" && (c.AddAttention == nil || *c.AddAttention) || kind == "AttnDownBlock2D" || kind == "AttnUpBlock2D" {
				s.selfAttention(ch, heads(ch), hw)
			}
		},
	}.walk(s)
	return s.estimate(c.SampleSize)
}

func (c *UNet2DConditionConfig) estimate() Estimate {
	s := &sizer{}
	c0, ted := c.BlockOutChannels[0], c.TimeEmbedDim()
	if c.TimeCondProjDim != nil {
		s.linear(*c.TimeCondProjDim, c0, false)
	}
	s.linear(c0, ted, true)
	s.linear(ted, ted, true)
	size := c.SampleSize
	if size <= 0 {
		size = defaultCondSampleSize
	}
	unetWalk{
		in: c.InChannels, out: c.OutChannels, size: size, kin: c.ConvInKernel, kout: c.ConvOutKernel,
		channels: c.BlockOutChannels, layers: c.LayersPerBlock.at, temb: ted,
		down: c.DownBlockTypes, up: c.UpBlockTypes, mid: *c.MidBlockType,
		attend: func(s *sizer, kind string, level, ch int, hw float64) {
			if kind == "CrossAttnDownBlock2D" || kind == "CrossAttnUpBlock2D" || kind == "UNetMidBlock2DCrossAttn" {
				s.transformer(ch, c.AttentionHeadDim.at(level), c.TransformerLayersPerBlock.at(level), c.CrossAttentionDim.at(level), hw)
			}
		},
	}.walk(s)
	return s.estimate(size)
}

func (c *AutoencoderKLConfig) estimate() Estimate {
	n, l, size := len(c.BlockOutChannels), c.LatentChannels, c.SampleSize
	side := float64(size)
	enc, dec := &sizer{}, &sizer{}
	mid := func(s *sizer, ch int, hw float64) {
		s.resnet(ch, ch, 0, hw)
		if c.MidBlockAddAttention {
			s.selfAttention(ch, 1, hw)
		}
		s.resnet(ch, ch, 0, hw)
	}
	// Encoder: conv_in, down blocks, mid block, conv_norm_out, conv_out to the moments, quant_conv.
	hw := side * side
	out := c.BlockOutChannels[0]
	enc.conv(c.InChannels, out, 3, hw)
	for i := range n {
		in := out
		out = c.BlockOutChannels[i]
		enc.resnet(in, out, 0, hw)
		for range c.LayersPerBlock - 1 {
			enc.resnet(out, out, 0, hw)
		}
		if i < n-1 {
			hw /= 4
			enc.conv(out, out, 3, hw)
		}
	}
	mid(enc, out, hw)
	enc.params += 2 * float64(out)
	enc.conv(out, 2*l, 3, hw)
	if c.UseQuantConv {
		enc.conv(2*l, 2*l, 1, hw)
	}
	// Decoder: post_quant_conv, conv_in, mid block, up blocks, conv_norm_out, conv_out.
	if c.UsePostQuantConv {
		dec.conv(l, l, 1, hw)
	}
	dec.conv(l, out, 3, hw)
	mid(dec, out, hw)
	for i := range n {
		in := out
		out = c.BlockOutChannels[n-1-i]
		dec.resnet(in, out, 0, hw)
		for range c.LayersPerBlock {
			dec.resnet(out, out, 0, hw)
		}
		if i < n-1 {
			hw *= 4
			dec.conv(out, out, 3, hw)
		}
	}
	dec.params += 2 * float64(out)
	dec.conv(out, c.OutChannels, 3, hw)
	e, d := enc.estimate(size), dec.estimate(size)
	return Estimate{Params: e.Params + d.Params, Layers: e.Layers + d.Layers, SampleSize: size,
		ForwardBytes: max(e.ForwardBytes, d.ForwardBytes), JVPBytes: max(e.JVPBytes, d.JVPBytes)}
}
