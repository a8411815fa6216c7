package mlx

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// GraphFn builds a computation from its inputs, reading weights from ctx.
type GraphFn func(ctx *context.Context, in []*Node) []*Node

// Graphs compiles a model's computations on the shared backend (Backend) on first use and keeps them by name;
// context.Exec compiles one graph per input shape and caches it. The zero value is ready to use; Graphs is
// safe for concurrent use.
type Graphs struct {
	mu    sync.Mutex
	execs map[string]*context.Exec
}

// Run executes the computation name (built by fn over the weights of ctx) on the inputs. GoMLX panics become
// errors, and so does a NaN or infinity in a floating-point output.
func (gs *Graphs) Run(ctx *context.Context, name string, fn GraphFn, inputs ...*tensors.Tensor) ([]*tensors.Tensor, error) {
	exec, err := gs.exec(ctx, name, fn)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	var out []*tensors.Tensor
	var execErr error
	if err := Call(func() { out, execErr = exec.Exec(args...) }); err != nil {
		return nil, err
	}
	if execErr != nil {
		return nil, execErr
	}
	for i, o := range out {
		if err := CheckFinite(o); err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
	}
	return out, nil
}

func (gs *Graphs) exec(ctx *context.Context, name string, fn GraphFn) (*context.Exec, error) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if e, ok := gs.execs[name]; ok {
		return e, nil
	}
	b, err := Backend()
	if err != nil {
		return nil, err
	}
	var e *context.Exec
	var newErr error
	if err := Call(func() { e, newErr = context.NewExec(b, ctx, (func(*context.Context, []*Node) []*Node)(fn)) }); err != nil {
		return nil, fmt.Errorf("creating the executable %s: %w", name, err)
	}
	if newErr != nil {
		return nil, fmt.Errorf("creating the executable %s: %w", name, newErr)
	}
	if gs.execs == nil {
		gs.execs = map[string]*context.Exec{}
	}
	gs.execs[name] = e
	return e, nil
}

// RunFloat32 is Run on flat float32 inputs of the given dimensions, with the outputs as flat float32 slices.
func (gs *Graphs) RunFloat32(ctx *context.Context, name string, fn GraphFn, inputs [][]float32, dims [][]int) ([][]float32, error) {
	if len(inputs) != len(dims) {
		return nil, fmt.Errorf("running %s: %d inputs with %d shapes", name, len(inputs), len(dims))
	}
	ts := make([]*tensors.Tensor, len(inputs))
	for i := range inputs {
		ts[i] = tensors.FromFlatDataAndDimensions(inputs[i], dims[i]...)
	}
	res, err := gs.Run(ctx, name, fn, ts...)
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", name, err)
	}
	outs := make([][]float32, len(res))
	for i, r := range res {
		err = Call(func() { outs[i] = tensors.MustCopyFlatData[float32](r) })
		r.FinalizeAll()
		if err != nil {
			return nil, fmt.Errorf("running %s: output %d: %w", name, i, err)
		}
	}
	return outs, nil
}

// CheckFinite reports the first NaN or infinity of a float32 or float64 tensor (other dtypes pass).
func CheckFinite(t *tensors.Tensor) error {
	var err error
	check := func(i int, v float64) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			err = fmt.Errorf("non-finite value %g at index %d", v, i)
			return false
		}
		return true
	}
	switch t.DType() {
	case dtypes.Float32:
		t.ConstFlatData(func(flat any) {
			for i, v := range flat.([]float32) {
				if !check(i, float64(v)) {
					return
				}
			}
		})
	case dtypes.Float64:
		t.ConstFlatData(func(flat any) {
			for i, v := range flat.([]float64) {
				if !check(i, v) {
					return
				}
			}
		})
	}
	return err
}
