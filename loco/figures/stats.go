package figures

import "math"

// rmsSplit returns the root-mean-square of d over the elements inside and outside the mask (NaN for a part
// without elements).
func rmsSplit(d []float32, in []bool) (inside, outside float64) {
	var si, so float64
	var ni, no int
	for i, v := range d {
		if in[i%len(in)] {
			si += float64(v) * float64(v)
			ni++
		} else {
			so += float64(v) * float64(v)
			no++
		}
	}
	inside, outside = math.NaN(), math.NaN()
	if ni > 0 {
		inside = math.Sqrt(si / float64(ni))
	}
	if no > 0 {
		outside = math.Sqrt(so / float64(no))
	}
	return inside, outside
}

// mean returns the mean of the values that are not NaN (NaN when there are none).
func mean(v []float64) float64 {
	var s float64
	n := 0
	for _, x := range v {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
