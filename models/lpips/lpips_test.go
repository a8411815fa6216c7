package lpips

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/hf/torch"
)

// The golden distances come from LPIPS's reference code with torchvision's AlexNet (testdata/gen_golden.py),
// with weights from a formula both sides compute exactly (see the script's header).

// formulaWeights returns the formula's tensors by name (numbered as the script does: AlexNet's, then the
// linear layers).
func formulaWeights(t testing.TB) map[string]*safetensors.Tensor {
	t.Helper()
	specs, err := ParamSpecs()
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(specs, func(a, b statedict.Spec) int {
		return strings.Compare(a.Name[:3], b.Name[:3]) // "features…" before "lin…"
	})
	out := map[string]*safetensors.Tensor{}
	for k, s := range specs {
		n := s.Size()
		data := make([]float32, n)
		for i := range data {
			h := (uint64(i)*2654435761 + uint64(k+1)*40503) % (1 << 32)
			u := float64(h)/(1<<32) - 0.5
			switch {
			case strings.HasPrefix(s.Name, "lin"):
				data[i] = float32((u + 0.5) * 0.2)
			case strings.HasSuffix(s.Name, "bias"):
				data[i] = float32(u * 0.2)
			default:
				data[i] = float32(u * (2 * math.Sqrt(3) / math.Sqrt(float64(n/s.Shape[0]))))
			}
		}
		out[s.Name] = safetensors.FromFloat32(s.Shape, data)
	}
	return out
}

type mapSource map[string]*safetensors.Tensor

func (m mapSource) Names() []string {
	return slices.Sorted(func(y func(string) bool) {
		for k := range m {
			if !y(k) {
				return
			}
		}
	})
}
func (m mapSource) Tensor(name string) (*safetensors.Tensor, error) {
	if t, ok := m[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("no %s", name)
}

func golden(t testing.TB, name string) []float32 {
	t.Helper()
	d, _, err := safetensors.ReadFloat32("testdata/golden.safetensors", name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// writeWeightsDir lays out a weights folder as a user would: the AlexNet trunk (here the formula's, as
// safetensors with torchvision's names and an extra classifier tensor) and LPIPS's alex.pth.
func writeWeightsDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	trunk := map[string]*safetensors.Tensor{"classifier.6.bias": safetensors.FromFloat32([]int{3}, []float32{1, 2, 3})}
	for n, w := range formulaWeights(t) {
		if strings.HasPrefix(n, "features.") {
			trunk[n] = w
		}
	}
	if err := safetensors.Write(filepath.Join(dir, "alexnet-formula.safetensors"), trunk, nil); err != nil {
		t.Fatal(err)
	}
	lin, err := os.ReadFile("testdata/alex-random.pth")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, linFile), lin, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGolden(t *testing.T) {
	// The .pth of the linear layers (torch.save, legacy format) holds the formula's values.
	lin, err := torch.Open("testdata/alex-random.pth")
	if err != nil {
		t.Fatal(err)
	}
	defer lin.Close()
	fw := formulaWeights(t)
	for _, n := range lin.Names() {
		got, _ := lin.Tensor(n)
		if got.String() != fw[n].String() || !slices.Equal(got.Data, fw[n].Data) {
			t.Fatalf("%s in alex-random.pth differs from the formula", n)
		}
	}
	net, err := Load(writeWeightsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, c := range []struct {
		suffix      string
		n, ch, h, w int
	}{{"", 2, 3, 48, 48}, {"_wide", 1, 3, 40, 64}, {"_grey", 1, 1, 32, 32}} {
		want := golden(t, "dist"+c.suffix)
		got, err := net.Distances(golden(t, "a"+c.suffix), golden(t, "b"+c.suffix), c.n, c.ch, c.h, c.w)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			e := math.Abs(got[i] - float64(want[i]))
			worst = max(worst, e)
			if e > 1e-5 {
				t.Errorf("dist%s[%d] = %.7f, LPIPS's %.7f (error %.2g, want ≤ 1e-5)", c.suffix, i, got[i], want[i], e)
			}
		}
	}
	t.Logf("largest distance error %.2g", worst)
}

func TestErrors(t *testing.T) {
	net := &Net{ctx: statedict.Random(mustSpecs(t), 1)}
	img := make([]float32, 3*16*16)
	if _, err := net.Distance(img, img, 3, 16, 16); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("16×16 images: error %v", err)
	}
	if _, err := net.Distance(img, img, 2, 24, 16); err == nil || !strings.Contains(err.Error(), "c = 3 or 1") {
		t.Errorf("2 channels: error %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "alexnet-owt-7be5be79.pth") {
		t.Errorf("empty folder: error %v", err)
	}
	t.Setenv(WeightsEnv, "")
	SetWeightsDir("")
	if _, err := Default(); err != ErrNoWeights {
		t.Errorf("no folder: error %v, want ErrNoWeights", err)
	}
	SetWeightsDir(writeWeightsDir(t))
	defer SetWeightsDir("")
	d, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	a := golden(t, "a_grey")
	if v, err := d.Distance(a, a, 1, 32, 32); err != nil || v != 0 {
		t.Errorf("distance of an image to itself: %v, %v", v, err)
	}
}

func mustSpecs(t testing.TB) []statedict.Spec {
	s, err := ParamSpecs()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
