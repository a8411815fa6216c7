package safetensors

import "math"

// float16ToFloat32 converts IEEE-754 binary16 bits to a float32. The conversion is exact:
// subnormals, infinities and NaN payloads are preserved.
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN.
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // Normal number: rebias the exponent from 15 to 127.
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // Signed zero.
		return math.Float32frombits(sign)
	}
	// Subnormal: mant × 2⁻²⁴, exactly representable as a normal float32.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// bfloat16ToFloat32 converts bfloat16 bits (the top half of a binary32) to a float32.
func bfloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}
