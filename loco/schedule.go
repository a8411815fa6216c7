package loco

import (
	"fmt"
	"math"
)

// BetaSchedule names a diffusion noise (β) schedule, with the spelling diffusers uses in scheduler_config.json.
type BetaSchedule string

const (
	// BetaLinear is β_i = start + (end−start)·i/(n−1) (DDPM; docs/method.md §2).
	BetaLinear BetaSchedule = "linear"
	// BetaScaledLinear is β_i = (sqrt(start) + (sqrt(end)−sqrt(start))·i/(n−1))² (Stable Diffusion, LCM; docs/method.md §2).
	BetaScaledLinear BetaSchedule = "scaled_linear"
	// BetaSquaredCosCapV2 is the improved-DDPM cosine schedule, β_i = min(1 − ā((i+1)/n)/ā(i/n), 0.999) with
	// ā(s) = cos²((s+0.008)/1.008·π/2) (DeepFloyd IF; docs/method.md §2). start and end are ignored.
	BetaSquaredCosCapV2 BetaSchedule = "squaredcos_cap_v2"
)

// SupportedBetaSchedules lists the schedules AlphasCumprod knows.
var SupportedBetaSchedules = []BetaSchedule{BetaLinear, BetaScaledLinear, BetaSquaredCosCapV2}

// Betas returns the β table of a schedule, computed in float64 (docs/method.md §2). The linear ramps follow
// torch.linspace(start, end, n, dtype=float64) on CPU bit for bit, as the authors' YHCustomScheduler builds them.
func Betas(kind BetaSchedule, betaStart, betaEnd float64, numTrainSteps int) ([]float64, error) {
	if numTrainSteps < 1 {
		return nil, fmt.Errorf("beta schedule %q: numTrainSteps is %d, it must be at least 1", kind, numTrainSteps)
	}
	switch kind {
	case BetaLinear:
		return torchLinspace(betaStart, betaEnd, numTrainSteps, avx2Lanes64), nil
	case BetaScaledLinear:
		betas := torchLinspace(math.Sqrt(betaStart), math.Sqrt(betaEnd), numTrainSteps, avx2Lanes64)
		for i, b := range betas {
			betas[i] = b * b
		}
		return betas, nil
	case BetaSquaredCosCapV2:
		return cosineBetas(numTrainSteps), nil
	}
	return nil, fmt.Errorf("unknown beta schedule %q: supported schedules are %q", kind, SupportedBetaSchedules)
}

// cosineBetas is diffusers' betas_for_alpha_bar with the "cosine" transform and max_beta 0.999 (docs/method.md §2).
func cosineBetas(n int) []float64 {
	alphaBar := func(s float64) float64 {
		c := math.Cos((s + 0.008) / 1.008 * math.Pi / 2)
		return c * c
	}
	betas := make([]float64, n)
	for i := range betas {
		t1 := float64(i) / float64(n)
		t2 := float64(i+1) / float64(n)
		betas[i] = math.Min(1-alphaBar(t2)/alphaBar(t1), 0.999)
	}
	return betas
}

// AlphasCumprod returns ᾱ_i = Π_{j≤i}(1 − β_j), i = 0..numTrainSteps−1, computed in float64 like the reference
// (docs/method.md §2: betas in float64, then a float64 cumulative product). An unknown kind is an error that lists the
// supported schedules.
func AlphasCumprod(kind BetaSchedule, betaStart, betaEnd float64, numTrainSteps int) ([]float64, error) {
	betas, err := Betas(kind, betaStart, betaEnd, numTrainSteps)
	if err != nil {
		return nil, err
	}
	ab := make([]float64, len(betas))
	prod := 1.0
	for i, b := range betas {
		prod *= 1 - b
		ab[i] = prod
	}
	return ab, nil
}

// Schedule is a VP diffusion model's noise schedule: the table ᾱ[i], i = 0..NumTrainSteps()−1 (docs/method.md §2).
//
// The table is kept in float64. The reference casts it to the model dtype (float32) before use; AlphaBar32
// gives that rounded value, and the float32 DDIM steps (DDIMStep) round their ᾱ arguments the same way.
type Schedule struct {
	// AlphasCumprod is ᾱ indexed by integer training step.
	AlphasCumprod []float64
}

// NewSchedule builds the ᾱ table of a β schedule (docs/method.md §2); see AlphasCumprod.
func NewSchedule(kind BetaSchedule, betaStart, betaEnd float64, numTrainSteps int) (*Schedule, error) {
	ab, err := AlphasCumprod(kind, betaStart, betaEnd, numTrainSteps)
	if err != nil {
		return nil, err
	}
	return &Schedule{AlphasCumprod: ab}, nil
}

// LinearSchedule is the DDPM schedule every unconditional model of the paper uses: linear β from 1e-4 to 0.02
// over 1000 steps (docs/method.md §2, YHCustomScheduler's hard-coded values).
func LinearSchedule() *Schedule {
	s, err := NewSchedule(BetaLinear, 1e-4, 0.02, 1000)
	if err != nil {
		// Unreachable: the arguments are constants that NewSchedule accepts.
		return &Schedule{}
	}
	return s
}

// NumTrainSteps is the length of the ᾱ table (1000 for every model in the paper).
func (s *Schedule) NumTrainSteps() int { return len(s.AlphasCumprod) }

// Index is the table index that time t reads: floor(t) (torch's t.long() of a non-negative float32 t), clamped to
// [0, NumTrainSteps()−1] (docs/method.md §1, §3).
func (s *Schedule) Index(t float32) int {
	n := len(s.AlphasCumprod)
	switch {
	case n == 0 || !(t > 0): // also catches NaN
		return 0
	case float64(t) >= float64(n-1):
		return n - 1
	}
	return int(math.Floor(float64(t)))
}

// AlphaBar is ᾱ[floor(t)] in float64, t being the (fractional) float32 time the network sees (docs/method.md §3).
// It returns NaN for an empty table or a NaN t.
func (s *Schedule) AlphaBar(t float32) float64 {
	if len(s.AlphasCumprod) == 0 || t != t {
		return math.NaN()
	}
	return s.AlphasCumprod[s.Index(t)]
}

// AlphaBar32 is AlphaBar rounded to float32: the value the reference uses after casting ᾱ to the model dtype
// (docs/method.md §2).
func (s *Schedule) AlphaBar32(t float32) float32 { return float32(s.AlphaBar(t)) }

// NewDiffusersSchedule builds the ᾱ table as diffusers' schedulers (DDPMScheduler, DDIMScheduler, LCMScheduler)
// build it on the CPU, the table Stable Diffusion pipelines and the authors' text-to-image code read: float32 β
// (torch.linspace in float32; scaled_linear squares the float32 ramp of square roots), 1 − β in float32, and
// torch.cumprod, which accumulates in float64 and rounds every entry to float32 (docs/method.md §2). It differs
// from NewSchedule (float64 throughout, the authors' unconditional scheduler) by float32 rounding.
func NewDiffusersSchedule(kind BetaSchedule, betaStart, betaEnd float64, numTrainSteps int) (*Schedule, error) {
	if numTrainSteps < 1 {
		return nil, fmt.Errorf("beta schedule %q: numTrainSteps is %d, it must be at least 1", kind, numTrainSteps)
	}
	var betas []float32
	switch kind {
	case BetaLinear:
		betas = torchLinspace(float32(betaStart), float32(betaEnd), numTrainSteps, avx2Lanes32)
	case BetaScaledLinear:
		betas = torchLinspace(float32(math.Sqrt(betaStart)), float32(math.Sqrt(betaEnd)), numTrainSteps, avx2Lanes32)
		for i, b := range betas {
			betas[i] = b * b
		}
	case BetaSquaredCosCapV2:
		for _, b := range cosineBetas(numTrainSteps) {
			betas = append(betas, float32(b))
		}
	default:
		return nil, fmt.Errorf("unknown beta schedule %q: supported schedules are %q", kind, SupportedBetaSchedules)
	}
	ab := make([]float64, len(betas))
	prod := 1.0
	for i, b := range betas {
		prod *= float64(1 - b)
		ab[i] = float64(float32(prod))
	}
	return &Schedule{AlphasCumprod: ab}, nil
}
