package loco

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// presets maps architecture names to loaders of weight files that carry no config.json.
var presets = map[string]func(weights string) (Denoiser, error){}

// RegisterPreset makes LoadModelArch read a bare weights file (a PyTorch .pt state dict as its authors
// distribute it, or safetensors) as the named architecture, e.g. "p2-256". Packages of model families call it
// from init.
func RegisterPreset(arch string, load func(weights string) (Denoiser, error)) { presets[arch] = load }

// PresetNames lists the registered architecture presets, sorted.
func PresetNames() []string {
	return slices.Sorted(maps.Keys(presets))
}

// IsWeightsFile reports whether nameOrPath is a local file rather than a model name, folder or hub id: a
// weights file, which LoadModelArch reads.
func IsWeightsFile(nameOrPath string) bool {
	st, err := os.Stat(nameOrPath)
	return err == nil && !st.IsDir()
}

// LoadModelArch reads a local weights file without config.json as the named architecture preset (see
// RegisterPreset): LoadModelArch("ffhq_p2.pt", "p2-256").
func LoadModelArch(weights, arch string) (Denoiser, error) {
	known := strings.Join(PresetNames(), ", ")
	if arch == "" {
		return nil, fmt.Errorf("model %s is a weights file without config.json: give its architecture (--arch, one of: %s) or use a folder with config.json", weights, known)
	}
	load, ok := presets[arch]
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q (known: %s)", arch, known)
	}
	st, err := os.Stat(weights)
	if err != nil {
		return nil, fmt.Errorf("architecture %s needs a local weights file: %w", arch, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder: with an architecture (%s), give the weights file itself", weights, arch)
	}
	return load(weights)
}
