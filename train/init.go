package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/safetensors"
)

// stateDict is a set of tensors by diffusers name; it is a diffusers.TensorSource.
type stateDict map[string]*safetensors.Tensor

// Names implements diffusers.TensorSource.
func (s stateDict) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Tensor implements diffusers.TensorSource.
func (s stateDict) Tensor(name string) (*safetensors.Tensor, error) {
	t, ok := s[name]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", name)
	}
	return t, nil
}

// normModules are the diffusers module names of UNet2DModel's GroupNorm layers.
var normModules = []string{"norm1", "norm2", "group_norm", "conv_norm_out"}

func isNorm(name string) bool {
	module := name[:strings.LastIndexByte(name, '.')]
	return slices.Contains(normModules, module[strings.LastIndexByte(module, '.')+1:])
}

// InitialWeights returns freshly initialised weights for cfg in diffusers names and PyTorch layouts, the way a
// newly constructed diffusers UNet2DModel is initialised (PyTorch's defaults, which diffusers keeps): Conv2d and
// Linear weights and biases uniform in ±1/√fan_in (kaiming_uniform with a = √5), GroupNorm scales 1 and shifts 0.
// The draw is reproducible from seed.
func InitialWeights(cfg *diffusers.UNet2DConfig, seed uint64) (map[string]*safetensors.Tensor, error) {
	specs, err := cfg.ParamSpecs()
	if err != nil {
		return nil, err
	}
	fanIn := map[string]int{} // module → fan-in of its weight
	for _, s := range specs {
		if s.Kind != diffusers.Vector {
			fanIn[strings.TrimSuffix(s.Name, ".weight")] = s.Size() / s.Shape[0]
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x1417))
	out := make(map[string]*safetensors.Tensor, len(specs))
	for _, s := range specs {
		data := make([]float32, s.Size())
		switch {
		case isNorm(s.Name) && strings.HasSuffix(s.Name, ".weight"):
			for i := range data {
				data[i] = 1
			}
		case isNorm(s.Name):
			// shifts start at 0
		default:
			module := s.Name[:strings.LastIndexByte(s.Name, '.')]
			n, ok := fanIn[module]
			if !ok {
				return nil, fmt.Errorf("initialising %s: no weight found for module %s", s.Name, module)
			}
			bound := 1 / math.Sqrt(float64(n))
			for i := range data {
				data[i] = float32((2*rng.Float64() - 1) * bound)
			}
		}
		out[s.Name] = safetensors.FromFloat32(slices.Clone(s.Shape), data)
	}
	return out, nil
}
