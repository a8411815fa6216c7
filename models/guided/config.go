// Package guided is OpenAI's guided-diffusion UNetModel (Dhariwal & Nichol 2021; Nichol & Dhariwal 2021) in
// GoMLX: the architecture of the P2-weighting checkpoints (Choi et al. 2022: FFHQ, AFHQ-dog, Flowers, MetFaces
// at 256²) that LOCO-Edit uses for half of its unconditional results.
//
// A model is a folder with config.json ({"_class_name": "GuidedDiffusionUNet", …} with the UNetModel
// constructor arguments under guided-diffusion's names) and one weights file (a PyTorch .pt state dict or
// safetensors with the same names), or a bare weights file read with a named preset ("p2-256"). The package
// registers both with loco (LoadModel for folders, LoadModelArch for files), so every stage of the
// pipeline runs on these models.
//
// Like the diffusers architectures in hf/diffusers, the network is composed of small blocks from the config,
// its weights are named as in the PyTorch state dict (ParamSpecs is the weight contract), activations are
// NHWC inside and NCHW at the edges, and every layer can be differentiated twice (exact Jacobian-vector
// products).
package guided

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/loco"
)

// ClassName is the config.json `_class_name` of these models.
const ClassName = "GuidedDiffusionUNet"

// Config holds the UNetModel constructor arguments (guided-diffusion's names) and the diffusion schedule.
type Config struct {
	ClassName     string `json:"_class_name"`
	ImageSize     int    `json:"image_size"`
	InChannels    int    `json:"in_channels"`
	ModelChannels int    `json:"model_channels"`
	// OutChannels is in_channels (ε) or twice that (ε and the learned variance: learn_sigma).
	OutChannels  int `json:"out_channels"`
	NumResBlocks int `json:"num_res_blocks"`
	// AttentionResolutions are downsample rates (1, 2, 4, …) at which blocks get attention, not pixel
	// resolutions (the training scripts' flag "16" at 256² is rate 256/16 = 16).
	AttentionResolutions []int     `json:"attention_resolutions"`
	Dropout              float64   `json:"dropout"`
	ChannelMult          []float64 `json:"channel_mult"`
	ConvResample         bool      `json:"conv_resample"`
	Dims                 int       `json:"dims"`
	NumClasses           *int      `json:"num_classes"`
	UseCheckpoint        bool      `json:"use_checkpoint"`
	UseFP16              bool      `json:"use_fp16"`
	NumHeads             int       `json:"num_heads"`
	// NumHeadChannels, when not −1, fixes the channels per head (and overrides NumHeads).
	NumHeadChannels      int  `json:"num_head_channels"`
	NumHeadsUpsample     int  `json:"num_heads_upsample"`
	UseScaleShiftNorm    bool `json:"use_scale_shift_norm"`
	ResblockUpdown       bool `json:"resblock_updown"`
	UseNewAttentionOrder bool `json:"use_new_attention_order"`
	// LearnSigma, if given, must agree with OutChannels.
	LearnSigma *bool `json:"learn_sigma,omitempty"`
	// DiffusionSteps and NoiseSchedule ("linear" or "cosine") define ᾱ, as in guided-diffusion's
	// create_gaussian_diffusion.
	DiffusionSteps int    `json:"diffusion_steps"`
	NoiseSchedule  string `json:"noise_schedule"`
}

// groups is GroupNorm32's group count: every normalised channel count must be a multiple of it.
const groups = 32

// normEps is GroupNorm's default ε.
const normEps = 1e-5

// DefaultConfig returns UNetModel's defaults, which config.json overrides (image_size, in_channels,
// model_channels, out_channels, num_res_blocks and attention_resolutions have none and must be given).
func DefaultConfig() *Config {
	return &Config{ClassName: ClassName, ChannelMult: []float64{1, 2, 4, 8}, ConvResample: true, Dims: 2,
		NumHeads: 1, NumHeadChannels: -1, NumHeadsUpsample: -1, DiffusionSteps: 1000, NoiseSchedule: "linear"}
}

// P2Config256 is the architecture of the P2-weighting checkpoints at 256² (ffhq_p2.pt, afhqdog_p2.pt,
// flower_p2.pt, metface_p2.pt): the flags of their README and of the LOCO-Edit authors' P2_DICT.
func P2Config256() *Config {
	c := DefaultConfig()
	c.ImageSize, c.InChannels, c.ModelChannels, c.OutChannels = 256, 3, 128, 6
	c.NumResBlocks, c.AttentionResolutions, c.ChannelMult = 1, []int{16}, []float64{1, 1, 2, 2, 4, 4}
	c.NumHeads, c.NumHeadChannels = 4, 64
	c.UseScaleShiftNorm, c.ResblockUpdown = true, true
	return c
}

// presets are the named architectures for bare weight files.
var presets = map[string]func() *Config{"p2-256": P2Config256}

// Preset returns the configuration of a named architecture.
func Preset(name string) (*Config, error) {
	p, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("unknown guided-diffusion architecture %q (known: %s)", name, strings.Join(PresetNames(), ", "))
	}
	return p(), nil
}

// PresetNames lists the named architectures, sorted.
func PresetNames() []string {
	return slices.Sorted(maps.Keys(presets))
}

// ReadConfig reads and validates config.json.
func ReadConfig(path string) (*Config, error) {
	data, err := diffusers.ReadConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading guided-diffusion config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses and validates the JSON of a config.
func ParseConfig(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("parsing %s config.json: %w", ClassName, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LearnsSigma reports whether the network also outputs the variance (out_channels = 2·in_channels): ε is then
// the first in_channels channels.
func (c *Config) LearnsSigma() bool { return c.OutChannels == 2*c.InChannels }

// levelChannels is the channel count of each level, int(mult·model_channels).
func (c *Config) levelChannels() []int {
	ch := make([]int, len(c.ChannelMult))
	for i, m := range c.ChannelMult {
		ch[i] = int(m * float64(c.ModelChannels))
	}
	return ch
}

// Levels is the number of resolutions; the input's height and width must be multiples of 2^(Levels−1).
func (c *Config) Levels() int { return len(c.ChannelMult) }

// Validate checks that every option is one this package implements, naming the field and the fix.
func (c *Config) Validate() error {
	if c.ClassName != "" && c.ClassName != ClassName {
		return fmt.Errorf("config _class_name is %q, want %q", c.ClassName, ClassName)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"image_size", c.ImageSize}, {"in_channels", c.InChannels}, {"model_channels", c.ModelChannels},
		{"out_channels", c.OutChannels}, {"num_res_blocks", c.NumResBlocks}, {"diffusion_steps", c.DiffusionSteps}} {
		if f.v <= 0 {
			return fmt.Errorf("config %s must be positive, got %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name   string
		v, max int
	}{{"image_size", c.ImageSize, diffusers.MaxSampleSize}, {"in_channels", c.InChannels, diffusers.MaxChannels},
		{"model_channels", c.ModelChannels, diffusers.MaxChannels}, {"out_channels", c.OutChannels, 2 * diffusers.MaxChannels},
		{"num_res_blocks", c.NumResBlocks, diffusers.MaxLayersPerBlock}, {"diffusion_steps", c.DiffusionSteps, diffusers.MaxTrainTimesteps},
		{"num_heads", c.NumHeads, diffusers.MaxChannels}, {"num_head_channels", c.NumHeadChannels, diffusers.MaxChannels},
		{"num_heads_upsample", c.NumHeadsUpsample, diffusers.MaxChannels}} {
		if f.v > f.max {
			return fmt.Errorf("config %s = %d is out of range: it must be at most %d", f.name, f.v, f.max)
		}
	}
	if n := len(c.ChannelMult); n > diffusers.MaxBlocks {
		return fmt.Errorf("config channel_mult has %d levels: at most %d are supported", n, diffusers.MaxBlocks)
	}
	for i, m := range c.ChannelMult {
		if !(m > 0) || m*float64(c.ModelChannels) > diffusers.MaxChannels {
			return fmt.Errorf("config channel_mult[%d] = %g is out of range: level channels (model_channels·channel_mult) must lie in [1, %d]", i, m, diffusers.MaxChannels)
		}
	}
	if c.OutChannels != c.InChannels && !c.LearnsSigma() {
		return fmt.Errorf("config out_channels %d: want in_channels (%d, ε) or twice that (%d, ε and the learned variance)", c.OutChannels, c.InChannels, 2*c.InChannels)
	}
	if c.LearnSigma != nil && *c.LearnSigma != c.LearnsSigma() {
		return fmt.Errorf("config learn_sigma %v disagrees with out_channels %d (in_channels %d)", *c.LearnSigma, c.OutChannels, c.InChannels)
	}
	if c.Dims != 2 {
		return fmt.Errorf("config dims %d is not supported (images: 2)", c.Dims)
	}
	if c.NumClasses != nil {
		return fmt.Errorf("config num_classes %d: class-conditional models are not supported (set it to null)", *c.NumClasses)
	}
	if len(c.ChannelMult) == 0 {
		return fmt.Errorf("config channel_mult is empty")
	}
	if mult := 1 << (c.Levels() - 1); c.ImageSize%mult != 0 {
		return fmt.Errorf("config image_size %d is not divisible by 2^%d (one halving per level but the last)", c.ImageSize, c.Levels()-1)
	}
	for i, ch := range append([]int{c.ModelChannels}, c.levelChannels()...) {
		if ch <= 0 || ch%groups != 0 {
			return fmt.Errorf("config channel_mult/model_channels give %d channels (level %d): GroupNorm32 needs a positive multiple of %d", ch, i-1, groups)
		}
	}
	rates := make([]int, c.Levels())
	for i := range rates {
		rates[i] = 1 << i
	}
	for _, r := range c.AttentionResolutions {
		if !slices.Contains(rates, r) {
			return fmt.Errorf("config attention_resolutions holds %d, not a downsample rate of this model (%v): they are image_size/resolution, e.g. 16 for attention at 16×16 of a 256² model", r, rates)
		}
	}
	for _, ch := range c.attentionChannels() {
		for _, heads := range []int{c.NumHeads, c.headsUpsample()} {
			if _, err := c.heads(ch, heads); err != nil {
				return err
			}
		}
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return fmt.Errorf("config dropout %g must be in [0, 1) (it is not applied: the model runs in inference mode)", c.Dropout)
	}
	if c.NoiseSchedule != "linear" && c.NoiseSchedule != "cosine" {
		return fmt.Errorf("config noise_schedule %q is not supported (supported: linear, cosine)", c.NoiseSchedule)
	}
	return c.Estimate().Check(ClassName, sizeFields)
}

// sizeFields are the config fields that set the model's size, named in the errors of the limits.
var sizeFields = diffusers.SizeFields{
	Params:      "model_channels, channel_mult and num_res_blocks",
	Layers:      "num_res_blocks and channel_mult",
	Activations: "image_size, model_channels and channel_mult",
}

// Estimate is the size of the model computed from its config alone, as diffusers.Estimate: Params and Layers
// exact (the weights ParamSpecs lists), activations rough (float32, batch 1, at image_size). The field ranges
// of Validate must hold.
func (c *Config) Estimate() diffusers.Estimate {
	conv := func(cin, cout, k int) int64 { return int64(cin*cout*k*k + cout) }
	linear := func(in, out int) int64 { return int64(in*out + out) }
	mc, tdim := c.ModelChannels, 4*c.ModelChannels
	embOut := 1
	if c.UseScaleShiftNorm {
		embOut = 2
	}
	e := diffusers.Estimate{SampleSize: c.ImageSize}
	// Bytes are counted in float64: attention scores at a large image_size pass the range of int64.
	var skipBytes, allBytes, work float64
	// act counts the bytes of an activation of ch channels at downsample rate ds.
	act := func(ch, ds int) float64 {
		side := float64(c.ImageSize / ds)
		return 4 * side * side * float64(ch)
	}
	res := func(cin, cout, ds int) {
		e.Params += 2*int64(cin) + conv(cin, cout, 3) + linear(tdim, embOut*cout) + 2*int64(cout) + conv(cout, cout, 3)
		if cin != cout {
			e.Params += conv(cin, cout, 1)
		}
		e.Layers++
		allBytes += 6 * act(max(cin, cout), ds)
		work = max(work, 4*act(max(cin, cout), ds))
	}
	attn := func(ch, ds, numHeads int) {
		e.Params += 2*int64(ch) + conv(ch, 3*ch, 1) + conv(ch, ch, 1)
		e.Layers++
		heads, _ := c.heads(ch, numHeads)
		n := float64(c.ImageSize/ds) * float64(c.ImageSize/ds)
		scores := 4 * n * n * float64(max(heads, 1))
		allBytes += 5*act(ch, ds) + scores
		work = max(work, 4*act(ch, ds)+scores)
	}
	resample := func(ch int) {
		if c.ConvResample {
			e.Params += conv(ch, ch, 3)
		}
	}
	e.Params += linear(mc, tdim) + linear(tdim, tdim)
	chans := c.levelChannels()
	ch, ds := chans[0], 1
	e.Params += conv(c.InChannels, ch, 3)
	skipCh, skipDS := []int{ch}, []int{1}
	for level, out := range chans {
		for range c.NumResBlocks {
			res(ch, out, ds)
			ch = out
			if slices.Contains(c.AttentionResolutions, ds) {
				attn(ch, ds, c.NumHeads)
			}
			skipCh, skipDS = append(skipCh, ch), append(skipDS, ds)
		}
		if level < len(chans)-1 {
			if c.ResblockUpdown {
				res(ch, ch, ds)
			} else {
				resample(ch)
			}
			ds *= 2
			skipCh, skipDS = append(skipCh, ch), append(skipDS, ds)
		}
	}
	for i, sc := range skipCh {
		skipBytes += act(sc, skipDS[i])
	}
	res(ch, ch, ds)
	attn(ch, ds, c.NumHeads)
	res(ch, ch, ds)
	for level := len(chans) - 1; level >= 0; level-- {
		for i := range c.NumResBlocks + 1 {
			sch := skipCh[len(skipCh)-1]
			skipCh = skipCh[:len(skipCh)-1]
			res(ch+sch, chans[level], ds)
			ch = chans[level]
			if slices.Contains(c.AttentionResolutions, ds) {
				attn(ch, ds, c.headsUpsample())
			}
			if level > 0 && i == c.NumResBlocks {
				if c.ResblockUpdown {
					res(ch, ch, ds)
				} else {
					resample(ch)
				}
				ds /= 2
			}
		}
	}
	e.Params += 2*int64(ch) + conv(ch, c.OutChannels, 3)
	e.ForwardBytes = clampBytes(skipBytes + work)
	e.JVPBytes = clampBytes(2 * (allBytes + skipBytes))
	return e
}

// clampBytes converts a byte count to int64, saturating.
func clampBytes(b float64) int64 {
	if b >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(b)
}

// attentionChannels are the channel counts of the levels with attention, and of the middle block.
func (c *Config) attentionChannels() []int {
	ch := c.levelChannels()
	out := []int{ch[len(ch)-1]}
	for i, n := range ch {
		if slices.Contains(c.AttentionResolutions, 1<<i) {
			out = append(out, n)
		}
	}
	return out
}

func (c *Config) headsUpsample() int {
	if c.NumHeadsUpsample == -1 {
		return c.NumHeads
	}
	return c.NumHeadsUpsample
}

// heads is the number of attention heads over ch channels: ch/num_head_channels, or numHeads.
func (c *Config) heads(ch, numHeads int) (int, error) {
	if c.NumHeadChannels != -1 {
		if c.NumHeadChannels <= 0 || ch%c.NumHeadChannels != 0 {
			return 0, fmt.Errorf("config num_head_channels %d does not divide the %d channels of an attention block", c.NumHeadChannels, ch)
		}
		return ch / c.NumHeadChannels, nil
	}
	if numHeads <= 0 || ch%numHeads != 0 {
		return 0, fmt.Errorf("config num_heads/num_heads_upsample %d does not divide the %d channels of an attention block", numHeads, ch)
	}
	return numHeads, nil
}

// Schedule is the model's noise schedule: guided-diffusion's linear schedule (β from 1e-4 to 0.02, scaled by
// 1000/diffusion_steps) or its cosine schedule.
func (c *Config) Schedule() (*loco.Schedule, error) {
	if c.NoiseSchedule == "cosine" {
		return loco.NewSchedule(loco.BetaSquaredCosCapV2, 0, 0, c.DiffusionSteps)
	}
	scale := 1000 / float64(c.DiffusionSteps)
	return loco.NewSchedule(loco.BetaLinear, scale*1e-4, scale*0.02, c.DiffusionSteps)
}
