package diffusers

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/mlx"
)

// graphFn builds one of a model's computations from its inputs.
type graphFn func(ctx *context.Context, in []*Node) []*Node

// runner compiles a model's computations on the shared backend (mlx.Backend) on first use and keeps them, by
// name; context.Exec compiles one graph per input shape and caches it. A runner is safe for concurrent use.
type runner struct {
	mu    sync.Mutex
	execs map[string]*context.Exec
}

// run executes the computation name (built by fn) on the inputs. GoMLX panics become errors, and so does a
// non-finite output.
func (r *runner) run(ctx *context.Context, name string, fn graphFn, inputs ...*tensors.Tensor) ([]*tensors.Tensor, error) {
	exec, err := r.exec(ctx, name, fn)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	var out []*tensors.Tensor
	var execErr error
	if err := mlx.Call(func() { out, execErr = exec.Exec(args...) }); err != nil {
		return nil, err
	}
	if execErr != nil {
		return nil, execErr
	}
	for i, o := range out {
		if err := checkFinite(o); err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
	}
	return out, nil
}

func (r *runner) exec(ctx *context.Context, name string, fn graphFn) (*context.Exec, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.execs[name]; ok {
		return e, nil
	}
	b, err := mlx.Backend()
	if err != nil {
		return nil, err
	}
	var e *context.Exec
	var newErr error
	if err := mlx.Call(func() { e, newErr = context.NewExec(b, ctx, (func(*context.Context, []*Node) []*Node)(fn)) }); err != nil {
		return nil, fmt.Errorf("creating the executable %s: %w", name, err)
	}
	if newErr != nil {
		return nil, fmt.Errorf("creating the executable %s: %w", name, newErr)
	}
	if r.execs == nil {
		r.execs = map[string]*context.Exec{}
	}
	r.execs[name] = e
	return e, nil
}

// checkFinite reports the first NaN or infinity of a float32 tensor.
func checkFinite(t *tensors.Tensor) error {
	if t.DType() != dtypes.Float32 {
		return nil
	}
	var err error
	t.ConstFlatData(func(flat any) {
		for i, v := range flat.([]float32) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				err = fmt.Errorf("non-finite value %g at index %d", v, i)
				return
			}
		}
	})
	return err
}

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
	if err := checkFinite(t); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// jacobianProducts builds, for f and the inputs [x, rest…, w], f(x) and its Jacobian-vector product ∂f/∂x·w
// (vjp false) or vector-Jacobian product wᵀ·∂f/∂x (vjp true), exact, by reverse mode (twice for the JVP).
func jacobianProducts(f func(ctx *context.Context, x *Node, rest []*Node) *Node, vjp bool) graphFn {
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
