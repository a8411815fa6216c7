package loco

import (
	"math"
	"testing"
	"time"

	"github.com/locoedit/locoedit/internal/num"
)

// goldenSubspaceMetrics compares a rank-1 masked subspace and a rank-5 complement subspace with the full-Jacobian
// SVD: |cos| of the top vector, the overlap (cosine of the largest principal angle) of the null subspace.
func goldenSubspaceMetrics(t testing.TB, top, null []float32) (cosTop, overlap float64) {
	d := len(top)
	exactTop := goldenVec(t, "jac/masked_x0_right_sv")[:d]
	exactNull := goldenVec(t, "jac/null_x0_right_sv")[:5*d]
	cs, err := PrincipalCosines(null, exactNull, d)
	if err != nil {
		t.Fatal(err)
	}
	return math.Abs(num.Cosine(top, exactTop)), cs[len(cs)-1]
}

// exactEditDirection is the edit direction from the full-Jacobian SVD: the top masked right singular vector
// projected off the top-5 complement ones, normalised.
func exactEditDirection(t testing.TB) []float32 {
	d := len(goldenVec(t, "loco/xt_edit"))
	v := NullSpaceProject(goldenVec(t, "jac/masked_x0_right_sv")[:d], goldenVec(t, "jac/null_x0_right_sv")[:5*d], d)
	if err := num.Normalize(v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSubspaceGoldenKrylov runs EditDirection with the default method on the authors' problem (rank 1 on the
// mask, rank 5 on the complement, their start bases) and compares it and the authors' result with the
// full-Jacobian SVD. The authors' 50 faithful iterations (600 Jacobian products) are reproduced and checked
// against their stored vectors by TestEditDirectionMatchesAuthors; their accuracy here is computed from those
// stored vectors, so the slow run is not repeated.
func TestSubspaceGoldenKrylov(t *testing.T) {
	if testing.Short() {
		t.Skip("about 40 s of Jacobian products on the tiny model")
	}
	p := tinyPipeline(t)
	xt := goldenVec(t, "loco/xt_edit")
	te := goldenVec(t, "loco/t_edit")[0]
	start := time.Now()
	dir, err := p.EditDirection(xt, te, goldenMask(t), DirectionOptions{Rank: 1, NullRank: 5,
		InitModify: goldenVec(t, "loco/vinit_modify"), InitNull: goldenVec(t, "loco/vinit_null")})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	modify, null := dir.Modify, dir.Null
	if modify.Method != MethodKrylov || null.Method != MethodKrylov {
		t.Fatalf("default method is %v/%v, want krylov", modify.Method, null.Method)
	}

	cosTop, overlap := goldenSubspaceMetrics(t, modify.Row(0), null.V)
	authorsCos, authorsOverlap := goldenSubspaceMetrics(t, goldenVec(t, "loco/vT_modify"), goldenVec(t, "loco/vT_null"))
	exactDir := exactEditDirection(t)
	exactS := goldenVec(t, "jac/masked_x0_singular_values")
	exactNullS := goldenVec(t, "jac/null_x0_singular_values")
	evals := modify.Evaluations + null.Evaluations
	t.Logf("authors (power, faithful): |cos| top %.5f, null overlap %.4f, direction |cos| with exact %.4f, s %.5f / %.4f, 600 evaluations",
		authorsCos, authorsOverlap, math.Abs(num.Cosine(goldenVec(t, "loco/edit_direction"), exactDir)),
		goldenVec(t, "loco/s_modify"), goldenVec(t, "loco/s_null"))
	t.Logf("Krylov (default):          |cos| top %.5f, null overlap %.4f, direction |cos| with exact %.4f, s %.5f / %.4f, %d+%d = %d evaluations in %d+%d iterations, %.1f s",
		cosTop, overlap, math.Abs(num.Cosine(dir.Row(0), exactDir)), modify.S, null.S, modify.Evaluations, null.Evaluations, evals,
		modify.Iterations, null.Iterations, elapsed.Seconds())
	t.Logf("exact:                     s %.5f / %.4f; Krylov residuals %.2g / %.2g", exactS[:1], exactNullS[:5], modify.Residuals, null.Residuals)
	if !modify.Converged || !null.Converged {
		t.Errorf("not converged: modify %v (change %.3g), null %v (change %.3g)", modify.Converged, modify.Change, null.Converged, null.Change)
	}
	if cosTop < max(authorsCos, 0.983) {
		t.Errorf("|cos| of the top vector with the exact one = %.5f, the authors reach %.5f", cosTop, authorsCos)
	}
	if overlap < max(authorsOverlap, 0.19) {
		t.Errorf("null-subspace overlap %.4f, the authors reach %.4f", overlap, authorsOverlap)
	}
	if evals > 300 {
		t.Errorf("%d Jacobian products, want at most half of the authors' 600", evals)
	}
	if e := math.Abs(modify.S[0]-float64(exactS[0])) / float64(exactS[0]); e > 1e-4 {
		t.Errorf("s_modify = %.5f, exact %.5f", modify.S[0], exactS[0])
	}
	for i := range 5 {
		if e := math.Abs(null.S[i]-float64(exactNullS[i])) / float64(exactNullS[i]); e > 1e-3 {
			t.Errorf("s_null[%d] = %.5f, exact %.5f", i, null.S[i], exactNullS[i])
		}
	}
}
