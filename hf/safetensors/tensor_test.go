package safetensors

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestConstructorsAndConversions(t *testing.T) {
	f32 := FromFloat32([]int{2, 2}, []float32{1.5, -2, 0.25, 3})
	if f32.DType != F32 || f32.NumElements() != 4 || len(f32.Data) != 16 {
		t.Fatalf("FromFloat32: got %v with %d bytes", f32, len(f32.Data))
	}
	// 1.5 = 0x3FC00000, little-endian.
	if !slices.Equal(f32.Data[:4], []byte{0x00, 0x00, 0xC0, 0x3F}) {
		t.Errorf("FromFloat32 bytes = % x, want 00 00 c0 3f", f32.Data[:4])
	}
	if got, _ := f32.Float64(); !slices.Equal(got, []float64{1.5, -2, 0.25, 3}) {
		t.Errorf("F32.Float64() = %v", got)
	}
	if _, err := f32.Int64s(); err == nil {
		t.Error("F32.Int64s() succeeded, want an error")
	}

	f64 := FromFloat64([]int{3}, []float64{1.0 / 3, 1e300, -0.5})
	got32, err := f64.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if got32[0] != float32(1.0/3) || !math.IsInf(float64(got32[1]), 1) || got32[2] != -0.5 {
		t.Errorf("F64.Float32() = %v", got32)
	}

	i64 := FromInt64([]int{3}, []int64{-7, 0, 1 << 40})
	if got, _ := i64.Int64s(); !slices.Equal(got, []int64{-7, 0, 1 << 40}) {
		t.Errorf("I64.Int64s() = %v", got)
	}
	if got, _ := i64.Float32(); !slices.Equal(got, []float32{-7, 0, 1 << 40}) {
		t.Errorf("I64.Float32() = %v", got)
	}

	i32 := FromInt32([]int{2}, []int32{-3, 1 << 30})
	if got, _ := i32.Int64s(); !slices.Equal(got, []int64{-3, 1 << 30}) {
		t.Errorf("I32.Int64s() = %v", got)
	}

	i8 := &Tensor{DType: I8, Shape: []int{3}, Data: []byte{0xFF, 0x80, 5}}
	if got, _ := i8.Int64s(); !slices.Equal(got, []int64{-1, -128, 5}) {
		t.Errorf("I8.Int64s() = %v", got)
	}
	if _, err := i8.Bytes(); err == nil {
		t.Error("I8.Bytes() succeeded, want an error")
	}

	u8 := FromUint8([]int{1, 3}, []uint8{0, 200, 255})
	if got, _ := u8.Float32(); !slices.Equal(got, []float32{0, 200, 255}) {
		t.Errorf("U8.Float32() = %v", got)
	}
	b, _ := u8.Bytes()
	b[0] = 9
	if u8.Data[0] != 0 {
		t.Error("Bytes() returned the tensor's own buffer, want a copy")
	}

	bl := FromBool([]int{3}, []bool{true, false, true})
	if got, _ := bl.Bytes(); !slices.Equal(got, []byte{1, 0, 1}) {
		t.Errorf("BOOL.Bytes() = %v", got)
	}
	if got, _ := bl.Bools(); !slices.Equal(got, []bool{true, false, true}) {
		t.Errorf("BOOL.Bools() = %v", got)
	}

	f16 := &Tensor{DType: F16, Shape: []int{2}, Data: []byte{0x00, 0x3C, 0x00, 0xC0}} // 1, -2
	if got, _ := f16.Float32(); !slices.Equal(got, []float32{1, -2}) {
		t.Errorf("F16.Float32() = %v", got)
	}
	bf16 := &Tensor{DType: BF16, Shape: []int{2}, Data: []byte{0x49, 0x40, 0x80, 0x3F}} // 3.140625, 1
	if got, _ := bf16.Float64(); !slices.Equal(got, []float64{3.140625, 1}) {
		t.Errorf("BF16.Float64() = %v", got)
	}

	scalar := FromFloat32(nil, []float32{7})
	if scalar.NumElements() != 1 || scalar.Validate() != nil {
		t.Errorf("scalar: NumElements %d, Validate %v", scalar.NumElements(), scalar.Validate())
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		t    *Tensor
		want string
	}{
		{"nil", nil, "nil tensor"},
		{"dtype", &Tensor{DType: "F8", Shape: []int{1}, Data: []byte{0}}, "unknown dtype"},
		{"negative", &Tensor{DType: U8, Shape: []int{-1}}, "negative"},
		{"overflow", &Tensor{DType: F32, Shape: []int{1 << 40, 1 << 40}}, "overflows"},
		{"size", FromFloat32([]int{2, 3}, []float32{1, 2}), "needs 24 bytes of data, has 8"},
	}
	for _, c := range cases {
		err := c.t.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if n := (&Tensor{DType: U8, Shape: []int{2, -1}}).NumElements(); n != -1 {
		t.Errorf("NumElements with a negative dim = %d, want -1", n)
	}
	if _, err := FromFloat32([]int{3}, []float32{1}).Float32(); err == nil {
		t.Error("Float32 of a mis-sized tensor succeeded")
	}
}

func TestDTypeSizes(t *testing.T) {
	want := map[DType]int{F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, I8: 1, BOOL: 1, "F8_E4M3": 0, "": 0}
	for d, n := range want {
		if d.Size() != n || d.Valid() != (n > 0) {
			t.Errorf("%q: Size %d Valid %v, want %d", d, d.Size(), d.Valid(), n)
		}
	}
}
