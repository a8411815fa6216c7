package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/locoedit/locoedit/loco"
)

// DefaultLambdas are the step sizes of the paper's linearity test (Fig. 2b): λ ∈ {0, 10, 20, 30, 40}.
var DefaultLambdas = []float64{0, 10, 20, 30, 40}

// LinearityPoint is the local-linearity measure at one step size λ (spec §9.2), averaged over points and
// directions: the norm ratio ‖f(x+λΔx)‖/‖f(x)+λJΔx‖ and the cosine similarity of the two (flattened) vectors.
type LinearityPoint struct {
	Lambda             float64
	NormRatio, NormStd float64
	Cosine, CosineStd  float64
	// Samples is the number of (point, direction) pairs averaged.
	Samples int
}

// Linearity measures how well f = out (x̂0 or ε) at time t is described by its linearisation f(x) + λJΔx
// (spec §9.2, Fig. 2b, Fig. 10, Fig. 13): for each point of x (one or more samples, n·d values) it draws `samples`
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
	n := len(x) / d
	rng := rand.New(rand.NewPCG(seed, 0x11ea7))
	predict := func(xs []float32) ([]float32, error) {
		eps, x0, err := p.Predict(xs, []float32{t})
		if out == loco.OutputEps {
			return eps, err
		}
		return x0, err
	}
	f0, err := predict(x)
	if err != nil {
		return nil, fmt.Errorf("linearity at t = %g: %w", t, err)
	}
	ratios := make([][]float64, len(lambdas))
	coss := make([][]float64, len(lambdas))
	for i := range n {
		xi := x[i*d : (i+1)*d]
		fi := f0[i*d : (i+1)*d]
		dirs := unitGaussian(rng, samples, d)
		jd, err := mapChunks(dirs, d, DefaultBatch, nil, func(b []float32) ([]float32, error) {
			return p.JVP(out, xi, t, b, nil)
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("linearity at t = %g, point %d: %w", t, i, err)
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
			if fm, err = mapChunks(moved, d, DefaultBatch, xi, predict, nil); err != nil {
				return nil, fmt.Errorf("linearity at t = %g, point %d: %w", t, i, err)
			}
		}
		row := 0
		for li, lam := range lambdas {
			for s := range samples {
				lin := make([]float64, d)
				for a := range d {
					lin[a] = float64(fi[a]) + lam*float64(jd[s*d+a])
				}
				var f []float64
				if lam == 0 {
					f = toF64(fi)
				} else {
					f = toF64(fm[row*d : (row+1)*d])
					row++
				}
				nf, nl := norm64(f), norm64(lin)
				ratios[li] = append(ratios[li], nf/nl)
				coss[li] = append(coss[li], dotF64(f, lin)/(nf*nl))
			}
		}
	}
	pts := make([]LinearityPoint, len(lambdas))
	for li, lam := range lambdas {
		pts[li] = LinearityPoint{Lambda: lam, Samples: n * samples}
		pts[li].NormRatio, pts[li].NormStd = meanStd(ratios[li])
		pts[li].Cosine, pts[li].CosineStd = meanStd(coss[li])
		if math.IsNaN(pts[li].NormRatio) || math.IsNaN(pts[li].Cosine) {
			return nil, fmt.Errorf("linearity at t = %g, λ = %g: the output or its linearisation is zero, so the ratio is undefined", t, lam)
		}
	}
	return pts, nil
}
