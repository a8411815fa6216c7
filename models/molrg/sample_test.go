package molrg

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/internal/num"
)

// weights evaluates PosteriorWeights of the whole mixture for b flat samples at time tt.
func weights(t *testing.T, m *Model, x []float32, tt float32) [][]float64 {
	t.Helper()
	d := m.Params().Dim()
	b := len(x) / d
	ts := make([]float32, b)
	for i := range ts {
		ts[i] = tt
	}
	w := evalModel(t, m, func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.PosteriorWeights(ctx, in[0], in[1])}
	}, tensors.FromFlatDataAndDimensions(x, append([]int{b}, m.SampleShape()...)...), tensors.FromFlatDataAndDimensions(ts, b))[0]
	k := len(w) / b
	out := make([][]float64, b)
	for i := range out {
		out[i] = w[i*k : (i+1)*k]
	}
	return out
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func nearestMean(p *Params, x []float32) int {
	best, bestD := -1, math.Inf(1)
	for j, mu := range p.Means {
		s := 0.0
		for i, v := range x {
			s += (float64(v) - float64(mu[i])) * (float64(v) - float64(mu[i]))
		}
		if s < bestD {
			best, bestD = j, s
		}
	}
	return best
}

// TestDDIMSamplesOfFashion samples the embedded model with the 100-step LOCO grid (η = 0) from seeded noise and
// checks that the samples are what the model describes: class-conditional samples are assigned to their own class
// by the mixture, their coefficients along the principal directions and their residuals have the model's
// variances (the whitened statistics average to 1 for exact samples; 100 DDIM steps leave the small residual
// variance about 13% short, 500 steps about 5%), and samples of the whole mixture each fall confidently into one
// garment class, covering most classes.
func TestDDIMSamplesOfFashion(t *testing.T) {
	m := mustEmbedded(t)
	p := m.Params()
	d, k := p.Dim(), m.NumClasses()
	const perClass = 2
	misclassified, nearOwnMean := 0, 0
	coef, resid := 0.0, 0.0
	for j := range k {
		cm, err := m.WithClass(j)
		if err != nil {
			t.Fatal(err)
		}
		xs := sampleDDIM(t, cm, seedRange(100+perClass*j, perClass)...)
		w := weights(t, m, xs, 0)
		for n := range perClass {
			x := xs[n*d : (n+1)*d]
			if argmax(w[n]) != j {
				misclassified++
				t.Errorf("a sample of class %d (%s) is assigned to class %d by the mixture", j, fashionmnist.ClassNames[j], argmax(w[n]))
			}
			if nearestMean(p, x) == j {
				nearOwnMean++
			}
			a, r := whitenedStats(p, j, x)
			coef += a / float64(perClass*k)
			resid += r / float64(perClass*k)
		}
	}
	if coef < 0.7 || coef > 1.4 || resid < 0.75 || resid > 1.05 {
		t.Errorf("class-conditional samples: whitened coefficient variance %.3f (want ≈ 1), residual variance ratio %.3f (want ≈ 0.87)", coef, resid)
	}
	// Euclidean nearest-mean is a weak classifier (about 70%% on real images); garbage would score about 10%%.
	if nearOwnMean < perClass*k/2 {
		t.Errorf("only %d/%d class-conditional samples are nearest to their class mean", nearOwnMean, perClass*k)
	}

	xs := sampleDDIM(t, m, seedRange(7, 20)...)
	w := weights(t, m, xs, 0)
	seen := map[int]bool{}
	for n := range 20 {
		c := argmax(w[n])
		seen[c] = true
		if w[n][c] < 0.99 {
			t.Errorf("mixture sample %d: largest class posterior %.3f, want a confident garment (> 0.99)", n, w[n][c])
		}
	}
	t.Logf("class-conditional: whitened coefficient variance %.3f, residual ratio %.3f, %d/%d nearest their class mean; mixture samples cover %d classes",
		coef, resid, nearOwnMean, perClass*k, len(seen))
	if len(seen) < 6 {
		t.Errorf("20 mixture samples cover %d classes, want at least 6", len(seen))
	}
}

// TestDDIMSamplesOfOracleLieInTheSubspaces: DDIM from noise lands on the union of the planted subspaces (up to the
// √(1−ᾱ_0) ≈ 0.01 noise left at t = 0), with coefficients of the right size (‖M_kᵀx‖² ≈ r_k on average).
func TestDDIMSamplesOfOracleLieInTheSubspaces(t *testing.T) {
	m := mustOracle(t, 64, []int{4, 4, 4}, 31)
	const n = 30
	xs := sampleDDIM(t, m, seedRange(32, n)...)
	meanSq := 0.0
	for s := range n {
		x := num.Float64s(xs[s*64 : (s+1)*64])
		bestSq := 0.0
		for k := range 3 {
			sq := 0.0
			for _, u := range m.Basis(k) {
				c := dot(u, x)
				sq += c * c
			}
			bestSq = max(bestSq, sq)
		}
		out := math.Sqrt(max(dot(x, x)-bestSq, 0))
		if out > 0.15 { // the noise left at t = 0 accounts for ≈ 0.01·√60 ≈ 0.08
			t.Errorf("sample %d: %.3g of it lies outside its nearest planted subspace (‖x‖ = %.3g)", s, out, norm(x))
		}
		meanSq += bestSq / n
	}
	if meanSq < 3 || meanSq > 5 {
		t.Errorf("mean ‖M_kᵀx‖² = %.3g over %d samples, want ≈ r = 4", meanSq, n)
	}
}

// whitenedStats returns, for a sample x of class j, the mean of a_i²/e_i over the basis coefficients
// a = U_jᵀ(x − μ_j) (e_i = λ_i + σ² is the model's variance along u_i) and the residual's ‖ρ‖²/((d − r)σ²). Both
// average to 1 over exact samples of the component.
func whitenedStats(p *Params, j int, x []float32) (coef, resid float64) {
	d, r := p.Dim(), p.ComponentRanks()[j]
	s := float64(p.ResidualVariances[j])
	y := make([]float64, d)
	for i := range y {
		y[i] = float64(x[i]) - float64(p.Means[j][i])
	}
	rho := append([]float64(nil), y...)
	for a := range r {
		u := num.Float64s(p.Bases[j][a*d : (a+1)*d])
		c := dot(u, y)
		coef += c * c / (float64(p.Variances[j][a]) + s) / float64(r)
		for i := range rho {
			rho[i] -= c * u[i]
		}
	}
	return coef, dot(rho, rho) / (float64(d-r) * s)
}
