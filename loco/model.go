package loco

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/hub"
	"github.com/locoedit/locoedit/mlx"
)

// UNetDenoiser adapts a diffusers UNet2DModel (ε-prediction) to the Denoiser interface.
type UNetDenoiser struct {
	UNet     *diffusers.UNet2DModel
	ModelID  string
	Sched    *Schedule
	PredType Prediction
}

var (
	_ Denoiser           = (*UNetDenoiser)(nil)
	_ BottleneckSplitter = (*UNetDenoiser)(nil)
)

// Name implements Denoiser.
func (u *UNetDenoiser) Name() string { return u.ModelID }

// SampleShape implements Denoiser.
func (u *UNetDenoiser) SampleShape() []int {
	c := u.UNet.Config
	return []int{c.InChannels, c.SampleSize, c.SampleSize}
}

// Schedule implements Denoiser.
func (u *UNetDenoiser) Schedule() *Schedule { return u.Sched }

// Prediction implements Denoiser.
func (u *UNetDenoiser) Prediction() Prediction { return u.PredType }

// Context implements Denoiser.
func (u *UNetDenoiser) Context() *context.Context { return u.UNet.Context() }

// Predict implements Denoiser.
func (u *UNetDenoiser) Predict(ctx *context.Context, x, t *graph.Node) *graph.Node {
	return u.UNet.Forward(ctx, x, t)
}

// SplitAtBottleneck implements BottleneckSplitter: h is the mid block's output (NCHW), and decode runs the up
// path with the skip connections and the time embedding of x repeated for every row of hs.
func (u *UNetDenoiser) SplitAtBottleneck(ctx *context.Context, x, t *graph.Node) (*graph.Node, func(hs *graph.Node) *graph.Node) {
	enc := u.UNet.Encode(ctx, x, t)
	decode := func(hs *graph.Node) *graph.Node {
		k := hs.Shape().Dimensions[0]
		skips := make([]*graph.Node, len(enc.Skips))
		for i, s := range enc.Skips {
			skips[i] = mlx.RepeatRows(s, k)
		}
		return u.UNet.Decode(ctx, diffusers.Bottleneck{H: mlx.NCHWToNHWC(hs), Skips: skips, Temb: mlx.RepeatRows(enc.Temb, k)})
	}
	return mlx.NHWCToNCHW(enc.H), decode
}

// registered maps the names of built-in (embedded) models to their loaders.
var registered = map[string]func() (Denoiser, error){}

// RegisterModel makes a built-in model loadable by name (packages that embed models call it from init).
func RegisterModel(name string, open func() (Denoiser, error)) { registered[name] = open }

// architectures maps config.json `_class_name`s other than UNet2DModel to folder loaders.
var architectures = map[string]func(dir string) (Denoiser, error){}

// RegisterArchitecture makes LoadModel read folders whose config.json has the given `_class_name` with load.
func RegisterArchitecture(className string, load func(dir string) (Denoiser, error)) {
	architectures[className] = load
}

// pipelines maps the `_class_name` of a pipeline's unet/config.json to loaders of the whole pipeline folder.
var pipelines = map[string]func(name, dir string) (Denoiser, error){}

// RegisterPipeline makes LoadModel read diffusers pipeline folders (model_index.json) whose unet/config.json has
// the given `_class_name` with load, which receives the model's name and the pipeline folder (e.g. text-to-image
// pipelines with unet/, vae/, text_encoder/, tokenizer/ and scheduler/).
func RegisterPipeline(unetClassName string, load func(name, dir string) (Denoiser, error)) {
	pipelines[unetClassName] = load
}

// KnownModelNames lists the built-in model names, sorted.
func KnownModelNames() []string {
	names := make([]string, 0, len(registered))
	for n := range registered {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadModel opens a model by name: a registered (embedded) name, a local diffusers folder, or a HuggingFace
// model id, optionally with a revision ("org/name@revision"), resolved offline-first through the standard
// cache with the environment's settings (see package hub). Diffusers pipelines (model_index.json with a
// unet/ subfolder) are accepted too.
func LoadModel(nameOrPath string) (Denoiser, error) {
	return LoadModelWith(nameOrPath, hub.OptionsFromEnv())
}

// modelFiles are the files of a hub model that a Denoiser needs: the UNet's config and weights and the
// scheduler's config, at the root or in a pipeline's unet/ and scheduler/, and for text-to-image pipelines the
// autoencoder, the text encoder and the tokenizer (never other weight formats, nor README images, nor the
// safety checker).
var modelFiles = hub.Diffusers("unet", "vae", "text_encoder", "tokenizer", "scheduler")

// LoadModelWith is LoadModel with explicit hub options (revision, offline mode, verification of the cached
// files, progress output). A revision applies to HuggingFace model ids only.
func LoadModelWith(nameOrPath string, opts hub.Options) (Denoiser, error) {
	_, isLocal := registered[nameOrPath]
	if st, err := os.Stat(nameOrPath); err == nil && st.IsDir() {
		isLocal = true
	}
	if isLocal && opts.Revision != "" {
		return nil, fmt.Errorf("model %s is built in or a local folder: a revision (%s) applies only to HuggingFace model ids", nameOrPath, opts.Revision)
	}
	if open, ok := registered[nameOrPath]; ok {
		return open()
	}
	dir := nameOrPath
	if !isLocal {
		if _, _, err := hub.ParseModelRef(nameOrPath); err != nil {
			return nil, fmt.Errorf("model %q is neither a known model name (%v), a directory, nor a HuggingFace model id (org/name or org/name@revision): %v", nameOrPath, KnownModelNames(), err)
		}
		d, err := hub.Resolve(nameOrPath, modelFiles, opts)
		if err != nil {
			return nil, fmt.Errorf("loading model %s (not a built-in model %v nor a local folder, so tried the HuggingFace hub): %w", nameOrPath, KnownModelNames(), err)
		}
		dir = d
	}
	return loadDiffusersDir(nameOrPath, dir)
}

// loadDiffusersDir loads a UNet2DModel folder, or a pipeline folder with unet/ and scheduler/.
func loadDiffusersDir(name, dir string) (Denoiser, error) {
	unetDir, schedPath := dir, filepath.Join(dir, "scheduler_config.json")
	_, err := os.Stat(filepath.Join(dir, "model_index.json"))
	pipeline := err == nil
	if pipeline {
		unetDir = filepath.Join(dir, "unet")
		schedPath = filepath.Join(dir, "scheduler", "scheduler_config.json")
	}
	cls, err := className(filepath.Join(unetDir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", name, err)
	}
	if load, ok := pipelines[cls]; ok && pipeline {
		return load(name, dir)
	}
	if load, ok := architectures[cls]; ok {
		return load(unetDir)
	}
	if cls != "UNet2DModel" && cls != "" {
		return nil, fmt.Errorf("loading model %s: architecture %q is not supported (supported: UNet2DModel)", name, cls)
	}
	// The scheduler's config is read first: it is small, and a hostile one is refused before any weight is.
	sc := diffusers.DefaultSchedulerConfig()
	if _, err := os.Stat(schedPath); err == nil {
		if sc, err = diffusers.ReadSchedulerConfig(schedPath); err != nil {
			return nil, fmt.Errorf("loading model %s: %w", name, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("loading model %s: %w", name, err)
	}
	unet, err := diffusers.LoadUNet2D(unetDir)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", name, err)
	}
	sched, err := NewSchedule(BetaSchedule(sc.BetaSchedule), sc.BetaStart, sc.BetaEnd, sc.NumTrainTimesteps)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", name, err)
	}
	pred := PredictEpsilon
	if sc.PredictionType == "sample" {
		pred = PredictSample
	}
	return &UNetDenoiser{UNet: unet, ModelID: name, Sched: sched, PredType: pred}, nil
}

func className(configPath string) (string, error) {
	cls, err := diffusers.ReadClassName(configPath)
	if err != nil {
		return "", fmt.Errorf("reading model config: %w", err)
	}
	return cls, nil
}
