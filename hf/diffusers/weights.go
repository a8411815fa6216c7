package diffusers

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/statedict"
)

// legacyAttentionNames maps the attention weight names of diffusers ≥ 0.14 to the older ones still found in
// checkpoints such as google/ddpm-ema-celebahq-256.
var legacyAttentionNames = map[string]string{
	".to_q.":     ".query.",
	".to_k.":     ".key.",
	".to_v.":     ".value.",
	".to_out.0.": ".proj_attn.",
}

// legacyName returns the old-scheme name of an attention weight, or "" when name has none.
func legacyName(name string) string {
	for newPart, oldPart := range legacyAttentionNames {
		if strings.Contains(name, newPart) {
			return strings.Replace(name, newPart, oldPart, 1)
		}
	}
	return ""
}

// LoadUNet2D loads a diffusers UNet2DModel folder (config.json and diffusion_pytorch_model.safetensors).
func LoadUNet2D(dir string) (*UNet2DModel, error) {
	cfg, err := ReadUNet2DConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	path, err := safetensors.FindWeights(dir)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := NewUNet2D(cfg, f)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	return m, nil
}

// TensorSource is where weights come from: a safetensors file or anything with the same lookup.
type TensorSource = statedict.Source

// diffusersLoad are the loading rules of diffusers checkpoints: attention weights may carry the legacy names.
var diffusersLoad = statedict.LoadOptions{Aliases: func(name string) []string {
	if old := legacyName(name); old != "" {
		return []string{old}
	}
	return nil
}}

// NewUNet2D builds the model for cfg with weights from src, by their diffusers names (either attention
// naming scheme). Every weight must be present with the shape the config implies, and no tensor may be
// left over (a leftover means the config and the weights disagree).
func NewUNet2D(cfg *UNet2DConfig, src TensorSource) (*UNet2DModel, error) {
	specs, err := cfg.ParamSpecs()
	if err != nil {
		return nil, err
	}
	ctx, err := statedict.Load(specs, src, diffusersLoad)
	if err != nil {
		return nil, err
	}
	return &UNet2DModel{Config: cfg, ctx: ctx}, nil
}

// NewRandomUNet2D builds the model for cfg with random weights (for tests, benchmarks and parameter counts):
// kernels ~ N(0, 1/fan_in), norm scales 1 + N(0, 0.1²), biases N(0, 0.1²).
func NewRandomUNet2D(cfg *UNet2DConfig, seed uint64) (*UNet2DModel, error) {
	specs, err := cfg.ParamSpecs()
	if err != nil {
		return nil, err
	}
	return &UNet2DModel{Config: cfg, ctx: statedict.Random(specs, seed)}, nil
}
