package train

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/locoedit/locoedit/hf/diffusers"
)

// Presets are named UNet2DModel configurations for --config. Each uses the switches of google/ddpm-* (positional
// time embedding with freq_shift 1 and flip_sin_to_cos false, downsample_padding 0, norm_eps 1e-6, one attention
// head over all channels), so trained models run through exactly the code paths the golden checks cover.
var presets = map[string]func() *diffusers.UNet2DConfig{
	// tiny: 16×16 greyscale, two levels, attention at 8×8 (0.18 M parameters): for tests and smoke runs.
	"tiny": func() *diffusers.UNet2DConfig {
		return ddpmStyle(16, 1, []int{16, 32}, 1, 8, []bool{false, true})
	},
	// fashion-unet-32: 32×32 greyscale (Fashion-MNIST padded to 32², as fashion-molrg-32), three levels
	// 48/96/96 with two resnets each and attention at the two lowest resolutions (16² and 8²) and in the mid
	// block: 3.83 M parameters, 15.3 MB in float32.
	"fashion-unet-32": func() *diffusers.UNet2DConfig {
		return ddpmStyle(32, 1, []int{48, 96, 96}, 2, 16, []bool{false, true, true})
	},
}

// PresetNames lists the named configurations, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ddpmStyle builds a UNet2DModel config with google/ddpm-*'s switches; attn[i] puts attention in level i.
func ddpmStyle(size, channels int, blocks []int, layers, groups int, attn []bool) *diffusers.UNet2DConfig {
	c := diffusers.DefaultUNet2DConfig()
	c.SampleSize, c.InChannels, c.OutChannels = size, channels, channels
	c.FreqShift, c.FlipSinToCos = 1, false
	c.BlockOutChannels, c.LayersPerBlock = slices.Clone(blocks), layers
	c.DownsamplePadding, c.NormEps, c.NormNumGroups = 0, 1e-6, groups
	c.AttentionHeadDim = nil
	c.DownBlockTypes, c.UpBlockTypes = nil, nil
	for _, a := range attn {
		down, up := "DownBlock2D", "UpBlock2D"
		if a {
			down, up = "AttnDownBlock2D", "AttnUpBlock2D"
		}
		c.DownBlockTypes = append(c.DownBlockTypes, down)
		c.UpBlockTypes = append(c.UpBlockTypes, up)
	}
	slices.Reverse(c.UpBlockTypes) // up blocks run from the lowest resolution up
	return c
}

// ResolveConfig returns the configuration named by nameOrPath: a preset name or the path of a UNet2DModel
// config.json. The result is validated, and fields diffusers reads but old config files may lack are filled with
// the values this package's model implements (so the config.json written next to the weights means the same
// model to diffusers).
func ResolveConfig(nameOrPath string) (*diffusers.UNet2DConfig, error) {
	var c *diffusers.UNet2DConfig
	if mk, ok := presets[nameOrPath]; ok {
		c = mk()
	} else {
		if _, err := os.Stat(nameOrPath); err != nil {
			return nil, fmt.Errorf("--config %q is neither a preset (%s) nor a readable config.json: %w",
				nameOrPath, strings.Join(PresetNames(), ", "), err)
		}
		var err error
		if c, err = diffusers.ReadUNet2DConfig(nameOrPath); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Dropout != 0 {
		return nil, fmt.Errorf("config dropout = %g: training with dropout is not supported (set \"dropout\": 0.0)", c.Dropout)
	}
	return normalized(c), nil
}

// normalized returns a copy of c with the defaults this package implements written out.
func normalized(c *diffusers.UNet2DConfig) *diffusers.UNet2DConfig {
	n := *c
	n.ClassName = "UNet2DModel"
	if n.DownsampleType == "" {
		n.DownsampleType = "conv"
	}
	if n.UpsampleType == "" {
		n.UpsampleType = "conv"
	}
	if n.ResnetTimeScaleShift == "" {
		n.ResnetTimeScaleShift = "default"
	}
	if n.AddAttention == nil {
		yes := true
		n.AddAttention = &yes
	}
	if n.ActFn == "swish" {
		n.ActFn = "silu"
	}
	n.DiffusersVersion = "0.29.2"
	return &n
}
