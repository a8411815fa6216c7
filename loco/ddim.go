package loco

import (
	"fmt"
	"math"
)

// sqrt32 is the correctly rounded float32 square root (what torch's sqrt gives on a float32 tensor).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// DDIMVariance is σ² = (1 − a/a')·(1 − a')/(1 − a) for a step from ᾱ = aT to ᾱ = aNext (docs/method.md §4), in float64.
// For consecutive training steps it is the DDPM posterior variance β̃.
func DDIMVariance(aT, aNext float64) float64 {
	return (1 - aT/aNext) * (1 - aNext) / (1 - aT)
}

// checkStep validates the common arguments of the float32 DDIM steps.
func checkStep(x, out []float32, aT, aNext, eta float64, noise []float32) error {
	if len(x) != len(out) {
		return fmt.Errorf("DDIM step: x has %d values but the model output has %d: they must have the same shape", len(x), len(out))
	}
	if !(aT > 0 && aT <= 1) || !(aNext > 0 && aNext <= 1) {
		return fmt.Errorf("DDIM step: ᾱ_t = %v and ᾱ_next = %v must both lie in (0, 1]", aT, aNext)
	}
	if !(eta >= 0) || math.IsInf(eta, 0) {
		return fmt.Errorf("DDIM step: η = %v must be a finite number ≥ 0", eta)
	}
	if eta != 0 {
		if aT >= 1 {
			return fmt.Errorf("DDIM step: η = %v needs ᾱ_t < 1 (σ divides by 1 − ᾱ_t), got ᾱ_t = %v", eta, aT)
		}
		if len(noise) != len(x) {
			return fmt.Errorf("DDIM step: η = %v needs noise z with %d values (one per element of x), got %d", eta, len(x), len(noise))
		}
	}
	return nil
}

// ddimCombine is the second half of the reference step (docs/method.md §4), in float32 like torch on float32 tensors:
// x_next = sqrt(a')·x0 + sqrt(1 − a' − η·σ²)·ε + η·σ·z, with σ² = (1 − a/a')·(1 − a')/(1 − a); for η = 0 the
// reference computes x_next = sqrt(a')·x0 + sqrt(1 − a')·ε (no σ terms).
func ddimCombine(x0, eps []float32, a, an float32, eta float64, noise []float32) ([]float32, error) {
	out := make([]float32, len(x0))
	sqAn := sqrt32(an)
	if eta == 0 {
		dir := sqrt32(1 - an)
		for i := range out {
			out[i] = float32(sqAn*x0[i]) + float32(dir*eps[i])
		}
		return out, nil
	}
	sigma2 := float32(float32(1-a/an)*(1-an)) / (1 - a)
	sigma := sqrt32(sigma2)
	eta32 := float32(eta)
	rad := (1 - an) - float32(eta32*float32(sigma*sigma))
	if !(rad >= 0) {
		return nil, fmt.Errorf("DDIM step: 1 − ᾱ_next − η·σ² = %v is negative (η = %v too large for this step): use η ≤ 1", rad, eta)
	}
	dir := sqrt32(rad)
	noiseScale := eta32 * sigma
	for i := range out {
		out[i] = float32(float32(sqAn*x0[i])+float32(dir*eps[i])) + float32(noiseScale*noise[i])
	}
	return out, nil
}

// DDIMStep is the LOCO-Edit DDIM step for an ε-predicting model (docs/method.md §4, YHCustomScheduler.step), from
// ᾱ = aT to ᾱ = aNext: x0 = (x − sqrt(1 − a)·ε)/sqrt(a) (the PMP, docs/method.md §4), then
// x_next = sqrt(a')·x0 + sqrt(1 − a' − η·σ²)·ε + η·σ·z with σ² = DDIMVariance(a, a') (note η·σ², not η²σ²).
//
// The arithmetic is float32, operation by operation as torch does it on float32 tensors; aT and aNext are first
// rounded to float32, as the reference casts its ᾱ table to the model dtype. Pass Schedule.AlphaBar of the two grid
// times. noise (z ~ N(0, I), same length as x) is required when η ≠ 0 and ignored when η = 0. The same function
// runs DDIM inversion: take aT, aNext from an inversion Grid (docs/method.md §5.2).
func DDIMStep(x, eps []float32, aT, aNext, eta float64, noise []float32) (xNext, x0 []float32, err error) {
	if err := checkStep(x, eps, aT, aNext, eta, noise); err != nil {
		return nil, nil, err
	}
	a, an := float32(aT), float32(aNext)
	sq1ma, sqa := sqrt32(1-a), sqrt32(a)
	x0 = make([]float32, len(x))
	for i := range x0 {
		x0[i] = (x[i] - float32(eps[i]*sq1ma)) / sqa
	}
	xNext, err = ddimCombine(x0, eps, a, an, eta, noise)
	if err != nil {
		return nil, nil, err
	}
	return xNext, x0, nil
}

// DDIMStepFromX0 is DDIMStep for a model that predicts x0 directly (diffusers prediction_type "sample"): the noise
// is recovered as ε = (x − sqrt(a)·x0)/sqrt(1 − a) (needs aT < 1) and the step continues as in docs/method.md §4.
// It returns the next sample and the recovered ε.
func DDIMStepFromX0(x, x0 []float32, aT, aNext, eta float64, noise []float32) (xNext, eps []float32, err error) {
	if err := checkStep(x, x0, aT, aNext, eta, noise); err != nil {
		return nil, nil, err
	}
	if aT >= 1 {
		return nil, nil, fmt.Errorf("DDIM step from x0: ᾱ_t = %v leaves no noise to recover (ε divides by 1 − ᾱ_t): use a time t > 0", aT)
	}
	a, an := float32(aT), float32(aNext)
	sq1ma, sqa := sqrt32(1-a), sqrt32(a)
	eps = make([]float32, len(x))
	for i := range eps {
		eps[i] = (x[i] - float32(sqa*x0[i])) / sq1ma
	}
	xNext, err = ddimCombine(x0, eps, a, an, eta, noise)
	if err != nil {
		return nil, nil, err
	}
	return xNext, eps, nil
}

// DDIMStepFor runs DDIMStep or DDIMStepFromX0 according to what the model predicts (docs/method.md §4) and returns the
// next sample and the PMP x̂0 in both cases.
func DDIMStepFor(pred Prediction, x, modelOut []float32, aT, aNext, eta float64, noise []float32) (xNext, x0 []float32, err error) {
	switch pred {
	case PredictEpsilon:
		return DDIMStep(x, modelOut, aT, aNext, eta, noise)
	case PredictSample:
		xNext, _, err = DDIMStepFromX0(x, modelOut, aT, aNext, eta, noise)
		if err != nil {
			return nil, nil, err
		}
		return xNext, append([]float32(nil), modelOut...), nil
	}
	return nil, nil, fmt.Errorf("DDIM step: unknown prediction type %d: use PredictEpsilon or PredictSample", int(pred))
}
