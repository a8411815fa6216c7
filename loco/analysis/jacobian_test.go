package analysis

import (
	"math"
	"os"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

func TestFullJacobianOfLinearModel(t *testing.T) {
	shape := []int{3, 4, 4}
	d := 48
	s := make([]float64, d)
	for i := range s {
		s[i] = 2 * math.Pow(0.8, float64(i))
	}
	a := f32Matrix(spectrumMatrix(s, 7))
	p := linearPipeline(t, a, shape)
	x := make([]float32, d)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	const tt = 500.5
	// Batch 20 splits the 48 rows into 20 + 20 + 8 (padded).
	j, err := FullJacobian(p, loco.OutputX0, x, tt, JacobianOptions{Batch: 20})
	if err != nil {
		t.Fatal(err)
	}
	if diff, scale := maxAbsDiff(j.RawMatrix().Data, a.RawMatrix().Data); diff > 1e-6*scale {
		t.Errorf("x̂0-Jacobian differs from A by %.3g (max |A| %.3g)", diff, scale)
	}
	// ε = (x − √ᾱ·x̂0)/√(1−ᾱ): its Jacobian is (I − √ᾱ·A)/√(1−ᾱ).
	ab := float64(p.Model.Schedule().AlphaBar32(tt))
	want := mat.NewDense(d, d, nil)
	for i := range d {
		for k := range d {
			v := -math.Sqrt(ab) * a.At(i, k)
			if i == k {
				v++
			}
			want.Set(i, k, v/math.Sqrt(1-ab))
		}
	}
	je, err := FullJacobian(p, loco.OutputEps, x, tt, JacobianOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff, scale := maxAbsDiff(je.RawMatrix().Data, want.RawMatrix().Data); diff > 1e-5*scale {
		t.Errorf("ε-Jacobian differs from (I − √ᾱA)/√(1−ᾱ) by %.3g (max %.3g)", diff, scale)
	}
	cols, err := JacobianColumns(p, loco.OutputX0, x, tt, []int{0, 17, 47}, JacobianOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	for c, k := range []int{0, 17, 47} {
		for i := range d {
			if math.Abs(cols.At(i, c)-a.At(i, k)) > 1e-6 {
				t.Fatalf("column %d, row %d: %g, want %g", k, i, cols.At(i, c), a.At(i, k))
			}
		}
	}
	sv, err := Spectrum(p, loco.OutputX0, x, tt, JacobianOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff, _ := maxAbsDiff(sv, s); diff > 1e-5 {
		t.Errorf("spectrum differs from the planted singular values by %.3g", diff)
	}
	if r, want := NumericalRank(sv, 0), NumericalRank(s, 0); r != want {
		t.Errorf("numerical rank %d, want %d", r, want)
	}
}

func TestFullJacobianRefusesLargeAndBadInputs(t *testing.T) {
	big, err := loco.NewPipeline(&linearDenoiser{shape: []int{1, 1, MaxExactDim + 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FullJacobian(big, loco.OutputX0, make([]float32, MaxExactDim+1), 10, JacobianOptions{}); err == nil {
		t.Error("FullJacobian accepted d > MaxExactDim")
	}
	p := linearPipeline(t, mat.NewDense(4, 4, nil), []int{1, 2, 2})
	if _, err := FullJacobian(p, loco.OutputX0, make([]float32, 3), 10, JacobianOptions{}); err == nil {
		t.Error("FullJacobian accepted x of the wrong size")
	}
	if _, err := JacobianRows(p, loco.OutputX0, make([]float32, 4), 10, []int{4}, JacobianOptions{}); err == nil {
		t.Error("JacobianRows accepted an index out of range")
	}
	if _, err := FullJacobian(p, loco.OutputX0, make([]float32, 4), 1000, JacobianOptions{}); err == nil {
		t.Error("FullJacobian accepted t outside the schedule")
	}
}

// TestOracleRankIsPlanted: the MoLRG oracle's posterior-mean Jacobian has rank Σr_k at high noise (equal weights)
// and r_k near a clean sample at low noise (one component dominates); a single component gives rank r at any t.
func TestOracleRankIsPlanted(t *testing.T) {
	p := oraclePipeline(t, 64, []int{4, 4}, 5)
	for _, c := range []struct {
		t    float32
		want int
	}{{999, 8}, {900, 8}, {20, 4}} {
		x := noisyOraclePoint(t, p, c.t, 9)
		sv, err := Spectrum(p, loco.OutputX0, x, c.t, JacobianOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r := NumericalRank(sv, 0); r != c.want {
			t.Errorf("two components of rank 4, t = %g: numerical rank %d, want %d (σ = %.4g)", c.t, r, c.want, sv[:10])
		}
		// Exactly low rank: everything beyond Σr_k is float32 round-off.
		if sv[8] > 1e-5*sv[0] {
			t.Errorf("t = %g: σ_9 = %.3g is not negligible against σ_1 = %.3g", c.t, sv[8], sv[0])
		}
	}
	single := oraclePipeline(t, 64, []int{5}, 6)
	for _, tt := range []float32{999, 500, 10} {
		sv, err := Spectrum(single, loco.OutputX0, noisyOraclePoint(t, single, tt, 1), tt, JacobianOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ab := single.Model.Schedule().AlphaBar(tt)
		if r := NumericalRank(sv, 0); r != 5 || math.Abs(sv[0]-math.Sqrt(ab)) > 1e-5 || math.Abs(sv[4]-math.Sqrt(ab)) > 1e-5 {
			t.Errorf("one component of rank 5, t = %g: rank %d with σ_1..5 = %.6g, want 5 × √ᾱ = %.6g", tt, r, sv[:5], math.Sqrt(ab))
		}
	}
}

// TestTinyUNetJacobianRowAndColumn compares row 0 (one VJP) and column 0 (one JVP) of the PMP Jacobian of the golden
// tiny UNet at the golden edit point with the reference's full Jacobian.
func TestTinyUNetJacobianRowAndColumn(t *testing.T) {
	p := tinyPipeline(t)
	x := goldenVec(t, "loco/xt_edit")
	tt := goldenVec(t, "loco/t_edit")[0]
	start := time.Now()
	row, err := JacobianRows(p, loco.OutputX0, x, tt, []int{0}, JacobianOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mid := time.Now()
	col, err := JacobianColumns(p, loco.OutputX0, x, tt, []int{0}, JacobianOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tiny UNet: one row (VJP) %v, one column (JVP) %v, including graph compilation", mid.Sub(start), time.Since(mid))
	for _, c := range []struct {
		name string
		got  []float64
	}{{"jac/full_x0_row0", mat.Row(nil, 0, row)}, {"jac/full_x0_col0", mat.Col(nil, 0, col)}} {
		want := num.Float64s(goldenVec(t, c.name))
		if diff, scale := maxAbsDiff(c.got, want); diff > 2e-5*scale || scale == 0 {
			t.Errorf("%s: max |Δ| = %.3g (max |ref| %.3g)", c.name, diff, scale)
		}
	}
}

// TestTinyUNetFullSpectrum forms the full 3072×3072 Jacobian of the tiny UNet (3072 products: about an hour on two
// shared cores) and compares its top singular values with the reference's. Set LOCO_SLOW=1 to run it.
func TestTinyUNetFullSpectrum(t *testing.T) {
	if os.Getenv("LOCO_SLOW") == "" {
		t.Skip("slow (3072 Jacobian products): set LOCO_SLOW=1")
	}
	p := tinyPipeline(t)
	x := goldenVec(t, "loco/xt_edit")
	tt := goldenVec(t, "loco/t_edit")[0]
	sv, err := Spectrum(p, loco.OutputX0, x, tt, JacobianOptions{Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	want := num.Float64s(goldenVec(t, "jac/full_x0_singular_values"))
	if diff, scale := maxAbsDiff(sv[:len(want)], want); diff > 1e-4*scale {
		t.Errorf("top singular values differ by %.3g (σ_1 = %.5g): got %.6g, want %.6g", diff, scale, sv[:len(want)], want)
	}
	t.Logf("tiny UNet PMP Jacobian at t = %g: numerical rank %d of 3072, ‖J‖_F = %.5g", tt, NumericalRank(sv, 0), FrobeniusNorm(sv))
}
