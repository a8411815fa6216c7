package diffusers

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified

	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// ParamKind says how a diffusers (PyTorch) tensor maps to this package's layout.
type ParamKind = statedict.Kind

// The layouts of diffusers weights.
const (
	// Vector parameters (biases, norm scales) keep their layout.
	Vector = statedict.Vector
	// Linear weights are [out, in] in PyTorch and [in, out] here.
	Linear = statedict.Linear
	// Conv kernels are [out, in, kh, kw] (OIHW) in PyTorch and [kh, kw, in, out] (HWIO) here.
	Conv = statedict.Conv
)

// ParamSpec describes one weight the architecture expects: its diffusers state-dict name (e.g.
// "down_blocks.0.resnets.1.conv1.weight"), kind and PyTorch shape.
type ParamSpec = statedict.Spec

// params hands weights to the graph-building code by their diffusers names (see statedict.Builder; in record
// mode it lists what the architecture asks for, the single source of truth for ParamSpecs).
type params struct {
	statedict.Builder
	taps map[string]*Node // optional: module outputs by name
}

// tap records x as the output of p's module, when activations are requested.
func (p params) tap(x *Node) *Node {
	tap(p.taps, p.Prefix(), x)
	return x
}

// in returns params for the sub-module named name (diffusers' dotted module path).
func (p params) in(name string) params {
	p.Builder = p.Builder.In(name)
	return p
}

// get returns the weight name (relative to p's module) with the given local-layout shape.
func (p params) get(name string, kind ParamKind, localShape ...int) *Node {
	return p.Get(name, kind, localShape...)
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
	return p.Linear(name, x, in, out)
}

// groupNorm applies the diffusers GroupNorm module `name` to x [B,H,W,C].
func (p params) groupNorm(name string, x *Node, groups int, eps float64) *Node {
	c := x.Shape().Dimensions[x.Rank()-1]
	m := p.in(name)
	return groupNorm(x, groups, eps, m.get("weight", Vector, c), m.get("bias", Vector, c))
}
