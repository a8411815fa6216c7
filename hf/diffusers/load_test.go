package diffusers

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// tinyTensors returns a copy of the golden tiny model's tensors (new attention names).
func tinyTensors(t *testing.T) map[string]*safetensors.Tensor {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(goldenDir, "tiny-ddpm-unet", "diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*safetensors.Tensor{}
	for _, n := range f.Names() {
		tt, err := f.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = tt.Clone()
	}
	return out
}

// writeModelDir writes a diffusers model folder (config.json + diffusion_pytorch_model.safetensors) to a
// temporary directory; config nil means the golden tiny model's config.
func writeModelDir(t *testing.T, config []byte, weights map[string]*safetensors.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	if config == nil {
		var err error
		if config, err = os.ReadFile(filepath.Join(goldenDir, "tiny-ddpm-unet", "config.json")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	if weights != nil {
		if err := safetensors.Write(filepath.Join(dir, "diffusion_pytorch_model.safetensors"), weights, nil); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadMustFail loads dir and checks that the error mentions every one of want.
func loadMustFail(t *testing.T, what, dir string, want ...string) {
	t.Helper()
	m, err := LoadUNet2D(dir)
	if err == nil {
		t.Errorf("%s: loaded a model (%d blocks) instead of failing", what, len(m.Config.BlockOutChannels))
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

func TestLoadRejectsBrokenWeights(t *testing.T) {
	const victim = "down_blocks.1.resnets.0.conv1.weight" // [64, 32, 3, 3]

	missing := tinyTensors(t)
	delete(missing, victim)
	loadMustFail(t, "missing tensor", writeModelDir(t, nil, missing), victim, "missing", "[64 32 3 3]")

	missingAttn := tinyTensors(t)
	delete(missingAttn, "mid_block.attentions.0.to_k.bias")
	loadMustFail(t, "missing attention tensor", writeModelDir(t, nil, missingAttn), "mid_block.attentions.0.to_k.bias", "missing")

	wrongShape := tinyTensors(t)
	wrongShape[victim] = safetensors.FromFloat32([]int{64, 32, 1, 9}, make([]float32, 64*32*9)) // same size, wrong shape
	loadMustFail(t, "wrong shape", writeModelDir(t, nil, wrongShape), victim, "[64 32 1 9]", "[64 32 3 3]")

	extra := tinyTensors(t)
	extra["down_blocks.1.resnets.0.extra.weight"] = safetensors.FromFloat32([]int{2}, []float32{1, 2})
	extra["mid_block.attentions.1.to_q.weight"] = safetensors.FromFloat32([]int{1}, []float32{1})
	loadMustFail(t, "extra tensors", writeModelDir(t, nil, extra), "2 tensors are not used",
		"down_blocks.1.resnets.0.extra.weight", "mid_block.attentions.1.to_q.weight")

	// A float64 tensor is converted, not rejected: the model is the same.
	f64 := tinyTensors(t)
	vals, err := f64[victim].Float32()
	if err != nil {
		t.Fatal(err)
	}
	vals64 := make([]float64, len(vals))
	for i, v := range vals {
		vals64[i] = float64(v)
	}
	f64[victim] = safetensors.FromFloat64(f64[victim].Shape, vals64)
	m64, err := LoadUNet2D(writeModelDir(t, nil, f64))
	if err != nil {
		t.Fatalf("float64 weight: %v", err)
	}
	xt, ts := goldenTensor(t, "in/xt"), goldenTime(t, "in/t_float")
	if d := maxAbsErr(epsOf(t, m64, xt, ts), epsOf(t, loadTiny(t, "tiny-ddpm-unet"), xt, ts)); d != 0 {
		t.Errorf("float64 copy of %s changes the output by %.3g", victim, d)
	}

	// Weights of a different configuration: the config promises 3 layers per block.
	cfg := strings.Replace(string(readTinyConfig(t)), `"layers_per_block": 2`, `"layers_per_block": 3`, 1)
	loadMustFail(t, "config/weights mismatch", writeModelDir(t, []byte(cfg), tinyTensors(t)), "missing", "do not match config.json")

	loadMustFail(t, "no weights file", writeModelDir(t, nil, nil), "diffusion_pytorch_model.safetensors")

	dir := writeModelDir(t, nil, tinyTensors(t))
	if err := os.WriteFile(filepath.Join(dir, "diffusion_pytorch_model.safetensors"), []byte("not a safetensors file"), 0o644); err != nil {
		t.Fatal(err)
	}
	loadMustFail(t, "corrupt weights file", dir, "diffusion_pytorch_model.safetensors")
}

func readTinyConfig(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, "tiny-ddpm-unet", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadRejectsBrokenConfig(t *testing.T) {
	cfg := string(readTinyConfig(t))
	weights := tinyTensors(t)
	for _, c := range []struct {
		what   string
		config string
		want   []string
	}{
		{"unknown block type", strings.Replace(cfg, `"AttnDownBlock2D"`, `"CrossAttnDownBlock2D"`, 1),
			[]string{"config.json", "down_block_types[1]", "CrossAttnDownBlock2D", "supported: DownBlock2D, AttnDownBlock2D"}},
		{"corrupt JSON", cfg[:len(cfg)-20], []string{"config.json", "parsing UNet2DModel config.json"}},
		{"empty file", "", []string{"config.json", "parsing"}},
		{"class-conditional", strings.Replace(cfg, `"num_class_embeds": null`, `"num_class_embeds": 10`, 1),
			[]string{"num_class_embeds", "not supported"}},
	} {
		loadMustFail(t, c.what, writeModelDir(t, []byte(c.config), weights), c.want...)
	}
	dir := t.TempDir()
	loadMustFail(t, "missing config.json", dir, "config.json")
}

// TestStateDictRoundTrip exports the loaded golden model back to PyTorch layout and compares it with the file,
// bit for bit: the OIHW→HWIO (conv) and [out,in]→[in,out] (linear) conversions invert exactly. The legacy
// attention names map to the new ones.
func TestStateDictRoundTrip(t *testing.T) {
	want := tinyTensors(t)
	for _, dir := range goldenDirs {
		m := loadTiny(t, dir)
		got, err := m.StateDict()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%s: StateDict has %d tensors, the file %d", dir, len(got), len(want))
		}
		kinds := map[string]int{}
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Errorf("%s: StateDict lacks %s", dir, name)
				continue
			}
			if g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || string(g.Data) != string(w.Data) {
				t.Errorf("%s: %s round-trips to %s, file has %s (or the values differ)", dir, name, g, w)
			}
			kinds[fmt.Sprint(len(w.Shape))]++
		}
		if kinds["4"] == 0 || kinds["2"] == 0 || kinds["1"] == 0 {
			t.Errorf("%s: expected conv, linear and vector weights, got ranks %v", dir, kinds)
		}
	}

	// And back: a folder written from StateDict loads into the same model.
	m := loadTiny(t, "tiny-ddpm-unet-legacy-attn-names")
	sd, err := m.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := LoadUNet2D(writeModelDir(t, nil, sd))
	if err != nil {
		t.Fatal(err)
	}
	xt, ts := goldenTensor(t, "in/xt"), goldenTime(t, "in/t_float")
	if d := maxAbsErr(epsOf(t, m, xt, ts), epsOf(t, m2, xt, ts)); d != 0 {
		t.Errorf("model reloaded from its StateDict differs by %.3g", d)
	}
}
