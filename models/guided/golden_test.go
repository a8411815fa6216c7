package guided

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/loco"
)

// The golden files come from the authors' guided-diffusion UNetModel under PyTorch (testdata/gen_golden.py).

// golden reads one reference tensor.
func golden(t testing.TB, name string) ([]float32, []int) {
	t.Helper()
	d, shape, err := safetensors.ReadFloat32("testdata/golden.safetensors", name)
	if err != nil {
		t.Fatal(err)
	}
	return d, shape
}

func maxAbs(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// relErr is max|a−b| / max|b|.
func relErr(a, b []float32) float64 {
	var s float64
	for _, v := range b {
		s = max(s, math.Abs(float64(v)))
	}
	return maxAbs(a, b) / max(s, 1e-30)
}

// Targets of the golden comparison.
const (
	epsTol = 1e-4 // max-abs on ε
	relTol = 1e-4 // relative on x̂0 and the Jacobian products
)

// tinyP2 loads the tiny P2-switches model from each of its three files: a folder (zip format, archive folder
// "model/"), the legacy format, and a zip archive whose folder is "archive/".
func tinyP2(t testing.TB) map[string]loco.Denoiser {
	t.Helper()
	out := map[string]loco.Denoiser{}
	folder, err := loco.LoadModel("testdata/tiny-p2")
	if err != nil {
		t.Fatal(err)
	}
	out["zip folder"] = folder
	cfg, err := ReadConfig("testdata/tiny-p2/config.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"legacy": "tiny-p2-legacy.pt", "zip archive/": "tiny-p2-archive.pt"} {
		m, err := LoadFile(cfg, filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDenoiser(m, file)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = d
	}
	return out
}

func TestGoldenP2(t *testing.T) {
	x, _ := golden(t, "p2/x")
	ts, _ := golden(t, "p2/t")
	v, _ := golden(t, "p2/v")
	u, _ := golden(t, "p2/u")
	wantEps, _ := golden(t, "p2/eps")
	wantX0, _ := golden(t, "p2/x0")
	wantFloor, _ := golden(t, "p2/eps_t_floor")
	d := len(v)
	for format, m := range tinyP2(t) {
		p, err := loco.NewPipeline(m)
		if err != nil {
			t.Fatal(err)
		}
		eps, x0, err := p.Predict(x, ts)
		if err != nil {
			t.Fatal(err)
		}
		e1, e2 := maxAbs(eps, wantEps), relErr(x0, wantX0)
		if e1 > epsTol || e2 > relTol {
			t.Errorf("%s: ε max-abs error %.3g (want ≤ %g), x̂0 relative error %.3g (want ≤ %g)", format, e1, epsTol, e2, relTol)
		}
		floor, _, err := p.Predict(x[:d], []float32{float32(math.Floor(float64(ts[0])))})
		if err != nil {
			t.Fatal(err)
		}
		if e := maxAbs(floor, wantFloor); e > epsTol || maxAbs(floor, eps[:d]) < 100*epsTol {
			t.Errorf("%s: ε at ⌊t⌋ differs from the reference by %.3g, and from ε at t by %.3g: is t rounded?", format, e, maxAbs(floor, eps[:d]))
		}
		errs := map[string]float64{"ε": e1, "x̂0": e2}
		for _, c := range []struct {
			name   string
			output loco.Output
			jvp    bool
		}{{"jvp_eps", loco.OutputEps, true}, {"vjp_eps", loco.OutputEps, false}, {"jvp_x0", loco.OutputX0, true}, {"vjp_x0", loco.OutputX0, false}} {
			want, _ := golden(t, "p2/"+c.name)
			var got []float32
			if c.jvp {
				got, err = p.JVP(c.output, x[:d], ts[0], v, nil)
			} else {
				got, err = p.VJP(c.output, x[:d], ts[0], u, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			errs[c.name] = relErr(got, want)
			if errs[c.name] > relTol {
				t.Errorf("%s: %s relative error %.3g, want ≤ %g", format, c.name, errs[c.name], relTol)
			}
		}
		t.Logf("%s: ε max-abs %.2g; relative: x̂0 %.2g, jvp_eps %.2g, vjp_eps %.2g, jvp_x0 %.2g, vjp_x0 %.2g", format,
			errs["ε"], errs["x̂0"], errs["jvp_eps"], errs["vjp_eps"], errs["jvp_x0"], errs["vjp_x0"])
	}
}

// TestGoldenNewAttention covers the other switches: the new attention order, num_heads with
// num_heads_upsample, no scale-shift norm, conv resampling and 3 output channels.
func TestGoldenNewAttention(t *testing.T) {
	m, err := loco.LoadModel("testdata/tiny-newattn")
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := golden(t, "newattn/x")
	ts, _ := golden(t, "newattn/t")
	want, _ := golden(t, "newattn/eps")
	eps, _, err := p.Predict(x, ts)
	if err != nil {
		t.Fatal(err)
	}
	e := maxAbs(eps, want)
	t.Logf("ε max-abs error %.2g", e)
	if e > epsTol {
		t.Errorf("ε max-abs error %.3g, want ≤ %g", e, epsTol)
	}
}
