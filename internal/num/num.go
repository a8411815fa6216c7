// Package num holds the small numerics the project repeats everywhere: float32 vectors with float64
// accumulation, seeded Gaussian noise, and Gram–Schmidt orthogonalisation. Vectors are plain slices; a batch of
// k vectors of length d is one flat slice of k·d values, row after row.
package num

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Dot is Σ a_i b_i of float32 vectors, accumulated in float64 (four partial sums, for speed).
func Dot(a, b []float32) float64 {
	var s0, s1, s2, s3 float64
	n := len(a)
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < n; i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return s0 + s1 + s2 + s3
}

// Dot64 is Σ a_i b_i of float64 vectors.
func Dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// DotMixed is Σ a_i b_i of a float64 and a float32 vector (four partial sums).
func DotMixed(a []float64, b []float32) float64 {
	var s0, s1, s2, s3 float64
	n := len(a)
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * float64(b[i])
		s1 += a[i+1] * float64(b[i+1])
		s2 += a[i+2] * float64(b[i+2])
		s3 += a[i+3] * float64(b[i+3])
	}
	for ; i < n; i++ {
		s0 += a[i] * float64(b[i])
	}
	return s0 + s1 + s2 + s3
}

// Norm64 is the Euclidean norm of a float64 vector.
func Norm64(v []float64) float64 { return math.Sqrt(Dot64(v, v)) }

// Axpy does y += alpha·x.
func Axpy(y []float64, alpha float64, x []float32) {
	if alpha == 0 {
		return
	}
	for i, e := range x {
		y[i] += alpha * float64(e)
	}
}

// Float64s converts a float32 vector to float64.
func Float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// Float32s converts a float64 vector to float32.
func Float32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// Cosine is the cosine similarity of two vectors (NaN when one of them is zero).
func Cosine(a, b []float32) float64 {
	return Dot(a, b) / math.Sqrt(Dot(a, a)*Dot(b, b))
}

// MaxAbs is the largest |a_i| (0 for an empty vector).
func MaxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// MaxAbsDiff is the largest |a_i − b_i| (a and b of the same length).
func MaxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// RelErr is the relative error ‖a − b‖/‖b‖ of a against the reference b (a and b of the same length).
func RelErr(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

// Normalize scales v to unit Euclidean norm in place. A zero (or NaN) vector is an error.
func Normalize(v []float32) error {
	n := math.Sqrt(Dot(v, v))
	if n == 0 || math.IsNaN(n) {
		return fmt.Errorf("cannot normalise a vector of norm %g", n)
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return nil
}

// NewRand returns the generator of one random stream: the same seed and stream always give the same numbers.
// Each use in the project has its own stream constant, so that two uses of one seed are independent.
func NewRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// Gaussian returns n independent N(0, 1) values of rng as float32.
func Gaussian(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// Gaussian64 returns n independent N(0, 1) values of rng.
func Gaussian64(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}

// UnitGaussian returns k vectors of length d drawn uniformly on the unit sphere (normalised Gaussians), flat.
func UnitGaussian(rng *rand.Rand, k, d int) []float32 {
	out := make([]float32, 0, k*d)
	for range k {
		v := Gaussian64(rng, d)
		s := Norm64(v)
		for i := range v {
			v[i] /= s
		}
		out = append(out, Float32s(v)...)
	}
	return out
}

// Orthogonalize removes from v its components along every row of the orthonormal sets given, twice (classical
// Gram–Schmidt applied twice is as accurate as the modified one), and returns the norm left.
func Orthogonalize(v []float64, sets ...[][]float32) float64 {
	for range 2 {
		for _, set := range sets {
			for _, q := range set {
				Axpy(v, -DotMixed(v, q), q)
			}
		}
	}
	return Norm64(v)
}

// OrthonormalColumns returns a d×k matrix (k ≤ d) with orthonormal columns: the first k columns of the Q of the
// QR factorisation of a d×k matrix of rng's N(0, 1) values, filled row by row.
func OrthonormalColumns(rng *rand.Rand, d, k int) *mat.Dense {
	var qr mat.QR
	qr.Factorize(mat.NewDense(d, k, Gaussian64(rng, d*k)))
	var q mat.Dense
	qr.QTo(&q)
	return mat.DenseCopyOf(q.Slice(0, d, 0, k))
}
