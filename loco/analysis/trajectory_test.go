package analysis

import (
	"math"
	"slices"
	"testing"

	"github.com/locoedit/locoedit/loco"
)

// TestRankAlongTrajectoriesOfSingleGaussian: one Gaussian of rank 5 in d = 64 has J = √ᾱ·MMᵀ at every point, so
// every seed gives rank 5 (ratio 5/64, no spread) and ‖J‖_F = √(5ᾱ), exactly and estimated.
func TestRankAlongTrajectoriesOfSingleGaussian(t *testing.T) {
	p := oraclePipeline(t, 64, []int{5}, 2)
	seeds := []uint64{1, 2, 3}
	g, err := p.Grid(10, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Mode{ModeAuto, ModeEstimate} {
		pts, err := RankAlongTrajectories(p, seeds, []int{8, 0, 4, 4}, RankOptions{Steps: 10, Mode: m, K: 8})
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != 3 {
			t.Fatalf("%s: %d points for indices {0, 4, 8}", m, len(pts))
		}
		for i, pt := range pts {
			idx := []int{0, 4, 8}[i]
			ab := p.Model.Schedule().AlphaBar(g.Timesteps[idx])
			if pt.Index != idx || pt.Timestep != g.Timesteps[idx] || math.Abs(pt.T-float64(g.Timesteps[idx])/1000) > 1e-7 {
				t.Errorf("%s: point %d is index %d at t = %g (T %g), want index %d at t = %g", m, i, pt.Index, pt.Timestep, pt.T, idx, g.Timesteps[idx])
			}
			if pt.RankRatio != 5.0/64 || pt.Std != 0 || pt.RankRatioLow != 5.0/64 || pt.RankRatioHigh != 5.0/64 ||
				!slices.Equal(pt.Ranks, []int{5, 5, 5}) || !pt.Resolved || pt.Exact != (m == ModeAuto) {
				t.Errorf("%s, index %d: %+v, want rank 5 of 64 for every seed", m, idx, pt)
			}
			if want := math.Sqrt(5 * ab); math.Abs(pt.FrobNorm-want) > 1e-4*want {
				t.Errorf("%s, index %d: ‖J‖_F %.6g, want √(5ᾱ) = %.6g", m, idx, pt.FrobNorm, want)
			}
		}
	}
}

// TestRankAlongTrajectoriesOfMixture: two rank-3 components; at t = T both are equally likely (rank 6), near t = 0
// every trajectory has committed to one component (rank 3).
func TestRankAlongTrajectoriesOfMixture(t *testing.T) {
	p := oraclePipeline(t, 64, []int{3, 3}, 5)
	pts, err := RankAlongTrajectories(p, []uint64{1, 2, 3, 4}, []int{0, 8}, RankOptions{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pts[0].Ranks, []int{6, 6, 6, 6}) || !slices.Equal(pts[1].Ranks, []int{3, 3, 3, 3}) {
		t.Errorf("ranks at t = %g: %v (want 6 each), at t = %g: %v (want 3 each)", pts[0].Timestep, pts[0].Ranks, pts[1].Timestep, pts[1].Ranks)
	}
	eps, err := RankAlongTrajectories(p, []uint64{1}, []int{0}, RankOptions{Steps: 10, Output: loco.OutputEps})
	if err != nil {
		t.Fatal(err)
	}
	// ∂ε/∂x = (I − √ᾱJ)/√(1−ᾱ) is close to the identity at t = T: full rank.
	if eps[0].Ranks[0] < 60 {
		t.Errorf("ε-Jacobian rank at t = T is %d, want about d = 64", eps[0].Ranks[0])
	}
}

func TestSymmetryAlongTrajectories(t *testing.T) {
	p := oraclePipeline(t, 64, []int{5}, 2)
	pts, err := SymmetryAlongTrajectories(p, loco.OutputX0, []uint64{1, 2}, []int{2, 6}, TrajectoryOptions{Steps: 10}, SymmetryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range pts {
		ab := p.Model.Schedule().AlphaBar(pt.Timestep)
		if !pt.Exact || pt.Asymmetry > 1e-5 || math.Abs(pt.FrobNorm-math.Sqrt(5*ab)) > 1e-4*pt.FrobNorm {
			t.Errorf("index %d: %+v, want symmetric with ‖J‖_F = %.6g", pt.Index, pt, math.Sqrt(5*ab))
		}
	}
}

func TestTrajectoriesRejectBadIndices(t *testing.T) {
	p := oraclePipeline(t, 16, []int{2}, 1)
	visit := func(int, float32, []float32) error { return nil }
	if err := Trajectories(p, []uint64{1}, []int{9}, TrajectoryOptions{Steps: 10}, visit); err == nil {
		t.Error("accepted index 9 of a 9-transition grid")
	}
	if err := Trajectories(p, nil, nil, TrajectoryOptions{Steps: 10}, visit); err == nil {
		t.Error("accepted no seeds")
	}
	if got := DefaultIndices(99); !slices.Equal(got, []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 98}) {
		t.Errorf("DefaultIndices(99) = %v", got)
	}
	// The same seed gives the same start whatever the other seeds.
	a, b := p.Noise(7), p.Noise(3, 7)
	if !slices.Equal(a, b[16:]) {
		t.Error("Pipeline.Noise of a seed depends on the other seeds")
	}
}
