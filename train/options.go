package train

import (
	"fmt"
	"math"

	"github.com/locoedit/locoedit/hf/diffusers"
)

// Options are the hyperparameters of a training run. The defaults (DefaultOptions) are those of diffusers'
// examples/unconditional_image_generation/train_unconditional.py, except where noted.
type Options struct {
	// Config is the UNet2DModel to train.
	Config *diffusers.UNet2DConfig
	// Steps is the number of optimisation steps; Batch the images per step.
	Steps, Batch int
	// LR is the peak learning rate, reached linearly over Warmup steps (the first step uses 0, as PyTorch's
	// LambdaLR does); Schedule is "constant" or "cosine" (decay to 0 at Steps) after the warm-up.
	LR       float64
	Warmup   int
	Schedule string
	// AdamW: betas, epsilon and decoupled weight decay.
	Beta1, Beta2, Epsilon, WeightDecay float64
	// GradClip is the maximum global L2 norm of the gradient (0: no clipping).
	GradClip float64
	// EMA of the weights as diffusers' EMAModel with use_ema_warmup: decay min(MaxDecay, 1 − (1 + s/InvGamma)^−Power)
	// at its s-th update (0 at the first, which copies the weights).
	EMAMaxDecay, EMAPower, EMAInvGamma float64
	// Flip mirrors each training image left–right with probability 1/2.
	Flip bool
	// Seed fixes the initial weights, the data order, the noise, the timesteps and the flips.
	Seed uint64
	// Scheduler is the DDPM noise schedule (linear β 1e-4 → 0.02 over 1000 steps by default).
	Scheduler *diffusers.SchedulerConfig
}

// DefaultOptions returns the defaults for a config: lr 1e-4 with 500 warm-up steps (constant afterwards), AdamW
// betas (0.95, 0.999), eps 1e-8, weight decay 1e-6, gradient norm clipped at 1, EMA power 3/4 up to 0.9999, batch
// 16 and 1000 steps, seed 0, DDPMScheduler's default schedule.
func DefaultOptions(cfg *diffusers.UNet2DConfig) Options {
	return Options{
		Config: cfg, Steps: 1000, Batch: 16, LR: 1e-4, Warmup: 500, Schedule: "constant",
		Beta1: 0.95, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-6, GradClip: 1,
		EMAMaxDecay: 0.9999, EMAPower: 0.75, EMAInvGamma: 1,
		Scheduler: diffusers.DefaultSchedulerConfig(),
	}
}

// Validate reports the first unusable option, naming the flag to change.
func (o *Options) Validate() error {
	switch {
	case o.Config == nil:
		return fmt.Errorf("no model config")
	case o.Steps < 0:
		return fmt.Errorf("--steps must be ≥ 0, got %d", o.Steps)
	case o.Batch < 1:
		return fmt.Errorf("--batch must be ≥ 1, got %d", o.Batch)
	case !(o.LR >= 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("--lr must be a finite value ≥ 0, got %g", o.LR)
	case o.Warmup < 0:
		return fmt.Errorf("--warmup must be ≥ 0, got %d", o.Warmup)
	case o.Schedule != "constant" && o.Schedule != "cosine":
		return fmt.Errorf("--lr-schedule %q: use \"constant\" or \"cosine\"", o.Schedule)
	case !(o.Beta1 >= 0 && o.Beta1 < 1 && o.Beta2 >= 0 && o.Beta2 < 1):
		return fmt.Errorf("AdamW betas must be in [0, 1), got %g, %g", o.Beta1, o.Beta2)
	case !(o.Epsilon > 0):
		return fmt.Errorf("AdamW epsilon must be positive, got %g", o.Epsilon)
	case !(o.WeightDecay >= 0):
		return fmt.Errorf("--weight-decay must be ≥ 0, got %g", o.WeightDecay)
	case !(o.GradClip >= 0):
		return fmt.Errorf("--grad-clip must be ≥ 0 (0: off), got %g", o.GradClip)
	case !(o.EMAMaxDecay >= 0 && o.EMAMaxDecay < 1):
		return fmt.Errorf("--ema-max-decay must be in [0, 1), got %g", o.EMAMaxDecay)
	case !(o.EMAPower > 0 && o.EMAInvGamma > 0):
		return fmt.Errorf("EMA power and inv_gamma must be positive, got %g, %g", o.EMAPower, o.EMAInvGamma)
	case o.Scheduler == nil:
		return fmt.Errorf("no noise schedule")
	case o.Scheduler.PredictionType != "epsilon":
		return fmt.Errorf("scheduler prediction_type %q: only \"epsilon\" training is implemented", o.Scheduler.PredictionType)
	}
	return nil
}

// LearningRate is the learning rate of step s (0-based): diffusers' get_constant_schedule_with_warmup or
// get_cosine_schedule_with_warmup (half a cosine period) times LR.
func (o *Options) LearningRate(s int64) float64 {
	if s < int64(o.Warmup) {
		return o.LR * float64(s) / float64(max(1, o.Warmup))
	}
	if o.Schedule != "cosine" {
		return o.LR
	}
	progress := float64(s-int64(o.Warmup)) / float64(max(1, o.Steps-o.Warmup))
	return o.LR * max(0, 0.5*(1+math.Cos(math.Pi*progress)))
}

// EMADecay is diffusers' EMAModel.get_decay for the n-th EMA update (1-based, as its optimization_step after the
// increment in step()), with use_ema_warmup, update_after_step 0 and min_decay 0.
func (o *Options) EMADecay(n int64) float64 {
	step := n - 1
	if step <= 0 {
		return 0
	}
	d := 1 - math.Pow(1+float64(step)/o.EMAInvGamma, -o.EMAPower)
	return max(0, min(d, o.EMAMaxDecay))
}
