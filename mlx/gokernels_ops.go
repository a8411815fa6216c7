package mlx

import (
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/locoedit/locoedit/mlx/f32"
)

// Fast float32 executors for simplego's data-movement, reduction and element-wise ops (package f32's kernels:
// contiguous runs copied whole, both cores on large arrays). Each returns ok = false, having touched nothing, for
// a case it does not cover; the caller then runs simplego's own executor.

type fastOp func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool)

// installFastOps adds the executors below through replace (see InstallGoKernels).
func installFastOps(replace func(op backends.OpType, fast func(orig goExecutor) goExecutor)) {
	add := func(op backends.OpType, fast fastOp) {
		replace(op, func(orig goExecutor) goExecutor {
			return func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, error) {
				if kernelsOn.Load() {
					if out, ok := fast(backend, node, inputs, owned); ok {
						fastCalls[op].Add(1)
						return out, nil
					}
				}
				return orig(backend, node, inputs, owned)
			}
		})
	}
	add(backends.OpTypeConvGeneral, fastConvGeneral)
	add(backends.OpTypeSlice, fastSlice)
	add(backends.OpTypeBroadcastInDim, fastBroadcastInDim)
	add(backends.OpTypeTranspose, fastTranspose)
	add(backends.OpTypeConcatenate, fastConcatenate)
	add(backends.OpTypeReduceSum, fastReduce(f32.Sum))
	add(backends.OpTypeReduceMax, fastReduce(f32.Max))
	for op, u := range map[backends.OpType]f32.UnaryOp{
		backends.OpTypeExp: f32.Exp, backends.OpTypeLogistic: f32.Logistic, backends.OpTypeNeg: f32.Neg,
		backends.OpTypeSqrt: f32.Sqrt, backends.OpTypeTanh: f32.Tanh, backends.OpTypeAbs: f32.Abs,
	} {
		add(op, fastUnary(u))
	}
	for op, bin := range map[backends.OpType]f32.BinaryOp{
		backends.OpTypeAdd: f32.Add, backends.OpTypeSub: f32.Sub, backends.OpTypeMul: f32.Mul,
		backends.OpTypeDiv: f32.Div, backends.OpTypeMax: f32.Maximum, backends.OpTypeMin: f32.Minimum,
	} {
		add(op, fastBinary(bin))
	}
}

// float32Data returns the flat data and shape of a float32 buffer.
func float32Data(backend *simplego.Backend, b *simplego.Buffer) ([]float32, shapes.Shape, bool) {
	if b == nil {
		return nil, shapes.Shape{}, false
	}
	s, err := backend.BufferShape(b)
	if err != nil || s.DType != dtypes.Float32 {
		return nil, s, false
	}
	flat, err := backend.BufferData(b)
	if err != nil {
		return nil, s, false
	}
	data, ok := flat.([]float32)
	return data, s, ok && len(data) == s.Size()
}

// newFloat32 returns a new buffer of the given dimensions and its data.
func newFloat32(backend *simplego.Backend, dims []int) (*simplego.Buffer, []float32, bool) {
	out := backend.NewBuffer(shapes.Make(dtypes.Float32, dims...))
	if out == nil {
		return nil, nil, false
	}
	flat, err := backend.BufferData(out)
	if err != nil {
		return nil, nil, false
	}
	data, ok := flat.([]float32)
	return out, data, ok
}

// nodeDims reads a node's output dimensions (its private shape field).
func nodeDims(node *simplego.Node) ([]int, bool) {
	shape, ok := nodeField(node, "shape")
	if !ok || shape.Kind() != reflect.Struct {
		return nil, false
	}
	return intsField(shape, "Dimensions")
}

// nodeData returns the value behind a node's private data field (dereferenced when it is a pointer).
func nodeData(node *simplego.Node) (reflect.Value, bool) {
	data, ok := nodeField(node, "data")
	if !ok || data.Kind() != reflect.Interface || data.IsNil() {
		return reflect.Value{}, false
	}
	v := data.Elem()
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	return v, true
}

// nodeInts reads a node's data when it is an []int (axes, permutations).
func nodeInts(node *simplego.Node) ([]int, bool) {
	v, ok := nodeData(node)
	if !ok || v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Int {
		return nil, false
	}
	out := make([]int, v.Len())
	for i := range out {
		out[i] = int(v.Index(i).Int())
	}
	return out, true
}

func fastSlice(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
	src, s, ok := float32Data(backend, inputs[0])
	if !ok {
		return nil, false
	}
	v, ok := nodeData(node)
	if !ok || v.Kind() != reflect.Struct {
		return nil, false
	}
	starts, ok1 := intsField(v, "starts")
	limits, ok2 := intsField(v, "limits")
	steps, ok3 := intsField(v, "strides")
	rank := s.Rank()
	if !ok1 || !ok2 || !ok3 || len(starts) != rank || len(limits) != rank || (len(steps) != rank && len(steps) != 0) {
		return nil, false
	}
	strides := f32.RowMajorStrides(s.Dimensions)
	dims := make([]int, rank)
	offset := 0
	for a := range rank {
		step := 1
		if len(steps) > 0 {
			step = steps[a]
		}
		if step < 1 || starts[a] < 0 || limits[a] > s.Dimensions[a] || starts[a] > limits[a] {
			return nil, false
		}
		dims[a] = (limits[a] - starts[a] + step - 1) / step
		offset += starts[a] * strides[a]
		strides[a] *= step
	}
	if want, ok := nodeDims(node); !ok || !slices.Equal(want, dims) {
		return nil, false
	}
	out, dst, ok := newFloat32(backend, dims)
	if !ok {
		return nil, false
	}
	f32.Copy(dst, src, offset, dims, strides)
	return out, true
}

func fastBroadcastInDim(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
	src, s, ok := float32Data(backend, inputs[0])
	if !ok {
		return nil, false
	}
	axes, ok1 := nodeInts(node)
	dims, ok2 := nodeDims(node)
	if !ok1 || !ok2 || len(axes) != s.Rank() {
		return nil, false
	}
	inStrides := f32.RowMajorStrides(s.Dimensions)
	strides := make([]int, len(dims))
	for i, a := range axes {
		if a < 0 || a >= len(dims) {
			return nil, false
		}
		switch s.Dimensions[i] {
		case dims[a]:
			strides[a] = inStrides[i]
		case 1:
		default:
			return nil, false
		}
	}
	out, dst, ok := newFloat32(backend, dims)
	if !ok {
		return nil, false
	}
	f32.Copy(dst, src, 0, dims, strides)
	return out, true
}

func fastTranspose(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
	src, s, ok := float32Data(backend, inputs[0])
	if !ok {
		return nil, false
	}
	perm, ok := nodeInts(node)
	if !ok || len(perm) != s.Rank() {
		return nil, false
	}
	inStrides := f32.RowMajorStrides(s.Dimensions)
	dims := make([]int, len(perm))
	strides := make([]int, len(perm))
	for a, p := range perm {
		if p < 0 || p >= len(perm) {
			return nil, false
		}
		dims[a], strides[a] = s.Dimensions[p], inStrides[p]
	}
	out, dst, ok := newFloat32(backend, dims)
	if !ok {
		return nil, false
	}
	f32.Copy(dst, src, 0, dims, strides)
	return out, true
}

func fastConcatenate(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
	v, ok := nodeData(node)
	if !ok || v.Kind() != reflect.Int {
		return nil, false
	}
	axis := int(v.Int())
	srcs := make([][]float32, len(inputs))
	srcDims := make([][]int, len(inputs))
	for i, in := range inputs {
		data, s, ok := float32Data(backend, in)
		if !ok || axis < 0 || axis >= s.Rank() {
			return nil, false
		}
		srcs[i], srcDims[i] = data, s.Dimensions
	}
	dims, ok := nodeDims(node)
	if !ok {
		return nil, false
	}
	out, dst, ok := newFloat32(backend, dims)
	if !ok {
		return nil, false
	}
	f32.Concatenate(dst, srcs, srcDims, axis)
	return out, true
}

func fastReduce(op f32.ReduceOp) fastOp {
	return func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
		src, s, ok := float32Data(backend, inputs[0])
		if !ok {
			return nil, false
		}
		axes, ok1 := nodeInts(node)
		dims, ok2 := nodeDims(node)
		if !ok1 || !ok2 {
			return nil, false
		}
		reduced := make([]bool, s.Rank())
		for _, a := range axes {
			if a < 0 || a >= len(reduced) {
				return nil, false
			}
			reduced[a] = true
		}
		out, dst, ok := newFloat32(backend, dims)
		if !ok || len(dst) != s.Size()/max(1, sizeOfReduced(s.Dimensions, reduced)) {
			if out != nil {
				_ = backend.BufferFinalize(out)
			}
			return nil, false
		}
		f32.Reduce(op, dst, src, s.Dimensions, reduced)
		return out, true
	}
}

// broadcastStrides returns the strides of an operand of dimensions from read as the shape to (same rank; 0 along
// the axes where from has dimension 1 and to does not).
func broadcastStrides(from, to []int) ([]int, bool) {
	if len(from) != len(to) {
		if len(from) == 0 { // a scalar
			return make([]int, len(to)), true
		}
		return nil, false
	}
	s := f32.RowMajorStrides(from)
	for i, d := range from {
		switch {
		case d == to[i]:
		case d == 1:
			s[i] = 0
		default:
			return nil, false
		}
	}
	return s, true
}

func sizeOfReduced(dims []int, reduced []bool) int {
	n := 1
	for a, d := range dims {
		if reduced[a] {
			n *= d
		}
	}
	return n
}

func fastUnary(op f32.UnaryOp) fastOp {
	return func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool) {
		src, s, ok := float32Data(backend, inputs[0])
		if !ok {
			return nil, false
		}
		out, dst := inputs[0], src
		if owned[0] {
			inputs[0] = nil // the result overwrites the input, which the executor must not release
		} else if out, dst, ok = newFloat32(backend, s.Dimensions); !ok {
			return nil, false
		}
		f32.Unary(op, dst, src)
		return out, true
	}
}

func fastBinary(op f32.BinaryOp) fastOp {
	return func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool) {
		a, as, ok1 := float32Data(backend, inputs[0])
		b, bs, ok2 := float32Data(backend, inputs[1])
		if !ok1 || !ok2 {
			return nil, false
		}
		dims, ok := nodeDims(node)
		if !ok {
			return nil, false
		}
		n := shapes.Make(dtypes.Float32, dims...).Size()
		if (len(a) != n && len(a) != 1) || (len(b) != n && len(b) != 1) {
			// Implicit broadcasting along axes of dimension 1 (same rank).
			as, ok1 := broadcastStrides(as.Dimensions, dims)
			bs, ok2 := broadcastStrides(bs.Dimensions, dims)
			if !ok1 || !ok2 {
				return nil, false
			}
			out, dst, ok := newFloat32(backend, dims)
			if !ok {
				return nil, false
			}
			f32.BinaryStrided(op, dst, dims, a, as, b, bs)
			return out, true
		}
		var out *simplego.Buffer
		var dst []float32
		switch {
		case owned[1] && len(b) == n && slices.Equal(bs.Dimensions, dims):
			out, dst = inputs[1], b
			inputs[1] = nil
		case owned[0] && len(a) == n && slices.Equal(as.Dimensions, dims):
			out, dst = inputs[0], a
			inputs[0] = nil
		default:
			if out, dst, ok = newFloat32(backend, dims); !ok {
				return nil, false
			}
		}
		f32.Binary(op, dst, a, b)
		return out, true
	}
}
