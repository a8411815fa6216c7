package mlx

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// ExecFloat32 runs a compiled graph on flat float32 inputs with the given dimensions and returns its outputs as
// flat float32 slices, releasing the device buffers. GoMLX panics become errors, and so does any NaN or Inf in
// an output (naming the output and index).
func ExecFloat32(e *context.Exec, inputs [][]float32, dims [][]int) ([][]float32, error) {
	var outs [][]float32
	err := Call(func() {
		args := make([]any, len(inputs))
		for i := range inputs {
			args[i] = tensors.FromFlatDataAndDimensions(inputs[i], dims[i]...)
		}
		res, err := e.Exec(args...)
		if err != nil {
			panic(err)
		}
		for _, r := range res {
			outs = append(outs, tensors.MustCopyFlatData[float32](r))
			r.FinalizeAll()
		}
	})
	if err != nil {
		return nil, err
	}
	for i, o := range outs {
		for a, v := range o {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("output %d has the non-finite value %g at index %d", i, v, a)
			}
		}
	}
	return outs, nil
}
