package molrg

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

// TestFitRecoversAPlantedModel fits data drawn from a known two-class PPCA model on 4×4 images.
func TestFitRecoversAPlantedModel(t *testing.T) {
	truth := mustOracle(t, 16, []int{2, 2}, 41) // orthonormal planted bases
	rng := rand.New(rand.NewPCG(42, 43))
	lams := [][]float64{{4, 1}, {9, 2}}
	sigma2 := []float64{0.1, 0.05}
	means := [][]float64{randn(rng, 16, 1), randn(rng, 16, 1)}
	var imgs [][]float32
	var labels []int
	for n := range 40000 {
		j := 0
		if n%4 == 0 { // prior 1/4 for class 1
			j = 1
		}
		x := make([]float64, 16)
		for i := range x {
			x[i] = means[j][i] + math.Sqrt(sigma2[j])*rng.NormFloat64()
		}
		for a, u := range truth.Basis(j) {
			z := math.Sqrt(lams[j][a]) * rng.NormFloat64()
			for i := range x {
				x[i] += z * u[i]
			}
		}
		imgs = append(imgs, num.Float32s(x))
		labels = append(labels, j)
	}
	p, err := Fit(imgs, labels, 2, FitOptions{ClassNames: []string{"a", "b"}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SampleShape(); got[0] != 1 || got[1] != 4 || got[2] != 4 {
		t.Errorf("inferred shape %v, want [1 4 4]", got)
	}
	if math.Abs(float64(p.Priors[1])-0.25) > 1e-6 {
		t.Errorf("prior of class 1 = %v, want 0.25", p.Priors[1])
	}
	for j := range 2 {
		if e := maxAbsDiff(num.Float64s(p.Means[j]), means[j]); e > 0.05 {
			t.Errorf("class %d: mean off by %.3g", j, e)
		}
		// λ_i = e_i − σ² must recover the planted variances; σ² the isotropic noise.
		for a := range 2 {
			if rel := math.Abs(float64(p.Variances[j][a])-lams[j][a]) / lams[j][a]; rel > 0.05 {
				t.Errorf("class %d: variance %d = %v, want %v", j, a, p.Variances[j][a], lams[j][a])
			}
		}
		if rel := math.Abs(float64(p.ResidualVariances[j])-sigma2[j]) / sigma2[j]; rel > 0.05 {
			t.Errorf("class %d: residual variance %v, want %v", j, p.ResidualVariances[j], sigma2[j])
		}
		// The fitted subspace equals the planted one: ‖P_fit − P_true‖ small.
		fit, want := projector(p.Basis(j)), projector(truth.Basis(j))
		var diff mat.Dense
		diff.Sub(fit, want)
		if e := mat.Norm(&diff, 2); e > 0.05 {
			t.Errorf("class %d: fitted subspace differs from the planted one by %.3g", j, e)
		}
	}
}

func projector(basis [][]float64) *mat.Dense {
	d := len(basis[0])
	p := mat.NewDense(d, d, nil)
	for _, u := range basis {
		v := mat.NewVecDense(d, u)
		p.RankOne(p, 1, v, v)
	}
	return p
}

func TestFitErrors(t *testing.T) {
	img := make([]float32, 16)
	two := [][]float32{img, img}
	cases := map[string]func() error{
		"no images":    func() error { _, err := Fit(nil, nil, 1, FitOptions{}); return err },
		"rank ≥ d":     func() error { _, err := Fit(two, []int{0, 0}, 16, FitOptions{}); return err },
		"labels":       func() error { _, err := Fit(two, []int{0}, 1, FitOptions{}); return err },
		"lonely class": func() error { _, err := Fit(two, []int{0, 1}, 1, FitOptions{}); return err },
		"shape": func() error {
			_, err := Fit(two, []int{0, 0}, 1, FitOptions{Channels: 3, Height: 2, Width: 2})
			return err
		},
		"names": func() error {
			_, err := Fit(two, []int{0, 0}, 1, FitOptions{ClassNames: []string{"a", "b"}})
			return err
		},
	}
	for name, f := range cases {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
