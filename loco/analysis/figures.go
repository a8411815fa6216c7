package analysis

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/vg"
)

var (
	plotBackground color.Color = color.White
	plotForeground color.Color = color.Black
)

const (
	panelW = 5 * vg.Inch
	panelH = 3.6 * vg.Inch
)

// RankCurve is one labelled series of rank points (e.g. one model or one Jacobian).
type RankCurve struct {
	Label  string
	Points []RankPoint
}

// LinearityCurve is one labelled series of linearity points.
type LinearityCurve struct {
	Label  string
	Points []LinearityPoint
}

// SymmetryCurve is one labelled series of symmetry points.
type SymmetryCurve struct {
	Label  string
	Points []SymmetryPoint
}

const (
	tAxis    = "t (normalised time t/1000)"
	rankAxis = "rank ratio"
)

func rankPanel(curves []RankCurve) panel {
	pn := panel{title: "Rank ratio = numerical rank / d", xLabel: tAxis, timeAxis: true, yLabel: rankAxis, logY: true}
	for _, c := range curves {
		var cv curve
		cv.label = c.Label
		for _, p := range c.Points {
			cv.xs, cv.ys, cv.es = append(cv.xs, p.T), append(cv.ys, p.RankRatio), append(cv.es, p.Std)
		}
		pn.curves = append(pn.curves, cv)
	}
	return pn
}

// PlotRankVsT plots the rank ratio against t = t/1000 on a log scale, with ±1 standard deviation over seeds
// (Fig. 2a), as a PNG at path.
func PlotRankVsT(points []RankPoint, path string) error {
	return PlotRankCurves(path, "Numerical rank of the PMP Jacobian along DDIM trajectories", RankCurve{Points: points})
}

// PlotRankCurves plots several rank series (e.g. models, or x̂0 and ε Jacobians) on one log-scale panel.
func PlotRankCurves(path, title string, curves ...RankCurve) error {
	return savePanels(path, title, panelW, panelH, rankPanel(curves))
}

// PlotRankAndNorm plots the rank ratio (left) and ‖J‖_F (right) against t for several series (Fig. 12).
func PlotRankAndNorm(path, title string, curves ...RankCurve) error {
	norm := panel{title: "Frobenius norm of the Jacobian", xLabel: tAxis, timeAxis: true, yLabel: "‖J‖ (Frobenius)", logY: true}
	for _, c := range curves {
		var cv curve
		cv.label = c.Label
		for _, p := range c.Points {
			cv.xs, cv.ys, cv.es = append(cv.xs, p.T), append(cv.ys, p.FrobNorm), append(cv.es, p.FrobStd)
		}
		norm.curves = append(norm.curves, cv)
	}
	return savePanels(path, title, panelW, panelH, rankPanel(curves), norm)
}

// PlotLinearity plots the norm ratio (left) and the cosine similarity (right) of f(x+λΔx) and f(x)+λJΔx against λ
// (Fig. 2b), as a PNG at path.
func PlotLinearity(points []LinearityPoint, path string) error {
	return PlotLinearityCurves(path, "Local linearity of the PMP", LinearityCurve{Points: points})
}

// PlotLinearityCurves plots several linearity series (e.g. models or times, Fig. 10, Fig. 13).
func PlotLinearityCurves(path, title string, curves ...LinearityCurve) error {
	ratio := panel{title: "Norm ratio ‖f(x+λΔx)‖ / ‖f(x)+λJΔx‖", xLabel: "λ (step along a unit direction Δx)", yLabel: "norm ratio"}
	cosine := panel{title: "Cosine similarity of f(x+λΔx) and f(x)+λJΔx", xLabel: "λ (step along a unit direction Δx)", yLabel: "cosine similarity"}
	lo, hi := 1.0, 1.0
	for _, c := range curves {
		r, s := curve{label: c.Label}, curve{label: c.Label}
		for _, p := range c.Points {
			r.xs, r.ys, r.es = append(r.xs, p.Lambda), append(r.ys, p.NormRatio), append(r.es, p.NormStd)
			s.xs, s.ys, s.es = append(s.xs, p.Lambda), append(s.ys, p.Cosine), append(s.es, p.CosineStd)
			lo = min(lo, p.NormRatio-p.NormStd, p.Cosine-p.CosineStd)
			hi = max(hi, p.NormRatio+p.NormStd, p.Cosine+p.CosineStd)
		}
		ratio.curves, cosine.curves = append(ratio.curves, r), append(cosine.curves, s)
	}
	// Both panels share a y range that always shows 1 with a margin, like the paper's [0.9, 1.05] style axes.
	pad := max(0.01, 0.1*(hi-lo))
	ratio.yMin, ratio.yMax = lo-pad, hi+pad
	cosine.yMin, cosine.yMax = lo-pad, hi+pad
	return savePanels(path, title, panelW, panelH, ratio, cosine)
}

// PlotSymmetry plots ‖J − Jᵀ‖_F/‖J‖_F (left) and ‖J‖_F (right, log scale) against t (Fig. 13 right, Fig. 12 right).
func PlotSymmetry(points []SymmetryPoint, path string) error {
	return PlotSymmetryCurves(path, "Symmetry of the PMP Jacobian along DDIM trajectories", SymmetryCurve{Points: points})
}

// PlotSymmetryCurves plots several symmetry series.
func PlotSymmetryCurves(path, title string, curves ...SymmetryCurve) error {
	asym := panel{title: "Asymmetry ‖J − Jᵀ‖ / ‖J‖ (Frobenius norms)", xLabel: tAxis, timeAxis: true, yLabel: "relative asymmetry", yMin: 0}
	norm := panel{title: "Frobenius norm of the Jacobian", xLabel: tAxis, timeAxis: true, yLabel: "‖J‖ (Frobenius)", logY: true}
	hi := 0.0
	for _, c := range curves {
		a, n := curve{label: c.Label}, curve{label: c.Label}
		for _, p := range c.Points {
			e := math.Max(p.AsymmetryStd, p.StdErr)
			a.xs, a.ys, a.es = append(a.xs, p.T), append(a.ys, p.Asymmetry), append(a.es, e)
			n.xs, n.ys, n.es = append(n.xs, p.T), append(n.ys, p.FrobNorm), append(n.es, p.FrobStd)
			hi = math.Max(hi, p.Asymmetry+e)
		}
		asym.curves, norm.curves = append(asym.curves, a), append(norm.curves, n)
	}
	asym.yMax = math.Max(hi*1.1, 1e-3)
	return savePanels(path, title, panelW, panelH, asym, norm)
}
