package analysis

import (
	"fmt"
	"math"
)

// DefaultBatch is the number of vectors (or images) evaluated per graph call when an option leaves it at 0.
const DefaultBatch = 64

func batchOrDefault(b int) int {
	if b <= 0 {
		return DefaultBatch
	}
	return b
}

// chunked applies fn to the n vectors of length din in vs (flat, n·din), at most chunk vectors at a time, and
// concatenates each of its outputs (output o holds as many vectors as it gets, of length douts[o]). When there is
// more than one chunk the last one is padded with copies of pad (nil: zeros) so that every call has the same
// shape and the graph is compiled once. done, if set, is called after each chunk with the vectors finished.
func chunked(vs []float32, din int, douts []int, chunk int, pad []float32, fn func(batch []float32) ([][]float32, error), done func(n int)) ([][]float32, error) {
	n := len(vs) / din
	if n*din != len(vs) || n == 0 {
		return nil, fmt.Errorf("internal: %d values are not a positive multiple of %d", len(vs), din)
	}
	chunk = min(chunk, n)
	outs := make([][]float32, len(douts))
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
		if len(res) != len(douts) {
			return nil, fmt.Errorf("internal: a batch gave %d outputs, want %d", len(res), len(douts))
		}
		for o, r := range res {
			if len(r) != chunk*douts[o] {
				return nil, fmt.Errorf("internal: a batch of %d vectors gave %d values, want %d", chunk, len(r), chunk*douts[o])
			}
			outs[o] = append(outs[o], r[:(end-start)*douts[o]]...)
		}
		if done != nil {
			done(end - start)
		}
	}
	return outs, nil
}

// chunked1 is chunked for a function with one output: k vectors of length din → k vectors of length dout.
func chunked1(vs []float32, din, dout, chunk int, pad []float32, fn func(batch []float32) ([]float32, error), done func(n int)) ([]float32, error) {
	outs, err := chunked(vs, din, []int{dout}, chunk, pad, func(b []float32) ([][]float32, error) {
		r, err := fn(b)
		return [][]float32{r}, err
	}, done)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
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
