package analysis

import (
	"math"
	"math/rand/v2"
)

// orthonormalRows orthonormalises the k rows of length d of v (flat, float64) in place by modified Gram–Schmidt,
// applied twice for accuracy. A row whose norm collapses below 1e-5 of the largest input row (the rows are
// numerically dependent, e.g. JᵀJ·V for a Jacobian of rank < k) is replaced by a random vector orthogonalised against
// the others, so the result always has k orthonormal rows.
func orthonormalRows(v []float64, k, d int, rng *rand.Rand) {
	row := func(i int) []float64 { return v[i*d : (i+1)*d] }
	var maxNorm float64
	for i := range k {
		maxNorm = max(maxNorm, norm64(row(i)))
	}
	if maxNorm == 0 {
		maxNorm = 1
	}
	for i := range k {
		r, scale := row(i), maxNorm
		for {
			for range 2 {
				for j := range i {
					q := row(j)
					c := dotF64(q, r)
					for a := range r {
						r[a] -= c * q[a]
					}
				}
			}
			if n := norm64(r); n > 1e-5*scale {
				for a := range r {
					r[a] /= n
				}
				break
			}
			for a := range r {
				r[a] = rng.NormFloat64()
			}
			scale = norm64(r)
		}
	}
}

func norm64(v []float64) float64 { return math.Sqrt(dotF64(v, v)) }

func dotF64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
