package metrics

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/models/lpips"
)

// TestLPIPSWithWeights points LPIPS at a weights folder (a random AlexNet trunk and the linear layers of
// models/lpips/testdata) and checks it then returns distances.
func TestLPIPSWithWeights(t *testing.T) {
	t.Setenv(lpips.WeightsEnv, "")
	if _, err := LPIPS(make([]float32, 3*32*32), make([]float32, 3*32*32), 3, 32, 32); !errors.Is(err, ErrLPIPSUnavailable) || LPIPSAvailable() {
		t.Fatalf("without weights: %v", err)
	}
	specs, err := lpips.ParamSpecs()
	if err != nil {
		t.Fatal(err)
	}
	trunk, err := statedict.Export(statedict.Random(specs, 1), specs)
	if err != nil {
		t.Fatal(err)
	}
	for n := range trunk {
		if !strings.HasPrefix(n, "features.") {
			delete(trunk, n)
		}
	}
	dir := t.TempDir()
	if err := safetensors.Write(filepath.Join(dir, "alexnet-random.safetensors"), trunk, nil); err != nil {
		t.Fatal(err)
	}
	lin, err := os.ReadFile("../../models/lpips/testdata/alex-random.pth")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alex.pth"), lin, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(lpips.WeightsEnv, dir)
	if !LPIPSAvailable() {
		t.Fatal("LPIPS weights in $" + lpips.WeightsEnv + " are not used")
	}
	a, b := make([]float32, 32*32), make([]float32, 32*32)
	for i := range a {
		a[i], b[i] = float32(i%7)/7, float32(i%5)/5
	}
	if d, err := LPIPS(a, a, 1, 32, 32); err != nil || d != 0 {
		t.Errorf("LPIPS(a, a) = %v, %v", d, err)
	}
	if d, err := LPIPS(a, b, 1, 32, 32); err != nil || !(d > 0) || math.IsInf(d, 0) {
		t.Errorf("LPIPS(a, b) = %v, %v", d, err)
	}
}
