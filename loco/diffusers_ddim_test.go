package loco

// A re-implementation of diffusers' DDIMScheduler (v0.29), kept with the tests: it checks the LOCO-Edit
// scheduler against the golden diffusers steps and shows where the two schedulers differ.

import (
	"fmt"
	"math"
)

// TimestepSpacing is diffusers' timestep_spacing option of DDIMScheduler.set_timesteps.
type TimestepSpacing string

const (
	// SpacingLeading: t = i·(T/n) + steps_offset, i = n−1..0 (the golden's setting).
	SpacingLeading TimestepSpacing = "leading"
	// SpacingLinspace: t = round(linspace(0, T−1, n)), reversed.
	SpacingLinspace TimestepSpacing = "linspace"
	// SpacingTrailing: t = round(T − i·T/n) − 1, i = 0..n−1.
	SpacingTrailing TimestepSpacing = "trailing"
)

// DiffusersDDIMConfig holds the DDIMScheduler settings the step depends on (diffusers v0.29 names in comments).
// Dynamic thresholding and v-prediction are not supported.
type DiffusersDDIMConfig struct {
	NumTrainTimesteps int             // num_train_timesteps
	BetaSchedule      BetaSchedule    // beta_schedule
	BetaStart         float64         // beta_start
	BetaEnd           float64         // beta_end
	SetAlphaToOne     bool            // set_alpha_to_one: ᾱ after the last step is 1 (true) or ᾱ[0] (false)
	StepsOffset       int             // steps_offset
	TimestepSpacing   TimestepSpacing // timestep_spacing
	ClipSample        bool            // clip_sample: clamp x̂0 to ±ClipSampleRange
	ClipSampleRange   float64         // clip_sample_range
	Prediction        Prediction      // prediction_type ("epsilon" or "sample")
}

// DefaultDiffusersDDIMConfig is DDIMScheduler() with diffusers' own defaults (linear 1e-4..0.02 over 1000 steps,
// clip_sample true, set_alpha_to_one true, steps_offset 0, "leading").
func DefaultDiffusersDDIMConfig() DiffusersDDIMConfig {
	return DiffusersDDIMConfig{
		NumTrainTimesteps: 1000, BetaSchedule: BetaLinear, BetaStart: 1e-4, BetaEnd: 0.02,
		SetAlphaToOne: true, TimestepSpacing: SpacingLeading, ClipSample: true, ClipSampleRange: 1,
		Prediction: PredictEpsilon,
	}
}

// AuthorsDDIMConfig is the DDIMScheduler the authors' code builds when it does not use its own scheduler
// (get_custom_diffusion_scheduler: clip_sample false, set_alpha_to_one false, steps_offset 1, linear 1e-4..0.02),
// which is also the configuration of the golden sched/diffusers_ddim_* step.
func AuthorsDDIMConfig() DiffusersDDIMConfig {
	c := DefaultDiffusersDDIMConfig()
	c.ClipSample, c.SetAlphaToOne, c.StepsOffset = false, false, 1
	return c
}

// DiffusersAlphasCumprod is ᾱ as diffusers' DDIMScheduler holds it (NewDiffusersSchedule), in float32.
func DiffusersAlphasCumprod(kind BetaSchedule, betaStart, betaEnd float64, numTrainSteps int) ([]float32, error) {
	s, err := NewDiffusersSchedule(kind, betaStart, betaEnd, numTrainSteps)
	if err != nil {
		return nil, err
	}
	ab := make([]float32, len(s.AlphasCumprod))
	for i, a := range s.AlphasCumprod {
		ab[i] = float32(a)
	}
	return ab, nil
}

// DiffusersDDIM re-implements diffusers v0.29 DDIMScheduler (set_timesteps and step) in float32, for comparison
// with the LOCO-Edit scheduler (docs/method.md §3–4): integer timesteps, ᾱ of the previous step at t − T/n.
type DiffusersDDIM struct {
	// Config is the scheduler configuration.
	Config DiffusersDDIMConfig
	// AlphasCumprod is the float32 ᾱ table (DiffusersAlphasCumprod).
	AlphasCumprod []float32
	// FinalAlphaCumprod is the ᾱ used after the last step: 1 or ᾱ[0] (set_alpha_to_one).
	FinalAlphaCumprod float32
	// Timesteps is set by SetTimesteps, in decreasing order.
	Timesteps []int
	// NumInferenceSteps is set by SetTimesteps.
	NumInferenceSteps int
}

// NewDiffusersDDIM builds the scheduler of a configuration; call SetTimesteps before Step.
func NewDiffusersDDIM(cfg DiffusersDDIMConfig) (*DiffusersDDIM, error) {
	ab, err := DiffusersAlphasCumprod(cfg.BetaSchedule, cfg.BetaStart, cfg.BetaEnd, cfg.NumTrainTimesteps)
	if err != nil {
		return nil, fmt.Errorf("diffusers DDIM scheduler: %w", err)
	}
	if cfg.Prediction != PredictEpsilon && cfg.Prediction != PredictSample {
		return nil, fmt.Errorf("diffusers DDIM scheduler: unknown prediction type %d: use PredictEpsilon or PredictSample", int(cfg.Prediction))
	}
	final := ab[0]
	if cfg.SetAlphaToOne {
		final = 1
	}
	return &DiffusersDDIM{Config: cfg, AlphasCumprod: ab, FinalAlphaCumprod: final}, nil
}

// SetTimesteps computes the numInference integer timesteps (DDIMScheduler.set_timesteps, all three spacings).
func (d *DiffusersDDIM) SetTimesteps(numInference int) error {
	T := d.Config.NumTrainTimesteps
	if numInference < 1 || numInference > T {
		return fmt.Errorf("diffusers DDIM scheduler: %d inference steps: it must be between 1 and num_train_timesteps = %d", numInference, T)
	}
	ts := make([]int, numInference)
	switch d.Config.TimestepSpacing {
	case SpacingLeading, "":
		ratio := T / numInference
		for i := range ts {
			ts[i] = (numInference-1-i)*ratio + d.Config.StepsOffset
		}
	case SpacingLinspace:
		// numpy.linspace(0, T−1, n): i·step, last element exactly T−1; then round half to even.
		step := float64(T-1) / float64(max(numInference-1, 1))
		for i := range ts {
			v := float64(i) * step
			if i == numInference-1 && numInference > 1 {
				v = float64(T - 1)
			}
			ts[numInference-1-i] = int(math.RoundToEven(v))
		}
	case SpacingTrailing:
		ratio := float64(T) / float64(numInference)
		for i := range ts {
			ts[i] = int(math.RoundToEven(float64(T)-float64(i)*ratio)) - 1
		}
	default:
		return fmt.Errorf("diffusers DDIM scheduler: unknown timestep_spacing %q: use %q, %q or %q",
			d.Config.TimestepSpacing, SpacingLeading, SpacingLinspace, SpacingTrailing)
	}
	d.Timesteps, d.NumInferenceSteps = ts, numInference
	return nil
}

// PrevTimestep is the timestep a step from t lands on: t − num_train_timesteps/num_inference_steps (integer
// division); a negative value means "after the last step" (ᾱ = FinalAlphaCumprod).
func (d *DiffusersDDIM) PrevTimestep(t int) int {
	return t - d.Config.NumTrainTimesteps/max(d.NumInferenceSteps, 1)
}

// Step is DDIMScheduler.step (diffusers v0.29, use_clipped_model_output false) in float32: it returns
// prev_sample and pred_original_sample. noise is the variance noise, required when η > 0.
func (d *DiffusersDDIM) Step(modelOut []float32, t int, x []float32, eta float64, noise []float32) (prev, x0 []float32, err error) {
	if d.NumInferenceSteps == 0 {
		return nil, nil, fmt.Errorf("diffusers DDIM step: the number of inference steps is not set: call SetTimesteps first")
	}
	if t < 0 || t >= len(d.AlphasCumprod) {
		return nil, nil, fmt.Errorf("diffusers DDIM step: timestep %d is outside [0, %d)", t, len(d.AlphasCumprod))
	}
	if len(x) != len(modelOut) {
		return nil, nil, fmt.Errorf("diffusers DDIM step: sample has %d values but the model output has %d: they must have the same shape", len(x), len(modelOut))
	}
	if !(eta >= 0) || math.IsInf(eta, 0) {
		return nil, nil, fmt.Errorf("diffusers DDIM step: η = %v must be a finite number ≥ 0", eta)
	}
	if eta > 0 && len(noise) != len(x) {
		return nil, nil, fmt.Errorf("diffusers DDIM step: η = %v needs variance noise with %d values, got %d", eta, len(x), len(noise))
	}
	a := d.AlphasCumprod[t]
	ap := d.FinalAlphaCumprod
	if p := d.PrevTimestep(t); p >= 0 {
		ap = d.AlphasCumprod[p]
	}
	b, bp := 1-a, 1-ap
	sqa, sqb := sqrt32(a), sqrt32(b)

	x0 = make([]float32, len(x))
	eps := modelOut
	switch d.Config.Prediction {
	case PredictEpsilon:
		for i := range x0 {
			x0[i] = (x[i] - float32(sqb*modelOut[i])) / sqa
		}
	case PredictSample:
		copy(x0, modelOut)
		eps = make([]float32, len(x))
		for i := range eps {
			eps[i] = (x[i] - float32(sqa*x0[i])) / sqb
		}
	default:
		return nil, nil, fmt.Errorf("diffusers DDIM step: unknown prediction type %d", int(d.Config.Prediction))
	}
	if d.Config.ClipSample {
		r := float32(d.Config.ClipSampleRange)
		for i, v := range x0 {
			x0[i] = min(max(v, -r), r)
		}
	}
	variance := (bp / b) * (1 - a/ap)
	std := float32(eta) * sqrt32(variance)
	dir := sqrt32((1 - ap) - float32(std*std))
	sqap := sqrt32(ap)
	prev = make([]float32, len(x))
	for i := range prev {
		prev[i] = float32(sqap*x0[i]) + float32(dir*eps[i])
		if eta > 0 {
			prev[i] += float32(std * noise[i])
		}
	}
	return prev, x0, nil
}
