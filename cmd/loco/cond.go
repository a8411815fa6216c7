package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/safetensors"
)

// modelFlag returns the value of --model in args ("" if absent).
func modelFlag(args []string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "model" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// folderClass returns the _class_name of the config.json in dir ("" when dir is not a model folder).
func folderClass(dir string) string {
	cls, err := diffusers.ReadClassName(filepath.Join(dir, "config.json"))
	if err != nil {
		return ""
	}
	return cls
}

// isConditionalUNet reports whether args name a UNet2DConditionModel folder with --model: eps and jvp then take
// text embeddings (see runCondEps).
func isConditionalUNet(args []string) bool {
	return folderClass(modelFlag(args)) == "UNet2DConditionModel"
}

// floatTensor reads tensor name of the input file as float32 (refusing integer tensors, see tensorKind).
func (in *inputs) floatTensor(name string) (*tensors.Tensor, error) {
	t, data, err := in.values(name)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) == 0 {
		return nil, fmt.Errorf("%s: tensor %q is a scalar", in.path, name)
	}
	return tensors.FromFlatDataAndDimensions(data, slices.Clone(t.Shape)...), nil
}

// put adds a GoMLX tensor to the outputs.
func (o outputs) put(name string, t *tensors.Tensor) error {
	st, err := safetensors.FromGoMLX(t)
	if err != nil {
		return fmt.Errorf("output %s: %w", name, err)
	}
	o[name] = st
	return nil
}

// condCommand parses the flags of eps/jvp on a UNet2DConditionModel folder and loads the model and the inputs
// x, t, text and (if present) cond.
func condCommand(name string, args []string) (*diffusers.UNet2DConditionModel, *inputs, diffusers.CondInputs, commonFlags, error) {
	var c commonFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c.register(fs, true)
	if err := parse(fs, args); err != nil {
		return nil, nil, diffusers.CondInputs{}, c, err
	}
	if err := c.check(true); err != nil {
		return nil, nil, diffusers.CondInputs{}, c, err
	}
	in, err := openInputs(c.in)
	if err != nil {
		return nil, nil, diffusers.CondInputs{}, c, err
	}
	if err := in.expect([]string{"x", "t", "text"}, "cond", "v", "u"); err != nil {
		return nil, nil, diffusers.CondInputs{}, c, err
	}
	var ci diffusers.CondInputs
	if ci.X, err = in.floatTensor("x"); err != nil {
		return nil, nil, ci, c, fmt.Errorf("%w (x: latents [B,4,h,w])", err)
	}
	if ci.T, err = in.times(ci.X.Shape().Dimensions[0], nil); err != nil {
		return nil, nil, ci, c, err
	}
	if ci.Text, err = in.floatTensor("text"); err != nil {
		return nil, nil, ci, c, fmt.Errorf("%w (text: the text encoder's hidden states [B,L,D])", err)
	}
	if in.has("cond") {
		if ci.Cond, err = in.floatTensor("cond"); err != nil {
			return nil, nil, ci, c, err
		}
	}
	m, err := diffusers.LoadUNet2DCondition(c.model)
	if err != nil {
		return nil, nil, ci, c, err
	}
	if err := m.Config.Check(ci); err != nil {
		return nil, nil, ci, c, fmt.Errorf("%s: %w", c.in, err)
	}
	return m, in, ci, c, nil
}

// runCondEps is `loco eps` on a UNet2DConditionModel folder: IN x [B,C,h,w], t [1]|[B], text [B,L,D], optional
// cond [B,d] (the LCM guidance embedding, fed as timestep_cond) → OUT eps.
func runCondEps(args []string) error {
	m, _, in, c, err := condCommand("eps", args)
	if err != nil {
		return err
	}
	eps, err := m.Eps(in)
	if err != nil {
		return err
	}
	out := outputs{}
	if err := out.put("eps", eps); err != nil {
		return err
	}
	return out.write(c.out, map[string]string{"model": c.model})
}

// runCondJVP is `loco jvp` on a UNet2DConditionModel folder: IN x, t, text, [cond], v and/or u → OUT jvp_eps
// (∂ε/∂x·v) and vjp_eps (uᵀ∂ε/∂x).
func runCondJVP(args []string) error {
	m, f, in, c, err := condCommand("jvp", args)
	if err != nil {
		return err
	}
	if !f.has("v") && !f.has("u") {
		return fmt.Errorf("%s holds neither v (for ∂ε/∂x·v) nor u (for uᵀ∂ε/∂x)", c.in)
	}
	out := outputs{}
	for _, name := range []string{"v", "u"} {
		if !f.has(name) {
			continue
		}
		w, err := f.floatTensor(name)
		if err != nil {
			return err
		}
		var prod *tensors.Tensor
		if name == "v" {
			_, prod, err = m.EpsJVP(in, w)
		} else {
			_, prod, err = m.EpsVJP(in, w)
		}
		if err != nil {
			return err
		}
		if err := out.put(map[string]string{"v": "jvp_eps", "u": "vjp_eps"}[name], prod); err != nil {
			return err
		}
	}
	return out.write(c.out, map[string]string{"model": c.model})
}
