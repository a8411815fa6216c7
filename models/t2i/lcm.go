package t2i

import (
	"fmt"
	"math"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

// DefaultLCMSteps is the number of steps of the authors' latent consistency sampling.
const DefaultLCMSteps = 4

// LCMTimesteps returns LCMScheduler.set_timesteps(steps) of diffusers (v0.29): the distillation schedule
// k·[1..original_inference_steps] − 1 (k = num_train_timesteps / original_inference_steps), reversed, at the
// indices ⌊i·original/steps⌋. Four steps of the usual 50 give [999, 759, 499, 259] (older diffusers releases gave
// [999, 759, 519, 279]).
func LCMTimesteps(numTrain, original, steps int) ([]float32, error) {
	if steps < 1 || steps > original {
		return nil, fmt.Errorf("LCM steps %d: use 1 to %d (original_inference_steps)", steps, original)
	}
	k := numTrain / original
	out := make([]float32, steps)
	for i := range steps {
		j := int(math.Floor(float64(i) * float64(original) / float64(steps)))
		out[i] = float32((original-j)*k - 1)
	}
	return out, nil
}

// lcmGrid is the model's LCM timesteps as a grid: transition i starts at timesteps[i] and ends at the next
// one (0 after the last, where the sampler returns the denoised latent). LCMs have no inversion.
func (m *Model) lcmGrid(steps int, inversion bool) (loco.Grid, error) {
	if inversion {
		return loco.Grid{}, fmt.Errorf("pipeline %s is a latent consistency model: its sampler is stochastic and has no DDIM inversion; start from noise (a seed) instead of an image", m.ModelName)
	}
	if steps == 0 {
		steps = DefaultLCMSteps
	}
	ts, err := LCMTimesteps(m.sched.NumTrainSteps(), m.LCM.OriginalInferenceSteps, steps)
	if err != nil {
		return loco.Grid{}, err
	}
	next := append(append([]float32(nil), ts[1:]...), 0)
	return loco.Grid{Timesteps: ts, Next: next, TMax: ts[0]}, nil
}

// SampleLCM is diffusers' LCMScheduler multistep sampling as a loco.Sampler: each step predicts the denoised
// latent x̂ = c_out·ẑ0 + c_skip·x at T and, unless it is the grid's last step (which returns x̂), moves to
// Next: x ← √ᾱ_next·x̂ + √(1−ᾱ_next)·z with fresh noise z (LCMStep). The noise is seeded by opts.Seed and drawn
// once per step for the whole batch, so the images of an edit strip differ by their edits only (diffusers draws
// it per image).
func SampleLCM(p *loco.Pipeline, x []float32, steps []loco.Transition, opts loco.SampleOptions) ([]float32, error) {
	g, err := p.Grid(opts.Steps, false)
	if err != nil {
		return nil, err
	}
	rng := num.NewRand(opts.Seed, 0x1c3)
	s := p.Model.Schedule()
	d := p.Dim()
	for i, st := range steps {
		_, denoised, err := p.PredictLatent(x, []float32{st.T})
		if err != nil {
			return nil, fmt.Errorf("LCM step %d (t = %g): %w", st.Index, st.T, err)
		}
		if st.Index == g.Len()-1 {
			x = denoised
		} else {
			z := num.Gaussian(rng, d)
			noise := make([]float32, len(x))
			for j := 0; j < len(x); j += d {
				copy(noise[j:j+d], z)
			}
			x = LCMStep(denoised, s.AlphaBar32(st.Next), noise)
		}
		if opts.Callback != nil {
			if err := opts.Callback(loco.StepInfo{Step: i + 1, Steps: len(steps), Transition: st, X: x, X0: denoised}); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}

// LCMStep is the noise injection of LCMScheduler.step: √ᾱ_prev·denoised + √(1−ᾱ_prev)·noise, in float32.
func LCMStep(denoised []float32, alphaPrev float32, noise []float32) []float32 {
	a := float32(math.Sqrt(float64(alphaPrev)))
	b := float32(math.Sqrt(float64(1 - alphaPrev)))
	out := make([]float32, len(denoised))
	for i := range out {
		out[i] = a*denoised[i] + b*noise[i]
	}
	return out
}

// GuidanceEmbedding is diffusers' get_guidance_scale_embedding for one w (latent consistency models embed
// w = s − 1): sin and cos of 1000·w·exp(−i·ln(10000)/(d/2 − 1)), i < d/2, a zero appended for odd d, in float32.
func GuidanceEmbedding(w float64, dim int) []float32 {
	half := dim / 2
	out := make([]float32, dim)
	if half == 0 {
		return out
	}
	ww := float32(w) * 1000
	step := float32(math.Log(10000)) / float32(max(half-1, 1))
	for i := range half {
		f := float32(math.Exp(float64(float32(i) * -step)))
		arg := float64(ww * f)
		out[i] = float32(math.Sin(arg))
		out[half+i] = float32(math.Cos(arg))
	}
	return out
}

// guidanceEmbedding is the embedding a latent consistency model is conditioned on: given (its length checked),
// or GuidanceEmbedding(s − 1).
func (m *Model) guidanceEmbedding(s float64, given []float32) ([]float32, error) {
	d := *m.UNet.Config.TimeCondProjDim
	if given != nil {
		if len(given) != d {
			return nil, fmt.Errorf("guidance embedding has %d values, the UNet's time_cond_proj_dim is %d", len(given), d)
		}
		for _, v := range given {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("guidance embedding holds a non-finite value")
			}
		}
		return given, nil
	}
	return GuidanceEmbedding(s-1, d), nil
}
