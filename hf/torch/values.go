package torch

import (
	"fmt"
)

// Pickle values. Scalars are nil (None), bool, int64, float64, string and bigInt; containers are tuple,
// *list and *dict; callables are global.
type (
	tuple  []any
	list   struct{ items []any }
	bigInt []byte // a little-endian two's-complement integer wider than 64 bits
	global struct{ module, name string }
	mark   struct{}
)

// dict is an insertion-ordered dict with string or integer keys (what state dicts and their metadata use).
type dict struct {
	keys   []any
	values []any
	index  map[any]int
}

func newDict() *dict { return &dict{index: map[any]int{}} }

func (d *dict) set(k, v any) error {
	switch k.(type) {
	case string, int64:
	default:
		return fmt.Errorf("dict key of type %s is not supported (state dicts use string keys)", typeName(k))
	}
	if i, ok := d.index[k]; ok {
		d.values[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.values = append(d.values, v)
	return nil
}

func (g global) String() string { return g.module + "." + g.name }

// allowedGlobals are the only globals a checkpoint may name.
var allowedGlobals = map[global]bool{
	{"collections", "OrderedDict"}:         true,
	{"torch._utils", "_rebuild_tensor_v2"}: true,
	{"torch._utils", "_rebuild_tensor"}:    true,
	{"torch._utils", "_rebuild_parameter"}: true,
	{"torch", "FloatStorage"}:              true,
	{"torch", "HalfStorage"}:               true,
	{"torch", "BFloat16Storage"}:           true,
	{"torch", "DoubleStorage"}:             true,
	{"torch", "LongStorage"}:               true,
	{"torch", "IntStorage"}:                true,
	{"torch", "ByteStorage"}:               true,
	{"torch", "CharStorage"}:               true,
	{"torch", "BoolStorage"}:               true,
}

// typeName names a pickle value's Python type, for errors.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, bigInt:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case tuple:
		return "tuple"
	case *list:
		return "list"
	case *dict:
		return "dict"
	case global:
		return "global " + v.(global).String()
	case *storage:
		return "storage"
	case *tensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
