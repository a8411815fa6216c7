package statedict

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// TestLayoutConversion checks the element mapping of the PyTorch → local layouts directly: conv kernels
// [o,i,kh,kw] → [kh,kw,i,o], linear weights [out,in] → [in,out], vectors unchanged; and the inverse.
func TestLayoutConversion(t *testing.T) {
	for _, spec := range []Spec{
		{Name: "a.conv.weight", Kind: Conv, Shape: []int{5, 3, 3, 2}},
		{Name: "a.linear.weight", Kind: Linear, Shape: []int{4, 7}},
		{Name: "a.norm.bias", Kind: Vector, Shape: []int{6}},
	} {
		n := spec.Size()
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i + 1)
		}
		ctx := context.New()
		setVariable(ctx, spec, data)
		scope, leaf := ScopeAndName(spec.Name)
		v := ctx.GetVariableByScopeAndName(scope, leaf)
		if v == nil {
			t.Fatalf("%s: not stored", spec.Name)
		}
		value, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		if value.DType() != dtypes.Float32 || !slices.Equal(value.Shape().Dimensions, spec.LocalShape()) {
			t.Fatalf("%s: stored as %s, want float32%v", spec.Name, value.Shape(), spec.LocalShape())
		}
		if back := PyTorchShape(spec.Kind, spec.LocalShape()); !slices.Equal(back, spec.Shape) {
			t.Errorf("%s: shape %v → %v → %v", spec.Name, spec.Shape, spec.LocalShape(), back)
		}
		local := tensors.MustCopyFlatData[float32](value)
		s := spec.Shape
		for i, got := range local {
			var want float32
			switch spec.Kind {
			case Conv: // local [kh,kw,i,o]
				kw, in, o := s[3], s[1], s[0]
				oi, ii, x, y := i%o, (i/o)%in, (i/(o*in))%kw, i/(o*in*kw)
				want = data[((oi*in+ii)*s[2]+y)*s[3]+x]
			case Linear: // local [in,out]
				out := s[0]
				oi, ii := i%out, i/out
				want = data[oi*s[1]+ii]
			default:
				want = data[i]
			}
			if got != want {
				t.Fatalf("%s: local element %d = %v, want %v", spec.Name, i, got, want)
			}
		}
		if back := ConvertLayout(spec, local, false); !slices.Equal(back, data) {
			t.Errorf("%s: ConvertLayout(…, false) does not invert setVariable", spec.Name)
		}
	}
}
