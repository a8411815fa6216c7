package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

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
}

func (c *commonFlags) check(needIn bool) error {
	if needIn && c.in == "" {
		return errors.New("--in is required")
	}
	if c.out == "" {
		return errors.New("--out is required")
	}
	return checkWritable(c.out, c.force)
}

// checkWritable refuses to replace an existing output without --force, and checks its folder exists.
func checkWritable(path string, force bool) error {
	if _, err := os.Stat(path); err == nil && !force {
		return fmt.Errorf("%s exists: pass --force to overwrite it, or choose another --out", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("output folder %s does not exist", dir)
	}
	return nil
}

func (c *commonFlags) pipeline() (*loco.Pipeline, error) {
	m, err := c.load()
	if err != nil {
		return nil, err
	}
	return loco.NewPipeline(m)
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

// images reads tensor name as a batch of samples of the pipeline's shape: [B,C,H,W] or [C,H,W].
func (in *inputs) images(name string, p *loco.Pipeline) (data []float32, batch int, err error) {
	t, err := in.f.Tensor(name)
	if err != nil {
		return nil, 0, err
	}
	shape := p.SampleShape()
	switch {
	case len(t.Shape) == 4 && slices.Equal(t.Shape[1:], shape):
		batch = t.Shape[0]
	case len(t.Shape) == 3 && slices.Equal(t.Shape, shape):
		batch = 1
	default:
		return nil, 0, fmt.Errorf("%s: tensor %q has shape %v, the model %s wants [B,%d,%d,%d] (NCHW)", in.path, name, t.Shape, p.Model.Name(), shape[0], shape[1], shape[2])
	}
	data, err = t.Float32()
	return data, batch, err
}

// rows reads tensor name as k rows of d values ([k,d] or [k,C,H,W]).
func (in *inputs) rows(name string, d int) ([]float32, int, error) {
	t, err := in.f.Tensor(name)
	if err != nil {
		return nil, 0, err
	}
	data, err := t.Float32()
	if err != nil {
		return nil, 0, err
	}
	if len(t.Shape) == 0 || len(data)%d != 0 || len(data)/d != t.Shape[0] {
		return nil, 0, fmt.Errorf("%s: tensor %q has shape %v, want [rows, %d]", in.path, name, t.Shape, d)
	}
	return data, t.Shape[0], nil
}

// times reads t: [1] or [B].
func (in *inputs) times(batch int) ([]float32, error) {
	t, err := in.f.Tensor("t")
	if err != nil {
		return nil, err
	}
	data, err := t.Float32()
	if err != nil {
		return nil, err
	}
	if len(data) != 1 && len(data) != batch {
		return nil, fmt.Errorf("%s: t has %d values for a batch of %d: give [1] or [B]", in.path, len(data), batch)
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
