package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func sqrts(sq ...float64) []float64 {
	out := make([]float64, len(sq))
	for i, v := range sq {
		out[i] = math.Sqrt(v)
	}
	return out
}

func TestNumericalRank(t *testing.T) {
	cases := []struct {
		name string
		s    []float64
		eta  float64
		want int
	}{
		{"empty", nil, 0, 0},
		{"zero", []float64{0, 0, 0}, 0, 0},
		{"one direction", []float64{3, 0, 0, 0}, 0, 1},
		// σ² = 50, 30, 10, 5, 3, 1, 1 (total 100): cumulative 50, 80, 90, 95, 98, 99 → first > 98.01 is r = 6.
		{"decaying default eta", sqrts(50, 30, 10, 5, 3, 1, 1), 0, 6},
		{"decaying explicit eta", sqrts(50, 30, 10, 5, 3, 1, 1), 0.99, 6},
		{"unsorted", sqrts(1, 5, 50, 1, 10, 3, 30), 0.99, 6},
		{"eta 0.9 (target 81)", sqrts(50, 30, 10, 5, 3, 1, 1), 0.9, 3},
		// Strict inequality: σ² = 1,1,1,1 with η = 0.5 has target exactly 1, reached but not exceeded at r = 1.
		{"strict", []float64{1, 1, 1, 1}, 0.5, 2},
		{"flat 10", slices.Repeat([]float64{2}, 10), 0, 10},
		{"flat 100", slices.Repeat([]float64{2}, 100), 0, 99},
		{"eta above 1 clamps", []float64{1, 1e-3}, 2, 2},
		{"negative singular values use |σ|", []float64{-3, 0.01}, 0, 1},
	}
	for _, c := range cases {
		if got := NumericalRank(c.s, c.eta); got != c.want {
			t.Errorf("%s: NumericalRank(%v, %g) = %d, want %d", c.name, c.s, c.eta, got, c.want)
		}
	}
	if r := RankRatio(sqrts(50, 30, 10, 5, 3, 1, 1), 0, 12); math.Abs(r-0.5) > 1e-15 {
		t.Errorf("RankRatio = %g, want 6/12", r)
	}
	if f := FrobeniusNorm([]float64{3, 4}); f != 5 {
		t.Errorf("FrobeniusNorm(3,4) = %g, want 5", f)
	}
}

// TestRankBoundsBracketTheTruth checks the bounds of a spectrum estimate on random spectra whose Ritz values are
// any valid underestimates (Ritz_i ≤ σ_i, captured mass C, tail ‖J‖² − C exactly known).
func TestRankBoundsBracketTheTruth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		d := 20 + rng.IntN(200)
		s := make([]float64, d)
		decay := 0.5 + 0.5*rng.Float64()
		for i := range s {
			s[i] = math.Pow(decay, float64(i)) * (1 + 0.1*rng.Float64())
		}
		slices.Sort(s)
		slices.Reverse(s)
		truth := NumericalRank(s, 0)
		l := 1 + rng.IntN(min(d, 60))
		ritz := make([]float64, l)
		var captured, total float64
		for i := range s {
			total += s[i] * s[i]
		}
		shrink := 1.0
		if trial%2 == 1 {
			shrink = 1 - 0.05*rng.Float64() // imperfect subspace: Ritz values below the truth
		}
		for i := range l {
			ritz[i] = s[i] * shrink
			captured += ritz[i] * ritz[i]
		}
		tail := total - captured
		rank, lo, hi, resolved := rankBounds(ritz, captured, tail, tail, d, DefaultEta)
		if truth < lo || truth > hi {
			t.Fatalf("trial %d (d=%d, l=%d, decay %.3f): true rank %d outside [%d, %d] (estimate %d)", trial, d, l, decay, truth, lo, hi, rank)
		}
		if rank < lo || rank > hi {
			t.Fatalf("trial %d: estimate %d outside its bounds [%d, %d]", trial, rank, lo, hi)
		}
		if shrink == 1 && resolved && rank != truth {
			t.Fatalf("trial %d: exact top-%d capture resolved rank %d, want %d", trial, l, rank, truth)
		}
	}
	// No tail: the bounds collapse onto the rank of the Ritz values.
	ritz := sqrts(50, 30, 10, 5, 3, 1, 1)
	rank, lo, hi, resolved := rankBounds(ritz, 100, 0, 0, 1000, DefaultEta)
	if rank != 6 || lo != 6 || hi != 6 || !resolved {
		t.Errorf("no tail: rank %d in [%d, %d] resolved %v, want 6 in [6, 6] resolved", rank, lo, hi, resolved)
	}
	// An unresolved estimate: most mass is tail beyond the 2 Ritz values. It could lie in one direction (rank 1)
	// or spread evenly over the other 98 (rank 99: the flat-tail estimate).
	rank, lo, hi, resolved = rankBounds([]float64{1, 1}, 2, 98, 98, 100, DefaultEta)
	if resolved || rank != hi || lo != 1 || hi != 99 {
		t.Errorf("tail-dominated: rank %d in [%d, %d] resolved %v", rank, lo, hi, resolved)
	}
	// With a flat spectrum of 100 equal values the flat-tail estimate is exact (99).
	if rank != 99 {
		t.Errorf("flat tail: rank %d, want 99", rank)
	}
}
