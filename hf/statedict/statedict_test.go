package statedict

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/safetensors"
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

// mapSource is a Source over tensors held in memory.
type mapSource map[string]*safetensors.Tensor

func (m mapSource) Names() []string { return slices.Sorted(maps.Keys(m)) }

func (m mapSource) Tensor(name string) (*safetensors.Tensor, error) { return m[name], nil }

// Integer weights are refused with the tensor, its dtype and the fix named; half-precision ones are converted.
func TestLoadRefusesIntegerWeights(t *testing.T) {
	specs := []Spec{{Name: "conv.weight", Kind: Vector, Shape: []int{2}}}
	ints := mapSource{"conv.weight": {DType: safetensors.I32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}}
	_, err := Load(specs, ints, LoadOptions{})
	for _, want := range []string{`"conv.weight"`, "I32", "floating point", "float weights"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("integer weight: error %v does not mention %q", err, want)
		}
	}
	for _, dt := range []safetensors.DType{safetensors.U8, safetensors.BOOL, safetensors.I64} {
		src := mapSource{"conv.weight": {DType: dt, Shape: []int{2}, Data: make([]byte, 2*dt.Size())}}
		if _, err := Load(specs, src, LoadOptions{}); err == nil {
			t.Errorf("%s weight accepted", dt)
		}
	}
	half := mapSource{"conv.weight": {DType: safetensors.BF16, Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x00, 0x40}}}
	ctx, err := Load(specs, half, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := ctx.GetVariableByScopeAndName(ScopeAndName("conv.weight")).Value()
	if got := tensors.MustCopyFlatData[float32](v); !slices.Equal(got, []float32{1, 2}) {
		t.Errorf("BF16 weight loaded as %v, want [1 2]", got)
	}
}
