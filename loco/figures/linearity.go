package figures

import (
	"fmt"
	"math"

	"github.com/locoedit/locoedit/internal/markdown"
	"github.com/locoedit/locoedit/internal/num"
)

// Linearity measures how linear a strip is in λ: for each strength, the size of the change per unit of
// strength relative to the smallest non-zero |λ|, and its cosine with the change at the largest strength of
// the same sign (1 and 1 for a perfectly linear edit).
type Linearity struct {
	Lambdas []float64
	// NormPerLambda is ‖Δ(λ)‖/|λ| divided by the same at the smallest |λ| ≠ 0 (NaN at λ = 0).
	NormPerLambda []float64
	// Cosine is cos(Δ(λ), Δ(λ_max)) with λ_max the largest strength of λ's sign (NaN at λ = 0).
	Cosine []float64
}

// Linearity computes the linearity of the outcome's strip.
func (o *Outcome) Linearity() Linearity {
	lin := Linearity{Lambdas: o.Lambdas}
	smallest := -1
	for i, l := range o.Lambdas {
		if l != 0 && (smallest < 0 || math.Abs(l) < math.Abs(o.Lambdas[smallest])) {
			smallest = i
		}
	}
	norm := func(i int) float64 {
		var s float64
		for _, v := range o.Change(i) {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s) / math.Abs(o.Lambdas[i])
	}
	var base float64
	if smallest >= 0 {
		base = norm(smallest)
	}
	for i, l := range o.Lambdas {
		if l == 0 || base == 0 {
			lin.NormPerLambda = append(lin.NormPerLambda, math.NaN())
			lin.Cosine = append(lin.Cosine, math.NaN())
			continue
		}
		lin.NormPerLambda = append(lin.NormPerLambda, norm(i)/base)
		far := i
		for j, m := range o.Lambdas {
			if m*l > 0 && math.Abs(m) > math.Abs(o.Lambdas[far]) {
				far = j
			}
		}
		lin.Cosine = append(lin.Cosine, num.Cosine(o.Change(i), o.Change(far)))
	}
	return lin
}

// Markdown writes the linearity as a table.
func (l Linearity) Markdown() string {
	t := markdown.NewTable("λ", "‖Δ‖/|λ| (relative)", "cos(Δ(λ), Δ(λ_max))")
	for i, v := range l.Lambdas {
		t.AddRow(formatSigned(v), F3(l.NormPerLambda[i]), F3(l.Cosine[i]))
	}
	return t.String()
}

// String summarises the linearity in one line (the spread of the two measures over λ ≠ 0).
func (l Linearity) String() string {
	lo, hi, cmin := math.Inf(1), math.Inf(-1), math.Inf(1)
	for i := range l.Lambdas {
		if math.IsNaN(l.NormPerLambda[i]) {
			continue
		}
		lo, hi, cmin = math.Min(lo, l.NormPerLambda[i]), math.Max(hi, l.NormPerLambda[i]), math.Min(cmin, l.Cosine[i])
	}
	return fmt.Sprintf("‖Δ‖/|λ| varies between %.3f and %.3f of its value at the smallest |λ|; the changes' directions agree to cos ≥ %.3f", lo, hi, cmin)
}
