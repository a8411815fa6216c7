package safetensors

import (
	"math"
	"testing"

	"github.com/x448/float16"
)

func TestFloat16KnownBits(t *testing.T) {
	cases := []struct {
		h    uint16
		want uint32 // float32 bits
	}{
		{0x3C00, 0x3F800000}, // 1
		{0xC000, 0xC0000000}, // -2
		{0x3800, 0x3F000000}, // 0.5
		{0x3555, 0x3EAAA000}, // 0.33325195
		{0x7BFF, 0x477FE000}, // 65504, largest finite
		{0x0400, 0x38800000}, // 2^-14, smallest normal
		{0x03FF, 0x387FC000}, // largest subnormal, 1023·2^-24
		{0x0001, 0x33800000}, // 2^-24, smallest subnormal
		{0x8001, 0xB3800000}, // -2^-24
		{0x0000, 0x00000000}, // +0
		{0x8000, 0x80000000}, // -0
		{0x7C00, 0x7F800000}, // +Inf
		{0xFC00, 0xFF800000}, // -Inf
		{0x7E01, 0x7FC02000}, // NaN, payload kept
	}
	for _, c := range cases {
		if got := math.Float32bits(float16ToFloat32(c.h)); got != c.want {
			t.Errorf("float16ToFloat32(%#04x) = %#08x (%g), want %#08x (%g)",
				c.h, got, math.Float32frombits(got), c.want, math.Float32frombits(c.want))
		}
	}
}

// TestFloat16Exhaustive compares all 65536 half-precision values with an independent implementation.
func TestFloat16Exhaustive(t *testing.T) {
	for h := range 1 << 16 {
		got := float16ToFloat32(uint16(h))
		want := float16.Frombits(uint16(h)).Float32()
		if math.IsNaN(float64(want)) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("float16ToFloat32(%#04x) = %g, want NaN", h, got)
			}
			continue
		}
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("float16ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestBFloat16KnownBits(t *testing.T) {
	cases := []struct {
		b    uint16
		want float32
	}{
		{0x3F80, 1},
		{0xC000, -2},
		{0x4049, 3.140625},
		{0x7F7F, 3.3895314e38},
		{0x0001, math.Float32frombits(0x00010000)}, // smallest subnormal
		{0x7F80, float32(math.Inf(1))},
		{0xFF80, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := bfloat16ToFloat32(c.b); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("bfloat16ToFloat32(%#04x) = %g, want %g", c.b, got, c.want)
		}
	}
	if got := bfloat16ToFloat32(0x7FC0); !math.IsNaN(float64(got)) {
		t.Errorf("bfloat16ToFloat32(0x7FC0) = %g, want NaN", got)
	}
}
