package molrg

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/loco"
)

// Scope is the context scope that holds a model's variables.
const Scope = "/molrg"

// Variable names in Scope (d = C·H·W, K classes, R = rank); all float32.
const (
	VarMeans             = "means"              // [K, d]
	VarBases             = "bases"              // [K, R, d]
	VarVariances         = "variances"          // [K, R]
	VarResidualVariances = "residual_variances" // [K]
	VarLogPriors         = "log_priors"         // [K]
)

// Model is a MoLRG as a loco.Denoiser: Predict returns the exact posterior mean x̂0 = E[x0 | x_t]
// (Prediction() is loco.PredictSample). Its parameters live as (non-trainable) variables in Context().
//
// A Model is either the whole mixture or, from WithClass, one of its components alone (the class-conditional
// denoiser E[x0 | x_t, k]); both share the same context.
type Model struct {
	name   string
	params *Params
	sched  *loco.Schedule
	ab32   []float32 // ᾱ table rounded to float32, looked up inside the graph
	ctx    *context.Context
	class  int // −1 for the whole mixture
}

// New builds a model named name from validated parameters. The parameters are copied into the model's context.
func New(p *Params, name string) (*Model, error) {
	if p == nil {
		return nil, fmt.Errorf("MoLRG %q: nil parameters", name)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("MoLRG %q: %w", name, err)
	}
	if p.Config.Rank < 1 {
		return nil, fmt.Errorf("MoLRG %q: rank is 0: a model needs at least one basis direction per component", name)
	}
	sched, err := p.Schedule()
	if err != nil {
		return nil, fmt.Errorf("MoLRG %q: %w", name, err)
	}
	ab32 := make([]float32, len(sched.AlphasCumprod))
	for i, a := range sched.AlphasCumprod {
		ab32[i] = float32(a)
	}
	k, r, d := p.Config.NumClasses, p.Config.Rank, p.Dim()
	logp := make([]float32, k)
	for i, pr := range p.Priors {
		logp[i] = float32(math.Log(float64(pr)))
	}
	ctx := context.New()
	scope := ctx.InAbsPath(Scope)
	set := func(name string, data []float32, dims ...int) {
		scope.VariableWithValue(name, tensors.FromFlatDataAndDimensions(data, dims...)).SetTrainable(false)
	}
	set(VarMeans, slices.Concat(p.Means...), k, d)
	set(VarBases, slices.Concat(p.Bases...), k, r, d)
	set(VarVariances, slices.Concat(p.Variances...), k, r)
	set(VarResidualVariances, slices.Clone(p.ResidualVariances), k)
	set(VarLogPriors, logp, k)
	return &Model{name: name, params: p, sched: sched, ab32: ab32, ctx: ctx, class: -1}, nil
}

// Name identifies the model: the embedded name, the folder it was read from, or "oracle-…"; a WithClass model
// appends "-class<k>".
func (m *Model) Name() string {
	if m.class >= 0 {
		return fmt.Sprintf("%s-class%d", m.name, m.class)
	}
	return m.name
}

// SampleShape is [C, H, W] ([1, 32, 32] for fashion-molrg-32).
func (m *Model) SampleShape() []int { return m.params.SampleShape() }

// Schedule is the model's VP noise schedule (linear β 1e-4…0.02 over 1000 steps for every model of this package).
func (m *Model) Schedule() *loco.Schedule { return m.sched }

// Prediction is loco.PredictSample: Predict returns x̂0.
func (m *Model) Prediction() loco.Prediction { return loco.PredictSample }

// Context holds the parameters as variables in scope Scope.
func (m *Model) Context() *context.Context { return m.ctx }

// Params returns the model's parameters (shared, do not modify).
func (m *Model) Params() *Params { return m.params }

// NumClasses is the number of mixture components K of the underlying mixture.
func (m *Model) NumClasses() int { return m.params.Config.NumClasses }

// ClassNames returns the component names (nil when the config has none).
func (m *Model) ClassNames() []string { return slices.Clone(m.params.Config.ClassNames) }

// Class is the component a WithClass model is restricted to, or −1 for the whole mixture.
func (m *Model) Class() int { return m.class }

// Ranks returns the component ranks r_k.
func (m *Model) Ranks() []int { return m.params.ComponentRanks() }

// Basis returns the r_k orthonormal directions (length-d float64 vectors) spanning component k's low-rank part,
// or nil when k is out of range. For an oracle these are the planted subspaces M_k.
func (m *Model) Basis(k int) [][]float64 { return m.params.Basis(k) }

// WithClass returns the single-component denoiser E[x0 | x_t, class k] (k in [0, NumClasses())), which shares
// this model's context. Sampling it draws garments of class k.
func (m *Model) WithClass(k int) (*Model, error) {
	if k < 0 || k >= m.NumClasses() {
		return nil, fmt.Errorf("MoLRG %q: class %d is out of range [0, %d)", m.name, k, m.NumClasses())
	}
	return &Model{name: m.name, params: m.params, sched: m.sched, ab32: m.ab32, ctx: m.ctx, class: k}, nil
}

// ClassIndex returns the index of a class name (case-sensitive), or an error listing the names.
func (m *Model) ClassIndex(name string) (int, error) {
	if i := slices.Index(m.params.Config.ClassNames, name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("MoLRG %q has no class %q: its classes are %q", m.name, name, m.params.Config.ClassNames)
}

var _ loco.Denoiser = (*Model)(nil)
