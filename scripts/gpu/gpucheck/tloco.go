package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/models/t2i"
)

// tlocoResult is the T-LOCO measurement: a text-to-image pipeline with random weights (UNet2DConditionModel and
// AutoencoderKL from their configs) under classifier-free guidance, the decoded PMP and its Jacobian products.
type tlocoResult struct {
	Backend     string   `json:"backend"`
	Description string   `json:"description"`
	UNetConfig  string   `json:"unet_config"`
	VAEConfig   string   `json:"vae_config"`
	Params      int      `json:"params"`
	Image       []int    `json:"image"`  // C, H, W of the decoded image
	Latent      []int    `json:"latent"` // C, h, w of z_t
	Guidance    float64  `json:"guidance"`
	Timings     []timing `json:"timings"` // x0 (decoded PMP), jvp_x0, vjp_x0; Batch is the number of vectors
	RSSPeakMB   float64  `json:"rss_peak_mb"`
	Date        string   `json:"date"`
}

// runTLOCO times the decoded posterior mean of a Stable Diffusion-like pipeline with random weights and one JVP and
// one VJP of it at a given image size (the T-LOCO Jacobian products; spec: SD 2.1-base at 512²).
func runTLOCO(args []string) error {
	fs := flag.NewFlagSet("tloco", flag.ContinueOnError)
	unetConfig := fs.String("unet-config", "", "UNet2DConditionModel config.json (random weights)")
	vaeConfig := fs.String("vae-config", "", "AutoencoderKL config.json (random weights)")
	size := fs.Int("size", 512, "image height and width in pixels")
	tokens := fs.Int("tokens", 77, "text tokens of the (random) prompt embeddings")
	guidance := fs.Float64("guidance", 7.5, "classifier-free guidance scale (two UNet rows per vector)")
	vectors := fs.Int("vectors", 1, "vectors per Jacobian-product call")
	repeat := fs.Int("repeat", 3, "timed runs per operation after the first (compiling) one")
	out := fs.String("json", "", "write results here (after every measurement)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *unetConfig == "" || *vaeConfig == "" {
		return fmt.Errorf("--unet-config and --vae-config are required")
	}
	ucfg, err := diffusers.ReadUNet2DConditionConfig(*unetConfig)
	if err != nil {
		return err
	}
	vcfg, err := diffusers.ReadAutoencoderKLConfig(*vaeConfig)
	if err != nil {
		return err
	}
	res := tlocoResult{UNetConfig: *unetConfig, VAEConfig: *vaeConfig, Guidance: *guidance, Date: time.Now().UTC().Format(time.RFC3339)}
	if res.Backend, res.Description, err = backendInfo(); err != nil {
		return err
	}
	unet, err := diffusers.NewRandomUNet2DCondition(ucfg, 1)
	if err != nil {
		return err
	}
	vae, err := diffusers.NewRandomAutoencoderKL(vcfg, 2)
	if err != nil {
		return err
	}
	sc := diffusers.DefaultSchedulerConfig()
	sc.BetaSchedule, sc.BetaStart, sc.BetaEnd = "scaled_linear", 0.00085, 0.012
	m, err := t2i.New("random "+*unetConfig, unet, vae, sc, nil, nil, nil)
	if err != nil {
		return err
	}
	for v := range m.Context().IterVariables() {
		res.Params += v.Shape().Size()
	}
	dim, err := ucfg.ContextDim()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	text := func() *loco.TextEmbedding {
		return &loco.TextEmbedding{Tokens: *tokens, Dim: dim, Values: randn(*tokens * dim)}
	}
	d, err := m.Condition(loco.Conditioning{Text: text(), NegativeText: text(), Guidance: *guidance, Height: *size, Width: *size})
	if err != nil {
		return err
	}
	p, err := loco.NewPipeline(d)
	if err != nil {
		return err
	}
	res.Image, res.Latent = p.OutputShape(), p.SampleShape()
	const t = 696.27 // the authors' Stable Diffusion edit time (grid index 30)
	z, k := randn(p.Dim()), *vectors
	vs, us := randn(k*p.Dim()), randn(k*p.OutputDim())
	save := func() error {
		res.RSSPeakMB = rssPeakMB()
		return writeJSON(*out, res)
	}
	for _, op := range []struct {
		what  string
		batch int
		run   func() error
	}{
		{"x0", 1, func() error { _, _, err := p.Predict(z, []float32{t}); return err }},
		{"jvp_x0", k, func() error { _, err := p.JVP(loco.OutputX0, z, t, vs, nil); return err }},
		{"vjp_x0", k, func() error { _, err := p.VJP(loco.OutputX0, z, t, us, nil); return err }},
	} {
		tm := measure(op.what, op.batch, *repeat, op.run)
		tm.GPUMemMiB = gpuMemMiB()
		res.Timings = append(res.Timings, tm)
		if err := save(); err != nil {
			return err
		}
		fmt.Printf("%s (%d vectors): first %.2f s, median %.1f ms, GPU %.0f MiB, RSS peak %.0f MB %s\n",
			op.what, op.batch, tm.FirstS, tm.MedianMS, tm.GPUMemMiB, rssPeakMB(), tm.Error)
	}
	return nil
}
