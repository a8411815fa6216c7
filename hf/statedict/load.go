package statedict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// Source is where weights come from: a safetensors file or anything with the same lookup.
type Source interface {
	Names() []string
	Tensor(name string) (*safetensors.Tensor, error)
}

// LoadOptions adapt Load to a checkpoint family.
type LoadOptions struct {
	// Aliases returns other names a weight may be stored under (older naming schemes), tried in order when the
	// spec's own name is absent.
	Aliases func(name string) []string
	// Ignore reports tensors that a checkpoint may hold beyond the architecture's weights (buffers such as
	// position ids); they are not counted as left over.
	Ignore func(name string) bool
}

// Load reads the weights specs lists from src into a new context, converting every floating-point dtype to
// float32 (an integer or boolean weight is an error). Every weight must be present (under its name or an alias) with the shape the spec gives, and no
// tensor may be left over: a missing or extra tensor means the configuration and the weights disagree, and
// the error says which tensor and how.
func Load(specs []Spec, src Source, opts LoadOptions) (*context.Context, error) {
	available := map[string]bool{}
	for _, n := range src.Names() {
		if opts.Ignore == nil || !opts.Ignore(n) {
			available[n] = true
		}
	}
	ctx := context.New()
	for _, spec := range specs {
		name, ok := spec.Name, available[spec.Name]
		if !ok && opts.Aliases != nil {
			for _, alias := range opts.Aliases(spec.Name) {
				if available[alias] {
					name, ok = alias, true
					break
				}
			}
		}
		if !ok {
			return nil, fmt.Errorf("weight %q (shape %v) is missing: the weights do not match config.json", spec.Name, spec.Shape)
		}
		delete(available, name)
		t, err := src.Tensor(name)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(t.Shape, spec.Shape) {
			return nil, fmt.Errorf("weight %q has shape %v, but config.json implies %v", name, t.Shape, spec.Shape)
		}
		if !t.DType.IsFloat() {
			return nil, fmt.Errorf("weight %q is a %s (integer) tensor: weights must be floating point (F32, F16, BF16 or F64); "+
				"the file is not a float checkpoint (quantised checkpoints are not supported): use the model's float weights", name, t.DType)
		}
		data, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("weight %q: %w", name, err)
		}
		setVariable(ctx, spec, data)
	}
	if len(available) > 0 {
		left := slices.Sorted(func(yield func(string) bool) {
			for n := range available {
				if !yield(n) {
					return
				}
			}
		})
		if len(left) > 5 {
			left = append(left[:5], "…")
		}
		return nil, fmt.Errorf("%d tensors are not used by the architecture config.json describes (e.g. %s): wrong config?",
			len(available), strings.Join(left, ", "))
	}
	return ctx, nil
}

// Random returns a context with random weights for specs (for tests, benchmarks and parameter counts):
// linear and conv kernels ~ N(0, 1/fan_in), embeddings ~ N(0, 0.1²), norm scales (vectors named "….weight")
// 1 + N(0, 0.1²), other vectors N(0, 0.1²). The same seed gives the same weights.
func Random(specs []Spec, seed uint64) *context.Context {
	rng := rand.New(rand.NewPCG(seed, 0x10c0))
	ctx := context.New()
	for _, spec := range specs {
		data := make([]float32, spec.Size())
		std, mean := 0.1, 0.0
		switch {
		case spec.Kind == Linear || spec.Kind == Conv || spec.Kind == Conv1D:
			std = 1 / math.Sqrt(float64(spec.Size()/spec.Shape[0]))
		case spec.Kind == Vector && strings.HasSuffix(spec.Name, ".weight"):
			mean = 1
		}
		for i := range data {
			data[i] = float32(mean + std*rng.NormFloat64())
		}
		setVariable(ctx, spec, data)
	}
	return ctx
}

// Export returns the weights of ctx that specs lists, by their state-dict names, in PyTorch layout as float32
// tensors: the inverse of Load. Saved with safetensors.Write they form a checkpoint that PyTorch and Load read.
func Export(ctx *context.Context, specs []Spec) (map[string]*safetensors.Tensor, error) {
	out := make(map[string]*safetensors.Tensor, len(specs))
	for _, spec := range specs {
		scope, leaf := ScopeAndName(spec.Name)
		v := ctx.GetVariableByScopeAndName(scope, leaf)
		if v == nil {
			return nil, fmt.Errorf("weight %q is not in the model", spec.Name)
		}
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("reading weight %q: %w", spec.Name, err)
		}
		if value.DType() != dtypes.Float32 || !slices.Equal(value.Shape().Dimensions, spec.LocalShape()) {
			return nil, fmt.Errorf("weight %q is %s, want float32%v", spec.Name, value.Shape(), spec.LocalShape())
		}
		local, err := tensors.CopyFlatData[float32](value)
		if err != nil {
			return nil, fmt.Errorf("reading weight %q: %w", spec.Name, err)
		}
		out[spec.Name] = safetensors.FromFloat32(slices.Clone(spec.Shape), ConvertLayout(spec, local, false))
	}
	return out, nil
}

// NumParams is the number of parameters specs lists.
func NumParams(specs []Spec) int {
	n := 0
	for _, s := range specs {
		n += s.Size()
	}
	return n
}

// LoadDir is Load from the safetensors weights of a model folder (a single file or shards, see
// safetensors.OpenWeights); errors name the folder.
func LoadDir(dir string, specs []Spec, opts LoadOptions) (*context.Context, error) {
	f, err := safetensors.OpenWeights(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctx, err := Load(specs, f, opts)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	return ctx, nil
}

// Weights says where a model's weights come from (a checkpoint, a model folder, random numbers): given the
// list of weights the architecture needs, it returns them in a context.
type Weights func(specs []Spec) (*context.Context, error)

// FromSource loads the weights from a checkpoint (Load).
func FromSource(src Source, opts LoadOptions) Weights {
	return func(specs []Spec) (*context.Context, error) { return Load(specs, src, opts) }
}

// FromDir loads the weights from a model folder (LoadDir).
func FromDir(dir string, opts LoadOptions) Weights {
	return func(specs []Spec) (*context.Context, error) { return LoadDir(dir, specs, opts) }
}

// FromRandom draws random weights (Random).
func FromRandom(seed uint64) Weights {
	return func(specs []Spec) (*context.Context, error) { return Random(specs, seed), nil }
}

// Build lists an architecture's weights with specs and fetches them from w.
func Build(specs func() ([]Spec, error), w Weights) (*context.Context, error) {
	s, err := specs()
	if err != nil {
		return nil, err
	}
	return w(s)
}
