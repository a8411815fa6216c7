package molrg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// Hostile or mistyped MoLRG configs are refused from the config alone, before the weights are read: the error
// names the field and the bound, and almost nothing is allocated.
func TestHostileConfigsRefused(t *testing.T) {
	base := `"_class_name": "MoLRG", "in_channels": 1, "prediction_type": "sample", "beta_schedule": "linear", ` +
		`"beta_start": 0.0001, "beta_end": 0.02, "num_train_timesteps": 1000`
	for _, c := range []struct{ name, json, want string }{
		{"classes", `"sample_size": 32, "num_classes": 100000000, "rank": 4`, "num_classes = 100000000"},
		{"huge image", `"sample_size": 1000000, "num_classes": 1, "rank": 1`, "more than 16777216 values"},
		{"overflowing image", `"sample_size": [4294967296, 4294967296], "num_classes": 1, "rank": 1`, "more than 16777216 values"},
		{"rank above d", `"sample_size": 4, "num_classes": 2, "rank": 17`, "rank = 17 must lie in [0, d = 16]"},
		{"weights too large", `"sample_size": 2048, "num_classes": 1000, "rank": 30`, "above the limit of 2147483648"},
		{"ranks entries", `"sample_size": 4, "num_classes": 2, "rank": 3, "ranks": [1, 5]`, "ranks[1] = 5"},
		{"ranks count", `"sample_size": 4, "num_classes": 2, "rank": 3, "ranks": [1]`, "ranks has 1 entries for 2 classes"},
		{"names count", `"sample_size": 4, "num_classes": 2, "rank": 3, "class_names": ["a"]`, "class_names has 1 entries"},
		{"zero size", `"sample_size": 0, "num_classes": 2, "rank": 0`, "must be positive"},
		{"timesteps", `"sample_size": 4, "num_classes": 2, "rank": 1, "num_train_timesteps": 100000000`, "num_train_timesteps = 100000000"},
		{"beta", `"sample_size": 4, "num_classes": 2, "rank": 1, "beta_end": 2`, "beta_end = 2"},
		{"not json", `"sample_size": [4]`, "sample_size"},
	} {
		var err error
		allocs := testing.AllocsPerRun(1, func() { _, err = ParseConfig([]byte("{" + base + ", " + c.json + "}")) })
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), ConfigFile) {
			t.Errorf("%s: error %v, want one naming %s and %q", c.name, err, ConfigFile, c.want)
		}
		if allocs > 500 {
			t.Errorf("%s: %v allocations before refusing", c.name, allocs)
		}
	}
	if _, err := ParseConfig([]byte("{" + base + `, "sample_size": 32, "num_classes": 10, "rank": 32}`)); err != nil {
		t.Errorf("the embedded model's config: %v", err)
	}
	// Read from a folder: refused before model.safetensors is opened (there is none).
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{"+base+`, "sample_size": 32, "num_classes": 100000000, "rank": 4}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "num_classes") {
		t.Errorf("Load of a folder with a hostile config: %v", err)
	}
}

// An integer parameter tensor is refused with its name and dtype, not converted.
func TestIntegerParametersRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	p := randomParams(t, 1)
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, WeightsFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]*safetensors.Tensor{}
	for _, name := range f.Names() {
		tt, _ := f.Tensor(name)
		ts[name] = tt.Clone()
	}
	f.Close()
	pr := ts[tensorPriors]
	ts[tensorPriors] = &safetensors.Tensor{DType: safetensors.I32, Shape: pr.Shape, Data: make([]byte, len(pr.Data))}
	if err := safetensors.Write(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	_, err = ReadParams(dir)
	for _, want := range []string{`"priors"`, "I32", "floating point"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("integer priors: error %v does not mention %q", err, want)
		}
	}
}
