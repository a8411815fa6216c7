package mlx

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// LayerNorm normalises x over its last axis (mean and biased variance, as PyTorch's LayerNorm), then applies
// the per-feature scale and bias (either may be nil). Built from Sqrt and Div (no Rsqrt) with explicit
// broadcasts, so it differentiates twice on every backend.
func LayerNorm(x *Node, eps float64, scale, bias *Node) *Node {
	dims := x.Shape().Dimensions
	last := x.Rank() - 1
	n := float64(dims[last])
	mean := DivScalar(ReduceAndKeep(x, ReduceSum, last), n)
	centred := Sub(x, BroadcastToDims(mean, dims...))
	variance := DivScalar(ReduceAndKeep(Square(centred), ReduceSum, last), n)
	inv := Div(ScalarOne(x.Graph(), x.DType()), Sqrt(AddScalar(variance, eps)))
	y := Mul(centred, BroadcastToDims(inv, dims...))
	if scale != nil {
		y = Mul(y, BroadcastToDims(AlignLastAxis(scale, x.Rank()), dims...))
	}
	if bias != nil {
		y = AddBias(y, bias)
	}
	return y
}

// GELU is the exact Gaussian error linear unit x·Φ(x) = x·(1 + erf(x/√2))/2 (PyTorch's default F.gelu).
func GELU(x *Node) *Node {
	return Mul(x, MulScalar(OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))), 0.5))
}

// QuickGELU is x·σ(1.702·x), the approximation OpenAI's CLIP was trained with.
func QuickGELU(x *Node) *Node { return Mul(x, Sigmoid(MulScalar(x, 1.702))) }

// Attention is multi-head scaled dot-product attention: q [B,N,H·d], k and v [B,L,H·d] → [B,N,H·d], with the
// heads laid out as consecutive blocks of d features (PyTorch's head_to_batch_dim). The scores are scaled by
// 1/√d; with causal set, query i attends to keys 0…i only (N = L required).
//
// The softmax is normalised after the product with v (dividing [B,H,N,d] costs less than dividing the
// [B,H,N,L] weights), with the row maximum held constant for the gradient as graph.Softmax does; broadcasts
// are explicit (implicit broadcasting is slow on the pure-Go backend).
func Attention(q, k, v *Node, heads int, causal bool) *Node {
	qd, kd := q.Shape().Dimensions, k.Shape().Dimensions
	if q.Rank() != 3 || k.Rank() != 3 || !v.Shape().Equal(k.Shape()) || qd[0] != kd[0] || qd[2] != kd[2] || qd[2]%heads != 0 {
		panic(fmt.Errorf("Attention: want q [B,N,H·d] and k, v [B,L,H·d] with %d heads, got %s, %s, %s", heads, q.Shape(), k.Shape(), v.Shape()))
	}
	b, n, c, l := qd[0], qd[1], qd[2], kd[1]
	if causal && n != l {
		panic(fmt.Errorf("Attention: a causal mask needs as many queries as keys, got %d and %d", n, l))
	}
	dh := c / heads
	q = MulScalar(q, 1/math.Sqrt(float64(dh)))
	q, k, v = Reshape(q, b, n, heads, dh), Reshape(k, b, l, heads, dh), Reshape(v, b, l, heads, dh)
	scores := DotGeneral(q, []int{3}, []int{0, 2}, k, []int{3}, []int{0, 2}) // [b, h, n, l]
	if causal {
		scores = Add(scores, BroadcastToDims(Reshape(causalMask(q.Graph(), n, scores.DType()), 1, 1, n, n), b, heads, n, n))
	}
	rowMax := StopGradient(ReduceAndKeep(scores, ReduceMax, -1))
	w := Exp(Sub(scores, BroadcastToDims(rowMax, scores.Shape().Dimensions...)))
	inv := Div(ScalarOne(w.Graph(), w.DType()), ReduceAndKeep(w, ReduceSum, -1)) // [b, h, n, 1]
	out := DotGeneral(w, []int{3}, []int{0, 1}, v, []int{1}, []int{0, 2})        // [b, h, n, d]
	out = Mul(out, BroadcastToDims(inv, b, heads, n, dh))
	return Reshape(TransposeAllAxes(out, 0, 2, 1, 3), b, n, c)
}

// causalMask is the additive mask [n,n]: 0 on and below the diagonal, a large negative number above it (finite,
// so that no infinity meets a zero in the derivatives).
func causalMask(g *Graph, n int, dtype dtypes.DType) *Node {
	m := make([]float32, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			m[i*n+j] = -1e30
		}
	}
	return ConvertDType(Const(g, tensors.FromFlatDataAndDimensions(m, n, n)), dtype)
}
