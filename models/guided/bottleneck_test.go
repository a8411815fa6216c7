package guided

import (
	"math/rand/v2"
	"testing"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/analysis"
)

// TestBottleneck: the tiny P2 model (learned σ, scale-shift norm, resblock up/down) splits at its middle block:
// decoding x's own h with x's skips gives the model's ε and x̂0, and the exact product ∂ε/∂h·v matches a central
// finite difference of the decoder.
func TestBottleneck(t *testing.T) {
	m, err := loco.LoadModel("testdata/tiny-p2")
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := analysis.NewBottleneck(p)
	if err != nil {
		t.Fatal(err)
	}
	d, n := p.Dim(), b.HDim()
	if s := b.HShape(); s[1]*(1<<(len(m.(*Denoiser).UNet.Config.ChannelMult)-1)) != m.SampleShape()[1] {
		t.Fatalf("h shape %v for samples %v: not at the lowest resolution", s, m.SampleShape())
	}
	const tt = 400
	x := p.Noise(5)
	h, err := b.H(x, tt)
	if err != nil {
		t.Fatal(err)
	}
	eps, x0, err := p.Predict(x, []float32{tt})
	if err != nil {
		t.Fatal(err)
	}
	e, z, err := b.Decode(x, tt, h)
	if err != nil {
		t.Fatal(err)
	}
	if re, rz := num.RelErr(e, eps), num.RelErr(z, x0); re > 1e-5 || rz > 1e-5 {
		t.Fatalf("Decode(x, H(x)) differs from the model: ε rel. error %.2g, x̂0 %.2g", re, rz)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	jv, err := b.JVP(analysis.DepsDh, x, tt, v)
	if err != nil {
		t.Fatal(err)
	}
	const delta = 1e-2
	hp, hm := make([]float32, n), make([]float32, n)
	for i := range h {
		hp[i], hm[i] = h[i]+delta*v[i], h[i]-delta*v[i]
	}
	ep, _, err := b.Decode(x, tt, hp)
	if err != nil {
		t.Fatal(err)
	}
	em, _, err := b.Decode(x, tt, hm)
	if err != nil {
		t.Fatal(err)
	}
	fd := make([]float32, d)
	for i := range fd {
		fd[i] = (ep[i] - em[i]) / (2 * delta)
	}
	if r := num.RelErr(jv, fd); r > 1e-3 {
		t.Errorf("∂ε/∂h·v differs from the central difference: rel. error %.3g", r)
	}
}
