package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

const golden = "../../testdata/golden"

func readTensor(t *testing.T, path, name string) []float32 {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tt, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// goldenInputs writes a safetensors file with golden tensors under new names.
func goldenInputs(t *testing.T, names map[string]string) string {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(golden, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*safetensors.Tensor{}
	for to, from := range names {
		tt, err := f.Tensor(from)
		if err != nil {
			t.Fatal(err)
		}
		out[to] = tt.Clone()
	}
	path := filepath.Join(t.TempDir(), "in.safetensors")
	if err := safetensors.Write(path, out, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEpsAndJVPCommandsMatchGolden(t *testing.T) {
	model := filepath.Join(golden, "tiny-ddpm-unet-legacy-attn-names")
	in := goldenInputs(t, map[string]string{"x": "in/xt", "t": "in/t_float", "v": "in/jvp_dir", "u": "in/vjp_dir"})
	out := filepath.Join(t.TempDir(), "eps.safetensors")
	if err := runEps([]string{"--model", model, "--in", in, "--out", out}); err != nil {
		t.Fatal(err)
	}
	gold := filepath.Join(golden, "golden.safetensors")
	if d := maxDiff(readTensor(t, out, "eps"), readTensor(t, gold, "out/eps_t_float")); d > 1e-4 {
		t.Errorf("loco eps differs from diffusers by %.3g", d)
	}
	if err := runEps([]string{"--model", model, "--in", in, "--out", out}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("rerun without --force: error %v, want one mentioning --force", err)
	}
	jout := filepath.Join(t.TempDir(), "jvp.safetensors")
	if err := runJVP([]string{"--model", model, "--in", in, "--out", jout}); err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]string{"jvp_x0": "out/jvp_x0", "vjp_x0": "out/vjp_x0", "jvp_eps": "out/jvp_eps"} {
		if d := maxDiff(readTensor(t, jout, name), readTensor(t, gold, ref)); d > 1e-4 {
			t.Errorf("loco jvp %s differs from the golden by %.3g", name, d)
		}
	}
}

func TestBadInputErrors(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "1")
	dir := t.TempDir()
	in := goldenInputs(t, map[string]string{"x": "in/xt", "t": "in/t_float"})
	din := goldenInputs(t, map[string]string{"x": "loco/xt_edit", "t": "loco/t_edit", "mask": "in/mask"})
	model := filepath.Join(golden, "tiny-ddpm-unet")
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"unknown model", runEps([]string{"--model", "no-such-model", "--in", in, "--out", filepath.Join(dir, "a")}), "fashion-molrg-32"},
		{"wrong shape", runEps([]string{"--in", in, "--out", filepath.Join(dir, "b")}), "wants [B,1,32,32]"},
		{"missing output folder", runEps([]string{"--in", in, "--out", filepath.Join(dir, "no", "c")}), "does not exist"},
		{"mask region", runEdit([]string{"--image", "testimages/fashion-0.png", "--mask-region", "middle", "--out", filepath.Join(dir, "d")}), "--mask-region"},
		{"two masks", runEdit([]string{"--image", "testimages/fashion-0.png", "--mask-region", "upper", "--mask-rect", "0,0,4,4", "--out", filepath.Join(dir, "e")}), "exactly one mask"},
		{"mask of another model", runDirection([]string{"--in", din, "--out", filepath.Join(dir, "f")}), "wants [B,1,32,32]"},
		{"rank too large", runDirection([]string{"--model", model, "--in", din, "--rank", "200", "--out", filepath.Join(dir, "h")}), "larger than the 144 masked"},
		{"bad stop rule", runDirection([]string{"--model", model, "--in", din, "--stop", "never", "--out", filepath.Join(dir, "i")}), "unknown stop rule"},
		{"empty mask", runEdit([]string{"--image", "testimages/fashion-0.png", "--mask-rect", "3,3,3,3", "--out", filepath.Join(dir, "g")}), "empty"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, c.err, c.want)
		}
	}
}

// TestDemo runs the main job in quick mode and checks its outputs and the paper's claim on locality.
func TestDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	if err := runDemo([]string{"--out", out, "--quick", "--quiet"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "strip.png", "strip-no-projection.png", "direction.png", "direction.safetensors", "rank-vs-t.png", "linearity.png", "rank-vs-t.csv"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
	report, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(report), "with null-space projection") {
		t.Errorf("report lacks the edit table:\n%s", report)
	}
	if err := runDemo([]string{"--out", out, "--quick", "--quiet"}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("demo rerun into the same folder: error %v, want a refusal mentioning --force", err)
	}
	// Transfer the saved direction to another image.
	aout := filepath.Join(t.TempDir(), "apply")
	if err := runApply([]string{"--direction", filepath.Join(out, "direction.safetensors"), "--image", "testimages/fashion-2.png",
		"--edit-t", "0.5", "--out", aout, "--quiet", "--no-boost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(aout, "strip.png")); err != nil {
		t.Error(err)
	}
	// A composition of the direction with itself at opposite strengths returns to the original.
	cout := filepath.Join(t.TempDir(), "compose")
	d := filepath.Join(out, "direction.safetensors")
	if err := runApply([]string{"--direction", d + ":4," + d + ":-4", "--image", "testimages/fashion-2.png",
		"--edit-t", "0.5", "--out", cout, "--quiet", "--no-boost"}); err != nil {
		t.Fatal(err)
	}
	x0 := readTensor(t, filepath.Join(cout, "strip.safetensors"), "x0_strip")
	n := len(x0) / 3
	if dd := maxDiff(x0[:n], x0[2*n:]); dd > 1e-3 {
		t.Errorf("composition +4v −4v differs from the original by %.3g", dd)
	}
	if dd := maxDiff(x0[:n], x0[n:2*n]); dd < 1e-2 {
		t.Errorf("composition +4v changed the image by only %.3g", dd)
	}
}
