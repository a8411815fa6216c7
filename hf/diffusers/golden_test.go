package diffusers

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// goldenDirs are the two weight-naming schemes of the golden tiny model (testdata/golden, described by its meta.json).
var goldenDirs = []string{"tiny-ddpm-unet", "tiny-ddpm-unet-legacy-attn-names"}

// goldenTol is the largest max-abs difference to diffusers' float32 output accepted for ε.
const goldenTol = 1e-4

// goldenTime returns the golden time tensor name as float32 values (in/t_int is stored as int64).
func goldenTime(t *testing.T, name string) []float32 {
	t.Helper()
	data, shape := golden(t, name)
	if len(shape) != 1 || len(data) != 1 {
		t.Fatalf("%s has shape %v, want [1]", name, shape)
	}
	return data
}

// epsOf runs m.Eps on a golden input and returns the flat result.
func epsOf(t *testing.T, m *UNet2DModel, x *tensors.Tensor, ts []float32) []float32 {
	t.Helper()
	eps, err := m.Eps(x, ts)
	if err != nil {
		t.Fatal(err)
	}
	if !eps.Shape().Equal(x.Shape()) {
		t.Fatalf("Eps returned shape %s for input %s", eps.Shape(), x.Shape())
	}
	return tensors.MustCopyFlatData[float32](eps)
}

// TestGoldenEpsIntTime feeds float(t_int) = 595 and compares with diffusers' eps_t_int. That output differs from
// eps_t_float (t = 595.36359) by about 0.016, far above the tolerance: matching both shows the UNet receives the
// fractional time unrounded.
func TestGoldenEpsIntTime(t *testing.T) {
	wantInt, _ := golden(t, "out/eps_t_int")
	wantFloat, _ := golden(t, "out/eps_t_float")
	tInt, tFloat := goldenTime(t, "in/t_int"), goldenTime(t, "in/t_float")
	if tInt[0] != 595 || math.Abs(float64(tFloat[0])-595.36359) > 1e-4 {
		t.Fatalf("golden times are %v and %v, want 595 and 595.36359", tInt, tFloat)
	}
	if d := maxAbsErr(wantInt, wantFloat); d < 0.01 || d > 0.03 {
		t.Fatalf("golden eps_t_int and eps_t_float differ by %.3g, the README says about 0.016", d)
	}
	xt := goldenTensor(t, "in/xt")
	for _, dir := range goldenDirs {
		m := loadTiny(t, dir)
		gotInt := epsOf(t, m, xt, tInt)
		if d := maxAbsErr(gotInt, wantInt); d > goldenTol {
			t.Errorf("%s: eps at t = %v differs from diffusers' eps_t_int by %.3g", dir, tInt[0], d)
		}
		gotFloat := epsOf(t, m, xt, tFloat)
		if d := maxAbsErr(gotFloat, wantFloat); d > goldenTol {
			t.Errorf("%s: eps at t = %v differs from diffusers' eps_t_float by %.3g", dir, tFloat[0], d)
		}
		if d := maxAbsErr(gotInt, gotFloat); d < 0.01 {
			t.Errorf("%s: eps at t = 595 and t = 595.36359 differ by only %.3g (diffusers: 0.016): is t rounded?", dir, d)
		}
		t.Logf("%s: eps(t_int) max-abs error %.3g, eps(t_float) %.3g", dir, maxAbsErr(gotInt, wantInt), maxAbsErr(gotFloat, wantFloat))
	}
}

// TestGoldenBatch2 runs the batch [xt, x0] at one time, given once and once per sample.
func TestGoldenBatch2(t *testing.T) {
	want, wantShape := golden(t, "out/eps_batch2")
	if fmt.Sprint(wantShape) != "[2 3 32 32]" {
		t.Fatalf("golden eps_batch2 has shape %v", wantShape)
	}
	xt, _ := golden(t, "in/xt")
	x0, _ := golden(t, "in/x0")
	x := tensors.FromFlatDataAndDimensions(append(append([]float32{}, xt...), x0...), 2, 3, 32, 32)
	tf := goldenTime(t, "in/t_float")
	for _, dir := range goldenDirs {
		m := loadTiny(t, dir)
		for _, ts := range [][]float32{tf, {tf[0], tf[0]}} {
			got := epsOf(t, m, x, ts)
			if d := maxAbsErr(got, want); d > goldenTol {
				t.Errorf("%s: batch [xt, x0] with t = %v: eps differs from diffusers' eps_batch2 by %.3g", dir, ts, d)
			}
		}
		// Row 0 of the batch is the single-sample result: the samples do not interact.
		single, _ := golden(t, "out/eps_t_float")
		if d := maxAbsErr(want[:len(single)], single); d > 1e-5 {
			t.Errorf("golden eps_batch2[0] differs from eps_t_float by %.3g", d)
		}
	}
}

// TestGoldenLegacyNamesIdentical checks that both naming schemes load into the same model, bit for bit.
func TestGoldenLegacyNamesIdentical(t *testing.T) {
	xt := goldenTensor(t, "in/xt")
	ts := goldenTime(t, "in/t_float")
	a := epsOf(t, loadTiny(t, goldenDirs[0]), xt, ts)
	b := epsOf(t, loadTiny(t, goldenDirs[1]), xt, ts)
	if d := maxAbsErr(a, b); d != 0 {
		t.Errorf("the two weight-naming schemes give outputs %.3g apart, want identical", d)
	}
}
