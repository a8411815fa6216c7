package loco

import (
	"math"
	"testing"

	"github.com/locoedit/locoedit/internal/num"
)

func goldenMask(t testing.TB) []float32 {
	m := goldenVec(t, "in/mask")
	for i, v := range m {
		if v != 0 {
			m[i] = 1
		}
	}
	return m
}

// TestEditDirectionMatchesAuthors runs the authors' configuration (rank 1 on the mask, rank 5 on the
// complement, faithful stop, their stored start bases) at their x_t and compares with their results.
func TestEditDirectionMatchesAuthors(t *testing.T) {
	if testing.Short() {
		t.Skip("50 faithful iterations")
	}
	p := tinyPipeline(t)
	xt := goldenVec(t, "loco/xt_edit")
	te := goldenVec(t, "loco/t_edit")[0]
	dir, err := p.EditDirection(xt, te, goldenMask(t), DirectionOptions{
		Rank: 1, NullRank: 5,
		Iteration:  SubspaceOptions{Stop: StopFaithful},
		InitModify: goldenVec(t, "loco/vinit_modify"), InitNull: goldenVec(t, "loco/vinit_null"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if dir.Modify.Iterations != 50 {
		t.Errorf("faithful mode ran %d iterations, the authors' code runs 50 here", dir.Modify.Iterations)
	}
	// Signed cosines: the faithful mode reproduces the authors' sign convention (LAPACK's SVD), so an edit strip
	// made with their settings is not mirrored.
	if c := num.Cosine(dir.Modify.Row(0), goldenVec(t, "loco/vT_modify")); c < 0.99 {
		t.Errorf("cos with the authors' vT_modify = %.4f, want ≥ 0.99 (−1 is the mirrored direction)", c)
	}
	sRef := goldenVec(t, "loco/s_modify")[0]
	if rel := math.Abs(dir.Modify.S[0]-float64(sRef)) / float64(sRef); rel > 1e-3 {
		t.Errorf("s_modify = %.5f, authors %.5f (relative %.2g)", dir.Modify.S[0], sRef, rel)
	}
	sNull := goldenVec(t, "loco/s_null")
	for i, s := range sNull {
		if rel := math.Abs(dir.Null.S[i]-float64(s)) / float64(s); rel > 1e-3 {
			t.Errorf("s_null[%d] = %.5f, authors %.5f", i, dir.Null.S[i], s)
		}
	}
	if c := num.Cosine(dir.Row(0), goldenVec(t, "loco/edit_direction")); c < 0.99 {
		t.Errorf("cos with the authors' edit direction = %.4f, want ≥ 0.99 (−1 is the mirrored direction)", c)
	} else {
		t.Logf("cos direction %.5f, vT_modify %.5f, s %.5f vs %.5f", c, num.Cosine(dir.Modify.Row(0), goldenVec(t, "loco/vT_modify")), dir.Modify.S[0], sRef)
	}
	// The projected direction has no component in the null subspace.
	for i := range 5 {
		if c := math.Abs(num.Cosine(dir.Row(0), dir.Null.Row(i))); c > 1e-5 {
			t.Errorf("direction has cosine %.2g with null vector %d", c, i)
		}
	}
}
