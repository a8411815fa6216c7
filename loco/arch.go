package loco

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// presets maps architecture names to loaders of weight files that carry no config.json.
var presets = map[string]func(weights string) (Denoiser, error){}

// RegisterPreset makes LoadModelWith read a bare weights file (a PyTorch .pt state dict as its authors
// distribute it, or safetensors) as the named architecture, e.g. "p2-256". Packages of model families call it
// from init.
func RegisterPreset(arch string, load func(weights string) (Denoiser, error)) { presets[arch] = load }

// PresetNames lists the registered architecture presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadOptions are the settings of LoadModelWith.
type LoadOptions struct {
	// Arch names the architecture preset of a weights file without config.json (see RegisterPreset); empty
	// for anything LoadModel reads (names, folders with config.json, HuggingFace ids).
	Arch string
}

// LoadModelWith is LoadModel with options: with Arch set, nameOrPath is a local weights file read as that
// architecture.
func LoadModelWith(nameOrPath string, opts LoadOptions) (Denoiser, error) {
	known := strings.Join(PresetNames(), ", ")
	st, statErr := os.Stat(nameOrPath)
	if opts.Arch == "" {
		if statErr == nil && !st.IsDir() {
			return nil, fmt.Errorf("model %s is a weights file without config.json: give its architecture (--arch, one of: %s) or use a folder with config.json", nameOrPath, known)
		}
		return LoadModel(nameOrPath)
	}
	load, ok := presets[opts.Arch]
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q (known: %s)", opts.Arch, known)
	}
	if statErr != nil {
		return nil, fmt.Errorf("architecture %s needs a local weights file: %w", opts.Arch, statErr)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder: with an architecture (%s), give the weights file itself", nameOrPath, opts.Arch)
	}
	m, err := load(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("loading %s as %s: %w", nameOrPath, opts.Arch, err)
	}
	return m, nil
}
