package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Tensor is one tensor of a safetensors file: its element type, its dimensions
// (row-major, empty for a scalar) and its raw little-endian bytes.
//
// Tensors returned by [File.Tensor] share Data with the file's buffer; do not
// modify it and, for a memory-mapped file, do not use it after [File.Close]
// (use [Tensor.Clone]).
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of the dimensions (1 for a scalar). It returns -1
// if a dimension is negative or the product overflows an int.
func (t *Tensor) NumElements() int {
	n, err := numElements(t.Shape)
	if err != nil {
		return -1
	}
	return n
}

// numElements multiplies the dimensions, rejecting negative ones and overflow.
func numElements(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d of shape %v is negative", i, shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("shape %v has too many elements (overflows int)", shape)
		}
		n *= d
	}
	return n, nil
}

// Validate checks that t is usable: known dtype, non-negative dimensions and
// exactly NumElements × DType.Size() bytes of data.
func (t *Tensor) Validate() error {
	if t == nil {
		return fmt.Errorf("nil tensor")
	}
	if !t.DType.Valid() {
		return fmt.Errorf("unknown dtype %q (supported: %s)", t.DType, knownDTypes)
	}
	n, err := numElements(t.Shape)
	if err != nil {
		return err
	}
	if n > math.MaxInt/t.DType.Size() {
		return fmt.Errorf("shape %v of %s is too large", t.Shape, t.DType)
	}
	if want := n * t.DType.Size(); len(t.Data) != want {
		return fmt.Errorf("%s tensor of shape %v needs %d bytes of data, has %d", t.DType, t.Shape, want, len(t.Data))
	}
	return nil
}

// Clone returns a deep copy of t whose Data does not alias any file buffer.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{DType: t.DType, Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
}

// String returns a short description such as "F32[1 3 32 32]".
func (t *Tensor) String() string { return fmt.Sprintf("%s%v", t.DType, t.Shape) }

// Float64 returns the elements converted to float64. Every dtype is accepted
// (integers and booleans are converted by value; 64-bit integers beyond 2⁵³ round).
func (t *Tensor) Float64() ([]float64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	n := t.NumElements()
	out := make([]float64, n)
	d := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case F64:
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(d[8*i:]))
		}
	case F32, F16, BF16: // Exact through float32.
		f, err := t.Float32()
		if err != nil {
			return nil, err
		}
		for i, v := range f {
			out[i] = float64(v)
		}
	default:
		ints, err := t.Int64s()
		if err != nil {
			return nil, err
		}
		for i, v := range ints {
			out[i] = float64(v)
		}
	}
	return out, nil
}

// Float32 returns the elements converted to float32. F16 and BF16 convert exactly,
// F64 and 64-bit integers round to the nearest float32, other integers and
// booleans convert by value.
func (t *Tensor) Float32() ([]float32, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	n := t.NumElements()
	out := make([]float32, n)
	d := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(d[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = float16ToFloat32(le.Uint16(d[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = bfloat16ToFloat32(le.Uint16(d[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(d[8*i:])))
		}
	default:
		ints, err := t.Int64s()
		if err != nil {
			return nil, err
		}
		for i, v := range ints {
			out[i] = float32(v)
		}
	}
	return out, nil
}

// Int64s returns the elements of an integer or boolean tensor (I64, I32, U8, I8,
// BOOL) as int64. Floating-point tensors give an error rather than a silent truncation.
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	out := make([]int64, t.NumElements())
	d := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(le.Uint64(d[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(d[4*i:])))
		}
	case U8:
		for i := range out {
			out[i] = int64(d[i])
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(d[i]))
		}
	case BOOL:
		for i := range out {
			if d[i] != 0 {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("Int64s: %s tensor is not an integer tensor; use Float32 or Float64", t.DType)
	}
	return out, nil
}

// Bytes returns a copy of the elements of a U8 or BOOL tensor, one byte per
// element (BOOL elements are normalised to 0 or 1). Use Data for the raw bytes of any dtype.
func (t *Tensor) Bytes() ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	switch t.DType {
	case U8:
		return slices.Clone(t.Data), nil
	case BOOL:
		out := make([]byte, len(t.Data))
		for i, b := range t.Data {
			if b != 0 {
				out[i] = 1
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("Bytes: %s tensor is not U8 or BOOL; use Int64s, Float32 or Float64", t.DType)
}

// Bools returns the elements as booleans (non-zero is true) for integer and BOOL tensors.
func (t *Tensor) Bools() ([]bool, error) {
	ints, err := t.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(ints))
	for i, v := range ints {
		out[i] = v != 0
	}
	return out, nil
}

// FromFloat32 returns an F32 tensor with the given shape and values (both copied).
// A length that does not match the shape is reported by Validate, Encode and Write.
func FromFloat32(shape []int, data []float32) *Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return &Tensor{DType: F32, Shape: slices.Clone(shape), Data: b}
}

// FromFloat64 returns an F64 tensor with the given shape and values (both copied).
func FromFloat64(shape []int, data []float64) *Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return &Tensor{DType: F64, Shape: slices.Clone(shape), Data: b}
}

// FromInt64 returns an I64 tensor with the given shape and values (both copied).
func FromInt64(shape []int, data []int64) *Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return &Tensor{DType: I64, Shape: slices.Clone(shape), Data: b}
}

// FromInt32 returns an I32 tensor with the given shape and values (both copied).
func FromInt32(shape []int, data []int32) *Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return &Tensor{DType: I32, Shape: slices.Clone(shape), Data: b}
}

// FromUint8 returns a U8 tensor with the given shape and values (both copied).
func FromUint8(shape []int, data []uint8) *Tensor {
	return &Tensor{DType: U8, Shape: slices.Clone(shape), Data: slices.Clone(data)}
}

// FromBool returns a BOOL tensor with the given shape and values (both copied).
func FromBool(shape []int, data []bool) *Tensor {
	b := make([]byte, len(data))
	for i, v := range data {
		if v {
			b[i] = 1
		}
	}
	return &Tensor{DType: BOOL, Shape: slices.Clone(shape), Data: b}
}
