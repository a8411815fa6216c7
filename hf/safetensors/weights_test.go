package safetensors

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// touch creates the named files in dir with the given content.
func touch(t *testing.T, dir string, content string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindWeights(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  string // Base name of the result, or a substring of the error.
		ok    bool
	}{
		{"diffusers", []string{"diffusion_pytorch_model.safetensors", "model.safetensors", "diffusion_pytorch_model.bin"}, "diffusion_pytorch_model.safetensors", true},
		{"transformers", []string{"model.safetensors", "config.json"}, "model.safetensors", true},
		{"sharded", []string{"diffusion_pytorch_model.safetensors.index.json", "diffusion_pytorch_model-00001-of-00002.safetensors"}, "max_shard_size", false},
		{"pickle", []string{"diffusion_pytorch_model.bin", "config.json"}, "safe_serialization=True", false},
		{"none", []string{"config.json"}, "looked for diffusion_pytorch_model.safetensors, model.safetensors", false},
		{"variant", []string{"diffusion_pytorch_model.fp16.safetensors"}, "found diffusion_pytorch_model.fp16.safetensors", false},
	}
	for _, c := range cases {
		dir := t.TempDir()
		touch(t, dir, "x", c.files...)
		got, err := FindWeights(dir)
		if c.ok {
			if err != nil || got != filepath.Join(dir, c.want) {
				t.Errorf("%s: FindWeights = %q, %v; want %s", c.name, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: FindWeights error %v, want one containing %q", c.name, err, c.want)
		}
		if errors.Is(err, ErrSharded) != (c.name == "sharded") {
			t.Errorf("%s: errors.Is(err, ErrSharded) = %v", c.name, errors.Is(err, ErrSharded))
		}
	}
	if _, err := FindWeights(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("FindWeights of a missing directory succeeded")
	}
}

func TestOpenSharded(t *testing.T) {
	dir := t.TempDir()
	s1 := map[string]*Tensor{"a": FromFloat32([]int{2}, []float32{1, 2}), "b": FromInt64([]int{1}, []int64{7})}
	s2 := map[string]*Tensor{"c": FromUint8([]int{3}, []uint8{1, 2, 3})}
	if err := Write(filepath.Join(dir, "m-00001-of-00002.safetensors"), s1, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "m-00002-of-00002.safetensors"), s2, nil); err != nil {
		t.Fatal(err)
	}
	touch(t, dir, `{"metadata":{"total_size":19},"weight_map":{"a":"m-00001-of-00002.safetensors",`+
		`"b":"m-00001-of-00002.safetensors","c":"m-00002-of-00002.safetensors"}}`,
		"diffusion_pytorch_model.safetensors.index.json")

	f, err := OpenWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, f, map[string]*Tensor{"a": s1["a"], "b": s1["b"], "c": s2["c"]})
	if m := f.Metadata(); m["format"] != "pt" || m["total_size"] != "19" {
		t.Errorf("merged metadata = %v", m)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	bad := []struct{ index, want string }{
		{`{"weight_map":{"a":"m-00002-of-00002.safetensors"}}`, "does not hold it"},
		{`{"weight_map":{"a":"../x.safetensors"}}`, "outside its directory"},
		{`{"weight_map":{"a":"missing.safetensors"}}`, "no such file"},
		{`{"weight_map":{}}`, "empty or missing weight_map"},
		{`{"weight_map":`, "reading shard index"},
	}
	for _, b := range bad {
		touch(t, dir, b.index, "bad.safetensors.index.json")
		if _, err := OpenSharded(filepath.Join(dir, "bad.safetensors.index.json")); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("index %s: error %v, want one containing %q", b.index, err, b.want)
		}
	}
	// A tensor stored in two shards is rejected.
	if err := Write(filepath.Join(dir, "dup.safetensors"), map[string]*Tensor{"a": s1["a"]}, nil); err != nil {
		t.Fatal(err)
	}
	touch(t, dir, `{"weight_map":{"a":"dup.safetensors","b":"m-00001-of-00002.safetensors"}}`, "bad.safetensors.index.json")
	if _, err := OpenSharded(filepath.Join(dir, "bad.safetensors.index.json")); err == nil || !strings.Contains(err.Error(), "in both shards") {
		t.Errorf("duplicated tensor: %v", err)
	}
}
