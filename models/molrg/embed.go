package molrg

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

// EmbeddedName is the name of the embedded Fashion-MNIST model.
const EmbeddedName = "fashion-molrg-32"

// FashionRank is the rank of every component of fashion-molrg-32.
const FashionRank = 32

//go:embed fashion-molrg-32/config.json fashion-molrg-32/model.safetensors
var embedded embed.FS

// Names lists the embedded models (Open and LoadEmbedded accept these names).
func Names() []string { return []string{EmbeddedName} }

// LoadEmbedded builds the embedded model called name.
func LoadEmbedded(name string) (*Model, error) {
	if !slices.Contains(Names(), name) {
		return nil, unknownName(name)
	}
	p, err := readParamsFS(embedded, name)
	if err != nil {
		return nil, fmt.Errorf("reading embedded MoLRG %q: %w", name, err)
	}
	return New(p, name)
}

// Load builds the model stored in the folder dir (config.json + model.safetensors); its name is dir.
func Load(dir string) (*Model, error) {
	p, err := ReadParams(dir)
	if err != nil {
		return nil, err
	}
	return New(p, dir)
}

// Open resolves nameOrDir: an embedded name (see Names) gives the embedded model, an existing directory is read
// with Load, anything else is an error that lists the known names.
func Open(nameOrDir string) (*Model, error) {
	if slices.Contains(Names(), nameOrDir) {
		return LoadEmbedded(nameOrDir)
	}
	st, err := os.Stat(nameOrDir)
	switch {
	case err == nil && st.IsDir():
		return Load(nameOrDir)
	case err == nil:
		return nil, fmt.Errorf("MoLRG model %q is a file: pass a folder holding %s and %s, or one of the embedded names %q",
			nameOrDir, ConfigFile, WeightsFile, Names())
	case errors.Is(err, fs.ErrNotExist):
		return nil, unknownName(nameOrDir)
	}
	return nil, fmt.Errorf("opening MoLRG model %q: %w", nameOrDir, err)
}

func unknownName(name string) error {
	return fmt.Errorf("unknown MoLRG model %q: the embedded models are %q; otherwise pass a folder holding %s and %s",
		name, Names(), ConfigFile, WeightsFile)
}
