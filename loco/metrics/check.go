package metrics

import (
	"errors"
	"fmt"
	"math"
)

// ErrNoChange is returned (wrapped) when a ratio is 0/0 because a change is exactly zero.
var ErrNoChange = errors.New("the change is zero")

// checkPair checks that a and b are non-empty, equally long and finite.
func checkPair(a, b []float32) error {
	if len(a) == 0 {
		return fmt.Errorf("metrics: empty images")
	}
	if len(a) != len(b) {
		return fmt.Errorf("metrics: images have %d and %d values: sizes must match", len(a), len(b))
	}
	for i := range a {
		if !finite(a[i]) || !finite(b[i]) {
			return fmt.Errorf("metrics: value %d is not finite (%v, %v)", i, a[i], b[i])
		}
	}
	return nil
}

func finite(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// checkMask checks that mask can be broadcast over n values (see the package comment).
func checkMask(mask []bool, n int) error {
	if len(mask) == 0 {
		return fmt.Errorf("metrics: empty mask")
	}
	if n%len(mask) != 0 {
		return fmt.Errorf("metrics: a mask of %d values does not fit images of %d values "+
			"(the image size must be a multiple of the mask size)", len(mask), n)
	}
	return nil
}

// checkRange checks a data range.
func checkRange(r float64) error {
	if !(r > 0) || math.IsInf(r, 0) {
		return fmt.Errorf("metrics: data range %v: must be positive and finite (2 for images in [−1, 1], 1 for [0, 1], 255 for bytes)", r)
	}
	return nil
}
