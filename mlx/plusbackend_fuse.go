package mlx

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Broadcast folding: with the fast kernels on, a binary element-wise op one of whose operands is an explicit
// BroadcastInDim reads the broadcast's source directly (reshaped to the same rank, with unit dimensions where it
// is repeated) instead of a materialised full-size copy; the fast executors broadcast such operands in place. The
// BroadcastInDim node is left in the graph and runs only if something else still reads it (a gradient, say).
// The graph, and so its gradients, are unchanged: this only chooses how the backend computes the same values.

// broadcastSource is the operand of a BroadcastInDim node, and its dimensions aligned with the output's.
type broadcastSource struct {
	operand backends.Op
	aligned []int
	out     shapes.Shape
}

// BroadcastInDim implements backends.Builder, remembering float32 broadcasts for folding.
func (b *plusBuilder) BroadcastInDim(operand backends.Op, outputShape shapes.Shape, broadcastAxes []int) (backends.Op, error) {
	op, err := b.Builder.BroadcastInDim(operand, outputShape, broadcastAxes)
	if err != nil || !b.fold || outputShape.DType != dtypes.Float32 {
		return op, err
	}
	in, err := b.OpShape(operand)
	if err != nil || in.Rank() != len(broadcastAxes) || !slices.IsSorted(broadcastAxes) {
		return op, nil
	}
	aligned := make([]int, outputShape.Rank())
	for i := range aligned {
		aligned[i] = 1
	}
	for i, a := range broadcastAxes {
		if a < 0 || a >= len(aligned) {
			return op, nil
		}
		aligned[a] = in.Dimensions[i]
	}
	if b.broadcasts == nil {
		b.broadcasts = map[backends.Op]broadcastSource{}
	}
	b.broadcasts[op] = broadcastSource{operand: operand, aligned: aligned, out: outputShape}
	return op, nil
}

// unfold replaces one broadcast operand of a binary op by its source (reshaped), when the other operand has the
// full output shape.
func (b *plusBuilder) unfold(lhs, rhs backends.Op) (backends.Op, backends.Op) {
	if !b.fold || len(b.broadcasts) == 0 {
		return lhs, rhs
	}
	replace := func(bc, other backends.Op) (backends.Op, bool) {
		src, ok := b.broadcasts[bc]
		if !ok {
			return bc, false
		}
		os, err := b.OpShape(other)
		if err != nil || !os.Equal(src.out) {
			return bc, false
		}
		in, err := b.OpShape(src.operand)
		if err != nil {
			return bc, false
		}
		if slices.Equal(in.Dimensions, src.aligned) {
			return src.operand, true
		}
		r, err := b.Builder.Reshape(src.operand, src.aligned...)
		if err != nil {
			return bc, false
		}
		return r, true
	}
	if r, ok := replace(rhs, lhs); ok {
		return lhs, r
	}
	if l, ok := replace(lhs, rhs); ok {
		return l, rhs
	}
	return lhs, rhs
}

// Add implements backends.Builder.
func (b *plusBuilder) Add(lhs, rhs backends.Op) (backends.Op, error) {
	lhs, rhs = b.unfold(lhs, rhs)
	return b.Builder.Add(lhs, rhs)
}

// Sub implements backends.Builder.
func (b *plusBuilder) Sub(lhs, rhs backends.Op) (backends.Op, error) {
	lhs, rhs = b.unfold(lhs, rhs)
	return b.Builder.Sub(lhs, rhs)
}

// Mul implements backends.Builder.
func (b *plusBuilder) Mul(lhs, rhs backends.Op) (backends.Op, error) {
	lhs, rhs = b.unfold(lhs, rhs)
	return b.Builder.Mul(lhs, rhs)
}

// Div implements backends.Builder.
func (b *plusBuilder) Div(lhs, rhs backends.Op) (backends.Op, error) {
	lhs, rhs = b.unfold(lhs, rhs)
	return b.Builder.Div(lhs, rhs)
}

// Max implements backends.Builder.
func (b *plusBuilder) Max(lhs, rhs backends.Op) (backends.Op, error) {
	lhs, rhs = b.unfold(lhs, rhs)
	return b.Builder.Max(lhs, rhs)
}

// Min implements backends.Builder.
func (b *plusBuilder) Min(lhs, rhs backends.Op) (backends.Op, error) {
	lhs, rhs = b.unfold(lhs, rhs)
	return b.Builder.Min(lhs, rhs)
}
