package diffusers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/safetensors"
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
type TensorSource interface {
	Names() []string
	Tensor(name string) (*safetensors.Tensor, error)
}

// NewUNet2D builds the model for cfg with weights from src, by their diffusers names (either attention
// naming scheme). Every weight must be present with the shape the config implies, and no tensor may be
// left over (a leftover means the config and the weights disagree).
func NewUNet2D(cfg *UNet2DConfig, src TensorSource) (*UNet2DModel, error) {
	specs, err := cfg.ParamSpecs()
	if err != nil {
		return nil, err
	}
	available := map[string]bool{}
	for _, n := range src.Names() {
		available[n] = true
	}
	ctx := context.New()
	for _, spec := range specs {
		name := spec.Name
		if !available[name] {
			if old := legacyName(name); old != "" && available[old] {
				name = old
			} else {
				return nil, fmt.Errorf("weight %q (shape %v) is missing: the weights do not match config.json", spec.Name, spec.Shape)
			}
		}
		delete(available, name)
		t, err := src.Tensor(name)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(t.Shape, spec.Shape) {
			return nil, fmt.Errorf("weight %q has shape %v, but config.json implies %v", name, t.Shape, spec.Shape)
		}
		data, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("weight %q: %w", name, err)
		}
		setVariable(ctx, spec, data)
	}
	if len(available) > 0 {
		left := slices.Sorted(func(yield func(string) bool) {
			for n := range available {
				if !yield(n) {
					return
				}
			}
		})
		if len(left) > 5 {
			left = append(left[:5], "…")
		}
		return nil, fmt.Errorf("%d tensors are not used by the architecture config.json describes (e.g. %s): wrong config?",
			len(available), strings.Join(left, ", "))
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
	rng := rand.New(rand.NewPCG(seed, 0x10c0))
	ctx := context.New()
	for _, spec := range specs {
		data := make([]float32, spec.Size())
		std, mean := 0.1, 0.0
		if spec.Kind != Vector {
			std = 1 / math.Sqrt(float64(spec.Size()/spec.Shape[0]))
		} else if strings.HasSuffix(spec.Name, ".weight") {
			mean = 1
		}
		for i := range data {
			data[i] = float32(mean + std*rng.NormFloat64())
		}
		setVariable(ctx, spec, data)
	}
	return &UNet2DModel{Config: cfg, ctx: ctx}, nil
}

// setVariable stores PyTorch-layout data as the variable for spec, in this package's layout.
func setVariable(ctx *context.Context, spec ParamSpec, data []float32) {
	scope, leaf := scopeAndName(spec.Name)
	ctx.InAbsPath(scope).VariableWithValue(leaf, tensors.FromFlatDataAndDimensions(convertLayout(spec, data, true), spec.localShape()...))
}

// convertLayout moves a weight between PyTorch's layout and this package's: linear [out,in] ⇄ [in,out], conv
// [o,i,kh,kw] ⇄ [kh,kw,i,o]; toLocal picks the direction. Vectors are returned as they are.
func convertLayout(spec ParamSpec, data []float32, toLocal bool) []float32 {
	var o, in, kh, kw int
	switch spec.Kind {
	case Linear:
		o, in, kh, kw = spec.Shape[0], spec.Shape[1], 1, 1
	case Conv:
		o, in, kh, kw = spec.Shape[0], spec.Shape[1], spec.Shape[2], spec.Shape[3]
	default:
		return data
	}
	t := make([]float32, len(data))
	for a := range o {
		for b := range in {
			for y := range kh {
				for x := range kw {
					torch, local := ((a*in+b)*kh+y)*kw+x, ((y*kw+x)*in+b)*o+a
					if toLocal {
						t[local] = data[torch]
					} else {
						t[torch] = data[local]
					}
				}
			}
		}
	}
	return t
}
