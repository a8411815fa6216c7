package safetensors

// DType is a safetensors element type, spelled as in the file header ("F32", "BF16", ...).
type DType string

// The element types this package reads and writes.
const (
	F32  DType = "F32"  // IEEE-754 binary32.
	F16  DType = "F16"  // IEEE-754 binary16 (half precision).
	BF16 DType = "BF16" // bfloat16: the top 16 bits of a binary32.
	F64  DType = "F64"  // IEEE-754 binary64.
	I64  DType = "I64"  // Signed 64-bit integer.
	I32  DType = "I32"  // Signed 32-bit integer.
	U8   DType = "U8"   // Unsigned 8-bit integer.
	I8   DType = "I8"   // Signed 8-bit integer.
	BOOL DType = "BOOL" // Boolean stored as one byte (0 or 1).
)

// Size returns the number of bytes of one element of type d, or 0 if d is not a known dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16:
		return 2
	case U8, I8, BOOL:
		return 1
	}
	return 0
}

// Valid reports whether d is one of the dtypes this package supports.
func (d DType) Valid() bool { return d.Size() > 0 }

// IsFloat reports whether d is a floating-point dtype (F32, F16, BF16, F64): the dtypes of model weights.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// String returns the dtype's name as written in safetensors headers.
func (d DType) String() string { return string(d) }

// knownDTypes lists the supported dtypes, for error messages.
const knownDTypes = "F32, F16, BF16, F64, I64, I32, U8, I8, BOOL"
