package diffusers

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestEpsRejectsBadInput(t *testing.T) {
	m := loadTiny(t, "tiny-ddpm-unet")
	f32 := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		return tensors.FromFlatDataAndDimensions(make([]float32, n), dims...)
	}
	for _, c := range []struct {
		what string
		x    *tensors.Tensor
		t    []float32
		want []string
	}{
		{"4 channels", f32(1, 4, 32, 32), []float32{10}, []string{"4 channels", "in_channels = 3", "NCHW"}},
		{"NHWC instead of NCHW", f32(1, 32, 32, 3), []float32{10}, []string{"32 channels", "in_channels = 3", "NCHW"}},
		{"rank 3", f32(3, 32, 32), []float32{10}, []string{"rank 3", "NCHW"}},
		{"odd size", f32(1, 3, 31, 32), []float32{10}, []string{"31x32", "multiples of 2"}},
		{"empty batch", f32(0, 3, 32, 32), []float32{}, []string{"batch size 0"}},
		{"too many times", f32(2, 3, 32, 32), []float32{1, 2, 3}, []string{"3 time values", "batch of 2"}},
		{"no time", f32(2, 3, 32, 32), nil, []string{"0 time values"}},
		{"NaN time", f32(1, 3, 32, 32), []float32{float32(math.NaN())}, []string{"t[0]", "NaN", "finite"}},
		{"far time", f32(1, 3, 32, 32), []float32{1e20}, []string{"t[0] = 1e+20 is outside [0, 100000]", "training steps"}},
		{"negative time", f32(2, 3, 32, 32), []float32{5, -1}, []string{"t[1] = -1 is outside"}},
		{"float64 input", tensors.FromFlatDataAndDimensions(make([]float64, 3*32*32), 1, 3, 32, 32), []float32{1}, []string{"Float64", "float32"}},
		{"nil input", nil, []float32{1}, []string{"x is nil"}},
	} {
		out, err := m.Eps(c.x, c.t)
		if err == nil {
			t.Errorf("%s: accepted, returned %s", c.what, out.Shape())
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.what, err, w)
			}
		}
	}
	var zero *UNet2DModel
	if _, err := zero.Eps(f32(1, 3, 32, 32), []float32{1}); err == nil || !strings.Contains(err.Error(), "not initialised") {
		t.Errorf("nil model: got %v", err)
	}
	if _, err := (&UNet2DModel{}).Eps(f32(1, 3, 32, 32), []float32{1}); err == nil {
		t.Errorf("zero model: no error")
	}
}

// TestEpsSizesAndConcurrency runs sizes other than the native one (any multiple of 2^(levels−1)) and concurrent
// calls: the compiled graphs are cached per shape and shared.
func TestEpsSizesAndConcurrency(t *testing.T) {
	m := loadTiny(t, "tiny-ddpm-unet")
	xt := goldenTensor(t, "in/xt")
	ts := goldenTime(t, "in/t_float")
	want := epsOf(t, m, xt, ts)
	for _, dims := range [][]int{{1, 3, 16, 48}, {3, 3, 2, 2}} {
		n := dims[0] * dims[1] * dims[2] * dims[3]
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)))
		}
		eps, err := m.Eps(tensors.FromFlatDataAndDimensions(x, dims...), []float32{500})
		if err != nil {
			t.Fatalf("%v: %v", dims, err)
		}
		if !eps.Shape().Equal(tensors.FromFlatDataAndDimensions(x, dims...).Shape()) {
			t.Errorf("%v: output %s", dims, eps.Shape())
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	diffs := make([]float64, 4)
	for i := range errs {
		wg.Go(func() {
			eps, err := m.Eps(xt, ts)
			if err != nil {
				errs[i] = err
				return
			}
			diffs[i] = maxAbsErr(tensors.MustCopyFlatData[float32](eps), want)
		})
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Errorf("concurrent call %d: %v", i, errs[i])
		} else if diffs[i] != 0 {
			t.Errorf("concurrent call %d differs by %.3g", i, diffs[i])
		}
	}
}
