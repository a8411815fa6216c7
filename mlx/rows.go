package mlx

import (
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
)

// RepeatRows broadcasts x, whose leading dimension is 1, to k rows.
func RepeatRows(x *Node, k int) *Node {
	dims := slices.Clone(x.Shape().Dimensions)
	dims[0] = k
	return BroadcastToDims(x, dims...)
}
