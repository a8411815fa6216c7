package safetensors

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestGoMLXRoundTrip(t *testing.T) {
	wantDType := map[DType]dtypes.DType{
		F32: dtypes.Float32, F16: dtypes.Float32, BF16: dtypes.Float32, F64: dtypes.Float64,
		I64: dtypes.Int64, I32: dtypes.Int32, U8: dtypes.Uint8, I8: dtypes.Int8, BOOL: dtypes.Bool,
	}
	for name, st := range allDTypes() {
		gt, err := st.ToGoMLX()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if gt.DType() != wantDType[st.DType] || !slices.Equal(gt.Shape().Dimensions, st.Shape) {
			t.Errorf("%s: ToGoMLX gives %s, want %s with dims %v", name, gt.Shape(), wantDType[st.DType], st.Shape)
		}
		back, err := FromGoMLX(gt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.DType == F16 || st.DType == BF16 { // Widened to F32: compare values.
			want, _ := st.Float32()
			got, _ := back.Float32()
			if back.DType != F32 || !slices.Equal(got, want) {
				t.Errorf("%s: back as %v %v, want F32 %v", name, back, got, want)
			}
			continue
		}
		if back.DType != st.DType || !slices.Equal(back.Shape, st.Shape) || !bytes.Equal(back.Data, st.Data) {
			t.Errorf("%s: round trip gives %v % x, want %v % x", name, back, back.Data, st, st.Data)
		}
	}
}

func TestGoMLXValues(t *testing.T) {
	gt, err := FromFloat32([]int{2, 2}, []float32{1, 2, 3, 4}).ToGoMLX()
	if err != nil {
		t.Fatal(err)
	}
	tensors.MustConstFlatData(gt, func(flat []float32) {
		if !slices.Equal(flat, []float32{1, 2, 3, 4}) {
			t.Errorf("GoMLX data = %v", flat)
		}
	})
	// FromGoMLX keeps half-precision types.
	for _, dt := range []dtypes.DType{dtypes.Float16, dtypes.BFloat16} {
		h := tensors.FromShape(shapes.Make(dt, 2))
		if err := h.MutableBytes(func(b []byte) { copy(b, []byte{0x00, 0x3C, 0x80, 0x3F}) }); err != nil {
			t.Fatal(err)
		}
		st, err := FromGoMLX(h)
		if err != nil {
			t.Fatal(err)
		}
		want := map[dtypes.DType]DType{dtypes.Float16: F16, dtypes.BFloat16: BF16}[dt]
		if st.DType != want || !bytes.Equal(st.Data, []byte{0x00, 0x3C, 0x80, 0x3F}) {
			t.Errorf("FromGoMLX(%s) = %v % x", dt, st, st.Data)
		}
	}
	if _, err := FromGoMLX(tensors.FromShape(shapes.Make(dtypes.Uint16, 1))); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("FromGoMLX(Uint16): %v", err)
	}
	if _, err := FromGoMLX(nil); err == nil {
		t.Error("FromGoMLX(nil) succeeded")
	}
	if _, err := FromFloat32([]int{3}, []float32{1}).ToGoMLX(); err == nil {
		t.Error("ToGoMLX of a mis-sized tensor succeeded")
	}
}
