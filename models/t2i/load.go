package t2i

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/clip"
	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/loco"
)

func init() {
	loco.RegisterPipeline("UNet2DConditionModel", func(name, dir string) (loco.Denoiser, error) { return Load(name, dir) })
	loco.RegisterArchitecture("UNet2DConditionModel", func(dir string) (loco.Denoiser, error) {
		return nil, fmt.Errorf("%s holds a UNet2DConditionModel alone: editing needs its pipeline folder (model_index.json with unet/, vae/ "+
			"and scheduler/, and text_encoder/ and tokenizer/ to encode prompts); loco eps and loco jvp evaluate the UNet by itself", dir)
	})
}

// LCMScheduler holds the settings of diffusers' LCMScheduler that its sampler uses.
type LCMScheduler struct {
	// OriginalInferenceSteps is the distillation schedule's length (50): timesteps are taken from
	// k·[1..OriginalInferenceSteps] − 1 with k = num_train_timesteps / OriginalInferenceSteps.
	OriginalInferenceSteps int `json:"original_inference_steps"`
	// TimestepScaling scales t in the boundary-condition scalings c_skip and c_out (10).
	TimestepScaling float64 `json:"timestep_scaling"`
}

// Load reads a text-to-image pipeline folder: model_index.json, unet/, vae/, scheduler/, and optionally
// text_encoder/ with tokenizer/ (without them the model takes text embeddings only). name identifies the model
// (hub id or folder).
func Load(name, dir string) (*Model, error) {
	fail := func(err error) (*Model, error) { return nil, fmt.Errorf("loading pipeline %s: %w", name, err) }
	if _, err := os.Stat(filepath.Join(dir, "model_index.json")); err != nil {
		return fail(fmt.Errorf("%s is not a diffusers pipeline folder (no model_index.json)", dir))
	}
	for _, c := range []string{"unet", "vae", "scheduler"} {
		if st, err := os.Stat(filepath.Join(dir, c)); err != nil || !st.IsDir() {
			return fail(fmt.Errorf("the pipeline has no %s/ folder: a text-to-image pipeline needs unet/, vae/ and scheduler/", c))
		}
	}
	m := &Model{ModelName: name}
	var err error
	if m.Scheduler, m.LCM, err = readScheduler(filepath.Join(dir, "scheduler", "scheduler_config.json")); err != nil {
		return fail(err)
	}
	if m.UNet, err = diffusers.LoadUNet2DCondition(filepath.Join(dir, "unet")); err != nil {
		return fail(fmt.Errorf("unet/: %w", err))
	}
	if m.VAE, err = diffusers.LoadAutoencoderKL(filepath.Join(dir, "vae")); err != nil {
		return fail(fmt.Errorf("vae/: %w", err))
	}
	hasEncoder, hasTokenizer := isDir(filepath.Join(dir, "text_encoder")), isDir(filepath.Join(dir, "tokenizer"))
	if hasEncoder != hasTokenizer {
		return fail(errors.New("the pipeline has one of text_encoder/ and tokenizer/ but not the other: prompts need both (or remove both and give text embeddings)"))
	}
	if hasEncoder {
		if m.TextEncoder, err = clip.LoadTextModel(filepath.Join(dir, "text_encoder")); err != nil {
			return fail(fmt.Errorf("text_encoder/: %w", err))
		}
		if m.Tokenizer, err = clip.LoadTokenizer(filepath.Join(dir, "tokenizer")); err != nil {
			return fail(fmt.Errorf("tokenizer/: %w", err))
		}
	}
	if err := m.init(); err != nil {
		return fail(err)
	}
	return m, nil
}

// New assembles a model from loaded components (Load reads them from a pipeline folder): the UNet, the
// autoencoder, the scheduler config (an LCMScheduler's settings in lcm, nil for Stable Diffusion), and the text
// encoder with its tokenizer, both nil for a model that takes text embeddings only.
func New(name string, unet *diffusers.UNet2DConditionModel, vae *diffusers.AutoencoderKL, scheduler *diffusers.SchedulerConfig, lcm *LCMScheduler,
	encoder *clip.TextModel, tokenizer *clip.Tokenizer) (*Model, error) {
	if unet == nil || vae == nil || scheduler == nil || (encoder == nil) != (tokenizer == nil) {
		return nil, errors.New("a text-to-image model needs a UNet, an autoencoder and a scheduler config, and a text encoder with its tokenizer or neither")
	}
	m := &Model{ModelName: name, UNet: unet, VAE: vae, Scheduler: scheduler, LCM: lcm, TextEncoder: encoder, Tokenizer: tokenizer}
	if err := m.init(); err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	return m, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// readScheduler reads the scheduler config: its noise schedule, and for an LCMScheduler the sampler's settings.
func readScheduler(path string) (*diffusers.SchedulerConfig, *LCMScheduler, error) {
	sc, err := diffusers.ReadSchedulerConfig(path)
	if err != nil {
		return nil, nil, err
	}
	if sc.PredictionType != "epsilon" {
		return nil, nil, fmt.Errorf("%s: prediction_type %q: text-to-image pipelines are supported with ε-prediction (epsilon) only", path, sc.PredictionType)
	}
	if sc.ClassName != "LCMScheduler" {
		return sc, nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	lcm := &LCMScheduler{OriginalInferenceSteps: 50, TimestepScaling: 10}
	if err := json.Unmarshal(raw, lcm); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if lcm.OriginalInferenceSteps < 1 || lcm.OriginalInferenceSteps > sc.NumTrainTimesteps {
		return nil, nil, fmt.Errorf("%s: original_inference_steps = %d must lie in [1, num_train_timesteps = %d]", path, lcm.OriginalInferenceSteps, sc.NumTrainTimesteps)
	}
	if !(lcm.TimestepScaling > 0) || lcm.TimestepScaling > 1e6 {
		return nil, nil, fmt.Errorf("%s: timestep_scaling = %g must be a positive number", path, lcm.TimestepScaling)
	}
	return sc, lcm, nil
}

// init checks that the components fit together and prepares the shared weights context and the schedule.
func (m *Model) init() error {
	u, v := m.UNet.Config, m.VAE.Config
	if u.InChannels != v.LatentChannels || u.OutChannels != v.LatentChannels {
		return fmt.Errorf("the UNet works on %d channels (out %d) but the autoencoder's latents have %d", u.InChannels, u.OutChannels, v.LatentChannels)
	}
	if !(v.ScalingFactor > 0) {
		return fmt.Errorf("vae/config.json scaling_factor = %g: it must be positive", v.ScalingFactor)
	}
	dim, err := u.ContextDim()
	if err != nil {
		return err
	}
	if m.TextEncoder != nil && m.TextEncoder.Config.HiddenSize != dim {
		return fmt.Errorf("the text encoder's hidden size is %d but the UNet's cross_attention_dim is %d", m.TextEncoder.Config.HiddenSize, dim)
	}
	if m.LCM != nil && u.TimeCondProjDim == nil {
		return errors.New("the scheduler is an LCMScheduler but the UNet has no time_cond_proj_dim (guidance embedding)")
	}
	if m.ctx, err = mergeContexts(m.UNet.Context(), m.VAE.Context()); err != nil {
		return err
	}
	sc := m.Scheduler
	if m.sched, err = loco.NewDiffusersSchedule(loco.BetaSchedule(sc.BetaSchedule), sc.BetaStart, sc.BetaEnd, sc.NumTrainTimesteps); err != nil {
		return err
	}
	m.alphas = make([]float32, m.sched.NumTrainSteps())
	for i, a := range m.sched.AlphasCumprod {
		m.alphas[i] = float32(a)
	}
	m.defaults, err = m.bind(loco.Conditioning{Guidance: 1}, false)
	return err
}

// mergeContexts returns one context holding the variables of every ctx under their own scopes (diffusers' weight
// names do not overlap between a pipeline's UNet and autoencoder), so that one graph can use them all. The
// tensors are shared, not copied.
func mergeContexts(ctxs ...*context.Context) (*context.Context, error) {
	out := context.New()
	for _, c := range ctxs {
		for v := range c.IterVariables() {
			if out.GetVariableByScopeAndName(v.Scope(), v.Name()) != nil {
				return nil, fmt.Errorf("two components of the pipeline hold the weight %s", v.ScopeAndName())
			}
			val, err := v.Value()
			if err != nil {
				return nil, err
			}
			out.InAbsPath(v.Scope()).VariableWithValue(v.Name(), val)
		}
	}
	return out, nil
}

// errNoEncoder says how to condition a pipeline without a text encoder.
func errNoEncoder(name string) error {
	return fmt.Errorf("pipeline %s has no text_encoder/ and tokenizer/: give text embeddings instead of prompts (or use the full pipeline folder)", name)
}
