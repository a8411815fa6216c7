package molrg

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Predict builds the exact posterior mean E[x0 | x_t] for x [B,C,H,W] and t [B] (or [1]/scalar, broadcast),
// float32 or float64 (the parameters are converted to x's dtype). ᾱ is read at floor(t) from the float32 ᾱ table,
// as loco.Schedule.AlphaBar32 does. ctx is Context() or a Reuse() of it; nil means Context().
//
// The graph uses only ops GoMLX can differentiate twice (DotGeneral, Mul, Div, Log, Exp, Sqrt, reductions,
// Softmax), so exact Jacobian-vector products (mlx.JacobianVector) work on it.
func (m *Model) Predict(ctx *context.Context, x, t *Node) *Node {
	mean, _ := m.posterior(ctx, x, t)
	return mean
}

// PosteriorWeights builds the posterior component probabilities P(k | x_t) [B,K] (a WithClass model returns
// [B,1] ones).
func (m *Model) PosteriorWeights(ctx *context.Context, x, t *Node) *Node {
	_, w := m.posterior(ctx, x, t)
	return w
}

// modelVars are the parameters as graph nodes of the computation dtype.
type modelVars struct {
	means, bases, lam, sigma2, logPrior *Node // [K,d], [K,R,d], [K,R], [K], [K]
}

func (m *Model) vars(ctx *context.Context, g *Graph, dt dtypes.DType) modelVars {
	if ctx == nil {
		ctx = m.ctx
	}
	get := func(name string) *Node {
		v := ctx.GetVariableByScopeAndName(Scope, name)
		if v == nil {
			panic(fmt.Errorf("MoLRG %q: variable %s/%s is missing from the context: pass Model.Context() (or a Reuse() of it)", m.name, Scope, name))
		}
		n := v.ValueGraph(g)
		if m.class >= 0 {
			n = Slice(n, AxisRange(m.class, m.class+1))
		}
		if n.DType() != dt {
			n = ConvertDType(n, dt)
		}
		return n
	}
	return modelVars{get(VarMeans), get(VarBases), get(VarVariances), get(VarResidualVariances), get(VarLogPriors)}
}

// alphaBar builds ᾱ[clamp(floor(t), 0, n−1)] for each of the batch's b rows, in dtype dt.
func (m *Model) alphaBar(t *Node, b int, dt dtypes.DType) *Node {
	g := t.Graph()
	if t.Shape().Size() == 1 {
		t = Reshape(t, 1)
		if b != 1 {
			t = BroadcastToDims(t, b)
		}
	}
	if t.Rank() != 1 || t.Shape().Dim(0) != b {
		panic(fmt.Errorf("MoLRG %q: t has shape %s, want [%d] (one time per sample) or [1]", m.name, t.Shape(), b))
	}
	if !t.DType().IsFloat() {
		t = ConvertDType(t, dtypes.Float32)
	}
	n := len(m.ab32)
	idx := ClipScalar(Floor(t), 0, float64(n-1))
	idx = Reshape(ConvertDType(idx, dtypes.Int32), b, 1)
	ab := Gather(Const(g, m.ab32), idx) // [b]
	if ab.DType() != dt {
		ab = ConvertDType(ab, dt)
	}
	return StopGradient(ab)
}

// posterior builds E[x0 | x_t] and the component posteriors w [B,K].
//
// Component k: x0 ~ N(μ, UΛUᵀ + σ²I), so x_t ~ N(√ā μ, C) with C = ā UΛUᵀ + c I, c = āσ² + 1 − ā. With
// y = x_t − √ā μ, p = Uᵀy and the residual ρ = y − Up:
//
//	E[x0 | x_t, k] = μ + √ā (σ²/c · ρ + U ((λ + σ²)/(āλ + c) ⊙ p))
//	yᵀC⁻¹y         = ‖ρ‖²/c + Σ_i p_i²/(āλ_i + c)
//	log det C      = Σ_i log(āλ_i + c) + (d − R) log c
//
// and w = softmax_k(log π_k − ½ log det C_k − ½ y_kᵀC_k⁻¹y_k). Padded basis rows (zero, λ = 0) contribute
// log c to the determinant and nothing else, which the (d − R) term accounts for.
func (m *Model) posterior(ctx *context.Context, x, t *Node) (mean, weights *Node) {
	if x.Rank() != 4 {
		panic(fmt.Errorf("MoLRG %q: x has shape %s, want [B,C,H,W]", m.name, x.Shape()))
	}
	shape := m.SampleShape()
	for i, s := range shape {
		if x.Shape().Dim(i+1) != s {
			panic(fmt.Errorf("MoLRG %q: x has shape %s, want [B,%d,%d,%d]", m.name, x.Shape(), shape[0], shape[1], shape[2]))
		}
	}
	dt := x.DType()
	if !dt.IsFloat() {
		panic(fmt.Errorf("MoLRG %q: x has dtype %s, want a float dtype", m.name, dt))
	}
	g := x.Graph()
	b, d, r := x.Shape().Dim(0), m.params.Dim(), m.params.Config.Rank
	v := m.vars(ctx, g, dt)
	ab := m.alphaBar(t, b, dt)

	abBK := Reshape(ab, b, 1)     // [B,1]
	abBKR := Reshape(ab, b, 1, 1) // [B,1,1]
	sqrtAB := Sqrt(abBKR)
	xf := Reshape(x, b, 1, d)
	y := Sub(xf, Mul(sqrtAB, InsertAxes(v.means, 0))) // [B,K,d]
	p := Einsum("bkd,krd->bkr", y, v.bases)           // [B,K,R]
	rho := Sub(y, Einsum("bkr,krd->bkd", p, v.bases)) // [B,K,d]

	c := Add(Mul(abBK, InsertAxes(v.sigma2, 0)), OneMinus(abBK)) // [B,K]
	denom := Add(Mul(abBKR, InsertAxes(v.lam, 0)), InsertAxes(c, -1))
	maha := Add(Div(ReduceSum(Square(rho), -1), c), ReduceSum(Div(Square(p), denom), -1))
	logDet := Add(ReduceSum(Log(denom), -1), MulScalar(Log(c), float64(d-r)))
	logits := Sub(InsertAxes(v.logPrior, 0), MulScalar(Add(logDet, maha), 0.5))
	weights = Softmax(logits, -1) // [B,K]

	gain := Div(Add(InsertAxes(v.lam, 0), Reshape(v.sigma2, 1, -1, 1)), denom)    // [B,K,R]
	inSub := Einsum("bkr,krd->bkd", Mul(gain, p), v.bases)                        // [B,K,d]
	cond := Add(Mul(InsertAxes(Div(InsertAxes(v.sigma2, 0), c), -1), rho), inSub) // [B,K,d]
	cond = Add(InsertAxes(v.means, 0), Mul(sqrtAB, cond))
	mean = Einsum("bk,bkd->bd", weights, cond)
	return Reshape(mean, x.Shape().Dimensions...), weights
}
