package molrg

import (
	"fmt"
	"strings"

	"github.com/locoedit/locoedit/internal/num"
)

// NewOracle is NewOracleShape(1, 1, d, ranks, seed): the theory oracle on vectors (sample shape [1, 1, d]).
func NewOracle(d int, ranks []int, seed uint64) (*Model, error) {
	return NewOracleShape(1, 1, d, ranks, seed)
}

// NewOracleShape builds the exact oracle of the paper's §4 (docs/method.md §12) on images [c, h, w], d = c·h·w: a mixture of
// K = len(ranks) low-rank Gaussians x0 = M_k a_k, a_k ~ N(0, I_{r_k}), with equal priors 1/K, μ_k = 0, λ = 1 and
// no residual noise (σ² = 0: the VP noise keeps every C_k = ā M_kM_kᵀ + (1−ā)I invertible, since ᾱ < 1 for
// every time of the schedule). The bases M_k ∈ St(d, r_k) are mutually orthogonal: the columns of the Q factor of
// a seeded Gaussian d×Σr_k matrix, split in order, stored as float32 (orthonormal to about 1e-7). Basis(k)
// returns them.
//
// Its posterior mean is E[x0|x_t] = √ā Σ_k w_k M_kM_kᵀx_t with
// w = softmax_k(ā/(2(1−ā))·‖M_kᵀx_t‖² + ½ r_k log(1−ā)); the last term, from log det C_k, is the same for every
// component when the ranks are equal, which is the case docs/method.md §12 writes down.
func NewOracleShape(c, h, w int, ranks []int, seed uint64) (*Model, error) {
	d := c * h * w
	if c < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("MoLRG oracle: shape [%d %d %d] must be positive", c, h, w)
	}
	if len(ranks) == 0 {
		return nil, fmt.Errorf("MoLRG oracle: no ranks given: pass one rank per component")
	}
	total, maxRank := 0, 0
	for i, r := range ranks {
		if r < 1 {
			return nil, fmt.Errorf("MoLRG oracle: rank %d of component %d must be at least 1", r, i)
		}
		total += r
		maxRank = max(maxRank, r)
	}
	if total > d {
		return nil, fmt.Errorf("MoLRG oracle: the ranks %v sum to %d > d = %d: orthogonal subspaces need Σr_k ≤ d", ranks, total, d)
	}
	q := num.OrthonormalColumns(num.NewRand(seed, 0x6d6f6c7267), d, total) // stream "molrg"

	k := len(ranks)
	cfg := defaultConfig(c, h, w, k, maxRank)
	cfg.Ranks = append([]int(nil), ranks...)
	cfg.Fit = "theory oracle (paper §4): mu=0, lambda=1, sigma2=0, equal priors, orthogonal bases from QR of a seeded Gaussian matrix"
	p := &Params{Config: cfg, ResidualVariances: make([]float32, k), Priors: make([]float32, k)}
	col := 0
	for j, r := range ranks {
		p.Means = append(p.Means, make([]float32, d))
		basis := make([]float32, maxRank*d)
		vars := make([]float32, maxRank)
		for a := range r {
			for i := range d {
				basis[a*d+i] = float32(q.At(i, col))
			}
			vars[a] = 1
			col++
		}
		p.Bases = append(p.Bases, basis)
		p.Variances = append(p.Variances, vars)
		p.Priors[j] = float32(1 / float64(k))
	}
	rs := make([]string, k)
	for i, r := range ranks {
		rs[i] = fmt.Sprint(r)
	}
	return New(p, fmt.Sprintf("molrg-oracle-%dx%dx%d-r%s-seed%d", c, h, w, strings.Join(rs, "_"), seed))
}
