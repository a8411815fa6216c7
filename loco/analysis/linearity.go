package analysis

import (
	"fmt"
	"math"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

// DefaultLambdas are the step sizes of the paper's linearity test (Fig. 2b): λ ∈ {0, 10, 20, 30, 40}.
var DefaultLambdas = []float64{0, 10, 20, 30, 40}

// LinearityPoint is the local-linearity measure at one step size λ (docs/method.md §11.2), averaged over points and
// directions: the norm ratio ‖f(x+λΔx)‖/‖f(x)+λJΔx‖ and the cosine similarity of the two (flattened) vectors.
type LinearityPoint struct {
	Lambda             float64
	NormRatio, NormStd float64
	Cosine, CosineStd  float64
	// Samples is the number of (point, direction) pairs averaged.
	Samples int
}

// Linearity measures how well f = out (x̂0 or ε) at time t is described by its linearisation f(x) + λJΔx
// (docs/method.md §11.2, Fig. 2b, Fig. 10, Fig. 13): for each point of x (one or more samples, n·d values) it draws `samples`
// directions Δx uniformly on the unit sphere (normalised Gaussians, seeded by seed), computes JΔx by exact JVPs
// and f(x+λΔx) for every λ (nil: DefaultLambdas) in batches, and averages the norm ratio and the cosine over the
// n·samples pairs. At λ = 0 both are exactly 1.
func Linearity(p *loco.Pipeline, out loco.Output, x []float32, t float32, lambdas []float64, seed uint64, samples int) ([]LinearityPoint, error) {
	if p == nil {
		return nil, fmt.Errorf("linearity: nil pipeline")
	}
	d := p.Dim()
	if len(x) == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("linearity: x has %d values, not a positive multiple of one sample's %d (C,H,W = %v)", len(x), d, p.SampleShape())
	}
	if samples < 1 {
		return nil, fmt.Errorf("linearity: samples = %d, want at least 1 (the paper uses 15)", samples)
	}
	if lambdas == nil {
		lambdas = DefaultLambdas
	}
	predict := func(xs []float32) ([]float32, error) {
		eps, x0, err := p.Predict(xs, []float32{t})
		if out == loco.OutputEps {
			return eps, err
		}
		return x0, err
	}
	jvp := func(xi, dirs []float32) ([]float32, error) { return p.JVP(out, xi, t, dirs, nil) }
	pts, err := linearityOf(x, d, d, predict, jvp, lambdas, seed, samples)
	if err != nil {
		return nil, fmt.Errorf("linearity at t = %g: %w", t, err)
	}
	return pts, nil
}

// linearityOf measures the local linearity of f: R^d → R^m at the points x (n·d values): f evaluates a batch of
// points (k·d → k·m values) and jvp(xi, dirs) gives J·Δx at the point xi for a batch of directions (k·d → k·m).
// For each point it draws `samples` unit directions (seeded by seed) and compares f(x+λΔx) with f(x)+λJΔx for every
// λ; see Linearity.
func linearityOf(x []float32, d, m int, f func(xs []float32) ([]float32, error), jvp func(xi, dirs []float32) ([]float32, error),
	lambdas []float64, seed uint64, samples int) ([]LinearityPoint, error) {
	if lambdas == nil {
		lambdas = DefaultLambdas
	}
	n := len(x) / d
	rng := num.NewRand(seed, 0x11ea7)
	f0, err := chunked1(x, d, m, DefaultBatch, nil, f, nil)
	if err != nil {
		return nil, err
	}
	ratios := make([][]float64, len(lambdas))
	coss := make([][]float64, len(lambdas))
	for i := range n {
		xi := x[i*d : (i+1)*d]
		fi := f0[i*m : (i+1)*m]
		dirs := num.UnitGaussian(rng, samples, d)
		jd, err := chunked1(dirs, d, m, DefaultBatch, nil, func(b []float32) ([]float32, error) { return jvp(xi, b) }, nil)
		if err != nil {
			return nil, fmt.Errorf("point %d: %w", i, err)
		}
		// Perturbed inputs x + λΔx for every (λ ≠ 0, direction), evaluated in batches.
		var moved []float32
		for _, lam := range lambdas {
			if lam == 0 {
				continue
			}
			for s := range samples {
				for a := range d {
					moved = append(moved, xi[a]+float32(lam)*dirs[s*d+a])
				}
			}
		}
		var fm []float32
		if len(moved) > 0 {
			if fm, err = chunked1(moved, d, m, DefaultBatch, xi, f, nil); err != nil {
				return nil, fmt.Errorf("point %d: %w", i, err)
			}
		}
		row := 0
		for li, lam := range lambdas {
			for s := range samples {
				lin := make([]float64, m)
				for a := range m {
					lin[a] = float64(fi[a]) + lam*float64(jd[s*m+a])
				}
				var fv []float64
				if lam == 0 {
					fv = num.Float64s(fi)
				} else {
					fv = num.Float64s(fm[row*m : (row+1)*m])
					row++
				}
				nf, nl := num.Norm64(fv), num.Norm64(lin)
				ratios[li] = append(ratios[li], nf/nl)
				coss[li] = append(coss[li], num.Dot64(fv, lin)/(nf*nl))
			}
		}
	}
	pts := make([]LinearityPoint, len(lambdas))
	for li, lam := range lambdas {
		pts[li] = LinearityPoint{Lambda: lam, Samples: n * samples}
		pts[li].NormRatio, pts[li].NormStd = meanStd(ratios[li])
		pts[li].Cosine, pts[li].CosineStd = meanStd(coss[li])
		if math.IsNaN(pts[li].NormRatio) || math.IsNaN(pts[li].Cosine) {
			return nil, fmt.Errorf("λ = %g: the output or its linearisation is zero, so the ratio is undefined", lam)
		}
	}
	return pts, nil
}
