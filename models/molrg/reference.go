package molrg

import (
	"fmt"
	"math"
)

// PosteriorMean computes E[x0 | x_t] and the component posteriors P(k | x_t) in float64, in plain Go (no graph),
// for one sample x (length d) at noise level alphaBar ∈ (0, 1]. class ≥ 0 restricts the mixture to that
// component (WithClass). It is the reference the graph is tested against and a cheap oracle for other packages'
// tests; it uses the same Woodbury formulas as Predict.
func (p *Params) PosteriorMean(x []float64, alphaBar float64, class int) (mean, weights []float64, err error) {
	d, r, k := p.Dim(), p.Config.Rank, p.Config.NumClasses
	if len(x) != d {
		return nil, nil, fmt.Errorf("MoLRG posterior mean: x has %d values, want d = %d", len(x), d)
	}
	if !(alphaBar > 0 && alphaBar <= 1) {
		return nil, nil, fmt.Errorf("MoLRG posterior mean: ᾱ = %v must lie in (0, 1]", alphaBar)
	}
	if class >= k {
		return nil, nil, fmt.Errorf("MoLRG posterior mean: class %d is out of range [0, %d)", class, k)
	}
	comps := []int{class}
	if class < 0 {
		comps = make([]int, k)
		for i := range comps {
			comps[i] = i
		}
	}
	sa := math.Sqrt(alphaBar)
	conds := make([][]float64, len(comps))
	logits := make([]float64, len(comps))
	for ci, j := range comps {
		s := float64(p.ResidualVariances[j])
		c := alphaBar*s + 1 - alphaBar
		y := make([]float64, d)
		for i := range y {
			y[i] = x[i] - sa*float64(p.Means[j][i])
		}
		rho := append([]float64(nil), y...)
		proj := make([]float64, r)
		for a := range r {
			u := p.Bases[j][a*d : (a+1)*d]
			dot := 0.0
			for i, v := range y {
				dot += float64(u[i]) * v
			}
			proj[a] = dot
			for i := range rho {
				rho[i] -= dot * float64(u[i])
			}
		}
		maha, logDet := 0.0, float64(d-r)*math.Log(c)
		for _, v := range rho {
			maha += v * v / c
		}
		cond := make([]float64, d)
		for i := range cond {
			cond[i] = s / c * rho[i]
		}
		for a := range r {
			lam := float64(p.Variances[j][a])
			den := alphaBar*lam + c
			maha += proj[a] * proj[a] / den
			logDet += math.Log(den)
			g := (lam + s) / den * proj[a]
			u := p.Bases[j][a*d : (a+1)*d]
			for i := range cond {
				cond[i] += g * float64(u[i])
			}
		}
		for i := range cond {
			cond[i] = float64(p.Means[j][i]) + sa*cond[i]
		}
		conds[ci] = cond
		logits[ci] = math.Log(float64(p.Priors[j])) - 0.5*(logDet+maha)
	}
	weights = softmax(logits)
	mean = make([]float64, d)
	for ci := range comps {
		for i := range mean {
			mean[i] += weights[ci] * conds[ci][i]
		}
	}
	return mean, weights, nil
}

// softmax returns exp(v − max)/Σ exp(v − max).
func softmax(v []float64) []float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	out := make([]float64, len(v))
	sum := 0.0
	for i, x := range v {
		out[i] = math.Exp(x - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
