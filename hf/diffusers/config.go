// Package diffusers holds HuggingFace diffusers architectures written in GoMLX, composed from their
// config.json like diffusers does, with weights loaded by their diffusers names.
//
// Supported: UNet2DModel (the unconditional pixel DDPMs such as google/ddpm-ema-celebahq-256) with block types
// DownBlock2D, AttnDownBlock2D, UNetMidBlock2D, UpBlock2D and AttnUpBlock2D, and the DDPM/DDIM
// scheduler_config.json.
package diffusers

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// UNet2DConfig is the config.json of a diffusers UNet2DModel.
type UNet2DConfig struct {
	ClassName            string   `json:"_class_name"`
	SampleSize           int      `json:"sample_size"`
	InChannels           int      `json:"in_channels"`
	OutChannels          int      `json:"out_channels"`
	CenterInputSample    bool     `json:"center_input_sample"`
	TimeEmbeddingType    string   `json:"time_embedding_type"`
	FreqShift            float64  `json:"freq_shift"`
	FlipSinToCos         bool     `json:"flip_sin_to_cos"`
	DownBlockTypes       []string `json:"down_block_types"`
	UpBlockTypes         []string `json:"up_block_types"`
	BlockOutChannels     []int    `json:"block_out_channels"`
	LayersPerBlock       int      `json:"layers_per_block"`
	MidBlockScaleFactor  float64  `json:"mid_block_scale_factor"`
	DownsamplePadding    int      `json:"downsample_padding"`
	DownsampleType       string   `json:"downsample_type"`
	UpsampleType         string   `json:"upsample_type"`
	ActFn                string   `json:"act_fn"`
	AttentionHeadDim     *int     `json:"attention_head_dim"`
	NormNumGroups        int      `json:"norm_num_groups"`
	AttnNormNumGroups    *int     `json:"attn_norm_num_groups"`
	NormEps              float64  `json:"norm_eps"`
	ResnetTimeScaleShift string   `json:"resnet_time_scale_shift"`
	AddAttention         *bool    `json:"add_attention"`
	ClassEmbedType       *string  `json:"class_embed_type"`
	NumClassEmbeds       *int     `json:"num_class_embeds"`
	Dropout              float64  `json:"dropout"`
	DiffusersVersion     string   `json:"_diffusers_version"`
	NumTrainTimesteps    *int     `json:"num_train_timesteps"`
}

// Supported option values, used in error messages.
var (
	supportedDownBlocks = []string{"DownBlock2D", "AttnDownBlock2D"}
	supportedUpBlocks   = []string{"UpBlock2D", "AttnUpBlock2D"}
)

// DefaultUNet2DConfig returns diffusers' defaults for UNet2DModel, which config.json files override.
func DefaultUNet2DConfig() *UNet2DConfig {
	return &UNet2DConfig{
		ClassName:            "UNet2DModel",
		InChannels:           3,
		OutChannels:          3,
		TimeEmbeddingType:    "positional",
		FreqShift:            0,
		FlipSinToCos:         true,
		DownBlockTypes:       []string{"DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"},
		UpBlockTypes:         []string{"AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"},
		BlockOutChannels:     []int{224, 448, 672, 896},
		LayersPerBlock:       2,
		MidBlockScaleFactor:  1,
		DownsamplePadding:    1,
		DownsampleType:       "conv",
		UpsampleType:         "conv",
		ActFn:                "silu",
		AttentionHeadDim:     intPtr(8),
		NormNumGroups:        32,
		NormEps:              1e-5,
		ResnetTimeScaleShift: "default",
	}
}

func intPtr(i int) *int { return &i }

// ReadUNet2DConfig reads and validates a UNet2DModel config.json.
func ReadUNet2DConfig(path string) (*UNet2DConfig, error) {
	return readConfig(path, "UNet config", ParseUNet2DConfig)
}

// ParseUNet2DConfig parses and validates the JSON of a UNet2DModel config.
func ParseUNet2DConfig(data []byte) (*UNet2DConfig, error) {
	cfg := DefaultUNet2DConfig()
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("parsing UNet2DModel config.json: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkFields checks that every option is one this package implements and every size is in range; errors
// name the field and the supported values.
func (c *UNet2DConfig) checkFields() error {
	if c.ClassName != "" && c.ClassName != "UNet2DModel" {
		return fmt.Errorf("config _class_name is %q: only UNet2DModel is supported", c.ClassName)
	}
	if err := inRange("sample_size", c.SampleSize, 1, MaxSampleSize); err != nil {
		return err
	}
	if err := inRange("in_channels", c.InChannels, 1, MaxChannels); err != nil {
		return err
	}
	if err := inRange("out_channels", c.OutChannels, 1, MaxChannels); err != nil {
		return err
	}
	if c.TimeEmbeddingType != "positional" {
		return fmt.Errorf("config time_embedding_type %q is not supported (supported: \"positional\")", c.TimeEmbeddingType)
	}
	n := len(c.BlockOutChannels)
	if n == 0 {
		return fmt.Errorf("config block_out_channels is empty")
	}
	if len(c.DownBlockTypes) != n || len(c.UpBlockTypes) != n {
		return fmt.Errorf("config has %d block_out_channels but %d down_block_types and %d up_block_types: they must match",
			n, len(c.DownBlockTypes), len(c.UpBlockTypes))
	}
	for i, t := range c.DownBlockTypes {
		if !slices.Contains(supportedDownBlocks, t) {
			return fmt.Errorf("config down_block_types[%d] = %q is not supported (supported: %s)", i, t, strings.Join(supportedDownBlocks, ", "))
		}
	}
	for i, t := range c.UpBlockTypes {
		if !slices.Contains(supportedUpBlocks, t) {
			return fmt.Errorf("config up_block_types[%d] = %q is not supported (supported: %s)", i, t, strings.Join(supportedUpBlocks, ", "))
		}
	}
	if err := inRange("layers_per_block", c.LayersPerBlock, 1, MaxLayersPerBlock); err != nil {
		return err
	}
	if c.ActFn != "silu" && c.ActFn != "swish" {
		return fmt.Errorf("config act_fn %q is not supported (supported: \"silu\")", c.ActFn)
	}
	if c.DownsamplePadding != 0 && c.DownsamplePadding != 1 {
		return fmt.Errorf("config downsample_padding %d is not supported (supported: 0, 1)", c.DownsamplePadding)
	}
	if c.DownsampleType != "" && c.DownsampleType != "conv" {
		return fmt.Errorf("config downsample_type %q is not supported (supported: \"conv\")", c.DownsampleType)
	}
	if c.UpsampleType != "" && c.UpsampleType != "conv" {
		return fmt.Errorf("config upsample_type %q is not supported (supported: \"conv\")", c.UpsampleType)
	}
	if c.ResnetTimeScaleShift != "" && c.ResnetTimeScaleShift != "default" {
		return fmt.Errorf("config resnet_time_scale_shift %q is not supported (supported: \"default\")", c.ResnetTimeScaleShift)
	}
	if c.ClassEmbedType != nil || c.NumClassEmbeds != nil {
		return fmt.Errorf("config class_embed_type/num_class_embeds: class-conditional UNets are not supported (set them to null)")
	}
	if err := inRange("norm_num_groups", c.NormNumGroups, 1, MaxChannels); err != nil {
		return err
	}
	if err := checkChannels("block_out_channels", c.BlockOutChannels, c.NormNumGroups); err != nil {
		return err
	}
	for i, ch := range c.BlockOutChannels {
		if h := c.AttentionHeadDim; h != nil && (*h <= 0 || ch%*h != 0) {
			return fmt.Errorf("config attention_head_dim %d does not divide block_out_channels[%d] = %d", *h, i, ch)
		}
	}
	if g := c.AttnNormNumGroups; g != nil && (*g <= 0 || c.BlockOutChannels[n-1]%*g != 0) {
		return fmt.Errorf("config attn_norm_num_groups = %d must be null or a positive divisor of the mid block's %d channels",
			*g, c.BlockOutChannels[n-1])
	}
	if err := checkUNetNumbers(c.NormEps, c.MidBlockScaleFactor, c.FreqShift); err != nil {
		return err
	}
	if c.SampleSize%(1<<(n-1)) != 0 {
		return fmt.Errorf("config sample_size %d is not divisible by 2^%d (one halving per down block but the last)", c.SampleSize, n-1)
	}
	return nil
}

// SchedulerConfig is the scheduler_config.json of a diffusers DDPM/DDIM scheduler (the fields that define
// the noise schedule).
type SchedulerConfig struct {
	ClassName          string    `json:"_class_name"`
	NumTrainTimesteps  int       `json:"num_train_timesteps"`
	BetaStart          float64   `json:"beta_start"`
	BetaEnd            float64   `json:"beta_end"`
	BetaSchedule       string    `json:"beta_schedule"`
	TrainedBetas       []float64 `json:"trained_betas"`
	PredictionType     string    `json:"prediction_type"`
	ClipSample         *bool     `json:"clip_sample"`
	SetAlphaToOne      *bool     `json:"set_alpha_to_one"`
	StepsOffset        int       `json:"steps_offset"`
	VarianceType       string    `json:"variance_type"`
	TimestepSpacing    string    `json:"timestep_spacing"`
	RescaleBetasZeroSN bool      `json:"rescale_betas_zero_snr"`
}

// Supported scheduler values.
var (
	supportedBetaSchedules = []string{"linear", "scaled_linear", "squaredcos_cap_v2"}
	supportedPredictions   = []string{"epsilon", "sample"}
)

// DefaultSchedulerConfig is DDPMScheduler's default: linear betas 1e-4…0.02 over 1000 steps, ε-prediction.
func DefaultSchedulerConfig() *SchedulerConfig {
	return &SchedulerConfig{NumTrainTimesteps: 1000, BetaStart: 1e-4, BetaEnd: 0.02, BetaSchedule: "linear", PredictionType: "epsilon"}
}

// ParseSchedulerConfig parses and validates scheduler_config.json.
func ParseSchedulerConfig(data []byte) (*SchedulerConfig, error) {
	cfg := DefaultSchedulerConfig()
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("parsing scheduler_config.json: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Validate checks that the schedule is one this package implements and its numbers are in range (see
// CheckBetaSchedule); errors name the field.
func (c *SchedulerConfig) Validate() error {
	if len(c.TrainedBetas) > 0 {
		return fmt.Errorf("scheduler_config.json trained_betas is not supported (use beta_schedule: %s)", strings.Join(supportedBetaSchedules, ", "))
	}
	if !slices.Contains(supportedPredictions, c.PredictionType) {
		return fmt.Errorf("scheduler_config.json prediction_type %q is not supported (supported: %s)", c.PredictionType, strings.Join(supportedPredictions, ", "))
	}
	if c.RescaleBetasZeroSN {
		return fmt.Errorf("scheduler_config.json rescale_betas_zero_snr is not supported")
	}
	if err := CheckBetaSchedule(c.BetaSchedule, c.BetaStart, c.BetaEnd, c.NumTrainTimesteps); err != nil {
		return fmt.Errorf("scheduler_config.json %w", err)
	}
	if c.StepsOffset < 0 || c.StepsOffset >= c.NumTrainTimesteps {
		return fmt.Errorf("scheduler_config.json steps_offset = %d must lie in [0, num_train_timesteps)", c.StepsOffset)
	}
	return nil
}

// ReadSchedulerConfig reads scheduler_config.json.
func ReadSchedulerConfig(path string) (*SchedulerConfig, error) {
	return readConfig(path, "scheduler config", ParseSchedulerConfig)
}

// readConfig reads a config file with parse; errors name the file.
func readConfig[C any](path, what string, parse func([]byte) (C, error)) (C, error) {
	var zero C
	data, err := ReadConfigFile(path)
	if err != nil {
		return zero, fmt.Errorf("reading %s: %w", what, err)
	}
	cfg, err := parse(data)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ReadConfigFile reads a config file of at most MaxConfigBytes (see ReadConfigData).
func ReadConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadConfigData(f, path)
}

// ReadClassName reads the "_class_name" of a config file (bounded like ReadConfigFile); "" when it has none.
func ReadClassName(path string) (string, error) {
	data, err := ReadConfigFile(path)
	if err != nil {
		return "", err
	}
	var c struct {
		ClassName string `json:"_class_name"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return "", fmt.Errorf("parsing %s: %w", path, err)
	}
	return c.ClassName, nil
}

// ReadConfigData reads a config file's content from r, refusing more than MaxConfigBytes (a config file is a
// few kB; a larger one is a mistake or hostile); name names the file in errors.
func ReadConfigData(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a config file", name, MaxConfigBytes)
	}
	return data, nil
}
