package loco

import (
	"strings"
	"testing"
)

func TestPipelineMatchesGolden(t *testing.T) {
	p := tinyPipeline(t)
	xt := goldenVec(t, "in/xt")
	tf := goldenVec(t, "in/t_float")
	eps, x0, err := p.Predict(xt, tf)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff32(eps, goldenVec(t, "out/eps_t_float")); d > 1e-4 {
		t.Errorf("eps differs from golden by %.3g", d)
	}
	if d := maxAbsDiff32(x0, goldenVec(t, "out/x0_pred")); d > 1e-4*maxAbs32(x0) {
		t.Errorf("x0 differs from golden by %.3g (scale %.3g)", d, maxAbs32(x0))
	}
	v, u := goldenVec(t, "in/jvp_dir"), goldenVec(t, "in/vjp_dir")
	for _, c := range []struct {
		name   string
		got    func() ([]float32, error)
		golden string
	}{
		{"jvp_x0", func() ([]float32, error) { return p.JVP(OutputX0, xt, tf[0], v, nil) }, "out/jvp_x0"},
		{"vjp_x0", func() ([]float32, error) { return p.VJP(OutputX0, xt, tf[0], u, nil) }, "out/vjp_x0"},
		{"jvp_eps", func() ([]float32, error) { return p.JVP(OutputEps, xt, tf[0], v, nil) }, "out/jvp_eps"},
	} {
		got, err := c.got()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := goldenVec(t, c.golden)
		if d := maxAbsDiff32(got, want); d > 1e-4*max(1, maxAbs32(want)) {
			t.Errorf("%s differs from golden by %.3g (scale %.3g)", c.name, d, maxAbs32(want))
		} else {
			t.Logf("%s: max-abs error %.3g (scale %.3g)", c.name, d, maxAbs32(want))
		}
	}
	// Batched products: row i of a 2-vector batch equals the single product.
	u2, vhat2, err := p.JTJ(OutputX0, xt, tf[0], append(append([]float32{}, v...), u...), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := p.Dim()
	if dd := maxAbsDiff32(u2[:d], goldenVec(t, "out/jvp_x0")); dd > 1e-4*maxAbs32(u2[:d]) {
		t.Errorf("batched JVP row 0 differs from golden by %.3g", dd)
	}
	back, err := p.VJP(OutputX0, xt, tf[0], u2[d:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if dd := maxAbsDiff32(back, vhat2[d:]); dd > 1e-4*maxAbs32(back) {
		t.Errorf("JTJ row 1 differs from VJP(JVP) by %.3g", dd)
	}
}

func TestPipelineBadInput(t *testing.T) {
	p := tinyPipeline(t)
	xt := goldenVec(t, "in/xt")
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"short x", func() error { _, _, err := p.Predict(xt[:100], []float32{10}); return err }, "not a multiple"},
		{"t outside", func() error { _, _, err := p.Predict(xt, []float32{1000}); return err }, "outside the model's schedule"},
		{"t count", func() error { _, _, err := p.Predict(append(xt, xt...), []float32{1, 2, 3}); return err }, "one per sample"},
		{"mask size", func() error { _, err := p.JVP(OutputX0, xt, 500, xt, xt[:10]); return err }, "masks have"},
	} {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}
