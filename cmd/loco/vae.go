package main

import (
	"flag"
	"fmt"

	"github.com/locoedit/locoedit/hf/diffusers"
)

func init() {
	register("vae", "AutoencoderKL (no scaling): IN z → OUT decoded; IN image → OUT mean; IN z, u → OUT vjp_decoded", runVAE)
}

// runVAE is `loco vae --model <AutoencoderKL folder>`: decode(z) as decoded, encode(image).latent_dist.mean as
// mean, and uᵀ·∂decode/∂z as vjp_decoded, for whichever inputs the file holds. No scaling_factor is applied.
func runVAE(args []string) error {
	var c commonFlags
	fs := flag.NewFlagSet("vae", flag.ContinueOnError)
	c.register(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.check(true); err != nil {
		return err
	}
	in, err := openInputs(c.in)
	if err != nil {
		return err
	}
	if in.has("u") && !in.has("z") {
		return fmt.Errorf("%s holds u but no z: the vector-Jacobian product of decode needs the latents z", c.in)
	}
	if !in.has("z") && !in.has("image") {
		return fmt.Errorf("%s holds neither z (latents to decode) nor image (images to encode)", c.in)
	}
	m, err := diffusers.LoadAutoencoderKL(c.model)
	if err != nil {
		return fmt.Errorf("%w (--model must be an AutoencoderKL folder, such as a pipeline's vae/)", err)
	}
	out := outputs{}
	if in.has("z") {
		z, err := in.floatTensor("z")
		if err != nil {
			return err
		}
		if in.has("u") {
			u, err := in.floatTensor("u")
			if err != nil {
				return err
			}
			decoded, vjp, err := m.DecodeVJP(z, u)
			if err != nil {
				return err
			}
			if err := out.put("decoded", decoded); err != nil {
				return err
			}
			if err := out.put("vjp_decoded", vjp); err != nil {
				return err
			}
		} else {
			decoded, err := m.DecodeImages(z)
			if err != nil {
				return err
			}
			if err := out.put("decoded", decoded); err != nil {
				return err
			}
		}
	}
	if in.has("image") {
		image, err := in.floatTensor("image")
		if err != nil {
			return err
		}
		mean, err := m.EncodeImages(image)
		if err != nil {
			return err
		}
		if err := out.put("mean", mean); err != nil {
			return err
		}
	}
	return out.write(c.out, map[string]string{"model": c.model, "scaling_factor_not_applied": fmt.Sprint(m.Config.ScalingFactor)})
}
