package molrg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/atomicfile"
)

// File names of a MoLRG model folder.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Tensor names in model.safetensors (d = C·H·W, K classes, R = rank).
const (
	tensorMeans             = "means"              // [K, C, H, W]
	tensorBases             = "bases"              // [K, R, C, H, W], orthonormal rows
	tensorVariances         = "variances"          // [K, R]
	tensorResidualVariances = "residual_variances" // [K]
	tensorPriors            = "priors"             // [K]
)

// Save writes the model folder dir (created if needed): config.json and model.safetensors, each written
// atomically.
func (p *Params) Save(dir string) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("saving MoLRG to %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving MoLRG: %w", err)
	}
	cfg, err := json.MarshalIndent(p.Config, "", "  ")
	if err != nil {
		return fmt.Errorf("saving MoLRG config: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, ConfigFile), append(cfg, '\n')); err != nil {
		return err
	}
	c, h, w := p.Config.InChannels, p.Config.SampleSize.H, p.Config.SampleSize.W
	k, r := p.Config.NumClasses, p.Config.Rank
	ts := map[string]*safetensors.Tensor{
		tensorMeans:             safetensors.FromFloat32([]int{k, c, h, w}, slices.Concat(p.Means...)),
		tensorBases:             safetensors.FromFloat32([]int{k, r, c, h, w}, slices.Concat(p.Bases...)),
		tensorVariances:         safetensors.FromFloat32([]int{k, r}, slices.Concat(p.Variances...)),
		tensorResidualVariances: safetensors.FromFloat32([]int{k}, p.ResidualVariances),
		tensorPriors:            safetensors.FromFloat32([]int{k}, p.Priors),
	}
	meta := map[string]string{"format": "pt", "model": ClassName}
	if err := safetensors.Write(filepath.Join(dir, WeightsFile), ts, meta); err != nil {
		return fmt.Errorf("saving MoLRG: %w", err)
	}
	return nil
}

// ReadParams reads and validates the model folder dir (config.json and model.safetensors).
func ReadParams(dir string) (*Params, error) {
	p, err := readParamsFS(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("reading MoLRG folder %s: %w", dir, err)
	}
	return p, nil
}

// readParamsFS reads a model folder from a file system (the embedded one or a directory).
func readParamsFS(fsys fs.FS, dir string) (*Params, error) {
	raw, err := readConfig(fsys, pathJoin(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(fsys, pathJoin(dir, WeightsFile))
	if err != nil {
		return nil, err
	}
	f, err := safetensors.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", WeightsFile, err)
	}
	c, h, w := cfg.InChannels, cfg.SampleSize.H, cfg.SampleSize.W
	k, r := cfg.NumClasses, cfg.Rank
	d := c * h * w
	get := func(name string, shape ...int) ([]float32, error) {
		t, err := f.Tensor(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", WeightsFile, err)
		}
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the config needs %v", WeightsFile, name, t.Shape, shape)
		}
		if !t.DType.IsFloat() {
			return nil, fmt.Errorf("%s: tensor %q is %s: MoLRG parameters must be floating point (F32, F16, BF16 or F64)", WeightsFile, name, t.DType)
		}
		return t.Float32()
	}
	p := &Params{Config: *cfg}
	means, err := get(tensorMeans, k, c, h, w)
	if err != nil {
		return nil, err
	}
	bases, err := get(tensorBases, k, r, c, h, w)
	if err != nil {
		return nil, err
	}
	vars, err := get(tensorVariances, k, r)
	if err != nil {
		return nil, err
	}
	if p.ResidualVariances, err = get(tensorResidualVariances, k); err != nil {
		return nil, err
	}
	if p.Priors, err = get(tensorPriors, k); err != nil {
		return nil, err
	}
	p.Means, p.Bases, p.Variances = split(means, k, d), split(bases, k, r*d), split(vars, k, r)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseConfig parses and validates a MoLRG config.json (see Config.Validate); errors name the file.
func ParseConfig(data []byte) (*Config, error) {
	var cfg Config
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&cfg); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", ConfigFile, err)
	}
	if cfg.ClassName != ClassName {
		return nil, fmt.Errorf("%s names class %q, not %q: this folder is not a MoLRG model", ConfigFile, cfg.ClassName, ClassName)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return &cfg, nil
}

// readConfig reads the config file of a model folder (at most diffusers.MaxConfigBytes).
func readConfig(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return diffusers.ReadConfigData(f, name)
}

// split cuts flat into n rows of length m.
func split(flat []float32, n, m int) [][]float32 {
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = flat[i*m : (i+1)*m : (i+1)*m]
	}
	return rows
}

func pathJoin(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}
