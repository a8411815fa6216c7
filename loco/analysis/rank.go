package analysis

import (
	"math"
	"slices"
)

// DefaultEta is the paper's threshold η of the numerical rank (docs/method.md §11.1): the rank keeps η² = 98.01 % of the
// squared Frobenius mass.
const DefaultEta = 0.99

// eta returns η, with 0 meaning DefaultEta and values above 1 clamped to 1.
func etaOrDefault(eta float64) float64 {
	switch {
	case eta <= 0 || math.IsNaN(eta):
		return DefaultEta
	case eta > 1:
		return 1
	}
	return eta
}

// NumericalRank is the smallest r such that Σ_{i≤r} σ_i² > η²·Σ_i σ_i² (docs/method.md §11.1), for singular values in any
// order (their absolute values are sorted in decreasing order first). eta ≤ 0 means DefaultEta; eta > 1 is taken
// as 1. It is 0 when every singular value is 0 and at most len(singularValues).
func NumericalRank(singularValues []float64, eta float64) int {
	eta = etaOrDefault(eta)
	s := make([]float64, len(singularValues))
	for i, v := range singularValues {
		s[i] = v * v
	}
	slices.Sort(s)
	slices.Reverse(s)
	var total float64
	for _, v := range slices.Backward(s) { // smallest first, for accuracy
		total += v
	}
	if total == 0 {
		return 0
	}
	target := eta * eta * total
	var cum float64
	for i, v := range s {
		cum += v
		if cum > target {
			return i + 1
		}
	}
	return len(s)
}

// RankRatio is NumericalRank(singularValues, eta)/dim, the paper's "rank ratio" (Fig. 2a) for a Jacobian with dim
// columns (the input dimension d = C·H·W). It is 0 for dim ≤ 0.
func RankRatio(singularValues []float64, eta float64, dim int) float64 {
	if dim <= 0 {
		return 0
	}
	return float64(NumericalRank(singularValues, eta)) / float64(dim)
}

// FrobeniusNorm is √(Σσ_i²) = ‖J‖_F for the singular values of J.
func FrobeniusNorm(singularValues []float64) float64 {
	var s float64
	for _, v := range singularValues {
		s += v * v
	}
	return math.Sqrt(s)
}
