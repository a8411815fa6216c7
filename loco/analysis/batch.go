package analysis

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/schollz/progressbar/v3"
)

// DefaultBatch is the number of vectors (or images) evaluated per graph call when an option leaves it at 0.
const DefaultBatch = 64

func batchOrDefault(b int) int {
	if b <= 0 {
		return DefaultBatch
	}
	return b
}

// mapChunks applies fn to the n vectors of length d in vs (flat, n·d), at most chunk vectors at a time, and
// concatenates the results (fn must return as many values as it gets). When there is more than one chunk the last
// one is padded with copies of pad (nil: zeros) so that every call has the same shape and the graph is compiled
// once. done, if set, is called after each chunk with the number of vectors finished.
func mapChunks(vs []float32, d, chunk int, pad []float32, fn func(batch []float32) ([]float32, error), done func(n int)) ([]float32, error) {
	return mapChunksTo(vs, d, d, chunk, pad, fn, done)
}

// mapChunksTo is mapChunks for a map between spaces of different dimension: fn turns k vectors of length din
// into k vectors of length dout.
func mapChunksTo(vs []float32, din, dout, chunk int, pad []float32, fn func(batch []float32) ([]float32, error), done func(n int)) ([]float32, error) {
	n := len(vs) / din
	if n*din != len(vs) || n == 0 {
		return nil, fmt.Errorf("internal: %d values are not a positive multiple of %d", len(vs), din)
	}
	check := func(res []float32, k int) error {
		if len(res) != k*dout {
			return fmt.Errorf("internal: a batch of %d vectors gave %d values, want %d", k, len(res), k*dout)
		}
		return nil
	}
	if chunk >= n {
		out, err := fn(vs)
		if err == nil {
			err = check(out, n)
		}
		if err == nil && done != nil {
			done(n)
		}
		return out, err
	}
	out := make([]float32, 0, n*dout)
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		batch := vs[start*din : end*din]
		if end-start < chunk {
			batch = make([]float32, chunk*din)
			copy(batch, vs[start*din:end*din])
			if pad != nil {
				for i := end - start; i < chunk; i++ {
					copy(batch[i*din:(i+1)*din], pad)
				}
			}
		}
		res, err := fn(batch)
		if err != nil {
			return nil, err
		}
		if err := check(res, chunk); err != nil {
			return nil, err
		}
		out = append(out, res[:(end-start)*dout]...)
		if done != nil {
			done(end - start)
		}
	}
	return out, nil
}

// newBar returns a progress bar on w (nil when w is nil).
func newBar(w io.Writer, n int, desc string) *progressbar.ProgressBar {
	if w == nil {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// advance returns a done callback for mapChunks that moves bar (nil-safe).
func advance(bar *progressbar.ProgressBar) func(int) {
	return func(n int) {
		if bar != nil {
			_ = bar.Add(n)
		}
	}
}

// gaussian returns n independent N(0,1) values from rng as float32.
func gaussian(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// unitGaussian returns k vectors of length d drawn uniformly on the unit sphere (normalised Gaussians).
func unitGaussian(rng *rand.Rand, k, d int) []float32 {
	out := make([]float32, k*d)
	for j := range k {
		v := make([]float64, d)
		var s float64
		for i := range v {
			v[i] = rng.NormFloat64()
			s += v[i] * v[i]
		}
		s = math.Sqrt(s)
		for i := range v {
			out[j*d+i] = float32(v[i] / s)
		}
	}
	return out
}

// dot64 is Σ a_i b_i in float64.
func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// meanStd returns the mean and the sample standard deviation (n−1 denominator; 0 for fewer than two values).
func meanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}
