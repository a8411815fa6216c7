// Package statedict is the weight contract between PyTorch checkpoints and this project's GoMLX
// architectures.
//
// An architecture asks for its weights through a [Builder] while it builds its graph, by their names in the
// original state dict ("down_blocks.0.resnets.1.conv1.weight", "text_model.final_layer_norm.bias"). Built once
// in record mode ([Record]) the same code lists every weight it needs, with its PyTorch shape: the single source
// of truth for loading ([Load], which checks a checkpoint against the list: nothing missing, nothing left
// over, every shape right), for random models ([Random]) and for exporting ([Export]).
//
// Weights are stored in a GoMLX context, one variable per tensor, in the layouts the graphs use: linear
// weights [in,out] (PyTorch [out,in]), convolution kernels HWIO [kh,kw,in,out] (PyTorch OIHW); vectors and
// embedding tables keep their layout.
package statedict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/mlx"
)

// Kind says how a PyTorch tensor maps to the layout the graphs use.
type Kind int

const (
	// Vector parameters (biases, norm scales) keep their layout.
	Vector Kind = iota
	// Linear weights are [out, in] in PyTorch and [in, out] here.
	Linear
	// Conv kernels are [out, in, kh, kw] (OIHW) in PyTorch and [kh, kw, in, out] (HWIO) here.
	Conv
	// Embedding tables [rows, dim] keep their layout.
	Embedding
	// Conv1D kernels (nn.Conv1d) are [out, in, k] in PyTorch and [k, in, out] here.
	Conv1D
)

// Spec describes one weight an architecture expects.
type Spec struct {
	// Name is the state-dict name, e.g. "down_blocks.0.resnets.1.conv1.weight".
	Name string
	Kind Kind
	// Shape is the tensor's shape as PyTorch stores it.
	Shape []int
}

// Size is the number of elements.
func (s Spec) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// LocalShape is the shape of the weight in the graphs' layout.
func (s Spec) LocalShape() []int {
	d := s.Shape
	switch s.Kind {
	case Linear:
		return []int{d[1], d[0]}
	case Conv:
		return []int{d[2], d[3], d[1], d[0]}
	case Conv1D:
		return []int{d[2], d[1], d[0]}
	}
	return slices.Clone(d)
}

// PyTorchShape converts a shape in the graphs' layout to PyTorch's.
func PyTorchShape(kind Kind, local []int) []int {
	switch kind {
	case Linear:
		return []int{local[1], local[0]}
	case Conv:
		return []int{local[3], local[2], local[0], local[1]}
	case Conv1D:
		return []int{local[2], local[1], local[0]}
	}
	return slices.Clone(local)
}

// ScopeAndName splits "a.b.c.weight" into the context scope "/a/b/c" and the variable name "weight".
func ScopeAndName(name string) (scope, leaf string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return context.RootScope, name
	}
	return "/" + strings.ReplaceAll(name[:i], ".", "/"), name[i+1:]
}

// Builder hands weights to graph-building code by their state-dict names. With a record list set it builds no
// real weights: it appends what the architecture asks for to the list and returns zeros of the right shape.
type Builder struct {
	ctx    *context.Context
	g      *Graph
	prefix string
	record *[]Spec
}

// NewBuilder returns a builder that reads the weights of ctx into graph g.
func NewBuilder(ctx *context.Context, g *Graph) Builder { return Builder{ctx: ctx, g: g} }

// Recorder returns a builder that lists the weights asked for into record.
func Recorder(g *Graph, record *[]Spec) Builder { return Builder{g: g, record: record} }

// Prefix is the dotted module path of b ("" at the root).
func (b Builder) Prefix() string { return b.prefix }

// Graph is the graph being built.
func (b Builder) Graph() *Graph { return b.g }

// In returns the builder of the sub-module named name (a dotted module path relative to b).
func (b Builder) In(name string) Builder {
	if b.prefix != "" {
		name = b.prefix + "." + name
	}
	b.prefix = name
	return b
}

// Get returns the weight name (relative to b's module) with the given shape in the graphs' layout. A missing
// or misshapen weight panics (recovered into an error by mlx.Call at the package edge).
func (b Builder) Get(name string, kind Kind, localShape ...int) *Node {
	full := name
	if b.prefix != "" {
		full = b.prefix + "." + name
	}
	if b.record != nil {
		*b.record = append(*b.record, Spec{Name: full, Kind: kind, Shape: PyTorchShape(kind, localShape)})
		return Zeros(b.g, shapes.Make(dtypes.Float32, localShape...))
	}
	scope, leaf := ScopeAndName(full)
	v := b.ctx.GetVariableByScopeAndName(scope, leaf)
	if v == nil {
		panic(fmt.Errorf("weight %q is not loaded", full))
	}
	if !slices.Equal(v.Shape().Dimensions, localShape) {
		panic(fmt.Errorf("weight %q has shape %v, the config needs %v", full, PyTorchShape(kind, v.Shape().Dimensions), PyTorchShape(kind, localShape)))
	}
	return v.ValueGraph(b.g)
}

// Linear applies the PyTorch Linear module name (weight and bias) over x's last axis.
func (b Builder) Linear(name string, x *Node, in, out int) *Node {
	m := b.In(name)
	return mlx.Dense(x, m.Get("weight", Linear, in, out), m.Get("bias", Vector, out))
}

// LinearNoBias applies the PyTorch Linear module name built with bias=False.
func (b Builder) LinearNoBias(name string, x *Node, in, out int) *Node {
	return mlx.Dense(x, b.In(name).Get("weight", Linear, in, out), nil)
}

// LayerNorm applies the PyTorch LayerNorm module name (weight and bias) over x's last axis.
func (b Builder) LayerNorm(name string, x *Node, eps float64) *Node {
	c := x.Shape().Dimensions[x.Rank()-1]
	m := b.In(name)
	return mlx.LayerNorm(x, eps, m.Get("weight", Vector, c), m.Get("bias", Vector, c))
}

// Record builds a graph with build in record mode and returns the weights it asked for, in the order it asked.
func Record(name string, build func(b Builder, g *Graph)) ([]Spec, error) {
	backend, err := mlx.Backend()
	if err != nil {
		return nil, err
	}
	var specs []Spec
	err = mlx.Call(func() {
		g := NewGraph(backend, name)
		defer g.Finalize()
		build(Recorder(g, &specs), g)
	})
	if err != nil {
		return nil, err
	}
	return specs, nil
}

// setVariable stores PyTorch-layout data as the variable for spec, in the graphs' layout.
func setVariable(ctx *context.Context, spec Spec, data []float32) {
	scope, leaf := ScopeAndName(spec.Name)
	ctx.InAbsPath(scope).VariableWithValue(leaf, tensors.FromFlatDataAndDimensions(ConvertLayout(spec, data, true), spec.LocalShape()...))
}

// ConvertLayout moves a weight between PyTorch's layout and the graphs': linear [out,in] ⇄ [in,out], conv
// [o,i,kh,kw] ⇄ [kh,kw,i,o], 1-D conv [o,i,k] ⇄ [k,i,o]; toLocal picks the direction. Vectors and embeddings
// are returned as they are.
func ConvertLayout(spec Spec, data []float32, toLocal bool) []float32 {
	var o, in, kh, kw int
	switch spec.Kind {
	case Linear:
		o, in, kh, kw = spec.Shape[0], spec.Shape[1], 1, 1
	case Conv:
		o, in, kh, kw = spec.Shape[0], spec.Shape[1], spec.Shape[2], spec.Shape[3]
	case Conv1D:
		o, in, kh, kw = spec.Shape[0], spec.Shape[1], 1, spec.Shape[2]
	default:
		return data
	}
	t := make([]float32, len(data))
	for a := range o {
		for b := range in {
			for y := range kh {
				for x := range kw {
					torch, local := ((a*in+b)*kh+y)*kw+x, ((y*kw+x)*in+b)*o+a
					if toLocal {
						t[local] = data[torch]
					} else {
						t[torch] = data[local]
					}
				}
			}
		}
	}
	return t
}
