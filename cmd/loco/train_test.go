package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// TestTrainCommand trains the tiny preset for two steps on a folder of PNGs, then runs `loco eps` on the
// folder it wrote.
func TestTrainCommand(t *testing.T) {
	data := t.TempDir()
	for i := range 4 {
		img := image.NewGray(image.Rect(0, 0, 20, 20))
		for y := 4; y < 12+i; y++ {
			for x := 3 + i; x < 15; x++ {
				img.SetGray(x, y, color.Gray{Y: 220})
			}
		}
		f, err := os.Create(filepath.Join(data, "img"+string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"--config", "tiny", "--data", data, "--steps", "2", "--batch", "2", "--log-every", "1",
		"--sample-count", "2", "--sample-steps", "2", "--out", out, "--quiet"}
	if err := runTrain(args); err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(out, "loss.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "step,loss") {
		t.Errorf("loss.csv:\n%s", csv)
	}
	if err := runTrain(args); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("training into the same folder again: err = %v, want a refusal", err)
	}
	in := filepath.Join(t.TempDir(), "in.safetensors")
	x := make([]float32, 256)
	if err := safetensors.Write(in, map[string]*safetensors.Tensor{
		"x": safetensors.FromFloat32([]int{1, 1, 16, 16}, x), "t": safetensors.FromFloat32([]int{1}, []float32{500}),
	}, nil); err != nil {
		t.Fatal(err)
	}
	eps := filepath.Join(t.TempDir(), "eps.safetensors")
	if err := runEps([]string{"--model", out, "--in", in, "--out", eps, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	if got := readTensor(t, eps, "eps"); len(got) != 256 {
		t.Errorf("loco eps on the trained model returned %d values", len(got))
	}
	for _, bad := range [][]string{{"--config", "tiny", "--data", data}, {"--config", "nope", "--out", out + "2"}, {"--config", "tiny", "--data", data, "--out", out + "3", "--batch", "0"}} {
		if err := runTrain(bad); err == nil {
			t.Errorf("loco train %v: no error", bad)
		}
	}
}
