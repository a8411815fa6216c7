package diffusers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/mlx"
)

// checkTensor checks that t is a float32 tensor of the given rank whose dimensions match want where want is
// not -1; what names the tensor in errors.
func checkTensor(what string, t *tensors.Tensor, want ...int) error {
	if t == nil {
		return fmt.Errorf("%s is missing", what)
	}
	if t.DType() != dtypes.Float32 {
		return fmt.Errorf("%s has dtype %s, want float32", what, t.DType())
	}
	d := t.Shape().Dimensions
	ok := len(d) == len(want)
	for i := range want {
		ok = ok && (want[i] < 0 || d[i] == want[i])
	}
	if !ok {
		shape := make([]string, len(want))
		for i, w := range want {
			shape[i] = "_"
			if w >= 0 {
				shape[i] = fmt.Sprint(w)
			}
		}
		return fmt.Errorf("%s has shape %v, want %v", what, d, shape)
	}
	if err := mlx.CheckFinite(t); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// jacobianProducts builds, for f and the inputs [x, rest…, w], f(x) and its Jacobian-vector product ∂f/∂x·w
// (vjp false) or vector-Jacobian product wᵀ·∂f/∂x (vjp true), exact, by reverse mode (twice for the JVP).
func jacobianProducts(f func(ctx *context.Context, x *Node, rest []*Node) *Node, vjp bool) mlx.GraphFn {
	return func(ctx *context.Context, in []*Node) []*Node {
		x, rest, w := in[0], in[1:len(in)-1], in[len(in)-1]
		g := func(x *Node) *Node { return f(ctx, x, rest) }
		var y, prod *Node
		if vjp {
			y, prod = mlx.VectorJacobian(g, x, w)
		} else {
			y, prod = mlx.JacobianVector(g, x, w)
		}
		return []*Node{y, prod}
	}
}
