package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/models/guided"
)

// The tiny guided-diffusion model with the P2 checkpoints' switches and its golden outputs from the authors'
// code (models/guided/testdata).
const guidedData = "../../models/guided/testdata"

// guidedInputs writes a safetensors file with golden tensors under new names; rows keeps the first rows of
// each (0: all).
func guidedInputs(t *testing.T, rows int, names map[string]string) string {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(guidedData, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*safetensors.Tensor{}
	for to, from := range names {
		tt, err := f.Tensor(from)
		if err != nil {
			t.Fatal(err)
		}
		c := tt.Clone()
		if rows > 0 && c.Shape[0] > rows {
			c.Data = c.Data[:len(c.Data)/c.Shape[0]*rows]
			c.Shape[0] = rows
		}
		out[to] = c
	}
	path := filepath.Join(t.TempDir(), "in.safetensors")
	if err := safetensors.Write(path, out, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func guidedGolden(t *testing.T, name string, rows int) []float32 {
	t.Helper()
	d := readTensor(t, filepath.Join(guidedData, "golden.safetensors"), name)
	if rows > 0 {
		d = d[:3*32*32*rows]
	}
	return d
}

// TestGuidedContract checks the CLI contract on a guided-diffusion folder: loco eps (x, t → eps with 3
// channels, x0) and loco jvp (x, t, v, u → jvp_eps, vjp_eps, jvp_x0, vjp_x0) against the authors' code.
func TestGuidedContract(t *testing.T) {
	model := filepath.Join(guidedData, "tiny-p2")
	in := guidedInputs(t, 0, map[string]string{"x": "p2/x", "t": "p2/t"})
	out := filepath.Join(t.TempDir(), "eps.safetensors")
	if err := runEps([]string{"--model", model, "--in", in, "--out", out, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	eps, _ := f.Tensor("eps")
	if !slices.Equal(eps.Shape, []int{2, 3, 32, 32}) {
		t.Errorf("eps has shape %v, want [2 3 32 32] (ε only, not the variance channels)", eps.Shape)
	}
	if d := maxDiff(readTensor(t, out, "eps"), guidedGolden(t, "p2/eps", 0)); d > 1e-4 {
		t.Errorf("loco eps differs from the authors' UNetModel by %.3g", d)
	}
	if d := relDiff(readTensor(t, out, "x0"), guidedGolden(t, "p2/x0", 0)); d > 1e-4 {
		t.Errorf("loco eps x0 relative error %.3g", d)
	}
	jin := guidedInputs(t, 1, map[string]string{"x": "p2/x", "t": "p2/t", "v": "p2/v", "u": "p2/u"})
	jout := filepath.Join(t.TempDir(), "jvp.safetensors")
	if err := runJVP([]string{"--model", model, "--in", jin, "--out", jout, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"jvp_eps", "vjp_eps", "jvp_x0", "vjp_x0"} {
		if d := relDiff(readTensor(t, jout, name), guidedGolden(t, "p2/"+name, 0)); d > 1e-4 {
			t.Errorf("loco jvp %s: relative error %.3g", name, d)
		}
	}
}

// TestGuidedWeightsFiles runs loco eps on the bare .pt files with an architecture preset (registered here for
// the tiny configuration, as p2-256 is for the real checkpoints), and on a folder holding the safetensors
// that loco convert writes.
func TestGuidedWeightsFiles(t *testing.T) {
	cfg, err := guided.ReadConfig(filepath.Join(guidedData, "tiny-p2", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := guided.RegisterPreset("p2-tiny-test", cfg); err != nil {
		t.Fatal(err)
	}
	in := guidedInputs(t, 1, map[string]string{"x": "p2/x", "t": "p2/t"})
	want := guidedGolden(t, "p2/eps", 1)
	dir := t.TempDir()
	for _, file := range []string{"tiny-p2-legacy.pt", "tiny-p2-archive.pt"} {
		out := filepath.Join(dir, file+".safetensors")
		if err := runEps([]string{"--model", filepath.Join(guidedData, file), "--arch", "p2-tiny-test", "--in", in, "--out", out}); err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(readTensor(t, out, "eps"), want); d > 1e-4 {
			t.Errorf("%s with --arch: eps differs from the golden by %.3g", file, d)
		}
	}
	err = runEps([]string{"--model", filepath.Join(guidedData, "tiny-p2-legacy.pt"), "--in", in, "--out", filepath.Join(dir, "x")})
	if err == nil || !strings.Contains(err.Error(), "--arch") {
		t.Errorf("a .pt file without --arch: error %v, want one asking for --arch", err)
	}

	// loco convert, then a folder with config.json and the safetensors.
	folder := filepath.Join(dir, "converted")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(folder, "model.safetensors")
	if err := runConvert([]string{filepath.Join(guidedData, "tiny-p2-legacy.pt"), st}); err != nil {
		t.Fatal(err)
	}
	if err := runConvert([]string{filepath.Join(guidedData, "tiny-p2-legacy.pt"), st}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("convert onto an existing file: error %v, want one mentioning --force", err)
	}
	cj, err := os.ReadFile(filepath.Join(guidedData, "tiny-p2", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "config.json"), cj, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "converted.safetensors")
	if err := runEps([]string{"--model", folder, "--in", in, "--out", out}); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(readTensor(t, out, "eps"), want); d > 1e-4 {
		t.Errorf("converted weights: eps differs from the golden by %.3g", d)
	}
}

// TestGuidedEdit runs a short edit end to end (inversion, direction, strip) on the tiny guided model, then
// applies the saved direction.
func TestGuidedEdit(t *testing.T) {
	model := filepath.Join(guidedData, "tiny-p2")
	out := filepath.Join(t.TempDir(), "edit")
	if err := runEdit([]string{"--model", model, "--image", "testimages/fashion-0.png", "--mask-region", "upper",
		"--steps", "10", "--edit-t", "0.5", "--rank", "1", "--null-rank", "2", "--max-iter", "4", "--num-steps", "2", "--vis-num", "1",
		"--no-boost", "--quiet", "--out", out}); err != nil {
		t.Fatal(err)
	}
	x0 := readTensor(t, filepath.Join(out, "strip.safetensors"), "x0_strip")
	n := 3 * 32 * 32
	if len(x0) != 3*n {
		t.Fatalf("strip holds %d values, want 3 images of %d", len(x0), n)
	}
	if d := maxDiff(x0[:n], x0[n:2*n]); d < 1e-3 {
		t.Errorf("the edit changed the image by only %.3g", d)
	}
	aout := filepath.Join(t.TempDir(), "apply")
	if err := runApply([]string{"--model", model, "--direction", filepath.Join(out, "direction.safetensors"), "--image", "testimages/fashion-2.png",
		"--steps", "10", "--edit-t", "0.5", "--num-steps", "1", "--vis-num", "1", "--no-boost", "--quiet", "--out", aout}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(aout, "strip.png")); err != nil {
		t.Error(err)
	}
}
