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
	} {
		if _, err := ParseTextConfig([]byte(c.config)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTextConfig(%s): error %v, want one mentioning %q", c.config, err, c.want)
		}
	}
}
