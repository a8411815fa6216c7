package analysis

import (
	"math"
	"testing"

	"github.com/locoedit/locoedit/loco"
)

func TestLinearityOfLinearModels(t *testing.T) {
	s := make([]float64, 48)
	for i := range s {
		s[i] = 1 / float64(i+1)
	}
	lin := linearPipeline(t, f32Matrix(spectrumMatrix(s, 5)), []int{3, 4, 4})
	single := oraclePipeline(t, 64, []int{5}, 3) // one Gaussian: x̂0 = √ᾱ·MMᵀx is linear
	for _, c := range []struct {
		p   *loco.Pipeline
		out loco.Output
		x   []float32
	}{
		{lin, loco.OutputX0, make([]float32, 2*48)}, // two points
		{lin, loco.OutputEps, make([]float32, 48)},
		{single, loco.OutputX0, noisyOraclePoint(t, single, 700, 1)},
	} {
		for i := range c.x {
			c.x[i] = float32(math.Sin(float64(i)))
		}
		pts, err := Linearity(c.p, c.out, c.x, 700, nil, 1, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != len(DefaultLambdas) {
			t.Fatalf("%d points for %d default λ", len(pts), len(DefaultLambdas))
		}
		for i, pt := range pts {
			if pt.Lambda != DefaultLambdas[i] || pt.Samples != 5*len(c.x)/c.p.Dim() ||
				math.Abs(pt.NormRatio-1) > 2e-5 || math.Abs(pt.Cosine-1) > 1e-6 {
				t.Errorf("%s/%s: %+v, want norm ratio and cosine 1", c.p.Model.Name(), c.out, pt)
			}
		}
	}
}

// TestLinearityOfMixture: the two-component oracle is linear at λ = 0 by construction, nearly linear at high
// noise, and measurably non-linear at low noise, increasingly with λ.
func TestLinearityOfMixture(t *testing.T) {
	p := oraclePipeline(t, 64, []int{3, 3}, 5)
	cos40 := map[float32]float64{}
	for _, tt := range []float32{999, 300} {
		pts, err := Linearity(p, loco.OutputX0, noisyOraclePoint(t, p, tt, 9), tt, nil, 1, 8)
		if err != nil {
			t.Fatal(err)
		}
		if pts[0].NormRatio != 1 || math.Abs(pts[0].Cosine-1) > 1e-12 || pts[0].NormStd != 0 {
			t.Errorf("t = %g, λ = 0: %+v, want exactly 1", tt, pts[0])
		}
		// The deviation grows with λ (λ = 10, 20, 40; it saturates beyond, so 30 → 40 is not compared with 20 → 30).
		if c10, c20, c40 := pts[1].Cosine, pts[2].Cosine, pts[4].Cosine; !(c10 < 1 && c20 < c10 && c40 < c20) {
			t.Errorf("t = %g: cosine at λ = 10, 20, 40 is %.10g, %.10g, %.10g: want decreasing below 1", tt, c10, c20, c40)
		}
		cos40[tt] = pts[4].Cosine
	}
	if cos40[999] < 0.99999 || cos40[300] > 0.95 {
		t.Errorf("cosine at λ = 40: %.6g at t = 999 (want ≈ 1), %.4g at t = 300 (want clearly < 1)", cos40[999], cos40[300])
	}
}

// TestLinearityOfTinyUNetAtSmallSteps: for λ → 0 the measured f(x+λΔx) must agree with the JVP's linearisation,
// which ties Predict and JVP of the tiny UNet together.
func TestLinearityOfTinyUNetAtSmallSteps(t *testing.T) {
	p := tinyPipeline(t)
	x := goldenVec(t, "loco/xt_edit")
	tt := goldenVec(t, "loco/t_edit")[0]
	pts, err := Linearity(p, loco.OutputX0, x, tt, []float64{0, 0.05}, 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range pts {
		if math.Abs(pt.NormRatio-1) > 1e-4 || math.Abs(pt.Cosine-1) > 1e-6 {
			t.Errorf("λ = %g: norm ratio %.7g, cosine %.9g; want 1", pt.Lambda, pt.NormRatio, pt.Cosine)
		}
	}
}

func TestLinearityRejectsBadInput(t *testing.T) {
	p := oraclePipeline(t, 16, []int{2}, 1)
	if _, err := Linearity(p, loco.OutputX0, make([]float32, 15), 10, nil, 1, 3); err == nil {
		t.Error("accepted x of the wrong size")
	}
	if _, err := Linearity(p, loco.OutputX0, make([]float32, 16), 10, nil, 1, 0); err == nil {
		t.Error("accepted 0 samples")
	}
}
