// Package loco implements LOCO-Edit (Chen et al., NeurIPS 2024): the low-rank, locally linear Jacobian of a
// diffusion model's posterior-mean predictor, its subspaces, and training-free local edits built on them.
//
// A model plugs in as a Denoiser; what only some models can do (class labels, a bottleneck, a data set, an edit
// time of their own, a sampler of their own) are the small optional interfaces below, which the model packages
// implement and the rest of the project asks for with a type assertion.
package loco

import (
	"io"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Prediction says what a Denoiser's network predicts.
type Prediction int

const (
	// PredictEpsilon: the network predicts the noise ε(x_t, t) (DDPM, diffusers "epsilon").
	PredictEpsilon Prediction = iota
	// PredictSample: the network predicts x̂0 directly (diffusers "sample").
	PredictSample
)

// String implements fmt.Stringer.
func (p Prediction) String() string {
	if p == PredictSample {
		return "sample"
	}
	return "epsilon"
}

// A Denoiser is a VP diffusion model as a GoMLX graph function plus its ᾱ table.
//
// Predict builds the network output for x [B,C,H,W] (float32, NCHW) and t [B] (float32; fractional times are
// fed to the network as they are). ctx is Context() (or a Reuse() of it) and holds the model's weights. Graph
// building reports errors by panicking, as GoMLX does; the Pipeline recovers them (mlx.Call).
type Denoiser interface {
	// Name identifies the model (hub id, directory or embedded name).
	Name() string
	// SampleShape is [C, H, W], the shape of the variable the model denoises (and LOCO-Edit edits).
	SampleShape() []int
	// Schedule is the model's noise schedule (ᾱ table).
	Schedule() *Schedule
	// Prediction says whether Predict returns ε or x̂0.
	Prediction() Prediction
	// Context holds the model's variables (weights); it may hold none.
	Context() *context.Context
	// Predict builds the network output (ε or x̂0, per Prediction) with the same shape as x.
	Predict(ctx *context.Context, x, t *graph.Node) *graph.Node
}

// ClassConditional is implemented by denoisers of labelled data that can be restricted to one class (e.g. one
// component of a mixture): figures draw new images of a class with it.
type ClassConditional interface {
	// ClassNames names the classes 0, 1, … (its length is the number of classes).
	ClassNames() []string
	// ForClass returns the denoiser of class k alone.
	ForClass(k int) (Denoiser, error)
}

// BottleneckSplitter is implemented by denoisers whose network passes through a bottleneck h (a UNet's mid
// block): the analyses of the paper's Fig. 12 and 13 take Jacobians through it.
type BottleneckSplitter interface {
	// SplitAtBottleneck builds, for a batch x [B,C,H,W] at times t [B] or [1], the bottleneck h [B, …] (NCHW)
	// and a function that finishes the network's prediction (ε or x̂0, per Prediction) from k bottlenecks
	// hs [k, …] while every other input of the decoder (skip connections, time embedding) keeps its value for x;
	// decode needs B = 1 (the values are repeated k times).
	SplitAtBottleneck(ctx *context.Context, x, t *graph.Node) (h *graph.Node, decode func(hs *graph.Node) *graph.Node)
}

// Example is a named image of a data set, in the model's sample shape.
type Example struct {
	Name  string
	Image []float32
}

// ExampleSource is implemented by denoisers that know their data set and can give real images of a class (e.g.
// the test split), for figures that transfer directions to other images.
type ExampleSource interface {
	// Examples returns up to n images of class k in the data set's order.
	Examples(class, n int) ([]Example, error)
}

// EditTimeSuggester is implemented by denoisers whose edits are best at another time than DefaultEditT; an
// EditJob with EditT 0 uses the suggestion.
type EditTimeSuggester interface {
	// SuggestedEditT is the edit time as a fraction of the 1000 training steps.
	SuggestedEditT() float64
}

// SamplerProvider is implemented by denoisers that need their own sampler (e.g. a consistency model's multistep
// sampler) instead of DDIM on the LOCO-Edit grid.
type SamplerProvider interface {
	Sampler() Sampler
}

// GridProvider is implemented by denoisers whose sampler runs on a time grid of its own (e.g. a latent
// consistency model's few-step schedule) instead of the LOCO-Edit grid (NewGrid).
type GridProvider interface {
	// Grid returns the model's grid for steps points (0: the model's default); inversion grids may be refused.
	Grid(steps int, inversion bool) (Grid, error)
}

// LatentModel is implemented by latent diffusion models (Stable Diffusion, latent consistency models): the
// denoised and edited variable is an autoencoder's latent z_t, and the posterior-mean predictor's output is the
// decoded image of the posterior-mean latent, x̂0 = D(ẑ0). Masks and the outputs of Jacobian products live on
// that image (Pipeline.OutputShape); the Pipeline builds the decoder into the same graph as the denoiser, so
// Jacobian products cover both.
type LatentModel interface {
	// ImageShape is the shape [C,H,W] of a decoded image.
	ImageShape() []int
	// DecodeLatents builds the images [B,C,H,W] (in [−1,1]) of latents z [B,…] of the denoised variable (for a
	// diffusers pipeline: vae.decode(z / scaling_factor)).
	DecodeLatents(ctx *context.Context, z *graph.Node) *graph.Node
	// EncodeImages builds the latents of images x [B,C,H,W] in [−1,1] (for a diffusers pipeline: the mean of
	// the encoder's distribution times scaling_factor).
	EncodeImages(ctx *context.Context, x *graph.Node) *graph.Node
}

// GuidanceMode names how the noise predictions of a text-conditioned model for the prompt ("for"), the edit
// prompt ("edit") and the empty or negative prompt ("null") combine under classifier-free guidance with scales s
// (Guidance) and m (EditGuidance), with the authors' names (docs/method.md §13).
type GuidanceMode string

const (
	// GuideFor is ε∅ + s(ε_for − ε∅): classifier-free guidance towards the prompt (the model's prediction).
	GuideFor GuidanceMode = "null+(for-null)"
	// GuideForEdit is ε∅ + s(ε_for − ε∅) + m(ε_edit − ε∅): the authors' edit-guided prediction f^e.
	GuideForEdit GuidanceMode = "null+(for-null)+(edit-null)"
	// GuideEdit is ε∅ + s(ε_edit − ε∅): guidance towards the edit prompt alone.
	GuideEdit GuidanceMode = "null+(edit-null)"
	// GuideForMinusEdit is s(ε_for − ε_edit).
	GuideForMinusEdit GuidanceMode = "(for-edit)"
)

// GuidanceModes lists the modes an edit prompt can enter f^e with.
var GuidanceModes = []GuidanceMode{GuideForEdit, GuideEdit, GuideForMinusEdit, GuideFor}

// TextEmbedding is a text encoder's output for one prompt: Tokens × Dim hidden states, row-major.
type TextEmbedding struct {
	Tokens, Dim int
	Values      []float32
}

// Conditioning is what a text-conditioned model is bound to (Conditioner): a prompt, optionally an edit prompt
// (text-supervised T-LOCO) and a negative prompt, or their text-encoder embeddings, and the guidance.
type Conditioning struct {
	// Prompt is the text the image follows ("for"); NegativePrompt replaces the empty prompt of classifier-free
	// guidance (the authors keep it empty); EditPrompt, if set, is the edit's target text.
	Prompt, NegativePrompt, EditPrompt string
	// Text, NegativeText and EditText, when set, are the text encoder's hidden states used instead of the
	// prompts (then the model needs no text encoder).
	Text, NegativeText, EditText *TextEmbedding
	// Guidance is the classifier-free guidance scale s: 0 is the model's default, s ≤ 1 no guidance (the prompt's
	// prediction alone). A latent consistency model embeds w = s − 1 instead of guiding.
	Guidance float64
	// EditGuidance is m, the scale of the edit prompt in f^e (0: the model's default).
	EditGuidance float64
	// EditMode is how the edit prompt enters f^e ("": the model's default, GuideForEdit for Stable Diffusion).
	EditMode GuidanceMode
	// GuidanceEmbedding, if set, is fed to the network as its guidance embedding instead of the one of Guidance
	// (diffusers' timestep_cond of latent consistency models).
	GuidanceEmbedding []float32
	// Height and Width are the size of the images in pixels (0: the model's default); the latents are smaller by
	// the autoencoder's factor.
	Height, Width int
	// Warnings, if set, receives notices such as a prompt cut to the text encoder's length.
	Warnings io.Writer
}

// Conditioner is implemented by text-conditioned models: Condition binds a conditioning into a Denoiser whose
// Predict is the guided prediction for the prompt. With an edit prompt the result also implements EditGuided.
type Conditioner interface {
	Condition(c Conditioning) (Denoiser, error)
}

// EditGuided is implemented by denoisers bound to an edit prompt (text-supervised T-LOCO, docs/method.md §13).
type EditGuided interface {
	// PredictGuided builds, for x and t as Predict takes them, the model's prediction (what Predict builds) and
	// the edit-guided prediction whose posterior mean is f^e, both per Prediction, in one pass.
	PredictGuided(ctx *context.Context, x, t *graph.Node) (pred, edit *graph.Node)
}
