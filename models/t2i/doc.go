// Package t2i brings text-to-image latent diffusion to LOCO-Edit (T-LOCO, docs/method.md §13): a diffusers
// pipeline folder — model_index.json with unet/ (UNet2DConditionModel), vae/ (AutoencoderKL), scheduler/, and
// text_encoder/ (CLIPTextModel) with tokenizer/ unless text embeddings are given — becomes a loco.Denoiser of
// latents whose posterior-mean predictor is the decoded image.
//
// Two families are supported, told apart by the scheduler config: Stable Diffusion (any DDPM-style scheduler
// config; sampling and inversion run DDIM on the LOCO-Edit grid, t_max 999, fractional times fed to the UNet, ᾱ
// at ⌊t⌋), and latent consistency models (LCMScheduler: diffusers' few-step consistency sampler, its
// timesteps, boundary-condition scalings and guidance embedding).
//
// A loaded Model is bound to prompts with Condition (loco.Conditioner): classifier-free guidance batches the
// empty (or negative) prompt, the prompt and the edit prompt through the UNet in one call, and a binding with an
// edit prompt also gives the edit-guided prediction of text-supervised T-LOCO (loco.EditGuided). The package
// registers itself with loco for pipeline folders whose UNet is a UNet2DConditionModel, so loco.LoadModel opens
// them (and HuggingFace ids of such pipelines, through the hub cache).
package t2i
