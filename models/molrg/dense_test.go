package molrg

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

// densePosterior computes E[x0 | x_t] the textbook way in float64, with full d×d covariances and Cholesky
// factorisations: component k gives x_t ~ N(√ā μ_k, C_k), C_k = ā Σ_k + (1−ā) I, E[x0|x_t,k] = μ_k + √ā Σ_k C_k⁻¹ y_k.
func densePosterior(p *Params, xs [][]float64, ab float64) [][]float64 {
	d, k := p.Dim(), p.Config.NumClasses
	ranks := p.ComponentRanks()
	sa := math.Sqrt(ab)
	logits := make([][]float64, len(xs))
	conds := make([][][]float64, len(xs))
	for j := range k {
		sigma := mat.NewSymDense(d, nil)
		for a := range ranks[j] {
			u := mat.NewVecDense(d, num.Float64s(p.Bases[j][a*d:(a+1)*d]))
			sigma.SymRankOne(sigma, float64(p.Variances[j][a]), u)
		}
		for i := range d {
			sigma.SetSym(i, i, sigma.At(i, i)+float64(p.ResidualVariances[j]))
		}
		cmat := mat.NewSymDense(d, nil)
		for i := range d {
			for l := i; l < d; l++ {
				v := ab * sigma.At(i, l)
				if i == l {
					v += 1 - ab
				}
				cmat.SetSym(i, l, v)
			}
		}
		var chol mat.Cholesky
		if !chol.Factorize(cmat) {
			panic("covariance not positive definite")
		}
		logDet := chol.LogDet()
		for n, x := range xs {
			y := mat.NewVecDense(d, nil)
			for i := range d {
				y.SetVec(i, x[i]-sa*float64(p.Means[j][i]))
			}
			var sol mat.VecDense
			if err := chol.SolveVecTo(&sol, y); err != nil {
				panic(err)
			}
			maha := mat.Dot(y, &sol)
			var sc mat.VecDense
			sc.MulVec(sigma, &sol)
			cond := make([]float64, d)
			for i := range d {
				cond[i] = float64(p.Means[j][i]) + sa*sc.AtVec(i)
			}
			conds[n] = append(conds[n], cond)
			logits[n] = append(logits[n], math.Log(float64(p.Priors[j]))-0.5*(logDet+maha))
		}
	}
	out := make([][]float64, len(xs))
	for n := range xs {
		w := softmax(logits[n])
		out[n] = make([]float64, d)
		for j := range k {
			for i := range d {
				out[n][i] += w[j] * conds[n][j][i]
			}
		}
	}
	return out
}

// noisy returns √ā·x0 + √(1−ā)·ε for a data-like x0 drawn from component j of p (so the posterior is non-trivial).
func noisy(rng *rand.Rand, p *Params, j int, ab float64) []float64 {
	d := p.Dim()
	x := make([]float64, d)
	for i := range x {
		x[i] = float64(p.Means[j][i]) + math.Sqrt(float64(p.ResidualVariances[j]))*rng.NormFloat64()
	}
	for a := range p.ComponentRanks()[j] {
		z := math.Sqrt(float64(p.Variances[j][a])) * rng.NormFloat64()
		for i := range x {
			x[i] += z * float64(p.Bases[j][a*d+i])
		}
	}
	for i := range x {
		x[i] = math.Sqrt(ab)*x[i] + math.Sqrt(1-ab)*rng.NormFloat64()
	}
	return x
}

func TestPosteriorMeanMatchesDenseSmall(t *testing.T) {
	p := randomParams(t, 7)
	m := newModel(t, p, "random")
	rng := rand.New(rand.NewPCG(3, 4))
	sched := m.Schedule()
	for _, tt := range []float32{0, 10.5, 250, 600.7, 900, 999} {
		ab := float64(sched.AlphaBar32(tt))
		var xs [][]float64
		var flat []float64
		var ts []float32
		for n := range 4 {
			// Points between components make the weights soft; the last one is far from every mean.
			x := noisy(rng, p, n%3, ab)
			if n == 3 {
				for i := range x {
					x[i] += 2 * rng.NormFloat64()
				}
			}
			xs = append(xs, x)
			flat = append(flat, x...)
			ts = append(ts, tt)
		}
		want := densePosterior(p, xs, ab)
		got64 := predict64(t, m, flat, ts)
		got32, err := predictValues(t, m, num.Float32s(flat), ts)
		if err != nil {
			t.Fatal(err)
		}
		d := p.Dim()
		worst64, worst32, worstRef := 0.0, 0.0, 0.0
		for n := range xs {
			worst64 = max(worst64, maxAbsDiff(got64[n*d:(n+1)*d], want[n]))
			worst32 = max(worst32, maxAbsDiff(num.Float64s(got32[n*d:(n+1)*d]), want[n]))
			ref, _, err := p.PosteriorMean(xs[n], ab, -1)
			if err != nil {
				t.Fatal(err)
			}
			worstRef = max(worstRef, maxAbsDiff(ref, want[n]))
		}
		// The float32 bases are orthonormal to ~1e-7 only, which the Woodbury form assumes exactly: hence 1e-6.
		if worst64 > 1e-6 || worst32 > 1e-4 || worstRef > 1e-6 {
			t.Errorf("t=%v: graph float64 / float32 / Go Woodbury differ from the dense computation by %.3g / %.3g / %.3g",
				tt, worst64, worst32, worstRef)
		}
	}
}

func TestPosteriorMeanMatchesDenseFashion(t *testing.T) {
	m := mustEmbedded(t)
	p := m.Params()
	rng := rand.New(rand.NewPCG(5, 6))
	tt := float32(400)
	ab := float64(m.Schedule().AlphaBar32(tt))
	// A coat-like point and a point half-way between a sneaker and a sandal: soft weights.
	x1 := noisy(rng, p, 4, ab)
	a, b := noisy(rng, p, 7, ab), noisy(rng, p, 5, ab)
	x2 := make([]float64, len(a))
	for i := range a {
		x2[i] = (a[i] + b[i]) / 2
	}
	want := densePosterior(p, [][]float64{x1, x2}, ab)
	got, err := predictValues(t, m, num.Float32s(append(append([]float64(nil), x1...), x2...)), []float32{tt, tt})
	if err != nil {
		t.Fatal(err)
	}
	d := p.Dim()
	for n, w := range want {
		if e := maxAbsDiff(num.Float64s(got[n*d:(n+1)*d]), w); e > 1e-4 {
			t.Errorf("fashion point %d: float32 graph differs from the dense float64 computation by %.3g", n, e)
		}
	}
}

func TestWithClassIsTheComponentPosterior(t *testing.T) {
	p := randomParams(t, 9)
	m := newModel(t, p, "random")
	rng := rand.New(rand.NewPCG(1, 2))
	ab := float64(m.Schedule().AlphaBar32(500))
	x := noisy(rng, p, 0, ab)
	for j := range p.Config.NumClasses {
		cm, err := m.WithClass(j)
		if err != nil {
			t.Fatal(err)
		}
		// Dense reference: the mixture restricted to component j.
		one := *p
		one.Config.NumClasses, one.Config.Ranks, one.Config.ClassNames = 1, []int{p.ComponentRanks()[j]}, nil
		one.Means, one.Bases, one.Variances = p.Means[j:j+1], p.Bases[j:j+1], p.Variances[j:j+1]
		one.ResidualVariances, one.Priors = p.ResidualVariances[j:j+1], []float32{1}
		want := densePosterior(&one, [][]float64{x}, ab)[0]
		got := predict64(t, cm, x, []float32{500})
		if e := maxAbsDiff(got, want); e > 1e-6 {
			t.Errorf("WithClass(%d) differs from the component's posterior mean by %.3g", j, e)
		}
		if cm.Name() != "random-class"+string(rune('0'+j)) || cm.Class() != j {
			t.Errorf("WithClass(%d): name %q, class %d", j, cm.Name(), cm.Class())
		}
	}
	if _, err := m.WithClass(3); err == nil {
		t.Error("WithClass(3) of a 3-class model: no error")
	}
}
