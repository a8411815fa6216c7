package diffusers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// PerBlock is a config value diffusers accepts either as one number for every block or as a list with one
// entry per down block (attention_head_dim, cross_attention_dim, layers_per_block,
// transformer_layers_per_block). Empty means the value was null or absent.
type PerBlock []int

// UnmarshalJSON reads a number, a list of numbers or null.
func (v *PerBlock) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		*v = nil
		return nil
	}
	if len(data) > 0 && data[0] == '[' {
		var list []int
		if err := json.Unmarshal(data, &list); err != nil {
			return fmt.Errorf("want a number or a list of numbers, got %s", data)
		}
		*v = list
		return nil
	}
	var n int
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("want a number or a list of numbers, got %s", data)
	}
	*v = PerBlock{n}
	return nil
}

// at returns the value of block i of n: the single value, or entry i of the list.
func (v PerBlock) at(i int) int {
	if len(v) == 1 {
		return v[0]
	}
	return v[i]
}

// check reports whether the list has one entry or one per block, all in [1, hi].
func (v PerBlock) check(field string, blocks, hi int) error {
	if len(v) == 0 {
		return fmt.Errorf("config %s is missing", field)
	}
	if len(v) != 1 && len(v) != blocks {
		return fmt.Errorf("config %s has %d entries for %d blocks: give one number or one per block", field, len(v), blocks)
	}
	for i, x := range v {
		if x <= 0 {
			return fmt.Errorf("config %s[%d] = %d must be positive", field, i, x)
		}
		if x > hi {
			return fmt.Errorf("config %s[%d] = %d is out of range: it must lie in [1, %d]", field, i, x, hi)
		}
	}
	return nil
}

// UNet2DConditionConfig is the config.json of a diffusers UNet2DConditionModel (the text-conditioned UNet of
// Stable Diffusion 1.x/2.x and of latent consistency models).
type UNet2DConditionConfig struct {
	ClassName                 string   `json:"_class_name"`
	SampleSize                int      `json:"sample_size"`
	InChannels                int      `json:"in_channels"`
	OutChannels               int      `json:"out_channels"`
	CenterInputSample         bool     `json:"center_input_sample"`
	FlipSinToCos              bool     `json:"flip_sin_to_cos"`
	FreqShift                 float64  `json:"freq_shift"`
	DownBlockTypes            []string `json:"down_block_types"`
	MidBlockType              *string  `json:"mid_block_type"`
	UpBlockTypes              []string `json:"up_block_types"`
	OnlyCrossAttention        any      `json:"only_cross_attention"`
	BlockOutChannels          []int    `json:"block_out_channels"`
	LayersPerBlock            PerBlock `json:"layers_per_block"`
	DownsamplePadding         int      `json:"downsample_padding"`
	MidBlockScaleFactor       float64  `json:"mid_block_scale_factor"`
	Dropout                   float64  `json:"dropout"`
	ActFn                     string   `json:"act_fn"`
	NormNumGroups             *int     `json:"norm_num_groups"`
	NormEps                   float64  `json:"norm_eps"`
	CrossAttentionDim         PerBlock `json:"cross_attention_dim"`
	TransformerLayersPerBlock PerBlock `json:"transformer_layers_per_block"`
	// AttentionHeadDim is, for this class, the number of attention heads per block (diffusers passes it on as
	// num_attention_heads; each head has out_channels/heads features). Stable Diffusion 2.x lists it per block.
	AttentionHeadDim                 PerBlock `json:"attention_head_dim"`
	NumAttentionHeads                PerBlock `json:"num_attention_heads"`
	DualCrossAttention               bool     `json:"dual_cross_attention"`
	UseLinearProjection              bool     `json:"use_linear_projection"`
	UpcastAttention                  bool     `json:"upcast_attention"`
	ResnetTimeScaleShift             string   `json:"resnet_time_scale_shift"`
	ResnetSkipTimeAct                bool     `json:"resnet_skip_time_act"`
	ResnetOutScaleFactor             float64  `json:"resnet_out_scale_factor"`
	TimeEmbeddingType                string   `json:"time_embedding_type"`
	TimeEmbeddingDim                 *int     `json:"time_embedding_dim"`
	TimeEmbeddingActFn               *string  `json:"time_embedding_act_fn"`
	TimestepPostAct                  *string  `json:"timestep_post_act"`
	TimeCondProjDim                  *int     `json:"time_cond_proj_dim"`
	ConvInKernel                     int      `json:"conv_in_kernel"`
	ConvOutKernel                    int      `json:"conv_out_kernel"`
	ClassEmbedType                   *string  `json:"class_embed_type"`
	NumClassEmbeds                   *int     `json:"num_class_embeds"`
	AdditionEmbedType                *string  `json:"addition_embed_type"`
	EncoderHidDim                    *int     `json:"encoder_hid_dim"`
	EncoderHidDimType                *string  `json:"encoder_hid_dim_type"`
	ReverseTransformerLayersPerBlock any      `json:"reverse_transformer_layers_per_block"`
	AttentionType                    string   `json:"attention_type"`
	ClassEmbeddingsConcat            bool     `json:"class_embeddings_concat"`
	CrossAttentionNorm               *string  `json:"cross_attention_norm"`
	DiffusersVersion                 string   `json:"_diffusers_version"`
}

// Supported block types of UNet2DConditionModel.
var (
	supportedCondDownBlocks = []string{"CrossAttnDownBlock2D", "DownBlock2D"}
	supportedCondUpBlocks   = []string{"CrossAttnUpBlock2D", "UpBlock2D"}
	supportedCondMidBlocks  = []string{"UNetMidBlock2DCrossAttn"}
)

// DefaultUNet2DConditionConfig returns diffusers' defaults for UNet2DConditionModel (Stable Diffusion 1.x's
// layout), which config.json files override.
func DefaultUNet2DConditionConfig() *UNet2DConditionConfig {
	mid := "UNetMidBlock2DCrossAttn"
	return &UNet2DConditionConfig{
		ClassName:                 "UNet2DConditionModel",
		InChannels:                4,
		OutChannels:               4,
		FlipSinToCos:              true,
		DownBlockTypes:            []string{"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"},
		MidBlockType:              &mid,
		UpBlockTypes:              []string{"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"},
		BlockOutChannels:          []int{320, 640, 1280, 1280},
		LayersPerBlock:            PerBlock{2},
		DownsamplePadding:         1,
		MidBlockScaleFactor:       1,
		ActFn:                     "silu",
		NormNumGroups:             intPtr(32),
		NormEps:                   1e-5,
		CrossAttentionDim:         PerBlock{1280},
		TransformerLayersPerBlock: PerBlock{1},
		AttentionHeadDim:          PerBlock{8},
		ResnetTimeScaleShift:      "default",
		ResnetOutScaleFactor:      1,
		TimeEmbeddingType:         "positional",
		ConvInKernel:              3,
		ConvOutKernel:             3,
		AttentionType:             "default",
	}
}

// ParseUNet2DConditionConfig parses and validates the JSON of a UNet2DConditionModel config.
func ParseUNet2DConditionConfig(data []byte) (*UNet2DConditionConfig, error) {
	cfg := DefaultUNet2DConditionConfig()
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("parsing UNet2DConditionModel config.json: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ReadUNet2DConditionConfig reads and validates a UNet2DConditionModel config.json.
func ReadUNet2DConditionConfig(path string) (*UNet2DConditionConfig, error) {
	return readConfig(path, "UNet config", ParseUNet2DConditionConfig)
}

// unsupported returns an error for a config option this package does not implement.
func unsupported(field string, value any, supported string) error {
	return fmt.Errorf("config %s = %v is not supported (supported: %s)", field, value, supported)
}

// checkFields checks that every option is one this package implements, every size is in range and the sizes
// fit together; errors name the field and the supported values.
func (c *UNet2DConditionConfig) checkFields() error {
	if c.ClassName != "" && c.ClassName != "UNet2DConditionModel" {
		return fmt.Errorf("config _class_name is %q: want UNet2DConditionModel", c.ClassName)
	}
	if err := inRange("in_channels", c.InChannels, 1, MaxChannels); err != nil {
		return err
	}
	if err := inRange("out_channels", c.OutChannels, 1, MaxChannels); err != nil {
		return err
	}
	n := len(c.BlockOutChannels)
	if n == 0 {
		return fmt.Errorf("config block_out_channels is empty")
	}
	if err := inRange("len(block_out_channels)", n, 1, MaxBlocks); err != nil {
		return err
	}
	if len(c.DownBlockTypes) != n || len(c.UpBlockTypes) != n {
		return fmt.Errorf("config has %d block_out_channels but %d down_block_types and %d up_block_types: they must match",
			n, len(c.DownBlockTypes), len(c.UpBlockTypes))
	}
	for i, t := range c.DownBlockTypes {
		if !slices.Contains(supportedCondDownBlocks, t) {
			return unsupported(fmt.Sprintf("down_block_types[%d]", i), fmt.Sprintf("%q", t), strings.Join(supportedCondDownBlocks, ", "))
		}
	}
	for i, t := range c.UpBlockTypes {
		if !slices.Contains(supportedCondUpBlocks, t) {
			return unsupported(fmt.Sprintf("up_block_types[%d]", i), fmt.Sprintf("%q", t), strings.Join(supportedCondUpBlocks, ", "))
		}
	}
	if c.MidBlockType == nil || !slices.Contains(supportedCondMidBlocks, *c.MidBlockType) {
		mid := "null"
		if c.MidBlockType != nil {
			mid = fmt.Sprintf("%q", *c.MidBlockType)
		}
		return unsupported("mid_block_type", mid, strings.Join(supportedCondMidBlocks, ", "))
	}
	for _, pb := range []struct {
		field string
		v     PerBlock
		hi    int
	}{
		{"layers_per_block", c.LayersPerBlock, MaxLayersPerBlock},
		{"cross_attention_dim", c.CrossAttentionDim, MaxChannels},
		{"transformer_layers_per_block", c.TransformerLayersPerBlock, MaxLayersPerBlock},
		{"attention_head_dim", c.AttentionHeadDim, MaxChannels},
	} {
		if err := pb.v.check(pb.field, n, pb.hi); err != nil {
			return err
		}
	}
	if len(c.NumAttentionHeads) > 0 {
		return fmt.Errorf("config num_attention_heads must be null: diffusers' UNet2DConditionModel takes the number of heads from attention_head_dim")
	}
	if !allFalse(c.OnlyCrossAttention) {
		return unsupported("only_cross_attention", c.OnlyCrossAttention, "false")
	}
	if c.DualCrossAttention {
		return unsupported("dual_cross_attention", true, "false")
	}
	if c.ReverseTransformerLayersPerBlock != nil {
		return unsupported("reverse_transformer_layers_per_block", c.ReverseTransformerLayersPerBlock, "null")
	}
	if c.ActFn != "silu" && c.ActFn != "swish" {
		return unsupported("act_fn", fmt.Sprintf("%q", c.ActFn), `"silu"`)
	}
	for field, act := range map[string]*string{"time_embedding_act_fn": c.TimeEmbeddingActFn, "timestep_post_act": c.TimestepPostAct} {
		if act != nil && *act != "silu" && *act != "swish" {
			return unsupported(field, fmt.Sprintf("%q", *act), `null, "silu"`)
		}
	}
	if c.TimeEmbeddingType != "positional" {
		return unsupported("time_embedding_type", fmt.Sprintf("%q", c.TimeEmbeddingType), `"positional"`)
	}
	for field, v := range map[string]*int{"time_embedding_dim": c.TimeEmbeddingDim, "time_cond_proj_dim": c.TimeCondProjDim} {
		if v != nil && (*v <= 0 || *v > MaxChannels) {
			return fmt.Errorf("config %s = %d must be null or lie in [1, %d]", field, *v, MaxChannels)
		}
	}
	if c.ResnetTimeScaleShift != "" && c.ResnetTimeScaleShift != "default" {
		return unsupported("resnet_time_scale_shift", fmt.Sprintf("%q", c.ResnetTimeScaleShift), `"default"`)
	}
	if c.ResnetSkipTimeAct || c.ResnetOutScaleFactor != 1 {
		return fmt.Errorf("config resnet_skip_time_act/resnet_out_scale_factor are not supported (they apply to other block types; use false/1.0)")
	}
	if c.ClassEmbedType != nil || c.NumClassEmbeds != nil || c.ClassEmbeddingsConcat {
		return fmt.Errorf("config class_embed_type/num_class_embeds: class-conditional UNets are not supported (set them to null)")
	}
	if c.AdditionEmbedType != nil {
		return unsupported("addition_embed_type", fmt.Sprintf("%q", *c.AdditionEmbedType), "null (SDXL-style added conditions are not implemented)")
	}
	if c.EncoderHidDim != nil || c.EncoderHidDimType != nil {
		return fmt.Errorf("config encoder_hid_dim/encoder_hid_dim_type are not supported (set them to null)")
	}
	if c.AttentionType != "" && c.AttentionType != "default" {
		return unsupported("attention_type", fmt.Sprintf("%q", c.AttentionType), `"default"`)
	}
	if c.CrossAttentionNorm != nil {
		return unsupported("cross_attention_norm", fmt.Sprintf("%q", *c.CrossAttentionNorm), "null")
	}
	if c.NormNumGroups == nil || *c.NormNumGroups <= 0 {
		return fmt.Errorf("config norm_num_groups must be a positive number (null is not supported)")
	}
	if c.ConvInKernel <= 0 || c.ConvInKernel%2 == 0 || c.ConvOutKernel <= 0 || c.ConvOutKernel%2 == 0 ||
		c.ConvInKernel > MaxKernel || c.ConvOutKernel > MaxKernel {
		return fmt.Errorf("config conv_in_kernel/conv_out_kernel must be odd and in [1, %d], got %d/%d", MaxKernel, c.ConvInKernel, c.ConvOutKernel)
	}
	if c.DownsamplePadding != 0 && c.DownsamplePadding != 1 {
		return unsupported("downsample_padding", c.DownsamplePadding, "0, 1")
	}
	g := *c.NormNumGroups
	if err := checkChannels("block_out_channels", c.BlockOutChannels, g); err != nil {
		return err
	}
	for i, ch := range c.BlockOutChannels {
		if h := c.AttentionHeadDim.at(i); h > ch {
			return fmt.Errorf("config attention_head_dim[%d] = %d heads: more heads than the block's %d channels", i, h, ch)
		}
	}
	if err := inRange("sample_size", c.SampleSize, 0, MaxSampleSize); err != nil {
		return err
	}
	if err := checkUNetNumbers(c.NormEps, c.MidBlockScaleFactor, c.FreqShift); err != nil {
		return err
	}
	_, err := c.ContextDim()
	return err
}

// allFalse reports whether a JSON bool-or-list value is null, false or a list of false.
func allFalse(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case []any:
		for _, e := range x {
			if e != false {
				return false
			}
		}
		return true
	}
	return false
}

// NumBlocks is the number of resolution levels.
func (c *UNet2DConditionConfig) NumBlocks() int { return len(c.BlockOutChannels) }

// TimeEmbedDim is the width of the time embedding fed to the resnets: time_embedding_dim, else
// 4·block_out_channels[0].
func (c *UNet2DConditionConfig) TimeEmbedDim() int {
	if c.TimeEmbeddingDim != nil {
		return *c.TimeEmbeddingDim
	}
	return 4 * c.BlockOutChannels[0]
}

// ContextDim is the feature size the text embeddings must have: cross_attention_dim (every block reads the
// same encoder hidden states, so a per-block list must hold one value).
func (c *UNet2DConditionConfig) ContextDim() (int, error) {
	d := c.CrossAttentionDim[0]
	for _, x := range c.CrossAttentionDim {
		if x != d {
			return 0, fmt.Errorf("config cross_attention_dim %v: blocks with different cross-attention sizes need an encoder_hid_proj, which is not supported", []int(c.CrossAttentionDim))
		}
	}
	return d, nil
}
