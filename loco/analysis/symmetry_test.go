package analysis

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/loco"
)

// TestSymmetryOfLinearModel: for x̂0 = A·x the exact measures equal ‖A − Aᵀ‖_F/‖A‖_F and ‖A‖_F, and the Hutchinson
// estimates fall within 3 standard errors of them, for x̂0 and for ε.
func TestSymmetryOfLinearModel(t *testing.T) {
	const d = 48
	s := make([]float64, d)
	for i := range s {
		s[i] = 1 + 0.5*math.Cos(float64(i))
	}
	a := f32Matrix(spectrumMatrix(s, 21))
	p := linearPipeline(t, a, []int{3, 4, 4})
	x := make([]float32, d)
	const tt = 300
	ab := float64(p.Model.Schedule().AlphaBar32(tt))
	jeps := mat.NewDense(d, d, nil) // (I − √ᾱA)/√(1−ᾱ)
	for i := range d {
		for k := range d {
			v := -math.Sqrt(ab) * a.At(i, k)
			if i == k {
				v++
			}
			jeps.Set(i, k, v/math.Sqrt(1-ab))
		}
	}
	for _, c := range []struct {
		out loco.Output
		j   *mat.Dense
	}{{loco.OutputX0, a}, {loco.OutputEps, jeps}} {
		var diff mat.Dense
		diff.Sub(c.j, c.j.T())
		wantF := mat.Norm(c.j, 2)
		wantA := mat.Norm(&diff, 2) / wantF
		ex, err := Symmetry(p, c.out, x, tt, SymmetryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !ex.Exact || math.Abs(ex.Asymmetry-wantA) > 1e-5*wantA || math.Abs(ex.FrobNorm-wantF) > 1e-5*wantF {
			t.Errorf("%s exact: asymmetry %.6g, ‖J‖_F %.6g; want %.6g, %.6g", c.out, ex.Asymmetry, ex.FrobNorm, wantA, wantF)
		}
		est, err := Symmetry(p, c.out, x, tt, SymmetryOptions{Mode: ModeEstimate, Probes: 64, Seed: 3, Batch: 24})
		if err != nil {
			t.Fatal(err)
		}
		if est.Exact || est.StdErr <= 0 || est.FrobStdErr <= 0 ||
			math.Abs(est.Asymmetry-wantA) > 3*est.StdErr || math.Abs(est.FrobNorm-wantF) > 3*est.FrobStdErr {
			t.Errorf("%s estimate: asymmetry %.5g ± %.2g (exact %.5g), ‖J‖_F %.5g ± %.2g (exact %.5g)",
				c.out, est.Asymmetry, est.StdErr, wantA, est.FrobNorm, est.FrobStdErr, wantF)
		}
		t.Logf("%s: asymmetry %.4f ± %.4f (exact %.4f), ‖J‖_F %.4f ± %.4f (exact %.4f)", c.out, est.Asymmetry, est.StdErr, wantA, est.FrobNorm, est.FrobStdErr, wantF)
	}
}

// TestOracleJacobianIsSymmetric: the posterior-mean Jacobian √ᾱ/(1−ᾱ)·Cov[x0|x_t] is symmetric.
func TestOracleJacobianIsSymmetric(t *testing.T) {
	p := oraclePipeline(t, 64, []int{3, 4}, 8)
	for _, tt := range []float32{800, 300} {
		x := noisyOraclePoint(t, p, tt, 2)
		for _, m := range []Mode{ModeExact, ModeEstimate} {
			r, err := Symmetry(p, loco.OutputX0, x, tt, SymmetryOptions{Mode: m, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			if r.Asymmetry > 1e-5 || r.FrobNorm <= 0 {
				t.Errorf("t = %g, %s: asymmetry %.3g (‖J‖_F %.4g), want ≈ 0", tt, m, r.Asymmetry, r.FrobNorm)
			}
		}
	}
}
