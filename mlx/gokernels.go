package mlx

import (
	"fmt"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	_ "unsafe" // go:linkname

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/locoedit/locoedit/mlx/f32"
	"github.com/locoedit/locoedit/mlx/sgemm"
)

// Fast kernels for GoMLX's pure-Go backend.
//
// The pure-Go backend (simplego) runs each graph node through an executor function picked from a table by the
// node's op type. InstallGoKernels replaces some of these executors with faster float32 ones, which fall back to
// the original executor for every case they do not cover (other dtypes, layouts they cannot view without a
// copy). The graph, its shapes and its gradients are untouched: a replaced executor computes the same op, only
// faster, and the results agree with the original to float32 rounding.
//
// The table is private to simplego; it is reached with go:linkname, and the few node parameters an executor
// needs are read by reflection, by field name. Both are checked against the pinned GoMLX version (v0.26.0) by
// this package's tests; if a field is missing, the executors fall back to the original ones.

// goExecutor has the signature of simplego's node executors.
type goExecutor func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

//go:linkname simplegoExecutors github.com/gomlx/gomlx/backends/simplego.nodeExecutors
var simplegoExecutors [backends.OpTypeLast]goExecutor

var (
	kernelsOnce sync.Once
	kernelsOn   atomic.Bool
	// builtinExecutors keeps simplego's executors that InstallGoKernels replaced.
	builtinExecutors = map[backends.OpType]goExecutor{}
)

// GoKernelsEnv names the environment variable that turns the fast kernels off when set to "0" (for comparisons).
const GoKernelsEnv = "LOCO_GO_KERNELS"

// InstallGoKernels replaces simplego's executors of the ops it has faster float32 kernels for: DotGeneral
// (sgemm's blocked, vectorised and parallel matrix multiply), the data-movement ops (Slice, BroadcastInDim,
// Transpose, Concatenate), ReduceSum/Max and the common element-wise ops (package f32). NewBackend calls it; it is safe to call more than
// once. The kernels are on unless $LOCO_GO_KERNELS is "0"; SetGoKernels switches them at run time.
func InstallGoKernels() {
	kernelsOnce.Do(func() {
		kernelsOn.Store(os.Getenv(GoKernelsEnv) != "0")
		replace := func(op backends.OpType, fast func(orig goExecutor) goExecutor) {
			orig := simplegoExecutors[op]
			if orig == nil {
				return
			}
			builtinExecutors[op] = orig
			simplegoExecutors[op] = fast(orig)
		}
		replace(backends.OpTypeDotGeneral, fastDotGeneral)
		installFastOps(replace)
	})
}

// SetGoKernels turns the fast pure-Go kernels on or off (for all graphs, from their next execution) and returns
// the previous setting.
func SetGoKernels(on bool) (was bool) {
	InstallGoKernels()
	return kernelsOn.Swap(on)
}

// fastCalls counts the executions the fast kernels handled, by op type (for tests and benchmarks).
var fastCalls [backends.OpTypeLast]atomic.Int64

// GoKernelCalls returns how many times the fast kernel of op ran (rather than simplego's own).
func GoKernelCalls(op backends.OpType) int64 { return fastCalls[op].Load() }

// GoKernelsOn reports whether the fast pure-Go kernels are in use.
func GoKernelsOn() bool { return kernelsOn.Load() }

// nodeField reads the private field name of a simplego node (by reflection, read-only).
func nodeField(node *simplego.Node, name string) (reflect.Value, bool) {
	v := reflect.ValueOf(node)
	if !v.IsValid() || v.IsNil() {
		return reflect.Value{}, false
	}
	f := fieldByName(v.Elem(), name)
	return f, f.IsValid()
}

// fieldIndex caches the index of a field by struct type and name (reflect's FieldByName searches by name at every
// call, and executors read a few fields per op).
var fieldIndex sync.Map // fieldKey → int (−1: no such field)

type fieldKey struct {
	t    reflect.Type
	name string
}

// fieldByName is s.FieldByName(name) for a struct value s, with the lookup cached; invalid when there is none.
func fieldByName(s reflect.Value, name string) reflect.Value {
	key := fieldKey{s.Type(), name}
	i, ok := fieldIndex.Load(key)
	if !ok {
		idx := -1
		if f, found := s.Type().FieldByName(name); found && len(f.Index) == 1 {
			idx = f.Index[0]
		}
		i, _ = fieldIndex.LoadOrStore(key, idx)
	}
	if idx := i.(int); idx >= 0 {
		return s.Field(idx)
	}
	return reflect.Value{}
}

// intsField reads an []int field of a struct value.
func intsField(s reflect.Value, name string) ([]int, bool) {
	f := fieldByName(s, name)
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Int {
		return nil, false
	}
	out := make([]int, f.Len())
	for i := range out {
		out[i] = int(f.Index(i).Int())
	}
	return out, true
}

// dotGeneralAxes reads the contracting and batch axes of a simplego DotGeneral node.
func dotGeneralAxes(node *simplego.Node) (lc, lb, rc, rb []int, ok bool) {
	data, ok := nodeField(node, "data")
	if !ok || data.Kind() != reflect.Interface || data.IsNil() {
		return nil, nil, nil, nil, false
	}
	p := data.Elem()
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return nil, nil, nil, nil, false
	}
	s := p.Elem()
	var ok1, ok2, ok3, ok4 bool
	lc, ok1 = intsField(s, "lhsContractingAxes")
	lb, ok2 = intsField(s, "lhsBatchAxes")
	rc, ok3 = intsField(s, "rhsContractingAxes")
	rb, ok4 = intsField(s, "rhsBatchAxes")
	return lc, lb, rc, rb, ok1 && ok2 && ok3 && ok4
}

// axisGroup returns the size of a group of axes enumerated in the given order (row-major over them) and the single
// memory stride that walks it, if there is one (the axes are adjacent in memory in that order).
func axisGroup(dims, strides, axes []int) (size, stride int, ok bool) {
	size, stride = 1, 0
	prev := -1 // last axis with dimension > 1
	for _, a := range axes {
		if a < 0 || a >= len(dims) {
			return 0, 0, false
		}
		size *= dims[a]
		if dims[a] == 1 {
			continue
		}
		if prev >= 0 && strides[prev] != strides[a]*dims[a] {
			return 0, 0, false
		}
		prev = a
		stride = strides[a]
	}
	return size, stride, true
}

// operandView describes a DotGeneral operand as [batch, cross, contracting] with one stride per group, as simplego
// normalises it (cross axes in increasing order, batch and contracting axes in the order given).
type operandView struct {
	batch, cross, contract                   int
	batchStride, crossStride, contractStride int
}

func viewOperand(dims, contract, batch []int) (operandView, bool) {
	strides := f32.RowMajorStrides(dims)
	used := make([]bool, len(dims))
	for _, a := range append(append([]int(nil), contract...), batch...) {
		if a < 0 || a >= len(dims) || used[a] {
			return operandView{}, false
		}
		used[a] = true
	}
	var cross []int
	for a := range dims {
		if !used[a] {
			cross = append(cross, a)
		}
	}
	var v operandView
	var ok1, ok2, ok3 bool
	v.batch, v.batchStride, ok1 = axisGroup(dims, strides, batch)
	v.cross, v.crossStride, ok2 = axisGroup(dims, strides, cross)
	v.contract, v.contractStride, ok3 = axisGroup(dims, strides, contract)
	return v, ok1 && ok2 && ok3
}

// dotGeneralProblem maps a DotGeneral of float32 operands onto an sgemm problem, when both operands can be
// viewed with one stride per axis group.
func dotGeneralProblem(lhsDims, rhsDims, lc, lb, rc, rb []int, lhs, rhs []float32) (sgemm.Problem, bool) {
	l, ok1 := viewOperand(lhsDims, lc, lb)
	r, ok2 := viewOperand(rhsDims, rc, rb)
	if !ok1 || !ok2 || l.batch != r.batch || l.contract != r.contract {
		return sgemm.Problem{}, false
	}
	return sgemm.Problem{
		Batch: l.batch, M: l.cross, N: r.cross, K: l.contract,
		A: sgemm.View{Data: lhs, BatchStride: l.batchStride, RowStride: l.crossStride, ColStride: l.contractStride},
		B: sgemm.View{Data: rhs, BatchStride: r.batchStride, RowStride: r.contractStride, ColStride: r.crossStride},
	}, true
}

// minFastDotFLOPs is the smallest product sent to sgemm: below it simplego's own kernel is as fast.
const minFastDotFLOPs = 4096

func fastDotGeneral(orig goExecutor) goExecutor {
	return func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, error) {
		if !kernelsOn.Load() || len(inputs) != 2 {
			return orig(backend, node, inputs, owned)
		}
		ls, err1 := backend.BufferShape(inputs[0])
		rs, err2 := backend.BufferShape(inputs[1])
		if err1 != nil || err2 != nil || ls.DType != dtypes.Float32 || rs.DType != dtypes.Float32 {
			return orig(backend, node, inputs, owned)
		}
		lc, lb, rc, rb, ok := dotGeneralAxes(node)
		if !ok {
			return orig(backend, node, inputs, owned)
		}
		lhs, err1 := backend.BufferData(inputs[0])
		rhs, err2 := backend.BufferData(inputs[1])
		if err1 != nil || err2 != nil {
			return orig(backend, node, inputs, owned)
		}
		p, ok := dotGeneralProblem(ls.Dimensions, rs.Dimensions, lc, lb, rc, rb, lhs.([]float32), rhs.([]float32))
		if !ok || p.FLOPs() < minFastDotFLOPs {
			return orig(backend, node, inputs, owned)
		}
		out := backend.NewBuffer(shapes.Make(dtypes.Float32, p.Batch, p.M, p.N))
		flat, err := backend.BufferData(out)
		if err != nil {
			return nil, err
		}
		if err := sgemm.Mul(flat.([]float32), p); err != nil {
			return nil, fmt.Errorf("DotGeneral of %s and %s: %w", ls, rs, err)
		}
		fastCalls[backends.OpTypeDotGeneral].Add(1)
		return out, nil
	}
}
