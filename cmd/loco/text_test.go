package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/loco/imageio"
)

// t2iData holds the tiny text-to-image pipelines and their goldens (diffusers and the authors' T-LOCO code).
var t2iData = filepath.Join("..", "..", "models", "t2i", "testdata")

// TestPipelineJVPCommand checks `loco jvp --model <pipeline folder>` with text embeddings against the goldens: the
// decoded PMP and its JVP without guidance, and with classifier-free guidance given the empty prompt's hidden
// states, in a pipeline folder without text encoder and tokenizer.
func TestPipelineJVPCommand(t *testing.T) {
	gold := filepath.Join(t2iData, "golden.safetensors")
	dir := filepath.Join(t.TempDir(), "tiny-sd")
	copyDir(t, filepath.Join(t2iData, "tiny-sd"), dir, "text_encoder", "tokenizer")
	for _, c := range []struct {
		guidance  string
		names     map[string]string
		x0, jvp   string
		vjpWanted string
	}{
		{"1", map[string]string{"x": "in/sd/zt", "t": "sd/t", "text": "sd/emb/for", "v": "in/sd/v"}, "sd/x0_text", "sd/jvp_x0_text", ""},
		{"7.5", map[string]string{"x": "in/sd/zt", "t": "sd/t", "text": "sd/emb/for", "text_null": "sd/emb/null", "v": "in/sd/v", "u": "in/sd/u"}, "sd/x0", "sd/jvp_x0", "sd/vjp_x0"},
	} {
		in := inputsFrom(t, gold, c.names)
		out := filepath.Join(t.TempDir(), "jvp.safetensors")
		if err := runJVP([]string{"--model", dir, "--in", in, "--out", out, "--guidance", c.guidance, "--quiet"}); err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(readTensor(t, out, "x0"), readTensor(t, gold, c.x0)); !(d <= 1e-4) {
			t.Errorf("s = %s: x0 differs from the reference by %.3g", c.guidance, d)
		}
		if r := relDiff(readTensor(t, out, "jvp_x0"), readTensor(t, gold, c.jvp)); !(r <= 1e-4) {
			t.Errorf("s = %s: jvp_x0 differs from the reference by %.3g (relative)", c.guidance, r)
		}
		if c.vjpWanted != "" {
			if r := relDiff(readTensor(t, out, "vjp_x0"), readTensor(t, gold, c.vjpWanted)); !(r <= 1e-4) {
				t.Errorf("s = %s: vjp_x0 differs from the reference by %.3g (relative)", c.guidance, r)
			}
		}
	}
	in := inputsFrom(t, gold, map[string]string{"x": "in/sd/zt", "t": "sd/t", "text": "sd/emb/for", "text_null": "sd/emb/null"})
	out := filepath.Join(t.TempDir(), "eps.safetensors")
	if err := runEps([]string{"--model", dir, "--in", in, "--out", out, "--guidance", "7.5"}); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(readTensor(t, out, "eps"), readTensor(t, gold, "sd/eps_cfg")); !(d <= 1e-4) {
		t.Errorf("loco eps on the pipeline: guided eps differs from the reference by %.3g", d)
	}
	if d := maxDiff(readTensor(t, out, "x0"), readTensor(t, gold, "sd/x0")); !(d <= 1e-4) {
		t.Errorf("loco eps on the pipeline: x0 differs from the reference by %.3g", d)
	}
	// A latent consistency model: x0 is the decoded consistency output for the guidance embedding cond.
	in = inputsFrom(t, gold, map[string]string{"x": "in/lcm/zt", "t": "lcm/t", "text": "lcm/emb/for", "cond": "lcm/w_embedding", "v": "in/lcm/v"})
	out = filepath.Join(t.TempDir(), "lcm.safetensors")
	if err := runJVP([]string{"--model", filepath.Join(t2iData, "tiny-lcm"), "--in", in, "--out", out}); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(readTensor(t, out, "x0"), readTensor(t, gold, "lcm/x0")); !(d <= 1e-4) {
		t.Errorf("LCM: x0 differs from the reference by %.3g", d)
	}
	if r := relDiff(readTensor(t, out, "jvp_x0"), readTensor(t, gold, "lcm/jvp_x0")); !(r <= 1e-4) {
		t.Errorf("LCM: jvp_x0 differs from the reference by %.3g (relative)", r)
	}
	// An image where latents belong, and text embeddings of another batch, are refused with what is expected.
	for _, c := range []struct {
		names map[string]string
		want  string
	}{
		{map[string]string{"x": "in/sd/u", "t": "sd/t", "text": "sd/emb/for", "v": "in/sd/v"}, "wants latents [B,4,h,w]"},
		{map[string]string{"x": "in/sd/zt", "t": "sd/t", "text": "in/mask", "v": "in/sd/v"}, "give [B,L,D] (B = 1, or 1 for every sample)"},
	} {
		err := runJVP([]string{"--model", dir, "--in", inputsFrom(t, gold, c.names), "--out", filepath.Join(t.TempDir(), "o.safetensors")})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("inputs %v: error %v, want one saying %q", c.names, err, c.want)
		}
	}
	// Guidance without the empty prompt's hidden states needs the text encoder.
	in = inputsFrom(t, gold, map[string]string{"x": "in/sd/zt", "t": "sd/t", "text": "sd/emb/for", "v": "in/sd/v"})
	err := runJVP([]string{"--model", dir, "--in", in, "--out", filepath.Join(t.TempDir(), "o.safetensors"), "--guidance", "7.5"})
	if err == nil || !strings.Contains(err.Error(), "text embeddings") {
		t.Errorf("guidance without text_null nor a text encoder: error %v", err)
	}
}

// copyDir copies a pipeline folder without the named components.
func copyDir(t *testing.T, from, to string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPipelineEditCommand runs `loco edit` on the tiny Stable Diffusion and LCM pipelines from a seed, unsupervised
// and text-supervised, and checks the strip: its size, that the edits change the masked region more than the rest,
// and that the text-supervised direction differs from the unsupervised one.
func TestPipelineEditCommand(t *testing.T) {
	dirs := map[string][]float32{}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"sd-unsupervised", []string{"--model", filepath.Join(t2iData, "tiny-sd"), "--prompt", "a photo of a man", "--steps", "20"}},
		{"sd-text", []string{"--model", filepath.Join(t2iData, "tiny-sd"), "--prompt", "a photo of a man", "--edit-prompt", "a photo of a man wearing glasses", "--steps", "20"}},
		{"lcm-text", []string{"--model", filepath.Join(t2iData, "tiny-lcm"), "--prompt", "A photo of a man", "--edit-prompt", "A photo of a man wearing glasses"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "edit")
			args := append(c.args, "--seed", "305", "--mask-rect", "6,9,18,25", "--out", out, "--quiet")
			if err := runEdit(args); err != nil {
				t.Fatal(err)
			}
			img, err := imageio.ReadPNG(filepath.Join(out, "strip.png"))
			if err != nil {
				t.Fatal(err)
			}
			if img.H != 32+2*2 || img.W != 5*32+6*2 {
				t.Errorf("strip is %d×%d, want five 32² images with 2-px padding", img.W, img.H)
			}
			dirs[c.name] = readTensor(t, filepath.Join(out, "strip.safetensors"), "direction")
			x0 := readTensor(t, filepath.Join(out, "strip.safetensors"), "x0_strip")
			if len(x0) != 5*3*32*32 {
				t.Fatalf("x0_strip has %d values", len(x0))
			}
			ref := x0[2*3072 : 3*3072]
			var in, outside float64
			for i, v := range x0[4*3072:] {
				d := float64(v - ref[i])
				y, x := i/32%32, i%32
				if y >= 6 && y < 18 && x >= 9 && x < 25 {
					in += d * d / (12 * 16)
				} else {
					outside += d * d / (32*32 - 12*16)
				}
			}
			if !(in > 0) || !(in > outside) {
				t.Errorf("mean squared change %.3g inside the mask, %.3g outside: the edit is not local", in, outside)
			}
		})
	}
	u, s := dirs["sd-unsupervised"], dirs["sd-text"]
	if len(u) != 4*8*8 || len(s) != len(u) {
		t.Fatalf("directions of %d and %d values, want latents of 256", len(u), len(s))
	}
	if c := dot(u, s); !(math.Abs(c) < 0.99) || math.Abs(dot(s, s)-1) > 1e-5 {
		t.Errorf("the text-supervised direction (norm² %.6f) has cosine %.4f with the unsupervised one", dot(s, s), c)
	}
}

// TestPipelineSamplesCommand draws a row of samples of the tiny LCM pipeline for a prompt: ten decoded 32² images,
// magnified three times.
func TestPipelineSamplesCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "samples.png")
	if err := runSamples([]string{"--model", filepath.Join(t2iData, "tiny-lcm"), "--prompt", "A photo of a man", "--rows", "1", "--out", out, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	img, err := imageio.ReadPNG(out)
	if err != nil {
		t.Fatal(err)
	}
	if img.C != 3 || img.H < 3*32 || img.W < 10*3*32 {
		t.Errorf("samples grid %d×%d×%d, want ten 96² colour images in a row", img.C, img.H, img.W)
	}
	if err := runSamples([]string{"--prompt", "a cat", "--out", filepath.Join(t.TempDir(), "s.png")}); err == nil || !strings.Contains(err.Error(), "not a text-to-image pipeline") {
		t.Errorf("a prompt for the embedded model: error %v", err)
	}
}
