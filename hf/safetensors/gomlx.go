package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// ToGoMLX converts t to a GoMLX tensor with the same dimensions. F16 and BF16
// become Float32 (exactly); F32, F64, I64, I32, U8, I8 and BOOL keep their type.
// The data is copied.
func (t *Tensor) ToGoMLX() (gt *tensors.Tensor, err error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("safetensors: ToGoMLX: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			gt, err = nil, fmt.Errorf("safetensors: ToGoMLX of %s: %v", t, r)
		}
	}()
	dims := slices.Clone(t.Shape)
	le := binary.LittleEndian
	switch t.DType {
	case F32, F16, BF16:
		v, err := t.Float32()
		if err != nil {
			return nil, err
		}
		return tensors.FromFlatDataAndDimensions(v, dims...), nil
	case F64:
		v, err := t.Float64()
		if err != nil {
			return nil, err
		}
		return tensors.FromFlatDataAndDimensions(v, dims...), nil
	case I64:
		v, err := t.Int64s()
		if err != nil {
			return nil, err
		}
		return tensors.FromFlatDataAndDimensions(v, dims...), nil
	case I32:
		v := make([]int32, len(t.Data)/4)
		for i := range v {
			v[i] = int32(le.Uint32(t.Data[4*i:]))
		}
		return tensors.FromFlatDataAndDimensions(v, dims...), nil
	case U8:
		return tensors.FromFlatDataAndDimensions(slices.Clone(t.Data), dims...), nil
	case I8:
		v := make([]int8, len(t.Data))
		for i, b := range t.Data {
			v[i] = int8(b)
		}
		return tensors.FromFlatDataAndDimensions(v, dims...), nil
	case BOOL:
		v, err := t.Bools()
		if err != nil {
			return nil, err
		}
		return tensors.FromFlatDataAndDimensions(v, dims...), nil
	}
	return nil, fmt.Errorf("safetensors: ToGoMLX: unsupported dtype %s", t.DType)
}

// FromGoMLX converts a GoMLX tensor (fetching it from the device if needed) to a
// safetensors Tensor. Float32, Float64, Int64, Int32, Uint8, Int8, Bool, Float16
// and BFloat16 are supported and keep their type. The data is copied.
func FromGoMLX(gt *tensors.Tensor) (st *Tensor, err error) {
	if gt == nil {
		return nil, fmt.Errorf("safetensors: FromGoMLX: nil tensor")
	}
	defer func() {
		if r := recover(); r != nil {
			st, err = nil, fmt.Errorf("safetensors: FromGoMLX: %v", r)
		}
	}()
	shape := gt.Shape()
	var dt DType
	switch shape.DType {
	case dtypes.Float32:
		dt = F32
	case dtypes.Float64:
		dt = F64
	case dtypes.Int64:
		dt = I64
	case dtypes.Int32:
		dt = I32
	case dtypes.Uint8:
		dt = U8
	case dtypes.Int8:
		dt = I8
	case dtypes.Bool:
		dt = BOOL
	case dtypes.Float16:
		dt = F16
	case dtypes.BFloat16:
		dt = BF16
	default:
		return nil, fmt.Errorf("safetensors: FromGoMLX: dtype %s is not supported (use Float32, Float64, Int64, Int32, Uint8, Int8, Bool, Float16 or BFloat16)", shape.DType)
	}
	st = &Tensor{DType: dt, Shape: slices.Clone(shape.Dimensions)}
	if st.Shape == nil {
		st.Shape = []int{}
	}
	err = gt.ConstFlatData(func(flat any) {
		st.Data = encodeFlat(flat)
	})
	if err != nil {
		return nil, fmt.Errorf("safetensors: FromGoMLX: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("safetensors: FromGoMLX: %w", err)
	}
	return st, nil
}

// encodeFlat serialises a flat GoMLX data slice as little-endian bytes.
func encodeFlat(flat any) []byte {
	le := binary.LittleEndian
	switch v := flat.(type) {
	case []float32:
		b := make([]byte, 4*len(v))
		for i, x := range v {
			le.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	case []float64:
		b := make([]byte, 8*len(v))
		for i, x := range v {
			le.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	case []int64:
		b := make([]byte, 8*len(v))
		for i, x := range v {
			le.PutUint64(b[8*i:], uint64(x))
		}
		return b
	case []int32:
		b := make([]byte, 4*len(v))
		for i, x := range v {
			le.PutUint32(b[4*i:], uint32(x))
		}
		return b
	case []uint8:
		return slices.Clone(v)
	case []int8:
		b := make([]byte, len(v))
		for i, x := range v {
			b[i] = byte(x)
		}
		return b
	case []bool:
		b := make([]byte, len(v))
		for i, x := range v {
			if x {
				b[i] = 1
			}
		}
		return b
	}
	// Float16 and BFloat16 are uint16-based types.
	rv := reflect.ValueOf(flat)
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint16 {
		b := make([]byte, 2*rv.Len())
		for i := range rv.Len() {
			le.PutUint16(b[2*i:], uint16(rv.Index(i).Uint()))
		}
		return b
	}
	return nil // Validate reports the size mismatch.
}
