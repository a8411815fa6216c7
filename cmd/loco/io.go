package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/hub"
	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/loco"
)

// commonFlags are shared by the commands that run a model.
type commonFlags struct {
	defaultOut string // the --out default ("": none)

	model string
	arch  string
	in    string
	out   string
	force bool
	quiet bool

	revision string // hub revision of a HuggingFace --model
	verify   bool   // re-hash its cached files

	maxParams     int64   // model size limits (diffusers.Limits)
	maxLayers     int     //
	maxActivation float64 // GB

	directionsPerCall int        // vectors per Jacobian-product call (0: all)
	text              *textFlags // prompts of text-to-image pipelines (nil: the command takes none)
}

func (c *commonFlags) register(fs *flag.FlagSet, needIn bool) {
	fs.StringVar(&c.model, "model", "fashion-molrg-32", "model: embedded name, model folder (config.json), HuggingFace id (org/name, or org/name@revision), or a weights file with --arch")
	fs.StringVar(&c.revision, "revision", "", "revision of a HuggingFace --model: branch, tag, refs/pr/N or commit (default main)")
	fs.BoolVar(&c.verify, "verify", false, "re-hash the cached files of a HuggingFace --model against the hub's hashes; a damaged one is fetched again")
	fs.StringVar(&c.arch, "arch", "", "architecture of a --model weights file without config.json (e.g. p2-256 for ffhq_p2.pt)")
	if needIn {
		fs.StringVar(&c.in, "in", "", "input safetensors file")
	}
	fs.StringVar(&c.out, "out", c.defaultOut, "output path")
	fs.BoolVar(&c.force, "force", false, "overwrite existing outputs")
	fs.BoolVar(&c.quiet, "quiet", false, "no messages: no progress, no summary")
	fs.IntVar(&c.directionsPerCall, "directions-per-call", 0, "most vectors one Jacobian-product call evaluates (0: all at once); lower it to bound the memory of large models")
	def := diffusers.DefaultLimits()
	fs.Int64Var(&c.maxParams, "max-params", def.MaxParams, "refuse a model whose config describes more parameters (checked before anything is built)")
	fs.IntVar(&c.maxLayers, "max-layers", def.MaxLayers, "refuse a model whose config describes more layers")
	fs.Float64Var(&c.maxActivation, "max-activation-gb", float64(def.MaxActivationBytes)/1e9, "refuse a model whose forward pass at its sample size would hold more GB of activations")
}

// setLimits checks the limit flags and applies them (diffusers.SetLimits) before any model is read.
func (c *commonFlags) setLimits() error {
	switch {
	case c.maxParams < 1:
		return fmt.Errorf("--max-params %d: it must be at least 1", c.maxParams)
	case c.maxLayers < 1:
		return fmt.Errorf("--max-layers %d: it must be at least 1", c.maxLayers)
	case !(c.maxActivation > 0) || c.maxActivation > math.MaxInt64/1e9:
		return fmt.Errorf("--max-activation-gb %g: it must be a positive number of gigabytes", c.maxActivation)
	case c.directionsPerCall < 0:
		return fmt.Errorf("--directions-per-call %d: give 0 (all at once) or more", c.directionsPerCall)
	}
	diffusers.SetLimits(diffusers.Limits{MaxParams: c.maxParams, MaxLayers: c.maxLayers, MaxActivationBytes: int64(c.maxActivation * 1e9)})
	return nil
}

// check checks the flags shared by the commands that read --in and write one --out file, before any work.
func (c *commonFlags) check(needIn bool) error {
	if err := c.setLimits(); err != nil {
		return err
	}
	if needIn && c.in == "" {
		return errors.New("--in is required (a safetensors file with the inputs)")
	}
	if c.out == "" {
		return errors.New("--out is required")
	}
	return checkWritable(c.out, c.force)
}

// checkWritable checks, before any work, that path can be written: not a folder, not an existing file unless
// force is set, in an existing folder that accepts files.
func checkWritable(path string, force bool) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s is a folder: --out names the output file, e.g. %s", path, filepath.Join(path, "out.safetensors"))
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s exists and is not a regular file: choose another --out", path)
	case err == nil && !force:
		return fmt.Errorf("%s exists: pass --force to overwrite it, or choose another --out", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--out %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("output folder %s does not exist: create it, or choose another --out", dir)
	}
	probe, err := os.CreateTemp(dir, ".loco-write-test-*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable (%w): choose another --out", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

func (c *commonFlags) pipeline() (*loco.Pipeline, error) {
	m, err := c.load()
	if err != nil {
		return nil, err
	}
	if c.text != nil {
		if m, err = c.text.bind(m); err != nil {
			return nil, err
		}
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		return nil, err
	}
	p.DirectionsPerCall = c.directionsPerCall
	return p, nil
}

// load opens --model: a weights file as its --arch, anything else through the hub options.
func (c *commonFlags) load() (loco.Denoiser, error) {
	if c.arch != "" || loco.IsWeightsFile(c.model) {
		return loco.LoadModelArch(c.model, c.arch)
	}
	opts := hub.OptionsFromEnv()
	opts.Revision, opts.Verify = c.revision, c.verify
	if c.quiet {
		opts.Progress = nil
	}
	return loco.LoadModelWith(c.model, opts)
}

// inputs is an opened input file.
type inputs struct {
	path string
	f    *safetensors.File
}

func openInputs(path string) (*inputs, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &inputs{path, f}, nil
}

func (in *inputs) has(name string) bool { return in.f.Has(name) }

// The tensors of an input file are numbers of three kinds: timesteps (t: integers or floats), masks (mask:
// integers, booleans or floats, nonzero inside) and everything else — images, latents, vectors, embeddings —
// which must be floating point: an integer tensor there is the wrong tensor or the wrong file, and converting
// it by value would silently compute on nonsense.
func tensorKind(name string) string {
	switch name {
	case "t":
		return "timesteps"
	case "mask":
		return "mask"
	}
	return "float"
}

// expect checks, before the model is loaded, that the file holds the required tensors and that every tensor
// named (required or optional, when present) has a usable dtype for its kind.
func (in *inputs) expect(required []string, optional ...string) error {
	for _, name := range required {
		if !in.has(name) {
			_, err := in.f.Tensor(name) // its error lists similar names
			return fmt.Errorf("%w: give the tensor %s", err, name)
		}
	}
	for _, name := range append(required, optional...) {
		if !in.has(name) {
			continue
		}
		t, err := in.f.Tensor(name)
		if err != nil {
			return err
		}
		if err := checkDType(in.path, name, t); err != nil {
			return err
		}
	}
	return nil
}

// checkDType refuses a tensor whose dtype does not fit its kind (see tensorKind).
func checkDType(path, name string, t *safetensors.Tensor) error {
	switch kind := tensorKind(name); {
	case t.DType.IsFloat():
		return nil
	case kind == "mask":
		return nil
	case kind == "timesteps" && t.DType != safetensors.BOOL:
		return nil
	case kind == "timesteps":
		return fmt.Errorf("%s: tensor t is %s: timesteps are numbers (integer or floating point)", path, t.DType)
	}
	return fmt.Errorf("%s: tensor %q is %s (integer): it must be floating point (F32, F16, BF16 or F64); "+
		"check that it is the right tensor, and convert it (e.g. .float() in PyTorch) before saving", path, name, t.DType)
}

// values reads tensor name as float32 after checking its dtype.
func (in *inputs) values(name string) (*safetensors.Tensor, []float32, error) {
	t, err := in.f.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDType(in.path, name, t); err != nil {
		return nil, nil, err
	}
	data, err := t.Float32()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: tensor %q: %w", in.path, name, err)
	}
	return t, data, nil
}

// images reads tensor name as a batch of samples of the pipeline's shape: [B,C,H,W] or [C,H,W], B ≥ 1, finite
// (loco.Pipeline.CheckSamples).
func (in *inputs) images(name string, p *loco.Pipeline) (data []float32, batch int, err error) {
	return in.batch(name, p.CheckSamples)
}

// outputImages reads tensor name as a batch of images of the pipeline's output shape (a latent model's decoded
// images; loco.Pipeline.CheckImages).
func (in *inputs) outputImages(name string, p *loco.Pipeline) (data []float32, batch int, err error) {
	return in.batch(name, p.CheckImages)
}

// batch reads tensor name and checks it as a batch with check.
func (in *inputs) batch(name string, check func(name string, shape []int, data []float32) (int, error)) ([]float32, int, error) {
	t, data, err := in.values(name)
	if err != nil {
		return nil, 0, err
	}
	b, err := check(fmt.Sprintf("%s: tensor %q", in.path, name), t.Shape, data)
	return data, b, err
}

// rows reads tensor name as k rows of d finite values ([k,d] or [k,C,H,W]).
func (in *inputs) rows(name string, d int) ([]float32, int, error) {
	t, data, err := in.values(name)
	if err != nil {
		return nil, 0, err
	}
	if len(t.Shape) == 0 || t.Shape[0] < 1 || len(data)%d != 0 || len(data)/d != t.Shape[0] {
		return nil, 0, fmt.Errorf("%s: tensor %q has shape %v, want [rows, %d] with at least one row", in.path, name, t.Shape, d)
	}
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, 0, fmt.Errorf("%s: tensor %q holds %v at value %d: inputs must be finite numbers", in.path, name, v, i)
		}
	}
	return data, t.Shape[0], nil
}

// times reads t: [1] or [B] (a scalar counts as [1]), each inside the model's schedule (loco.Pipeline.CheckTimes).
func (in *inputs) times(batch int, p *loco.Pipeline) ([]float32, error) {
	t, data, err := in.values("t")
	if err != nil {
		return nil, err
	}
	if len(t.Shape) > 1 || (len(data) != 1 && len(data) != batch) {
		return nil, fmt.Errorf("%s: t has shape %v for a batch of %d: give [1] or [B]", in.path, t.Shape, batch)
	}
	if p != nil {
		if err := p.CheckTimes(data); err != nil {
			return nil, fmt.Errorf("%s: %w", in.path, err)
		}
	}
	return data, nil
}

// outputs collects tensors and writes them atomically.
type outputs map[string]*safetensors.Tensor

func (o outputs) images(name string, data []float32, batch int, shape []int) {
	o[name] = safetensors.FromFloat32([]int{batch, shape[0], shape[1], shape[2]}, data)
}

func (o outputs) write(path string, meta map[string]string) error {
	return safetensors.Write(path, o, meta)
}
