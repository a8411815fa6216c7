package metrics

import (
	"fmt"
	"math"
)

// MSE returns the mean squared difference between a and b.
func MSE(a, b []float32) (float64, error) {
	if err := checkPair(a, b); err != nil {
		return math.NaN(), err
	}
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s / float64(len(a)), nil
}

// PSNR returns the peak signal-to-noise ratio 10·log10(dataRange²/MSE) in decibels; identical images give
// +Inf. dataRange is the width of the value range (2 for images in [−1, 1]).
func PSNR(a, b []float32, dataRange float64) (float64, error) {
	if err := checkRange(dataRange); err != nil {
		return math.NaN(), err
	}
	mse, err := MSE(a, b)
	if err != nil {
		return math.NaN(), err
	}
	if mse == 0 {
		return math.Inf(1), nil
	}
	return 10 * math.Log10(dataRange*dataRange/mse), nil
}

// MaskedMSE returns the mean squared difference over the elements inside the mask and over those outside
// (the "masked MSE" of docs/method.md §10: inside measures the edit, outside the leakage into the rest of the
// image). A part with no element gives NaN. The mask is broadcast as described in the package comment.
func MaskedMSE(a, b []float32, mask []bool) (inside, outside float64, err error) {
	if err := checkPair(a, b); err != nil {
		return math.NaN(), math.NaN(), err
	}
	if err := checkMask(mask, len(a)); err != nil {
		return math.NaN(), math.NaN(), err
	}
	var sIn, sOut float64
	var nIn, nOut int
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		if mask[i%len(mask)] {
			sIn += d * d
			nIn++
		} else {
			sOut += d * d
			nOut++
		}
	}
	inside, outside = math.NaN(), math.NaN()
	if nIn > 0 {
		inside = sIn / float64(nIn)
	}
	if nOut > 0 {
		outside = sOut / float64(nOut)
	}
	return inside, outside, nil
}

// Locality returns the share of an edit's energy that falls inside the mask:
// Σ_{i∈Ω} Δᵢ² / Σ_i Δᵢ² with Δ = edited − orig. It is 1 for an edit confined to the mask, the mask's
// fraction of the image for a uniform change, and 0 for an edit entirely outside. When edited = orig the
// ratio is 0/0: Locality returns NaN and an error wrapping ErrNoChange.
func Locality(orig, edited []float32, mask []bool) (float64, error) {
	if err := checkPair(orig, edited); err != nil {
		return math.NaN(), err
	}
	if err := checkMask(mask, len(orig)); err != nil {
		return math.NaN(), err
	}
	var in, all float64
	for i := range orig {
		d := float64(edited[i]) - float64(orig[i])
		all += d * d
		if mask[i%len(mask)] {
			in += d * d
		}
	}
	if all == 0 {
		return math.NaN(), fmt.Errorf("metrics: locality of an edit that changes nothing: %w", ErrNoChange)
	}
	return in / all, nil
}

// TransferScore returns the cosine similarity between two changes restricted to the mask: the change a
// transferred direction made to a target image and the change the target's own direction made (or any two
// changes to compare). 1 means the same change up to scale, 0 unrelated, −1 opposite. A nil mask means the
// whole image. When either restricted change is zero the cosine is undefined: NaN and an error wrapping
// ErrNoChange.
func TransferScore(deltaTransferred, deltaOwn []float32, mask []bool) (float64, error) {
	if err := checkPair(deltaTransferred, deltaOwn); err != nil {
		return math.NaN(), err
	}
	if mask != nil {
		if err := checkMask(mask, len(deltaOwn)); err != nil {
			return math.NaN(), err
		}
	}
	var ab, aa, bb float64
	for i := range deltaOwn {
		if mask != nil && !mask[i%len(mask)] {
			continue
		}
		a, b := float64(deltaTransferred[i]), float64(deltaOwn[i])
		ab += a * b
		aa += a * a
		bb += b * b
	}
	if aa == 0 || bb == 0 {
		return math.NaN(), fmt.Errorf("metrics: transfer score: a change is zero inside the mask: %w", ErrNoChange)
	}
	return ab / math.Sqrt(aa*bb), nil
}
