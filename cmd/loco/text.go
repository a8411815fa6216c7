package main

import (
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/locoedit/locoedit/loco"
)

// textFlags bind a text-to-image pipeline (loco.Conditioner) to prompts and guidance (loco edit, demo, samples…).
type textFlags struct {
	prompt, editPrompt, negative string
	guidance, editGuidance       float64
	editMode                     string
	height, width                int
}

func (f *textFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.prompt, "prompt", "", "text-to-image pipelines: the prompt the image follows")
	fs.StringVar(&f.editPrompt, "edit-prompt", "", "text-to-image pipelines: the edit's target text (text-supervised T-LOCO: the direction comes from it)")
	fs.StringVar(&f.negative, "negative-prompt", "", "text-to-image pipelines: replaces the empty prompt of classifier-free guidance")
	fs.Float64Var(&f.guidance, "guidance", 0, "text-to-image pipelines: classifier-free guidance scale s (0: the model's, 7.5; ≤ 1: none; a latent consistency model embeds w = s − 1)")
	fs.Float64Var(&f.editGuidance, "edit-guidance", 0, "text-to-image pipelines: the edit prompt's scale m in the edit-guided prediction (0: the model's, 4)")
	fs.IntVar(&f.height, "height", 0, "text-to-image pipelines: image height in pixels (0: the width, or the UNet's sample size times the autoencoder's factor)")
	fs.IntVar(&f.width, "width", 0, "text-to-image pipelines: image width in pixels (0: the height)")
	fs.StringVar(&f.editMode, "edit-mode", "", fmt.Sprintf("text-to-image pipelines: how the edit prompt enters the edit-guided prediction, one of %q (default the first)", loco.GuidanceModes))
}

// set reports whether any text flag was given.
func (f *textFlags) set() bool {
	return f.prompt != "" || f.editPrompt != "" || f.negative != "" || f.guidance != 0 || f.editGuidance != 0 || f.editMode != "" ||
		f.height != 0 || f.width != 0
}

// bind returns m bound to the flags' prompts when m is text-conditioned; other models are returned as they are,
// and refuse text flags.
func (f *textFlags) bind(m loco.Denoiser) (loco.Denoiser, error) {
	tc, ok := m.(loco.Conditioner)
	if !ok {
		if f.set() {
			return nil, fmt.Errorf("model %s is not a text-to-image pipeline: --prompt, --edit-prompt, --negative-prompt, --guidance, --edit-guidance and --edit-mode apply to those only", m.Name())
		}
		return m, nil
	}
	h, w := f.height, f.width
	if h == 0 {
		h = w
	} else if w == 0 {
		w = h
	}
	return tc.Condition(loco.Conditioning{Prompt: f.prompt, EditPrompt: f.editPrompt, NegativePrompt: f.negative,
		Guidance: f.guidance, EditGuidance: f.editGuidance, EditMode: loco.GuidanceMode(f.editMode),
		Height: h, Width: w, Warnings: os.Stderr})
}

// textTensors are the inputs of eps and jvp on a text-to-image pipeline: per sample, the text encoder's hidden
// states of the prompt (text [B,L,D] or [L,D]), optionally of the negative prompt (text_null) and the guidance
// embedding of a latent consistency model (cond [B,d] or [d]).
type textTensors struct {
	text, null, cond []float32
	tokens, dim      int
	condDim          int
	batch            int // 1 when one text serves every sample
}

func readTextTensors(in *inputs, batch int) (*textTensors, error) {
	tt := &textTensors{}
	t, text, err := in.values("text")
	if err != nil {
		return nil, fmt.Errorf("%w (text: the text encoder's hidden states [B,L,D] of the prompt)", err)
	}
	switch {
	case len(t.Shape) == 3 && (t.Shape[0] == batch || t.Shape[0] == 1):
		tt.batch, tt.tokens, tt.dim = t.Shape[0], t.Shape[1], t.Shape[2]
	case len(t.Shape) == 2:
		tt.batch, tt.tokens, tt.dim = 1, t.Shape[0], t.Shape[1]
	default:
		return nil, fmt.Errorf("%s: text has shape %v: give [B,L,D] (B = %d, or 1 for every sample) or [L,D]", in.path, t.Shape, batch)
	}
	tt.text = text
	if in.has("text_null") {
		n, null, err := in.values("text_null")
		if err != nil {
			return nil, err
		}
		if len(null) != len(tt.text) || n.Shape[len(n.Shape)-1] != tt.dim {
			return nil, fmt.Errorf("%s: text_null has shape %v, text %v: give them one shape", in.path, n.Shape, t.Shape)
		}
		tt.null = null
	}
	if in.has("cond") {
		c, cond, err := in.values("cond")
		if err != nil {
			return nil, err
		}
		rows := 1
		if len(c.Shape) == 2 {
			rows = c.Shape[0]
		}
		if len(c.Shape) < 1 || len(c.Shape) > 2 || (rows != 1 && rows != batch) {
			return nil, fmt.Errorf("%s: cond has shape %v: give [B,d] or [d] (the guidance embedding)", in.path, c.Shape)
		}
		tt.condDim, tt.cond = c.Shape[len(c.Shape)-1], cond
	}
	return tt, nil
}

// conditioning returns the conditioning of sample i for images of height × width pixels.
func (tt *textTensors) conditioning(i int, guidance float64, height, width int) loco.Conditioning {
	n := tt.tokens * tt.dim
	row := func(v []float32) []float32 {
		if len(v) == n {
			return v
		}
		return v[i*n : (i+1)*n]
	}
	c := loco.Conditioning{Text: &loco.TextEmbedding{Tokens: tt.tokens, Dim: tt.dim, Values: row(tt.text)},
		Guidance: guidance, Height: height, Width: width, Warnings: os.Stderr}
	if tt.null != nil {
		c.NegativeText = &loco.TextEmbedding{Tokens: tt.tokens, Dim: tt.dim, Values: row(tt.null)}
	}
	if tt.cond != nil {
		if len(tt.cond) == tt.condDim {
			c.GuidanceEmbedding = tt.cond
		} else {
			c.GuidanceEmbedding = tt.cond[i*tt.condDim : (i+1)*tt.condDim]
		}
	}
	return c
}

// textPipelines binds a text-to-image pipeline to the text tensors of each sample of a batch of latents x of
// shape [B,C,h,w] and returns one loco.Pipeline per sample (shared where the samples' texts are the same).
func textPipelines(m loco.Denoiser, in *inputs, c *commonFlags, guidance float64) (ps []*loco.Pipeline, x []float32, shape []int, err error) {
	tc := m.(loco.Conditioner)
	xt, xv, err := in.values("x")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (x: latents z_t [B,C,h,w])", err)
	}
	lm, ok := m.(loco.LatentModel)
	latent := m.SampleShape()
	if !ok || len(xt.Shape) != 4 || xt.Shape[1] != latent[0] {
		return nil, nil, nil, fmt.Errorf("%s: x has shape %v, the pipeline %s wants latents [B,%d,h,w]", in.path, xt.Shape, m.Name(), latent[0])
	}
	x = xv
	b := xt.Shape[0]
	tt, err := readTextTensors(in, b)
	if err != nil {
		return nil, nil, nil, err
	}
	f := lm.ImageShape()[1] / latent[1]
	h, w := xt.Shape[2]*f, xt.Shape[3]*f
	if tt.batch == 1 && len(tt.cond) == tt.condDim {
		b = 1 // one binding serves the batch
	}
	for i := range b {
		d, err := tc.Condition(tt.conditioning(i, guidance, h, w))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: sample %d: %w", in.path, i, err)
		}
		p, err := loco.NewPipeline(d)
		if err != nil {
			return nil, nil, nil, err
		}
		p.DirectionsPerCall = c.directionsPerCall
		if i == 0 {
			if _, err := p.CheckSamples(fmt.Sprintf("%s: tensor \"x\"", in.path), xt.Shape, x); err != nil {
				return nil, nil, nil, err
			}
		}
		ps = append(ps, p)
	}
	return ps, x, slices.Clone(xt.Shape[1:]), nil
}

// runTextEps is `loco eps` on a text-to-image pipeline: IN x (latents z_t), t, text, optional text_null and cond
// → OUT eps (guided per --guidance) and x0, the decoded posterior mean [B,3,H,W].
func runTextEps(m loco.Denoiser, in *inputs, c *commonFlags, guidance float64) error {
	ps, x, _, err := textPipelines(m, in, c, guidance)
	if err != nil {
		return err
	}
	b := len(x) / ps[0].Dim()
	t, err := in.times(b, ps[0])
	if err != nil {
		return err
	}
	var eps, x0 []float32
	for i := range b {
		p, d := ps[min(i, len(ps)-1)], ps[0].Dim()
		e, y, err := p.Predict(x[i*d:(i+1)*d], []float32{t[min(i, len(t)-1)]})
		if err != nil {
			return err
		}
		eps, x0 = append(eps, e...), append(x0, y...)
	}
	out := outputs{}
	out.images("eps", eps, b, ps[0].SampleShape())
	out.images("x0", x0, b, ps[0].OutputShape())
	return out.write(c.out, map[string]string{"model": m.Name(), "guidance": fmt.Sprint(guidance)})
}

// runTextJVP is `loco jvp` on a text-to-image pipeline: IN x (latents z_t), t, text, optional text_null and cond,
// v (latents) and/or u (images for vjp_x0, latents for vjp_eps) → OUT x0 (the decoded posterior mean
// [B,3,H,W]), jvp_x0 and jvp_eps along v, vjp_x0 or vjp_eps of u.
func runTextJVP(m loco.Denoiser, in *inputs, c *commonFlags, guidance float64) error {
	ps, x, _, err := textPipelines(m, in, c, guidance)
	if err != nil {
		return err
	}
	p0 := ps[0]
	d, od := p0.Dim(), p0.OutputDim()
	b := len(x) / d
	t, err := in.times(b, p0)
	if err != nil {
		return err
	}
	if !in.has("v") && !in.has("u") {
		return fmt.Errorf("%s holds neither v (for J·v) nor u (for Jᵀ·u)", c.in)
	}
	out := outputs{}
	var x0 []float32
	for i := range b {
		_, y, err := ps[min(i, len(ps)-1)].Predict(x[i*d:(i+1)*d], []float32{t[min(i, len(t)-1)]})
		if err != nil {
			return err
		}
		x0 = append(x0, y...)
	}
	out.images("x0", x0, b, p0.OutputShape())
	for _, name := range []string{"v", "u"} {
		if !in.has(name) {
			continue
		}
		vec, data, err := in.values(name)
		if err != nil {
			return err
		}
		var outs []loco.Output
		switch {
		case name == "v" && len(data) == b*d:
			outs = []loco.Output{loco.OutputX0, loco.OutputEps}
		case name == "u" && len(data) == b*od:
			outs = []loco.Output{loco.OutputX0}
		case name == "u" && len(data) == b*d:
			outs = []loco.Output{loco.OutputEps}
		default:
			return fmt.Errorf("%s: %s has shape %v: give [B,%v] (latents)%s", in.path, name, vec.Shape, p0.SampleShape(),
				map[bool]string{true: fmt.Sprintf(", or images [B,%v] for vjp_x0", p0.OutputShape())}[name == "u"])
		}
		for _, o := range outs {
			vd, rd := d, d // sizes of one vector and one result
			if o == loco.OutputX0 {
				if name == "u" {
					vd = od
				} else {
					rd = od
				}
			}
			var res []float32
			for i := range b {
				p, ti := ps[min(i, len(ps)-1)], t[min(i, len(t)-1)]
				xi, vi := x[i*d:(i+1)*d], data[i*vd:(i+1)*vd]
				var r []float32
				if name == "v" {
					r, err = p.JVP(o, xi, ti, vi, nil)
				} else {
					r, err = p.VJP(o, xi, ti, vi, nil)
				}
				if err != nil {
					return err
				}
				res = append(res, r...)
			}
			shape := p0.SampleShape()
			if rd == od {
				shape = p0.OutputShape()
			}
			out.images(map[string]string{"v": "jvp_", "u": "vjp_"}[name]+o.String(), res, b, shape)
		}
	}
	return out.write(c.out, map[string]string{"model": m.Name(), "guidance": fmt.Sprint(guidance)})
}
