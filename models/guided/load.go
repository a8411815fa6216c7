package guided

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/hf/torch"
)

// New builds the model for cfg with weights from w (statedict.FromSource of a checkpoint, statedict.FromRandom,
// …), by their state-dict names. Every weight must be present with the shape the config implies, and no
// tensor may be left over.
func New(cfg *Config, w statedict.Weights) (*UNetModel, error) {
	ctx, err := statedict.Build(cfg.ParamSpecs, w)
	if err != nil {
		return nil, err
	}
	return &UNetModel{Config: cfg, ctx: ctx}, nil
}

// NewRandom builds the model for cfg with random weights (tests, benchmarks).
func NewRandom(cfg *Config, seed uint64) (*UNetModel, error) {
	return New(cfg, statedict.FromRandom(seed))
}

// weightExts are the file names weights are found under in a model folder.
var weightExts = []string{".pt", ".pth", ".bin", ".ckpt", ".safetensors"}

// LoadFile builds the model for cfg from a weights file: a PyTorch checkpoint (read by hf/torch: nothing in
// it is executed) or safetensors.
func LoadFile(cfg *Config, path string) (*UNetModel, error) {
	src, err := torch.OpenWeights(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m, err := New(cfg, statedict.FromSource(src, statedict.LoadOptions{}))
	if err != nil {
		return nil, fmt.Errorf("loading %s as %s: %w", path, ClassName, err)
	}
	return m, nil
}

// FindWeights returns the one weights file of a model folder (*.pt, *.pth, *.bin, *.ckpt or *.safetensors).
func FindWeights(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(weightExts, strings.ToLower(filepath.Ext(e.Name()))) {
			found = append(found, e.Name())
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s has no weights file (%s)", dir, strings.Join(weightExts, ", "))
	case 1:
		return filepath.Join(dir, found[0]), nil
	}
	return "", fmt.Errorf("%s has %d weights files (%s): keep one", dir, len(found), strings.Join(found, ", "))
}

// Load reads a model folder: config.json and its one weights file.
func Load(dir string) (*UNetModel, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	path, err := FindWeights(dir)
	if err != nil {
		return nil, err
	}
	return LoadFile(cfg, path)
}
