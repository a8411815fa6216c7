package statedict

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified

	"github.com/locoedit/locoedit/mlx"
)

// Conv2D applies the PyTorch Conv2d module name (weight [cout,cin,k,k] and bias) to x [B,H,W,cin] (NHWC),
// zero-padded by pad = {top, bottom, left, right}.
func (b Builder) Conv2D(name string, x *Node, cin, cout, k, stride int, pad [4]int) *Node {
	m := b.In(name)
	return mlx.AddBias(mlx.Conv2D(x, m.Get("weight", Conv, k, k, cin, cout), stride, pad), m.Get("bias", Vector, cout))
}

// GroupNorm applies the PyTorch GroupNorm module name (weight and bias) to x [B,H,W,C] (or [B,C]).
func (b Builder) GroupNorm(name string, x *Node, groups int, eps float64) *Node {
	c := x.Shape().Dimensions[x.Rank()-1]
	m := b.In(name)
	return mlx.GroupNorm(x, groups, eps, m.Get("weight", Vector, c), m.Get("bias", Vector, c))
}
