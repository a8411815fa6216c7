package num

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestVectors(t *testing.T) {
	a, b := []float32{1, 2, 3, 4, 5}, []float32{5, 4, 3, 2, 1}
	if d := Dot(a, b); d != 35 {
		t.Errorf("Dot = %g, want 35", d)
	}
	if d := DotMixed(Float64s(a), b); d != 35 {
		t.Errorf("DotMixed = %g, want 35", d)
	}
	if c := Cosine(a, a); math.Abs(c-1) > 1e-15 {
		t.Errorf("Cosine(a, a) = %g", c)
	}
	if r := RelErr([]float32{3, 4}, []float32{0, 4}); r != 0.75 {
		t.Errorf("RelErr = %g, want 0.75", r)
	}
	v := []float32{3, 4}
	if err := Normalize(v); err != nil || v[0] != 0.6 || v[1] != 0.8 {
		t.Errorf("Normalize = %v, %v", v, err)
	}
	if err := Normalize([]float32{0, 0}); err == nil {
		t.Error("Normalize of zero: no error")
	}
	y := []float64{1, 1}
	Axpy(y, 2, []float32{1, -1})
	if y[0] != 3 || y[1] != -1 {
		t.Errorf("Axpy = %v", y)
	}
}

func TestNoiseAndBases(t *testing.T) {
	a, b := Gaussian(NewRand(1, 7), 1000), Gaussian(NewRand(1, 7), 1000)
	c := Gaussian(NewRand(1, 8), 1000)
	var mean, sq float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the same seed and stream gave different noise")
		}
		mean += float64(a[i]) / 1000
		sq += float64(a[i]) * float64(a[i]) / 1000
	}
	if math.Abs(mean) > 0.1 || math.Abs(sq-1) > 0.1 || Cosine(a, c) > 0.1 {
		t.Errorf("noise mean %.3f, mean square %.3f, cosine with another stream %.3f", mean, sq, Cosine(a, c))
	}
	u := UnitGaussian(NewRand(2, 2), 3, 50)
	for i := range 3 {
		if n := math.Sqrt(Dot(u[i*50:(i+1)*50], u[i*50:(i+1)*50])); math.Abs(n-1) > 1e-6 {
			t.Errorf("unit vector %d has norm %g", i, n)
		}
	}
	q := OrthonormalColumns(NewRand(3, 3), 20, 4)
	var g mat.Dense
	g.Mul(q.T(), q)
	if !mat.EqualApprox(&g, eye(4), 1e-12) {
		t.Errorf("QᵀQ is not the identity:\n%v", mat.Formatted(&g))
	}
	// Orthogonalize against the columns of q leaves a vector orthogonal to them.
	basis := make([][]float32, 4)
	for j := range basis {
		basis[j] = Float32s(mat.Col(nil, j, q))
	}
	v := Gaussian64(NewRand(4, 4), 20)
	n := Orthogonalize(v, basis)
	for _, r := range basis {
		if d := DotMixed(v, r); math.Abs(d) > 1e-6*n {
			t.Errorf("⟨v, q⟩ = %g after orthogonalisation", d)
		}
	}
}

func eye(n int) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := range n {
		m.Set(i, i, 1)
	}
	return m
}
