package torch

import (
	"fmt"
	"math"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// storageTypes maps the typed storage classes to element types.
var storageTypes = map[string]safetensors.DType{
	"FloatStorage":    safetensors.F32,
	"HalfStorage":     safetensors.F16,
	"BFloat16Storage": safetensors.BF16,
	"DoubleStorage":   safetensors.F64,
	"LongStorage":     safetensors.I64,
	"IntStorage":      safetensors.I32,
	"ByteStorage":     safetensors.U8,
	"CharStorage":     safetensors.I8,
	"BoolStorage":     safetensors.BOOL,
}

// storage is one storage record of the checkpoint: numel elements of dtype, found at offset in the file
// (located after the pickle is read).
type storage struct {
	key    string
	dtype  safetensors.DType
	numel  int64
	offset int64 // file offset of the first byte; −1 until located
}

// tensor is a strided view of a storage, as _rebuild_tensor_v2 describes it.
type tensor struct {
	storage *storage
	offset  int64
	shape   []int
	stride  []int64
}

// storageFromPID resolves a persistent id ('storage', storage_type, key, location, numel[, view]) to the
// storage it names, one per key.
func storageFromPID(pid any, byKey map[string]*storage) (*storage, error) {
	t, ok := pid.(tuple)
	if !ok || len(t) < 5 || len(t) > 6 {
		return nil, fmt.Errorf("persistent id %s is not a storage record", describe(pid))
	}
	if kind, _ := t[0].(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s, want 'storage'", describe(t[0]))
	}
	g, ok := t[1].(global)
	if !ok || g.module != "torch" {
		return nil, fmt.Errorf("storage type %s is not a torch storage class", describe(t[1]))
	}
	dtype, ok := storageTypes[g.name]
	if !ok {
		return nil, fmt.Errorf("storage type %s is not supported (supported: float32, float16, bfloat16, float64, int64, int32, uint8, int8, bool)", g)
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key %s is not a string", describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 || numel > math.MaxInt64/8 {
		return nil, fmt.Errorf("storage %q has size %s", key, describe(t[4]))
	}
	if len(t) == 6 && t[5] != nil {
		return nil, fmt.Errorf("storage %q is a view of another storage (pre-1.0 checkpoint): not supported", key)
	}
	if s, ok := byKey[key]; ok {
		if s.dtype != dtype || s.numel != numel {
			return nil, fmt.Errorf("storage %q is declared twice, as %s[%d] and %s[%d]", key, s.dtype, s.numel, dtype, numel)
		}
		return s, nil
	}
	s := &storage{key: key, dtype: dtype, numel: numel, offset: -1}
	byKey[key] = s
	return s, nil
}

// reduceTensor interprets the allowed callables: OrderedDict(), OrderedDict(pairs), _rebuild_tensor_v2(storage,
// offset, size, stride, requires_grad, hooks[, metadata]), _rebuild_tensor(storage, offset, size, stride) and
// _rebuild_parameter(tensor, requires_grad, hooks).
func reduceTensor(fn global, args tuple) (any, error) {
	switch fn.name {
	case "OrderedDict":
		return orderedDict(args)
	case "_rebuild_tensor_v2", "_rebuild_tensor":
		if n := len(args); (fn.name == "_rebuild_tensor" && n != 4) || (fn.name == "_rebuild_tensor_v2" && n != 6 && n != 7) {
			return nil, fmt.Errorf("%d arguments", n)
		}
		return rebuildTensor(args)
	case "_rebuild_parameter":
		if len(args) != 3 {
			return nil, fmt.Errorf("%d arguments, want 3", len(args))
		}
		t, ok := args[0].(*tensor)
		if !ok {
			return nil, fmt.Errorf("data is a %s, want a tensor", typeName(args[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("cannot be called (only OrderedDict and the tensor rebuild functions can)")
}

func orderedDict(args tuple) (any, error) {
	d := newDict()
	if len(args) == 0 {
		return d, nil
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("%d arguments, want none or a list of pairs", len(args))
	}
	var pairs []any
	switch p := args[0].(type) {
	case *list:
		pairs = p.items
	case tuple:
		pairs = p
	default:
		return nil, fmt.Errorf("argument is a %s, want a list of pairs", typeName(args[0]))
	}
	for _, p := range pairs {
		var kv []any
		switch q := p.(type) {
		case *list:
			kv = q.items
		case tuple:
			kv = q
		}
		if len(kv) != 2 {
			return nil, fmt.Errorf("item %s is not a (key, value) pair", describe(p))
		}
		if err := d.set(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func rebuildTensor(args tuple) (any, error) {
	s, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("storage argument is a %s", typeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("storage offset %s", describe(args[1]))
	}
	size, err := intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("size %v and stride %v have different ranks", size, stride)
	}
	t := &tensor{storage: s, offset: offset, shape: make([]int, len(size)), stride: stride}
	for i, d := range size {
		t.shape[i] = int(d)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(tuple)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, want a tuple", what, typeName(v))
	}
	if len(t) > 64 {
		return nil, fmt.Errorf("%s has %d dimensions", what, len(t))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("%s[%d] = %s", what, i, describe(x))
		}
		out[i] = n
	}
	return out, nil
}

// check validates the view against its storage: every element it reads lies inside the storage, and no two
// elements share a position (so a view never holds more data than its storage, which the file holds).
func (t *tensor) check() error {
	numel, span := int64(1), int64(0) // span: largest index offset reached
	for i, d := range t.shape {
		if d == 0 {
			return nil
		}
		if numel > math.MaxInt64/int64(d) {
			return fmt.Errorf("shape %v overflows", t.shape)
		}
		numel *= int64(d)
		if t.stride[i] > 0 && int64(d-1) > (math.MaxInt64-span)/t.stride[i] {
			return fmt.Errorf("stride %v overflows", t.stride)
		}
		span += int64(d-1) * t.stride[i]
	}
	s := t.storage
	if t.offset > s.numel || span >= s.numel-t.offset {
		return fmt.Errorf("view (offset %d, shape %v, stride %v) reaches past its storage of %d elements", t.offset, t.shape, t.stride, s.numel)
	}
	if numel > span+1 {
		return fmt.Errorf("view (shape %v, stride %v) repeats storage elements: not a state-dict tensor", t.shape, t.stride)
	}
	return nil
}

// numel is the number of elements of the view.
func (t *tensor) numel() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// span is the range of storage elements [offset, offset+span) the view touches.
func (t *tensor) span() int64 {
	if t.numel() == 0 {
		return 0
	}
	s := int64(1)
	for i, d := range t.shape {
		s += int64(d-1) * t.stride[i]
	}
	return s
}

// contiguous reports whether the view is row-major dense.
func (t *tensor) contiguous() bool {
	want := int64(1)
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.stride[i] != want {
			return false
		}
		want *= int64(t.shape[i])
	}
	return true
}

// gather copies the view's elements in row-major order from raw, the storage bytes starting at the view's
// offset.
func (t *tensor) gather(raw []byte) []byte {
	es := t.storage.dtype.Size()
	out := make([]byte, 0, t.numel()*es)
	idx := make([]int, len(t.shape))
	for range t.numel() {
		var pos int64
		for i, j := range idx {
			pos += int64(j) * t.stride[i]
		}
		out = append(out, raw[pos*int64(es):(pos+1)*int64(es)]...)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < t.shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// describe prints a pickle value briefly, for errors.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("%q", x)
	case int64, float64, bool:
		return fmt.Sprint(x)
	}
	return "a " + typeName(v)
}
