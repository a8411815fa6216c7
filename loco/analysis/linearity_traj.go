package analysis

import (
	"fmt"

	"github.com/locoedit/locoedit/internal/markdown"
	"github.com/locoedit/locoedit/loco"
)

// LinearityAlongTrajectories measures Linearity of out (x̂0 or ε) at several grid indices of the deterministic DDIM
// trajectories of the seeds (all seeds' x_t at each index, `samples` directions each, λ ∈ lambdas; nil:
// DefaultLambdas), returning one curve per index labelled with its normalised time ("t = 0.70"), in increasing
// index order (Fig. 2b at one index, Fig. 10 at several). The directions at grid index i are seeded by i.
func LinearityAlongTrajectories(p *loco.Pipeline, out loco.Output, seeds []uint64, indices []int, lambdas []float64, samples int, traj TrajectoryOptions) ([]LinearityCurve, error) {
	if p == nil {
		return nil, fmt.Errorf("linearity along trajectories: nil pipeline")
	}
	if len(indices) == 0 {
		return nil, fmt.Errorf("linearity along trajectories: no grid indices given")
	}
	var curves []LinearityCurve
	err := Trajectories(p, seeds, indices, traj, func(index int, t float32, xs []float32) error {
		pts, err := Linearity(p, out, xs, t, lambdas, uint64(index), samples)
		if err != nil {
			return fmt.Errorf("index %d: %w", index, err)
		}
		curves = append(curves, LinearityCurve{Label: fmt.Sprintf("t = %.2f", NormalizedTime(p, t)), Points: pts})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("linearity along trajectories: %w", err)
	}
	return curves, nil
}

// HAndX0Linearity measures the local linearity of the bottleneck h_t(x_t), when p's model has one (HasBottleneck),
// and of x̂0,t(x_t) at the points xs (n·d values) at time t (Fig. 13 left and middle), with the same directions
// for both: curves labelled "h_t(x_t)" (if any) and "x̂0,t(x_t)".
func HAndX0Linearity(p *loco.Pipeline, xs []float32, t float32, lambdas []float64, seed uint64, samples int) ([]LinearityCurve, error) {
	if p == nil {
		return nil, fmt.Errorf("h and x̂0 linearity: nil pipeline")
	}
	var curves []LinearityCurve
	if HasBottleneck(p.Model) {
		b, err := NewBottleneck(p)
		if err != nil {
			return nil, err
		}
		pts, err := b.Linearity(xs, t, lambdas, seed, samples)
		if err != nil {
			return nil, err
		}
		curves = append(curves, LinearityCurve{Label: "h_t(x_t)", Points: pts})
	}
	pts, err := Linearity(p, loco.OutputX0, xs, t, lambdas, seed, samples)
	if err != nil {
		return nil, err
	}
	return append(curves, LinearityCurve{Label: "x̂0,t(x_t)", Points: pts}), nil
}

// LinearityCurvesMarkdown renders linearity curves as a Markdown table, one row per curve and one column per λ ≠ 0
// (those of the first curve), each cell "norm ratio / cosine" (means).
func LinearityCurvesMarkdown(curves ...LinearityCurve) string {
	if len(curves) == 0 {
		return ""
	}
	header := []string{"series (norm ratio / cosine)"}
	for _, p := range curves[0].Points {
		if p.Lambda != 0 {
			header = append(header, fmt.Sprintf("λ = %g", p.Lambda))
		}
	}
	md := markdown.NewTable(header...)
	for _, c := range curves {
		cells := []string{c.Label}
		for _, p := range c.Points {
			if p.Lambda != 0 {
				cells = append(cells, fmt.Sprintf("%.4f / %.4f", p.NormRatio, p.Cosine))
			}
		}
		md.AddRow(cells...)
	}
	return md.String()
}
