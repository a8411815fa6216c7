package t2i

import (
	"fmt"
	"math"
	"slices"

	"github.com/locoedit/locoedit/loco"
)

// bind resolves a conditioning: the image size, the text embeddings (encoding prompts with the pipeline's
// tokenizer and text encoder, or taking the given ones), the guidance and the edit mode. needText requires a
// prompt or embedding (the model's own binding to the empty prompt does not, for pipelines without a text
// encoder).
func (m *Model) bind(c loco.Conditioning, needText bool) (*Conditioned, error) {
	b := &Conditioned{Model: m, guidance: c.Guidance, editGuidance: c.EditGuidance, mode: c.EditMode}
	var err error
	if b.latent, err = m.latentShape(c.Height, c.Width); err != nil {
		return nil, err
	}
	if b.guidance == 0 {
		b.guidance = DefaultGuidance
	}
	if b.editGuidance == 0 {
		b.editGuidance = DefaultEditGuidance
	}
	if b.mode == "" {
		b.mode = loco.GuideForEdit
	}
	for _, v := range []float64{b.guidance, b.editGuidance} {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e4 {
			return nil, fmt.Errorf("guidance scale %g is not a finite number of reasonable size", v)
		}
	}
	if !slices.Contains(loco.GuidanceModes, b.mode) {
		return nil, fmt.Errorf("edit guidance mode %q: use one of %q", b.mode, loco.GuidanceModes)
	}
	if c.EditPrompt == "" && c.EditText == nil && (c.EditGuidance != 0 || c.EditMode != "") {
		return nil, fmt.Errorf("edit guidance settings were given without an edit prompt")
	}

	if b.prompt, err = m.text("prompt", c.Prompt, c.Text, c, needText); err != nil {
		return nil, err
	}
	if c.EditPrompt != "" || c.EditText != nil {
		if b.edit, err = m.text("edit prompt", c.EditPrompt, c.EditText, c, true); err != nil {
			return nil, err
		}
	}
	if m.LCM != nil {
		if c.NegativePrompt != "" || c.NegativeText != nil {
			return nil, fmt.Errorf("pipeline %s is a latent consistency model: it embeds the guidance scale and takes no negative prompt", m.ModelName)
		}
		if b.cond, err = m.guidanceEmbedding(b.guidance, c.GuidanceEmbedding); err != nil {
			return nil, err
		}
	} else {
		if c.GuidanceEmbedding != nil {
			return nil, fmt.Errorf("pipeline %s takes no guidance embedding (its UNet has no time_cond_proj_dim)", m.ModelName)
		}
		if b.guidance > 1 && b.prompt != nil {
			if b.null, err = m.text("negative prompt", c.NegativePrompt, c.NegativeText, c, true); err != nil {
				return nil, err
			}
		}
	}
	// One UNet batch holds every text: they need one length.
	for _, e := range []*loco.TextEmbedding{b.null, b.edit} {
		if e != nil && b.prompt != nil && e.Tokens != b.prompt.Tokens {
			return nil, fmt.Errorf("the text embeddings have %d and %d tokens: give embeddings of one length (the tokenizer pads to its context length)", b.prompt.Tokens, e.Tokens)
		}
	}
	return b, nil
}

// latentShape is the latent [C, h, w] for images of height × width pixels (0: the UNet's sample_size).
func (m *Model) latentShape(height, width int) ([]int, error) {
	u := m.UNet.Config
	f := m.VAE.Config.DownFactor()
	mult := f << (u.NumBlocks() - 1)
	h, w := u.SampleSize, u.SampleSize
	if height != 0 || width != 0 {
		if height <= 0 || width <= 0 || height%mult != 0 || width%mult != 0 || height > 1<<14 || width > 1<<14 {
			return nil, fmt.Errorf("image size %d×%d: height and width must be positive multiples of %d (the autoencoder's factor %d times the UNet's %d), at most 16384",
				height, width, mult, f, mult/f)
		}
		h, w = height/f, width/f
	}
	return []int{u.InChannels, h, w}, nil
}

// text returns the embedding of one text: given, or the prompt encoded. A missing prompt is the empty prompt,
// except that needText with neither a prompt nor an embedding is an error for the main prompt only when the
// pipeline cannot encode text.
func (m *Model) text(what, prompt string, given *loco.TextEmbedding, c loco.Conditioning, needText bool) (*loco.TextEmbedding, error) {
	dim, err := m.UNet.Config.ContextDim()
	if err != nil {
		return nil, err
	}
	if given != nil {
		if prompt != "" {
			return nil, fmt.Errorf("both a %s and its text embedding were given: give one", what)
		}
		if given.Dim != dim || given.Tokens < 1 || len(given.Values) != given.Tokens*given.Dim {
			return nil, fmt.Errorf("%s embedding: %d×%d with %d values, the UNet wants tokens × %d (cross_attention_dim)", what, given.Tokens, given.Dim, len(given.Values), dim)
		}
		for _, v := range given.Values {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%s embedding holds a non-finite value", what)
			}
		}
		return given, nil
	}
	if m.TextEncoder == nil {
		if needText {
			return nil, errNoEncoder(m.ModelName)
		}
		return nil, nil
	}
	e, warning, err := m.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s: %w", what, err)
	}
	if warning != "" && c.Warnings != nil {
		fmt.Fprintf(c.Warnings, "warning: %s: %s\n", what, warning)
	}
	return e, nil
}

// Encode returns the text encoder's hidden states for a prompt, tokenised as diffusers pipelines do (padded to
// the tokenizer's length; a longer prompt is cut, and the warning says what was dropped).
func (m *Model) Encode(prompt string) (e *loco.TextEmbedding, warning string, err error) {
	if m.TextEncoder == nil || m.Tokenizer == nil {
		return nil, "", errNoEncoder(m.ModelName)
	}
	enc := m.Tokenizer.Tokenize(prompt)
	if len(enc.IDs) > m.TextEncoder.Config.MaxPositionEmbeddings {
		return nil, "", fmt.Errorf("the tokenizer pads to %d tokens but the text encoder has %d positions", len(enc.IDs), m.TextEncoder.Config.MaxPositionEmbeddings)
	}
	t, err := m.TextEncoder.Encode([][]int{enc.IDs}, 0)
	if err != nil {
		return nil, "", err
	}
	d := t.Shape().Dimensions
	var values []float32
	t.ConstFlatData(func(flat any) { values = slices.Clone(flat.([]float32)) })
	t.FinalizeAll()
	return &loco.TextEmbedding{Tokens: d[1], Dim: d[2], Values: values}, enc.Warning(), nil
}
