package safetensors

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenDir holds the reference data shared by the repository's packages.
const goldenDir = "../../testdata/golden"

func TestGoldenFile(t *testing.T) {
	f, err := Open(filepath.Join(goldenDir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	raw, err := os.ReadFile(filepath.Join(goldenDir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Tensors map[string][2]json.RawMessage `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	torchDType := map[string]DType{"torch.float32": F32, "torch.int64": I64, "torch.uint8": U8}
	if len(meta.Tensors) != f.Len() {
		t.Errorf("golden file has %d tensors, meta.json lists %d", f.Len(), len(meta.Tensors))
	}
	for name, info := range meta.Tensors {
		var shape []int
		var dt string
		if err := json.Unmarshal(info[0], &shape); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(info[1], &dt); err != nil {
			t.Fatal(err)
		}
		tt, err := f.Tensor(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if tt.DType != torchDType[dt] || !slices.Equal(tt.Shape, shape) {
			t.Errorf("%s: got %v, meta.json says %s%v", name, tt, dt, shape)
		}
	}

	x0, _ := f.Tensor("in/x0")
	if x0.DType != F32 || !slices.Equal(x0.Shape, []int{1, 3, 32, 32}) {
		t.Fatalf("in/x0 is %v, want F32[1 3 32 32]", x0)
	}
	v, err := x0.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != -0.8 || v[1] != -0.7483871 || slices.Min(v) != -0.8 || slices.Max(v) != 0.8 {
		t.Errorf("in/x0 starts %v, range [%g, %g]; want -0.8, -0.7483871 and [-0.8, 0.8]", v[:2], slices.Min(v), slices.Max(v))
	}
	mask, _ := f.Tensor("in/mask")
	mb, err := mask.Bytes()
	if err != nil || mask.DType != U8 || !slices.Equal(mask.Shape, []int{3, 32, 32}) {
		t.Fatalf("in/mask: %v, %v", mask, err)
	}
	ones := 0
	for _, b := range mb {
		if b > 1 {
			t.Fatalf("in/mask holds %d, want only 0 and 1", b)
		}
		ones += int(b)
	}
	if ones != 144 {
		t.Errorf("in/mask has %d ones, want 144", ones)
	}
	tf, _ := f.Tensor("in/t_float")
	if v, _ := tf.Float32(); len(v) != 1 || v[0] != 595.3635864257812 {
		t.Errorf("in/t_float = %v, want 595.36359", v)
	}
	ti, _ := f.Tensor("in/t_int")
	if v, _ := ti.Int64s(); len(v) != 1 || v[0] != 595 {
		t.Errorf("in/t_int = %v, want 595", v)
	}
	ab, _ := f.Tensor("sched/alphas_cumprod")
	if v, _ := ab.Float64(); len(v) != 1000 || v[0] != float64(float32(0.9999)) {
		t.Errorf("sched/alphas_cumprod[0] = %v, want 0.9999", v[:1])
	}
	if m := f.Metadata(); m["generator"] != "make_golden.py" {
		t.Errorf("metadata = %v", m)
	}
}

func TestGoldenModels(t *testing.T) {
	var first []byte
	for _, model := range []string{"tiny-ddpm-unet", "tiny-ddpm-unet-legacy-attn-names"} {
		dir := filepath.Join(goldenDir, model)
		path, err := FindWeights(dir)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) != "diffusion_pytorch_model.safetensors" {
			t.Errorf("FindWeights(%s) = %s", dir, path)
		}
		f, err := OpenWeights(dir)
		if err != nil {
			t.Fatal(err)
		}
		params := 0
		for _, name := range f.Names() {
			tt, err := f.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			if tt.DType != F32 {
				t.Errorf("%s: %s, want F32", name, tt.DType)
			}
			params += tt.NumElements()
		}
		if f.Len() != 208 || params != 1_002_883 {
			t.Errorf("%s: %d tensors, %d parameters; want 208 and 1,002,883", model, f.Len(), params)
		}
		if f.Metadata()["format"] != "pt" {
			t.Errorf("%s: metadata %v", model, f.Metadata())
		}
		w, err := f.Tensor("conv_in.weight")
		if err != nil || !slices.Equal(w.Shape, []int{32, 3, 3, 3}) {
			t.Fatalf("conv_in.weight: %v %v", w, err)
		}
		if first == nil {
			first = slices.Clone(w.Data)
		} else if !bytes.Equal(first, w.Data) {
			t.Errorf("%s: conv_in.weight differs from tiny-ddpm-unet's", model)
		}
		legacy := slices.ContainsFunc(f.Names(), func(s string) bool { return strings.HasSuffix(s, ".query.weight") })
		if legacy != strings.Contains(model, "legacy") {
			t.Errorf("%s: has .query.weight names = %v", model, legacy)
		}

		// Re-encoding reproduces the reference implementation's bytes exactly.
		all := map[string]*Tensor{}
		for _, name := range f.Names() {
			all[name], _ = f.Tensor(name)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, all, f.Metadata()); err != nil {
			t.Fatal(err)
		}
		orig, _ := os.ReadFile(path)
		if !bytes.Equal(buf.Bytes(), orig) {
			t.Errorf("%s: re-encoding gives %d bytes that differ from the %d-byte original", model, buf.Len(), len(orig))
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
