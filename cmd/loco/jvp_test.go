package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestVJPEpsAdjoint checks vjp_eps of loco jvp on the UNet kinds (diffusers and guided-diffusion) through the
// adjoint identity ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ with jvp_eps from the same run.
func TestVJPEpsAdjoint(t *testing.T) {
	diffIn := goldenInputs(t, map[string]string{"x": "in/xt", "t": "in/t_float", "v": "in/jvp_dir", "u": "in/vjp_dir"})
	for _, c := range []struct{ name, model, in string }{
		{"diffusers", filepath.Join(golden, "tiny-ddpm-unet"), diffIn},
		{"guided", filepath.Join(guidedData, "tiny-p2"), guidedInputs(t, 1, map[string]string{"x": "p2/x", "t": "p2/t", "v": "p2/v", "u": "p2/u"})},
	} {
		out := filepath.Join(t.TempDir(), "jvp.safetensors")
		if err := runJVP([]string{"--model", c.model, "--in", c.in, "--out", out}); err != nil {
			t.Fatal(err)
		}
		u, v := readTensor(t, c.in, "u"), readTensor(t, c.in, "v")
		a, b := dot(u, readTensor(t, out, "jvp_eps")), dot(readTensor(t, out, "vjp_eps"), v)
		if math.Abs(a-b) > 1e-4*math.Abs(a) {
			t.Errorf("%s: ⟨u, J·v⟩ = %.6g but ⟨Jᵀ·u, v⟩ = %.6g", c.name, a, b)
		}
	}
}

func TestLPIPSCommandErrors(t *testing.T) {
	t.Setenv("LOCO_LPIPS_WEIGHTS", "")
	if err := runLPIPS([]string{"testimages/fashion-0.png"}); err == nil || !strings.Contains(err.Error(), "reference image and at least one") {
		t.Errorf("one image: error %v", err)
	}
	if err := runLPIPS([]string{"testimages/fashion-0.png", "testimages/fashion-1.png"}); err == nil || !strings.Contains(err.Error(), "--lpips-weights") {
		t.Errorf("no weights: error %v, want one mentioning --lpips-weights", err)
	}
	if err := runLPIPS([]string{"--lpips-weights", t.TempDir(), "testimages/fashion-0.png", "testimages/fashion-1.png"}); err == nil || !strings.Contains(err.Error(), "alexnet") {
		t.Errorf("empty weights folder: error %v, want one naming the AlexNet file", err)
	}
}
