package analysis

import (
	"math"
	"testing"

	"github.com/locoedit/locoedit/loco"
)

// TestEstimateMatchesExactOnOracle: on the low-rank oracle the randomised estimate finds the planted spectrum,
// an empty tail and the exact numerical rank.
func TestEstimateMatchesExactOnOracle(t *testing.T) {
	p := oraclePipeline(t, 512, []int{6, 6}, 3)
	const tt = 900
	x := noisyOraclePoint(t, p, tt, 4)
	exact, err := Spectrum(p, loco.OutputX0, x, tt, JacobianOptions{})
	if err != nil {
		t.Fatal(err)
	}
	est, err := EstimateSpectrum(p, loco.OutputX0, x, tt, 12, EstimateOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff, scale := maxAbsDiff(est.Singular, exact[:12]); diff > 1e-4*scale {
		t.Errorf("estimated σ_1..12 = %.6g, exact %.6g", est.Singular, exact[:12])
	}
	want := NumericalRank(exact, 0)
	if want != 12 || est.Rank != want || est.RankLow != want || est.RankHigh != want || !est.Resolved {
		t.Errorf("rank %d in [%d, %d] (resolved %v), exact %d (planted 12)", est.Rank, est.RankLow, est.RankHigh, est.Resolved, want)
	}
	frob := FrobeniusNorm(exact)
	if lo, hi := est.FrobeniusInterval(); est.Tail > 1e-8*frob*frob || math.Abs(est.FrobeniusNorm()-frob) > 1e-5*frob || lo > frob*(1+1e-6) || hi < frob*(1-1e-6) {
		t.Errorf("tail %.3g, ‖J‖_F estimate %.6g in [%.6g, %.6g], exact %.6g", est.Tail, est.FrobeniusNorm(), lo, hi, frob)
	}
	// At most 3 Krylov iterations of 22 vectors (two products each) and 32 probes; the rank-12 Jacobian is
	// captured by the first block, so the Ritz residuals may stop it earlier.
	if est.Products < 2*22+32 || est.Products > 3*2*22+32 {
		t.Errorf("used %d products, want 2 × 22 per Krylov iteration (1 to 3) + 32 probes", est.Products)
	}
}

// TestEstimateBoundsOnDecayingSpectrum: a full-rank, non-symmetric linear model with a slowly decaying spectrum,
// whose exact values are known. With few vectors the rank is not resolved but bracketed; with enough it is found.
// The Hutchinson tail lies within 3 standard errors of the exact tail.
func TestEstimateBoundsOnDecayingSpectrum(t *testing.T) {
	const d = 256
	s := make([]float64, d)
	for i := range s {
		s[i] = math.Pow(0.96, float64(i))
	}
	a := f32Matrix(spectrumMatrix(s, 11))
	p := linearPipeline(t, a, []int{1, 16, 16})
	x := make([]float32, d)
	exact, err := SingularValues(a)
	if err != nil {
		t.Fatal(err)
	}
	truth := NumericalRank(exact, 0)
	var total float64
	for _, v := range exact {
		total += v * v
	}
	for _, c := range []struct {
		k        int
		resolved bool
	}{{10, false}, {100, true}} {
		est, err := EstimateSpectrum(p, loco.OutputX0, x, 100, c.k, EstimateOptions{Seed: 2, Probes: 48})
		if err != nil {
			t.Fatal(err)
		}
		trueTail := total - est.Captured
		if math.Abs(est.Tail-trueTail) > 3*est.TailStdErr || est.TailStdErr <= 0 {
			t.Errorf("k=%d: tail %.5g ± %.3g, exact %.5g", c.k, est.Tail, est.TailStdErr, trueTail)
		}
		if truth < est.RankLow || truth > est.RankHigh || est.Resolved != c.resolved {
			t.Errorf("k=%d: rank %d in [%d, %d] resolved %v; exact %d", c.k, est.Rank, est.RankLow, est.RankHigh, est.Resolved, truth)
		}
		for i, v := range est.Singular {
			if v > exact[i]*(1+1e-5) {
				t.Fatalf("k=%d: Ritz value %d = %.6g exceeds σ_%d = %.6g", c.k, i, v, i+1, exact[i])
			}
		}
		if rel := 1 - est.Singular[0]/exact[0]; rel > 0.02 {
			t.Errorf("k=%d: σ_1 estimate %.6g, exact %.6g", c.k, est.Singular[0], exact[0])
		}
		if c.resolved && math.Abs(float64(est.Rank-truth)) > 2 {
			t.Errorf("k=%d: resolved rank %d, exact %d", c.k, est.Rank, truth)
		}
		t.Logf("k=%d: rank %d in [%d, %d] (exact %d), tail %.4g ± %.2g (exact %.4g), %d products", c.k, est.Rank, est.RankLow, est.RankHigh, truth, est.Tail, est.TailStdErr, trueTail, est.Products)
	}
}
