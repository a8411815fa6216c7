package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// tloco is the folder of the text-to-image architecture goldens (diffusers on tiny random models).
var tloco = filepath.Join("..", "..", "hf", "diffusers", "testdata", "tloco")

// tlocoInputs writes an input file with golden tensors under new names.
func tlocoInputs(t *testing.T, names map[string]string) string {
	t.Helper()
	return inputsFrom(t, filepath.Join(tloco, "golden.safetensors"), names)
}

// inputsFrom writes an input file with tensors of the golden file under new names.
func inputsFrom(t *testing.T, golden string, names map[string]string) string {
	t.Helper()
	f, err := safetensors.ReadFile(golden)
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

func relDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d, s float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
		s = max(s, math.Abs(float64(b[i])))
	}
	return d / s
}

func TestCondEpsAndJVPCommands(t *testing.T) {
	gold := filepath.Join(tloco, "golden.safetensors")
	out := filepath.Join(t.TempDir(), "eps.safetensors")
	in := tlocoInputs(t, map[string]string{"x": "in/x", "t": "in/t", "text": "in/text"})
	if err := runEps([]string{"--model", filepath.Join(tloco, "tiny-sd2-unet"), "--in", in, "--out", out}); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(readTensor(t, out, "eps"), readTensor(t, gold, "sd2/eps")); !(d <= 1e-4) {
		t.Errorf("loco eps (SD 2.x-like UNet) differs from diffusers by %.3g", d)
	}

	lcm := filepath.Join(tloco, "tiny-lcm-unet")
	in = tlocoInputs(t, map[string]string{"x": "in/x", "t": "in/t", "text": "in/text", "cond": "in/cond"})
	if err := runEps([]string{"--model=" + lcm, "--in", in, "--out", out, "--force"}); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(readTensor(t, out, "eps"), readTensor(t, gold, "lcm/eps_cond")); !(d <= 1e-4) {
		t.Errorf("loco eps with cond (LCM-like UNet) differs from diffusers by %.3g", d)
	}

	in = tlocoInputs(t, map[string]string{"x": "in/x", "t": "in/t2", "text": "in/text", "cond": "in/cond", "v": "in/v", "u": "in/u"})
	jout := filepath.Join(t.TempDir(), "jvp.safetensors")
	if err := runJVP([]string{"--model", lcm, "--in", in, "--out", jout}); err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]string{"jvp_eps": "lcm/jvp_eps", "vjp_eps": "lcm/vjp_eps"} {
		if r := relDiff(readTensor(t, jout, name), readTensor(t, gold, ref)); !(r <= 1e-4) {
			t.Errorf("loco jvp %s differs from torch.autograd by %.3g (relative)", name, r)
		}
	}
}

func TestVAECommand(t *testing.T) {
	gold := filepath.Join(tloco, "golden.safetensors")
	in := tlocoInputs(t, map[string]string{"z": "in/z", "image": "in/image", "u": "in/u_decoded"})
	for _, dir := range []string{"tiny-vae", "tiny-vae-legacy-attn-names"} {
		out := filepath.Join(t.TempDir(), "vae.safetensors")
		if err := runVAE([]string{"--model", filepath.Join(tloco, dir), "--in", in, "--out", out}); err != nil {
			t.Fatal(err)
		}
		for name, ref := range map[string]string{"decoded": "vae/decoded", "mean": "vae/mean"} {
			if d := maxDiff(readTensor(t, out, name), readTensor(t, gold, ref)); !(d <= 1e-4) {
				t.Errorf("%s: loco vae %s differs from diffusers by %.3g", dir, name, d)
			}
		}
		if r := relDiff(readTensor(t, out, "vjp_decoded"), readTensor(t, gold, "vae/vjp_decoded")); !(r <= 1e-4) {
			t.Errorf("%s: loco vae vjp_decoded differs from torch.autograd by %.3g (relative)", dir, r)
		}
	}
}

func TestCondBadInputs(t *testing.T) {
	dir := t.TempDir()
	sd2, lcm, vae := filepath.Join(tloco, "tiny-sd2-unet"), filepath.Join(tloco, "tiny-lcm-unet"), filepath.Join(tloco, "tiny-vae")
	noText := tlocoInputs(t, map[string]string{"x": "in/x", "t": "in/t"})
	wrongText := tlocoInputs(t, map[string]string{"x": "in/x", "t": "in/t", "text": "in/cond"})
	withCond := tlocoInputs(t, map[string]string{"x": "in/x", "t": "in/t", "text": "in/text", "cond": "in/cond"})
	badLatents := tlocoInputs(t, map[string]string{"x": "in/image", "t": "in/t", "text": "in/text"})
	noDirection := tlocoInputs(t, map[string]string{"x": "in/x", "t": "in/t", "text": "in/text"})
	imageAsZ := tlocoInputs(t, map[string]string{"z": "in/image"})
	onlyU := tlocoInputs(t, map[string]string{"u": "in/u"})
	out := func(n string) string { return filepath.Join(dir, n) }
	latents := safetensors.FromFloat32([]int{2, 4, 8, 8}, make([]float32, 512))
	text := safetensors.FromFloat32([]int{2, 5, 12}, make([]float32, 120))
	farTime := writeTensors(t, map[string]*safetensors.Tensor{"x": latents, "t": safetensors.FromFloat32([]int{1}, []float32{1e20}), "text": text})
	negTime := writeTensors(t, map[string]*safetensors.Tensor{"x": latents, "t": safetensors.FromFloat32([]int{2}, []float32{500, -5}), "text": text})
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"t = 1e20", runEps([]string{"--model", sd2, "--in", farTime, "--out", out("t1")}), "t[0] = 1e+20 is outside [0, 100000]: t counts training steps"},
		{"t = -5", runJVP([]string{"--model", lcm, "--in", negTime, "--out", out("t2")}), "t[1] = -5 is outside [0, 100000]"},
		{"no text", runEps([]string{"--model", sd2, "--in", noText, "--out", out("a")}), `"text"`},
		{"text of the wrong size", runEps([]string{"--model", sd2, "--in", wrongText, "--out", out("b")}), "text embeddings"},
		{"cond for a model without time_cond_proj_dim", runEps([]string{"--model", sd2, "--in", withCond, "--out", out("c")}), "time_cond_proj_dim"},
		{"image as latents", runEps([]string{"--model", lcm, "--in", badLatents, "--out", out("d")}), "[_ 4 _ _]"},
		{"jvp without v or u", runJVP([]string{"--model", lcm, "--in", noDirection, "--out", out("e")}), "neither v"},
		{"image as z", runVAE([]string{"--model", vae, "--in", imageAsZ, "--out", out("f")}), "latents"},
		{"u without z", runVAE([]string{"--model", vae, "--in", onlyU, "--out", out("g")}), "no z"},
		{"UNet as VAE", runVAE([]string{"--model", sd2, "--in", imageAsZ, "--out", out("h")}), "AutoencoderKL"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, c.err, c.want)
		}
	}
}
