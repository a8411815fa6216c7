package t2i

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/clip"
	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/loco"
)

// Default guidance of the authors' scripts (docs/method.md §13).
const (
	// DefaultGuidance is the classifier-free guidance scale s (Stable Diffusion) and the guidance a latent
	// consistency model embeds as w = s − 1.
	DefaultGuidance = 7.5
	// DefaultEditGuidance is m, the edit prompt's scale in Stable Diffusion's f^e.
	DefaultEditGuidance = 4.0
	// SDEditT and LCMEditT are the edit times of the authors' scripts: 0.7 (grid index 30, t = 696.27) for
	// Stable Diffusion, and after the second of four LCM steps (t = 499) for latent consistency models.
	SDEditT  = 0.7
	LCMEditT = 0.5
)

// Model is a text-to-image pipeline folder: the UNet, the autoencoder, the scheduler's noise schedule and,
// unless only text embeddings are used, the text encoder and its tokenizer. As a loco.Denoiser it predicts for
// the empty prompt; Condition binds it to prompts (loco.Conditioner).
type Model struct {
	ModelName   string
	UNet        *diffusers.UNet2DConditionModel
	VAE         *diffusers.AutoencoderKL
	TextEncoder *clip.TextModel // nil when the folder has no text_encoder/
	Tokenizer   *clip.Tokenizer // nil when the folder has no tokenizer/
	Scheduler   *diffusers.SchedulerConfig
	// LCM holds the latent consistency sampler's settings; nil for Stable Diffusion pipelines.
	LCM *LCMScheduler

	ctx      *context.Context // the UNet's and the autoencoder's weights
	sched    *loco.Schedule
	alphas   []float32    // ᾱ in float32, for graphs
	defaults *Conditioned // the empty prompt without guidance
}

var (
	_ loco.Denoiser          = (*Model)(nil)
	_ loco.Conditioner       = (*Model)(nil)
	_ loco.LatentModel       = (*Model)(nil)
	_ loco.GridProvider      = (*Model)(nil)
	_ loco.SamplerProvider   = (*Model)(nil)
	_ loco.EditTimeSuggester = (*Model)(nil)
	_ loco.EditGuided        = (*EditConditioned)(nil)
)

// Name implements loco.Denoiser.
func (m *Model) Name() string { return m.ModelName }

// SampleShape implements loco.Denoiser: the latent of the UNet's sample_size.
func (m *Model) SampleShape() []int { return m.defaults.SampleShape() }

// ImageShape implements loco.LatentModel.
func (m *Model) ImageShape() []int { return m.defaults.ImageShape() }

// Schedule implements loco.Denoiser: the scheduler's ᾱ table as diffusers builds it (float32).
func (m *Model) Schedule() *loco.Schedule { return m.sched }

// Prediction implements loco.Denoiser: ε for Stable Diffusion; for a latent consistency model the consistency
// function's output c_out·ẑ0 + c_skip·z (LCMScheduler's "denoised"), a prediction of the clean latent.
func (m *Model) Prediction() loco.Prediction {
	if m.LCM != nil {
		return loco.PredictSample
	}
	return loco.PredictEpsilon
}

// Context implements loco.Denoiser.
func (m *Model) Context() *context.Context { return m.ctx }

// Predict implements loco.Denoiser for the empty prompt without guidance.
func (m *Model) Predict(ctx *context.Context, x, t *Node) *Node { return m.defaults.Predict(ctx, x, t) }

// DecodeLatents implements loco.LatentModel: vae.decode(z / scaling_factor).
func (m *Model) DecodeLatents(ctx *context.Context, z *Node) *Node {
	return m.VAE.Decode(ctx, DivScalar(z, m.VAE.Config.ScalingFactor))
}

// EncodeImages implements loco.LatentModel: encode(x).latent_dist.mean · scaling_factor.
func (m *Model) EncodeImages(ctx *context.Context, x *Node) *Node {
	return MulScalar(m.VAE.Encode(ctx, x), m.VAE.Config.ScalingFactor)
}

// SuggestedEditT implements loco.EditTimeSuggester with the authors' edit times (SDEditT, LCMEditT).
func (m *Model) SuggestedEditT() float64 {
	if m.LCM != nil {
		return LCMEditT
	}
	return SDEditT
}

// Grid implements loco.GridProvider: the LOCO-Edit grid (t_max = num_train_timesteps − 1) for Stable Diffusion,
// the scheduler's own timesteps for a latent consistency model.
func (m *Model) Grid(steps int, inversion bool) (loco.Grid, error) {
	if m.LCM != nil {
		return m.lcmGrid(steps, inversion)
	}
	if steps == 0 {
		steps = loco.DefaultSteps
	}
	return loco.NewGrid(steps, float32(m.sched.NumTrainSteps()-1), inversion)
}

// Sampler implements loco.SamplerProvider: DDIM, or the LCM multistep sampler (SampleLCM).
func (m *Model) Sampler() loco.Sampler {
	if m.LCM != nil {
		return SampleLCM
	}
	return loco.DDIM
}

// Condition implements loco.Conditioner: the model bound to prompts (or text embeddings) and guidance. With an
// edit prompt the result is an *EditConditioned, which also builds the edit-guided prediction.
func (m *Model) Condition(c loco.Conditioning) (loco.Denoiser, error) {
	b, err := m.bind(c, true)
	if err != nil {
		return nil, err
	}
	if b.edit != nil {
		return &EditConditioned{b}, nil
	}
	return b, nil
}

// Conditioned is a Model bound to a prompt and guidance (Model.Condition).
type Conditioned struct {
	*Model
	latent []int // [C, h, w]
	// prompt, null and edit are the text embeddings [1, L, D] of the prompt, the empty (or negative) prompt (nil
	// without classifier-free guidance, or for a latent consistency model) and the edit prompt (nil: none).
	prompt, null, edit     *loco.TextEmbedding
	guidance, editGuidance float64
	mode                   loco.GuidanceMode
	cond                   []float32 // the guidance embedding of a latent consistency model
}

// SampleShape implements loco.Denoiser.
func (c *Conditioned) SampleShape() []int { return c.latent }

// ImageShape implements loco.LatentModel.
func (c *Conditioned) ImageShape() []int {
	f := c.VAE.Config.DownFactor()
	return []int{c.VAE.Config.OutChannels, c.latent[1] * f, c.latent[2] * f}
}

// Guidance returns the bound guidance scales s and m and the edit mode.
func (c *Conditioned) Guidance() (s, m float64, mode loco.GuidanceMode) {
	return c.guidance, c.editGuidance, c.mode
}

// Predict implements loco.Denoiser: ε with classifier-free guidance, ε∅ + s(ε_prompt − ε∅) (s ≤ 1: ε_prompt), for
// Stable Diffusion; the consistency function's output for the prompt with the guidance embedding for a latent
// consistency model.
func (c *Conditioned) Predict(ctx *context.Context, x, t *Node) *Node {
	if c.prompt == nil {
		panic(errNoEncoder(c.ModelName))
	}
	if c.LCM != nil {
		return c.lcmDenoised(ctx, x, t, c.unet(ctx, x, t, c.prompt)[0])
	}
	if c.null == nil {
		return c.unet(ctx, x, t, c.prompt)[0]
	}
	e := c.unet(ctx, x, t, c.null, c.prompt)
	return guide(e[0], e[1], c.guidance)
}

// EditConditioned is a Model bound to a prompt and an edit prompt: text-supervised T-LOCO (loco.EditGuided).
type EditConditioned struct{ *Conditioned }

// PredictGuided implements loco.EditGuided: Predict and the edit-guided prediction in one UNet call. For Stable
// Diffusion with guidance the batch holds x for the empty, the prompt and the edit prompt, and the edit mode
// combines them (GuideForEdit: ε∅ + s(ε_for − ε∅) + m(ε_edit − ε∅)); without guidance the edit prediction is
// the edit prompt's ε. For a latent consistency model it is the consistency output for the edit prompt alone,
// as the authors' code does.
func (c *EditConditioned) PredictGuided(ctx *context.Context, x, t *Node) (pred, edit *Node) {
	if c.LCM != nil {
		e := c.unet(ctx, x, t, c.prompt, c.edit)
		return c.lcmDenoised(ctx, x, t, e[0]), c.lcmDenoised(ctx, x, t, e[1])
	}
	if c.null == nil {
		e := c.unet(ctx, x, t, c.prompt, c.edit)
		return e[0], e[1]
	}
	e := c.unet(ctx, x, t, c.null, c.prompt, c.edit)
	null, prompt, ed := e[0], e[1], e[2]
	pred = guide(null, prompt, c.guidance)
	switch c.mode {
	case loco.GuideForEdit:
		edit = Add(pred, MulScalar(Sub(ed, null), c.editGuidance))
	case loco.GuideEdit:
		edit = guide(null, ed, c.guidance)
	case loco.GuideForMinusEdit:
		edit = MulScalar(Sub(prompt, ed), c.guidance)
	default: // GuideFor
		edit = pred
	}
	return pred, edit
}

// guide is classifier-free guidance: null + s·(cond − null).
func guide(null, cond *Node, s float64) *Node { return Add(null, MulScalar(Sub(cond, null), s)) }

// unet evaluates the UNet on x for each text embedding in one batch (x repeated per text) and returns the
// predictions per text.
func (c *Conditioned) unet(ctx *context.Context, x, t *Node, texts ...*loco.TextEmbedding) []*Node {
	g := x.Graph()
	b := x.Shape().Dimensions[0]
	n := len(texts)
	xs, ts, embs := make([]*Node, n), make([]*Node, n), make([]*Node, n)
	if t.Shape().Dimensions[0] != b {
		t = BroadcastToDims(Reshape(t, 1), b)
	}
	for i, e := range texts {
		xs[i], ts[i] = x, t
		embs[i] = BroadcastToDims(Reshape(Const(g, e.Values), 1, e.Tokens, e.Dim), b, e.Tokens, e.Dim)
	}
	var cond *Node
	if c.cond != nil {
		cond = BroadcastToDims(Reshape(Const(g, c.cond), 1, len(c.cond)), n*b, len(c.cond))
	}
	out := c.UNet.Forward(ctx, Concatenate(xs, 0), Concatenate(ts, 0), Concatenate(embs, 0), cond)
	if n == 1 {
		return []*Node{out}
	}
	return Split(out, 0, n)
}

// lcmDenoised is LCMScheduler.step's "denoised" for ε at x, t: c_out·ẑ0 + c_skip·x with ẑ0 = (x − √(1−ᾱ)ε)/√ᾱ,
// ᾱ at ⌊t⌋, and the boundary-condition scalings c_skip = σ²/((t·k)² + σ²), c_out = t·k/√((t·k)² + σ²), σ = 0.5,
// k = timestep_scaling.
func (c *Conditioned) lcmDenoised(ctx *context.Context, x, t, eps *Node) *Node {
	g := x.Graph()
	b := x.Shape().Dimensions[0]
	if t.Shape().Dimensions[0] != b {
		t = BroadcastToDims(Reshape(t, 1), b)
	}
	idx := ConvertDType(Clip(Floor(t), Scalar(g, t.DType(), 0), Scalar(g, t.DType(), len(c.alphas)-1)), dtypes.Int32)
	ab := Reshape(Gather(Const(g, c.alphas), Reshape(idx, b, 1)), b, 1, 1, 1)
	z0 := Div(Sub(x, Mul(Sqrt(OneMinus(ab)), eps)), Sqrt(ab))
	const sigma2 = 0.25
	scaled := Reshape(MulScalar(t, c.LCM.TimestepScaling), b, 1, 1, 1)
	den := AddScalar(Square(scaled), sigma2)
	cSkip := Div(Scalar(g, den.DType(), sigma2), den)
	cOut := Div(scaled, Sqrt(den))
	return Add(Mul(cOut, z0), Mul(cSkip, x))
}

// String describes the binding.
func (c *Conditioned) String() string {
	return fmt.Sprintf("%s (s = %g, m = %g, %s)", c.ModelName, c.guidance, c.editGuidance, c.mode)
}
