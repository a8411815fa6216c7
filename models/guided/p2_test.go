package guided

import (
	"math"
	"os"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/mlx"
)

// TestP2Runs builds P2-256 with random weights and runs ε on a 64×64 input (the network takes any multiple of
// 32; 256² costs about a minute on two cores). LOCO_SLOW=1 only: the weights alone take 374 MB.
func TestP2Runs(t *testing.T) {
	if os.Getenv("LOCO_SLOW") == "" {
		t.Skip("LOCO_SLOW=1 runs the full-size P2-256 network")
	}
	m, err := NewRandom(P2Config256(), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mlx.Backend()
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 3*64*64)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	var out []float32
	var shape []int
	err = mlx.Call(func() {
		e := context.MustNewExec(b, m.Context(), func(ctx *context.Context, x, t *Node) *Node { return m.Eps(ctx, x, t) })
		res := e.MustExec(tensors.FromFlatDataAndDimensions(x, 1, 3, 64, 64), tensors.FromFlatDataAndDimensions([]float32{500.5}, 1))
		out, shape = tensors.MustCopyFlatData[float32](res[0]), res[0].Shape().Dimensions
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{1, 3, 64, 64}) {
		t.Fatalf("ε has shape %v, want [1 3 64 64]", shape)
	}
	for i, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("ε[%d] = %v", i, v)
		}
	}
}
