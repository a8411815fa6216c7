package lpips

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/hf/torch"
)

// WeightsEnv is the environment variable naming the folder of LPIPS weights that Default reads.
const WeightsEnv = "LOCO_LPIPS_WEIGHTS"

// The file names of the weights in a folder: torchvision's AlexNet is looked up by its prefix (the cache
// names it alexnet-owt-7be5be79.pth), LPIPS's linear layers by their exact name.
const (
	alexNetPrefix = "alexnet"
	linFile       = "alex.pth"
)

// merged serves AlexNet's weights and LPIPS's linear layers as one source.
type merged struct{ trunk, lin statedict.Source }

func (m merged) Names() []string { return append(m.trunk.Names(), m.lin.Names()...) }

func (m merged) Tensor(name string) (*safetensors.Tensor, error) {
	if strings.HasPrefix(name, "lin") {
		return m.lin.Tensor(name)
	}
	return m.trunk.Tensor(name)
}

// Load reads the weights from a folder holding torchvision's AlexNet (alexnet*.pth; or its conversion to
// safetensors, alexnet*.safetensors) and LPIPS's alex.pth.
func Load(dir string) (*Net, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("LPIPS weights folder: %w", err)
	}
	var trunks []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasPrefix(n, alexNetPrefix) && slices.Contains([]string{".pth", ".pt", ".safetensors"}, filepath.Ext(n)) {
			trunks = append(trunks, n)
		}
	}
	if len(trunks) != 1 {
		return nil, fmt.Errorf("LPIPS weights folder %s holds %d AlexNet files (%s…) besides %s: want exactly one, torchvision's alexnet-owt-7be5be79.pth (%w)",
			dir, len(trunks), alexNetPrefix, linFile, ErrNoWeights)
	}
	trunk, err := torch.OpenWeights(filepath.Join(dir, trunks[0]))
	if err != nil {
		return nil, err
	}
	defer trunk.Close()
	lin, err := torch.OpenWeights(filepath.Join(dir, linFile))
	if err != nil {
		return nil, fmt.Errorf("%w (LPIPS's v0.1 linear layers)", err)
	}
	defer lin.Close()
	return New(trunk, lin)
}

// The default network, loaded from the folder SetWeightsDir names or $LOCO_LPIPS_WEIGHTS (again when that
// folder changes).
var def struct {
	sync.Mutex
	dir  string // set by SetWeightsDir
	from string // the folder net (or err) came from
	net  *Net
	err  error
}

// SetWeightsDir makes Default load from dir (the CLI's --lpips-weights) instead of $LOCO_LPIPS_WEIGHTS; ""
// goes back to the variable.
func SetWeightsDir(dir string) {
	def.Lock()
	defer def.Unlock()
	def.dir = dir
}

// Default returns the network from the folder SetWeightsDir named, else from $LOCO_LPIPS_WEIGHTS, loading it on
// first use. Without a folder it returns ErrNoWeights.
func Default() (*Net, error) {
	def.Lock()
	defer def.Unlock()
	dir := def.dir
	if dir == "" {
		dir = os.Getenv(WeightsEnv)
	}
	if dir == "" {
		return nil, ErrNoWeights
	}
	if dir != def.from {
		def.net, def.err = Load(dir)
		def.from = dir
	}
	return def.net, def.err
}
