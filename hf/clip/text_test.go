package clip

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/locoedit/locoedit/hf/safetensors"
)

func textGolden(t *testing.T, name string) *safetensors.Tensor {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join("testdata", "text_golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tt, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func goldenIDs(t *testing.T) [][]int {
	tt := textGolden(t, "in/input_ids")
	flat, err := tt.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]int, tt.Shape[0])
	for r := range rows {
		for _, v := range flat[r*tt.Shape[1] : (r+1)*tt.Shape[1]] {
			rows[r] = append(rows[r], int(v))
		}
	}
	return rows
}

// TestTextModelMatchesOpenAI compares the hidden states with OpenAI's text tower (model.py) for both activations,
// loaded from transformers' CLIPTextModel names; the penultimate-layer option too.
func TestTextModelMatchesOpenAI(t *testing.T) {
	ids := goldenIDs(t)
	for _, c := range []struct{ dir, act string }{{"tiny-clip-text-quickgelu", "quick_gelu"}, {"tiny-clip-text-gelu", "gelu"}} {
		m, err := LoadTextModel(filepath.Join("testdata", c.dir))
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.HiddenAct != c.act {
			t.Fatalf("%s: hidden_act %q", c.dir, m.Config.HiddenAct)
		}
		var outs [2][]float32
		for skip, name := range []string{"last_hidden_state", "penultimate"} {
			got, err := m.Encode(ids, skip)
			if err != nil {
				t.Fatal(err)
			}
			want := textGolden(t, c.act+"/"+name)
			wantData, _ := want.Float32()
			if got.Shape().Rank() != 3 || got.Shape().Dimensions[0] != want.Shape[0] || got.Shape().Dimensions[1] != want.Shape[1] || got.Shape().Dimensions[2] != want.Shape[2] {
				t.Fatalf("%s %s: shape %s, want %v", c.act, name, got.Shape(), want.Shape)
			}
			outs[skip] = tensors.MustCopyFlatData[float32](got)
			d := 0.0
			for i := range wantData {
				d = max(d, math.Abs(float64(outs[skip][i]-wantData[i])))
			}
			if !(d <= 1e-4) {
				t.Errorf("%s %s differs from OpenAI's by %.3g", c.act, name, d)
			}
			t.Logf("%s %s: max-abs error %.3g", c.act, name, d)
		}
	}
}

// TestTextModelCausal: a token only affects the positions from its own on.
func TestTextModelCausal(t *testing.T) {
	m, err := LoadTextModel(filepath.Join("testdata", "tiny-clip-text-gelu"))
	if err != nil {
		t.Fatal(err)
	}
	a := []int{5, 6, 7, 8, 9, 10}
	b := []int{5, 6, 7, 500, 9, 10}
	out, err := m.Encode([][]int{a, b}, 0)
	if err != nil {
		t.Fatal(err)
	}
	flat := tensors.MustCopyFlatData[float32](out)
	d := m.Config.HiddenSize
	for pos := range len(a) {
		diff := 0.0
		for i := range d {
			diff = max(diff, math.Abs(float64(flat[pos*d+i]-flat[(len(a)+pos)*d+i])))
		}
		if (pos < 3) != (diff == 0) {
			t.Errorf("position %d changes by %.3g when token 3 changes", pos, diff)
		}
	}
}

func TestTextModelErrors(t *testing.T) {
	m, err := LoadTextModel(filepath.Join("testdata", "tiny-clip-text-quickgelu"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ids  [][]int
		skip int
		want string
	}{
		{[][]int{{1, 2, 1000}}, 0, "outside the vocabulary"},
		{[][]int{{1, 2}, {1}}, 0, "pad the rows"},
		{[][]int{make([]int, 78)}, 0, "78 tokens"},
		{[][]int{{1}}, 3, "cannot skip 3"},
		{nil, 0, "no token ids"},
	} {
		if _, err := m.Encode(c.ids, c.skip); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Encode(%v, %d): error %v, want one mentioning %q", c.ids, c.skip, err, c.want)
		}
	}
	for _, c := range []struct{ config, want string }{
		{`{"hidden_act": "relu"}`, "hidden_act"},
		{`{"model_type": "clip"}`, "clip_text_model"},
		{`{"hidden_size": 10, "num_attention_heads": 3}`, "divisible"},
		{`{"architectures": ["CLIPTextModelWithProjection"]}`, "CLIPTextModelWithProjection"},
		{`{"num_hidden_layers": 100000}`, "num_hidden_layers = 100000 is out of range: it must lie in [1, 256]"},
		{`{"hidden_size": -512}`, "hidden_size = -512"},
		{`{"hidden_size": 32768, "intermediate_size": 32768, "num_attention_heads": 8, "num_hidden_layers": 200}`, "above the limit of 4000000000"},
		{`{"layer_norm_eps": 0}`, "layer_norm_eps"},
	} {
		if _, err := ParseTextConfig([]byte(c.config)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTextConfig(%s): error %v, want one mentioning %q", c.config, err, c.want)
		}
	}
}

// TestRealTextConfigs counts the weights of Stable Diffusion 1.x's text encoder (OpenAI CLIP ViT-L/14) and
// 2.x's (OpenCLIP ViT-H/14 with its last layer dropped) from their configs.
func TestRealTextConfigs(t *testing.T) {
	for _, c := range []struct {
		config          string
		tensors, params int
	}{
		{`{"architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": 768, "intermediate_size": 3072,
		   "num_attention_heads": 12, "num_hidden_layers": 12, "projection_dim": 768, "vocab_size": 49408}`, 4 + 12*16, 123_060_480},
		{`{"architectures": ["CLIPTextModel"], "hidden_act": "gelu", "hidden_size": 1024, "intermediate_size": 4096,
		   "num_attention_heads": 16, "num_hidden_layers": 23, "projection_dim": 512, "vocab_size": 49408}`, 4 + 23*16, 340_387_840},
	} {
		cfg, err := ParseTextConfig([]byte(c.config))
		if err != nil {
			t.Fatal(err)
		}
		specs, err := cfg.ParamSpecs()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range specs {
			n += s.Size()
		}
		if len(specs) != c.tensors || n != c.params || cfg.NumParams() != int64(n) {
			t.Errorf("%s: %d tensors, %d parameters; want %d, %d", cfg.HiddenAct, len(specs), n, c.tensors, c.params)
		}
	}
}
