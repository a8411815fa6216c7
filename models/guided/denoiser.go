package guided

import (
	"fmt"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/loco"
)

// Denoiser is a UNetModel as a loco.Denoiser: Predict returns ε (the first in_channels output channels when
// the model also learned σ), and the schedule is the config's.
type Denoiser struct {
	UNet  *UNetModel
	name  string
	sched *loco.Schedule
}

var (
	_ loco.Denoiser           = (*Denoiser)(nil)
	_ loco.BottleneckSplitter = (*Denoiser)(nil)
)

// NewDenoiser wraps m under the given name.
func NewDenoiser(m *UNetModel, name string) (*Denoiser, error) {
	s, err := m.Config.Schedule()
	if err != nil {
		return nil, err
	}
	return &Denoiser{UNet: m, name: name, sched: s}, nil
}

// Name implements loco.Denoiser.
func (d *Denoiser) Name() string { return d.name }

// SampleShape implements loco.Denoiser.
func (d *Denoiser) SampleShape() []int {
	c := d.UNet.Config
	return []int{c.InChannels, c.ImageSize, c.ImageSize}
}

// Schedule implements loco.Denoiser.
func (d *Denoiser) Schedule() *loco.Schedule { return d.sched }

// Prediction implements loco.Denoiser.
func (d *Denoiser) Prediction() loco.Prediction { return loco.PredictEpsilon }

// Context implements loco.Denoiser.
func (d *Denoiser) Context() *context.Context { return d.UNet.Context() }

// Predict implements loco.Denoiser.
func (d *Denoiser) Predict(ctx *context.Context, x, t *graph.Node) *graph.Node {
	return d.UNet.Eps(ctx, x, t)
}

// SplitAtBottleneck implements loco.BottleneckSplitter: h is the middle block's output (NCHW), and decode
// finishes ε (the first in_channels output channels) from the output blocks.
func (d *Denoiser) SplitAtBottleneck(ctx *context.Context, x, t *graph.Node) (*graph.Node, func(hs *graph.Node) *graph.Node) {
	h, decode := d.UNet.SplitAtBottleneck(ctx, x, t)
	return h, func(hs *graph.Node) *graph.Node { return d.UNet.Config.eps(decode(hs)) }
}

// RegisterPreset makes cfg loadable by name for bare weight files (loco.LoadModelArch, the CLI's
// --arch), beside the built-in presets.
func RegisterPreset(name string, cfg *Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	presets[name] = func() *Config { c := *cfg; return &c }
	loco.RegisterPreset(name, func(weights string) (loco.Denoiser, error) {
		c, err := Preset(name)
		if err != nil {
			return nil, err
		}
		m, err := LoadFile(c, weights)
		if err != nil {
			return nil, fmt.Errorf("architecture %s: %w", name, err)
		}
		return NewDenoiser(m, filepath.Clean(weights))
	})
	return nil
}

// Folders with config.json {"_class_name": "GuidedDiffusionUNet"} load through loco.LoadModel, and the presets
// through loco.LoadModelArch.
func init() {
	loco.RegisterArchitecture(ClassName, func(dir string) (loco.Denoiser, error) {
		m, err := Load(dir)
		if err != nil {
			return nil, err
		}
		return NewDenoiser(m, filepath.Clean(dir))
	})
	for _, name := range PresetNames() {
		if err := RegisterPreset(name, presets[name]()); err != nil {
			panic(err) // a built-in preset that does not validate is a bug
		}
	}
}
