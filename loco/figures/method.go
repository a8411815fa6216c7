package figures

import (
	"fmt"
	"math"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

// MethodImages are the intermediate tensors of one LOCO edit, in the order of the paper's method diagram
// (Fig. 3): x0 → DDIM inversion → x_t → x̂0 = PMP(x_t) → P_Ω x̂0 and P_Ωᶜ x̂0 → direction v_p →
// x_t + λ·v_p → DDIM → x′0.
type MethodImages struct {
	X0, Xt, X0Hat, Inside, Outside, V, XtEdited, Edited []float32
	Lambda                                              float64
	// EditT is the edit time t ∈ (0, 1) (the paper's units) and T the model's timestep there (0–1000 scale).
	EditT float64
	T     float32
	// SingularValues are the top singular values of the masked Jacobian (the edit subspace) and of the
	// complement's Jacobian (the null space the direction is projected off).
	SingularValues, NullSingularValues []float64
	// Outcome is the edit itself (reference and edited image, locality).
	Outcome *Outcome
}

// Method computes the intermediate images of one edit of x0 with strength lambda.
func (s *Session) Method(x0 []float32, mask *imageio.Mask, job loco.EditJob, lambda float64) (*MethodImages, error) {
	job.Lambdas = []float64{lambda}
	o, err := s.Edit(x0, mask, job)
	if err != nil {
		return nil, err
	}
	pt := o.Point
	_, xhat, err := s.Pipeline.Predict(pt.Xt, []float32{pt.T})
	if err != nil {
		return nil, fmt.Errorf("posterior mean at x_t: %w", err)
	}
	m, err := s.maskValues(mask)
	if err != nil {
		return nil, err
	}
	// P_Ω x̂0 and P_Ωᶜ x̂0, with the other part set to 0 (mid-grey), as imageio.Masked draws them.
	inside, outside := make([]float32, len(xhat)), make([]float32, len(xhat))
	for i, v := range xhat {
		if m[i] != 0 {
			inside[i] = v
		} else {
			outside[i] = v
		}
	}
	mi := &MethodImages{X0: x0, Xt: pt.Xt, X0Hat: xhat, Inside: inside, Outside: outside, V: o.V, XtEdited: o.Xt,
		Edited: o.Image(0), Lambda: lambda, EditT: pt.EditT, T: pt.T, Outcome: o}
	if o.Direction != nil && o.Direction.Modify != nil {
		mi.SingularValues = o.Direction.Modify.S
	}
	if o.Direction != nil && o.Direction.Null != nil {
		mi.NullSingularValues = o.Direction.Null.S
	}
	return mi, nil
}

// Figure lays the intermediate images out in two rows: the analysis (x0, x_t, x̂0, its parts on Ω and
// Ωᶜ) and the edit (the direction, the edited x_t, the result and the unedited decoding). Latents x_t are
// shown scaled to their largest value.
func (mi *MethodImages) Figure(s *Session, title string) (*Figure, error) {
	pic := func(x []float32) (*imageio.Image, error) { return s.Picture(x) }
	scaled := func(x []float32) (*imageio.Image, error) { return s.Picture(scaleToUnit(x)) }
	type item struct {
		x       []float32
		caption string
		render  func([]float32) (*imageio.Image, error)
	}
	c, h, w := s.C, s.H, s.W
	signed := func(x []float32) (*imageio.Image, error) { return imageio.DirectionSignedImage(x, c, h, w) }
	rows := [][]item{
		{
			{mi.X0, "x0", pic},
			{mi.Xt, fmt.Sprintf("x_t (DDIM-Inv,\nt = %.0f)", mi.T), scaled},
			{mi.X0Hat, "posterior mean\nE[x0 | x_t]", pic},
			{mi.Inside, "its part on Ω\n(the mask)", pic},
			{mi.Outside, "its part on Ω^c\n(the rest)", pic},
		},
		{
			{mi.V, fmt.Sprintf("v_p (signed)\nσ1 = %s", firstValue(mi.SingularValues)), signed},
			{mi.XtEdited, "x_t + λ·v_p\n" + FormatLambda(mi.Lambda), scaled},
			{mi.Edited, "x′0 = DDIM(x_t + λ·v_p)", pic},
			{mi.Outcome.Reference, "x0 regenerated\n(λ = 0)", pic},
		},
	}
	f := NewFigure(title)
	labels := []string{"analysis", "edit"}
	for r, items := range rows {
		cells := make([]Cell, len(items))
		for i, it := range items {
			img, err := it.render(it.x)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.caption, err)
			}
			cells[i] = Cell{Image: img, Caption: it.caption}
		}
		f.AddRow(labels[r], cells...)
	}
	return f, nil
}

// firstValue formats v[0], or "—".
func firstValue(v []float64) string {
	if len(v) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3g", v[0])
}

// scaleToUnit divides x by its largest absolute value, so that it fills [−1, 1].
func scaleToUnit(x []float32) []float32 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	out := make([]float32, len(x))
	if m == 0 {
		return out
	}
	for i, v := range x {
		out[i] = float32(float64(v) / m)
	}
	return out
}
