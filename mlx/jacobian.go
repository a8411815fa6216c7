package mlx

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
)

// VectorJacobian returns y = f(x) and the vector-Jacobian product uᵀ·∂f/∂x for each sample of a batch: x [B,…] and
// u (shaped like y) hold one point and one cotangent per row, and f must treat rows independently (as a
// network in inference mode does), so row b of the result is J_bᵀ·u_b.
func VectorJacobian(f func(x *Node) *Node, x, u *Node) (y, vjp *Node) {
	y = f(x)
	vjp = Gradient(ReduceAllSum(Mul(y, u)), x)[0]
	return y, vjp
}

// JacobianVector returns y = f(x) and the exact Jacobian-vector product ∂f/∂x·v for each row of a batch, by reverse
// mode twice: for an auxiliary w shaped like y, g(w) = ∇_x⟨w, f(x)⟩ = Jᵀw is linear in w, so
// ∇_w⟨g(w), v⟩ = J·v. No finite differences: the result is exact to rounding.
func JacobianVector(f func(x *Node) *Node, x, v *Node) (y, jvp *Node) {
	y = f(x)
	w := ZerosLike(y)
	jtw := Gradient(ReduceAllSum(Mul(y, w)), x)[0]
	jvp = Gradient(ReduceAllSum(Mul(jtw, v)), w)[0]
	return y, jvp
}
