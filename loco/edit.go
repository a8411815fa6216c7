package loco

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/locoedit/locoedit/loco/metrics"
)

// Strengths returns the signed strengths of the authors' strip [−largest … −smallest, 0, smallest … largest]:
// λ_j = j·scale for j = 0..numSteps, keeping visNum per sign (stride (numSteps+1)/visNum; 1 keeps only the
// largest).
func Strengths(scale float64, numSteps, visNum int) ([]float64, error) {
	if numSteps <= 0 || visNum <= 0 {
		return nil, fmt.Errorf("edit steps (%d) and shown strengths (%d) must be positive", numSteps, visNum)
	}
	var js []int
	if visNum == 1 {
		js = []int{numSteps}
	} else {
		stride := max((numSteps+1)/visNum, 1)
		for j := stride; j <= numSteps; j += stride {
			js = append(js, j)
		}
	}
	pos := make([]float64, len(js))
	for i, j := range js {
		pos[i] = float64(j) * scale
	}
	out := make([]float64, 0, 2*len(pos)+1)
	for i := len(pos) - 1; i >= 0; i-- {
		out = append(out, -pos[i])
	}
	out = append(out, 0)
	return append(out, pos...), nil
}

// Combination is a signed strength for one direction.
type Combination struct {
	Direction []float32
	Lambda    float64
}

// ApplyDirections returns x_t + Σ λ_i v_i for one sample.
func ApplyDirections(xt []float32, combos ...Combination) ([]float32, error) {
	out := slices.Clone(xt)
	for i, c := range combos {
		if len(c.Direction) != len(xt) {
			return nil, fmt.Errorf("direction %d has %d values but x_t has %d: it comes from a model of another shape", i, len(c.Direction), len(xt))
		}
		for j, v := range c.Direction {
			out[j] += float32(c.Lambda * float64(v))
		}
	}
	return out, nil
}

// accumulate returns x + λ·v. With step > 0 and λ a multiple of it, it is computed as the authors' loop does:
// |λ|/step float32 additions of ±step·v, so strips match theirs to rounding; otherwise λ·v is added at once.
func accumulate(x, v []float32, step, lambda float64) []float32 {
	n := math.Round(math.Abs(lambda) / step)
	if !(step > 0) || math.Abs(n*step-math.Abs(lambda)) > 1e-9*math.Abs(lambda) {
		out, _ := ApplyDirections(x, Combination{Direction: v, Lambda: lambda})
		return out
	}
	out := slices.Clone(x)
	s := float32(step)
	if lambda < 0 {
		s = -s
	}
	for range int(n) {
		for i := range out {
			out[i] += s * v[i]
		}
	}
	return out
}

// measureLocality sets Locality and MeanLocality for a mask of the output's shape (1 inside).
func (r *EditResult) measureLocality(mask []float32) error {
	in := make([]bool, len(mask))
	for i, m := range mask {
		in[i] = m != 0
	}
	var sum float64
	n := 0
	r.Locality = make([]float64, len(r.Lambdas))
	for i, l := range r.Lambdas {
		loc := math.NaN()
		if l != 0 {
			var err error
			if loc, err = metrics.Locality(r.Reference, r.Image(i), in); err != nil && !errors.Is(err, metrics.ErrNoChange) {
				return fmt.Errorf("locality of the λ = %g edit: %w", l, err)
			}
			if !math.IsNaN(loc) {
				sum += loc
				n++
			}
		}
		r.Locality[i] = loc
	}
	if n > 0 {
		r.MeanLocality = sum / float64(n)
	}
	return nil
}

// EditResult is one edit: the direction, the decoded image of every strength and how local each change is.
type EditResult struct {
	Job   EditJob
	Point *Point
	// Direction is the computed subspace (nil when the direction was given, e.g. transferred); V is the unit
	// direction edited along.
	Direction *Direction
	V         []float32
	// Lambdas are the strengths; Xt holds the edited latents and X0 their decodings, one sample per strength
	// (flat). Reference is the unedited decoding, which every change is measured against.
	Lambdas   []float64
	Xt, X0    []float32
	Reference []float32
	// Locality is, per strength, the share of the change's energy inside the mask (metrics.Locality; NaN for
	// λ = 0 and for a change of zero), and MeanLocality its mean over the others (NaN without any).
	Locality     []float64
	MeanLocality float64
	// Stages are the times spent, including the point's preparation when it was prepared for this edit.
	Stages []Stage
}

// Image returns the decoded image of strength i.
func (r *EditResult) Image(i int) []float32 {
	d := len(r.X0) / len(r.Lambdas)
	return r.X0[i*d : (i+1)*d]
}

// Change returns image i minus the unedited reference: the edit's effect on the clean image.
func (r *EditResult) Change(i int) []float32 {
	img := r.Image(i)
	out := make([]float32, len(img))
	for j := range out {
		out[j] = img[j] - r.Reference[j]
	}
	return out
}

// Strongest returns the index of the largest positive strength (or, if none, of the largest |λ|).
func (r *EditResult) Strongest() int {
	best := -1
	for i, l := range r.Lambdas {
		if l > 0 && (best < 0 || l > r.Lambdas[best]) {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	for i, l := range r.Lambdas {
		if best < 0 || math.Abs(l) > math.Abs(r.Lambdas[best]) {
			best = i
		}
	}
	return best
}

// Stage returns the time spent on the named stage (0 when it did not run).
func (r *EditResult) Stage(name string) time.Duration {
	var d time.Duration
	for _, s := range r.Stages {
		if s.Name == name {
			d += s.Duration
		}
	}
	return d
}

// Total is the time of every stage.
func (r *EditResult) Total() time.Duration {
	var d time.Duration
	for _, s := range r.Stages {
		d += s.Duration
	}
	return d
}
