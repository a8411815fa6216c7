package molrg

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

// centralFD is (f(x + h·v) − f(x − h·v)) / 2h for one sample, evaluated in float64.
func centralFD(t *testing.T, m *Model, x, v []float64, tt float32, h float64) []float64 {
	t.Helper()
	d := len(x)
	xs := make([]float64, 2*d)
	for i := range d {
		xs[i] = x[i] + h*v[i]
		xs[d+i] = x[i] - h*v[i]
	}
	f := predict64(t, m, xs, []float32{tt, tt})
	fd := make([]float64, d)
	for i := range fd {
		fd[i] = (f[i] - f[d+i]) / (2 * h)
	}
	return fd
}

func TestJVPMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	small := newModel(t, randomParams(t, 8), "random")
	fashion := mustEmbedded(t)
	cases := []struct {
		m     *Model
		class int
		tt    float32
	}{
		{small, 0, 50}, {small, 1, 500.5}, {small, 2, 900},
		{fashion, 4, 300}, {fashion, 6, 700},
	}
	for _, c := range cases {
		p := c.m.Params()
		ab := float64(c.m.Schedule().AlphaBar32(c.tt))
		x := noisy(rng, p, c.class, ab)
		v := randn(rng, len(x), 1)
		jv := jvp64(t, c.m, x, v, []float32{c.tt})
		fd := centralFD(t, c.m, x, v, c.tt, 1e-5)
		e := maxAbsDiff(jv, fd) / maxAbs(fd)
		if e > 1e-6 || maxAbs(fd) == 0 {
			t.Errorf("%s t=%v: exact JVP and central differences differ by %.3g relative (|J·v| = %.3g)", c.m.Name(), c.tt, e, maxAbs(fd))
		}
	}
}

func frobenius(a mat.Matrix) float64 { return mat.Norm(a, 2) }

// TestJacobianSymmetric: ∇_x E[x0|x_t] = √ā/(1−ā)·Cov[x0|x_t] is symmetric for any model.
func TestJacobianSymmetric(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	m := newModel(t, randomParams(t, 10), "random")
	for _, tt := range []float32{100, 800} {
		ab := float64(m.Schedule().AlphaBar32(tt))
		x := noisy(rng, m.Params(), 1, ab)
		for i := range x {
			x[i] += 0.5 * rng.NormFloat64() // between components: soft weights
		}
		j := jacobian(t, m, x, tt)
		var asym mat.Dense
		asym.Sub(j, j.T())
		e := frobenius(&asym) / frobenius(j)
		// Not 1e-12: the float32 bases are orthonormal to ~1e-7 only.
		if e > 1e-5 {
			t.Errorf("t=%v: ‖J − Jᵀ‖/‖J‖ = %.3g", tt, e)
		}
	}
}

func TestFloat32JVPMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	m := mustEmbedded(t)
	ab := float64(m.Schedule().AlphaBar32(500))
	x := noisy(rng, m.Params(), 0, ab)
	v := randn(rng, len(x), 1)
	want := jvp64(t, m, x, v, []float32{500})
	got := num.Float64s(jvp32(t, m, num.Float32s(x), num.Float32s(v), 500))
	e := maxAbsDiff(got, want) / maxAbs(want)
	// The logits are sums over d = 1024 pixels of size ~d: float32 leaves ~1e-4 relative error in soft weights.
	if e > 1e-3 || math.IsNaN(e) {
		t.Errorf("float32 JVP differs from float64 by %.3g relative", e)
	}
}
