package diffusers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/mlx"
)

// ParamKind says how a diffusers (PyTorch) tensor maps to this package's layout.
type ParamKind int

const (
	// Vector parameters (biases, norm scales) keep their layout.
	Vector ParamKind = iota
	// Linear weights are [out, in] in PyTorch and [in, out] here.
	Linear
	// Conv kernels are [out, in, kh, kw] (OIHW) in PyTorch and [kh, kw, in, out] (HWIO) here.
	Conv
)

// ParamSpec describes one weight the architecture expects.
type ParamSpec struct {
	// Name is the diffusers state-dict name, e.g. "down_blocks.0.resnets.1.conv1.weight".
	Name string
	Kind ParamKind
	// Shape is the tensor's shape as diffusers stores it (PyTorch layout).
	Shape []int
}

// Size is the number of elements.
func (p ParamSpec) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// localShape converts a PyTorch shape to this package's layout.
func (p ParamSpec) localShape() []int {
	s := p.Shape
	switch p.Kind {
	case Linear:
		return []int{s[1], s[0]}
	case Conv:
		return []int{s[2], s[3], s[1], s[0]}
	}
	return slices.Clone(s)
}

// pytorchShape converts this package's layout to the PyTorch shape.
func pytorchShape(kind ParamKind, local []int) []int {
	switch kind {
	case Linear:
		return []int{local[1], local[0]}
	case Conv:
		return []int{local[3], local[2], local[0], local[1]}
	}
	return slices.Clone(local)
}

// scopeAndName splits "a.b.c.weight" into the context scope "/a/b/c" and the variable name "weight".
func scopeAndName(name string) (scope, leaf string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return context.RootScope, name
	}
	return "/" + strings.ReplaceAll(name[:i], ".", "/"), name[i+1:]
}

// params hands weights to the graph-building code by their diffusers names. With record set it builds no
// real weights: it lists what the architecture asks for (the single source of truth for ParamSpecs) and
// returns zeros of the right shape.
type params struct {
	ctx    *context.Context
	g      *Graph
	prefix string
	record *[]ParamSpec
	taps   map[string]*Node // optional: module outputs by name
}

// tap records x as the output of p's module, when activations are requested.
func (p params) tap(x *Node) *Node {
	tap(p.taps, p.prefix, x)
	return x
}

// in returns params for the sub-module named name (diffusers' dotted module path).
func (p params) in(name string) params {
	if p.prefix != "" {
		name = p.prefix + "." + name
	}
	p.prefix = name
	return p
}

// get returns the weight name (relative to p's module) with the given local-layout shape.
func (p params) get(name string, kind ParamKind, localShape ...int) *Node {
	full := name
	if p.prefix != "" {
		full = p.prefix + "." + name
	}
	if p.record != nil {
		*p.record = append(*p.record, ParamSpec{Name: full, Kind: kind, Shape: pytorchShape(kind, localShape)})
		return Zeros(p.g, shapes.Make(dtypes.Float32, localShape...))
	}
	scope, leaf := scopeAndName(full)
	v := p.ctx.GetVariableByScopeAndName(scope, leaf)
	if v == nil {
		panic(fmt.Errorf("weight %q is not loaded", full))
	}
	if !slices.Equal(v.Shape().Dimensions, localShape) {
		panic(fmt.Errorf("weight %q has shape %v, the config needs %v", full, pytorchShape(kind, v.Shape().Dimensions), pytorchShape(kind, localShape)))
	}
	return v.ValueGraph(p.g)
}

// conv2D applies the diffusers Conv2d module `name` (weight [out,in,k,k] + bias) with "same"-style padding.
func (p params) conv2D(name string, x *Node, cin, cout, k, stride int, pad [4]int) *Node {
	m := p.in(name)
	w := m.get("weight", Conv, k, k, cin, cout)
	b := m.get("bias", Vector, cout)
	return mlx.AddBias(conv(x, w, stride, pad), b)
}

// conv2DNoBias applies the convolution of the diffusers Conv2d module `name` and returns its bias separately, so
// callers can merge it with other per-channel additions into one broadcast.
func (p params) conv2DNoBias(name string, x *Node, cin, cout, k, stride int, pad [4]int) (y, bias *Node) {
	m := p.in(name)
	w := m.get("weight", Conv, k, k, cin, cout)
	return conv(x, w, stride, pad), m.get("bias", Vector, cout)
}

// linear applies the diffusers Linear module `name` over x's last axis.
func (p params) linear(name string, x *Node, in, out int) *Node {
	m := p.in(name)
	return dense(x, m.get("weight", Linear, in, out), m.get("bias", Vector, out))
}

// groupNorm applies the diffusers GroupNorm module `name` to x [B,H,W,C].
func (p params) groupNorm(name string, x *Node, groups int, eps float64) *Node {
	c := x.Shape().Dimensions[x.Rank()-1]
	m := p.in(name)
	return groupNorm(x, groups, eps, m.get("weight", Vector, c), m.get("bias", Vector, c))
}
