package diffusers

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// tlocoDir holds the text-to-image goldens made by testdata/tloco/gen_tloco.py from diffusers' own code.
var tlocoDir = filepath.Join("testdata", "tloco")

// tloco returns a tensor of testdata/tloco/golden.safetensors.
func tloco(t testing.TB, name string) *tensors.Tensor {
	t.Helper()
	data, shape := readGolden(t, filepath.Join(tlocoDir, "golden.safetensors"), name)
	return tensors.FromFlatDataAndDimensions(data, shape...)
}

func flat(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

func loadCondUNet(t testing.TB, name string) *UNet2DConditionModel {
	t.Helper()
	m, err := LoadUNet2DCondition(filepath.Join(tlocoDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func loadVAE(t testing.TB, name string) *AutoencoderKL {
	t.Helper()
	m, err := LoadAutoencoderKL(filepath.Join(tlocoDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkGolden compares got with the golden tensor name: same shape, max-abs error at most tol.
func checkGolden(t *testing.T, what string, got *tensors.Tensor, name string, tol float64) {
	t.Helper()
	want := tloco(t, name)
	if !got.Shape().Equal(want.Shape()) {
		t.Errorf("%s: shape %s, diffusers' %s is %s", what, got.Shape(), name, want.Shape())
		return
	}
	d := maxAbsErr(flat(got), flat(want))
	if !(d <= tol) {
		t.Errorf("%s differs from diffusers' %s by %.3g (max-abs), tolerance %.1g", what, name, d, tol)
	}
	t.Logf("%s: max-abs error %.3g vs diffusers (max |value| %.3g)", what, d, maxAbs(flat(want)))
}

// checkGoldenRel compares got with the golden tensor name by relative error max|a−b|/max|b|.
func checkGoldenRel(t *testing.T, what string, got *tensors.Tensor, name string, tol float64) {
	t.Helper()
	want := tloco(t, name)
	if !got.Shape().Equal(want.Shape()) {
		t.Errorf("%s: shape %s, diffusers' %s is %s", what, got.Shape(), name, want.Shape())
		return
	}
	r := relErr(flat(got), flat(want))
	if !(r <= tol) {
		t.Errorf("%s differs from diffusers' %s by %.3g (relative), tolerance %.1g", what, name, r, tol)
	}
	t.Logf("%s: relative error %.3g vs diffusers", what, r)
}

func maxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, float64(max(v, -v)))
	}
	return m
}

func scalars(t *tensors.Tensor) []float32 { return flat(t) }

// TestCondUNetMatchesDiffusers runs the SD 2.x-like tiny UNet (per-block head counts, linear projections, two
// transformer layers in one block) at a fractional time, at per-sample times and at the integer time, and the
// LCM-like one (conv projections, guidance embedding) with and without timestep_cond.
func TestCondUNetMatchesDiffusers(t *testing.T) {
	x, text, cond := tloco(t, "in/x"), tloco(t, "in/text"), tloco(t, "in/cond")
	tf, t2 := scalars(tloco(t, "in/t")), scalars(tloco(t, "in/t2"))

	sd2 := loadCondUNet(t, "tiny-sd2-unet")
	for _, c := range []struct {
		what, golden string
		in           CondInputs
	}{
		{"sd2 eps(t = 601.37)", "sd2/eps", CondInputs{X: x, T: tf, Text: text}},
		{"sd2 eps(t per sample)", "sd2/eps_t2", CondInputs{X: x, T: t2, Text: text}},
		{"sd2 eps(t = 601)", "sd2/eps_t_int", CondInputs{X: x, T: []float32{601}, Text: text}},
	} {
		eps, err := sd2.Eps(c.in)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, c.what, eps, c.golden, goldenTol)
	}
	if d := maxAbsErr(flat(tloco(t, "sd2/eps")), flat(tloco(t, "sd2/eps_t_int"))); d < 10*goldenTol {
		t.Errorf("golden eps at t = 601.37 and t = 601 differ by only %.3g: the fractional-time check is void", d)
	}

	lcm := loadCondUNet(t, "tiny-lcm-unet")
	eps, err := lcm.Eps(CondInputs{X: x, T: tf, Text: text, Cond: cond})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "lcm eps with timestep_cond", eps, "lcm/eps_cond", goldenTol)
	eps, err = lcm.Eps(CondInputs{X: x, T: tf, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "lcm eps without timestep_cond", eps, "lcm/eps_nocond", goldenTol)
}

// TestCondUNetJacobianProducts checks ∂ε/∂x·v and uᵀ∂ε/∂x against torch.autograd on both tiny UNets.
func TestCondUNetJacobianProducts(t *testing.T) {
	x, text, cond, v, u := tloco(t, "in/x"), tloco(t, "in/text"), tloco(t, "in/cond"), tloco(t, "in/v"), tloco(t, "in/u")
	for _, c := range []struct {
		model, prefix, epsGolden string
		in                       CondInputs
	}{
		{"tiny-sd2-unet", "sd2", "sd2/eps", CondInputs{X: x, T: scalars(tloco(t, "in/t")), Text: text}},
		{"tiny-lcm-unet", "lcm", "", CondInputs{X: x, T: scalars(tloco(t, "in/t2")), Text: text, Cond: cond}},
	} {
		m := loadCondUNet(t, c.model)
		eps, jvp, err := m.EpsJVP(c.in, v)
		if err != nil {
			t.Fatal(err)
		}
		checkGoldenRel(t, c.prefix+" jvp_eps", jvp, c.prefix+"/jvp_eps", 1e-4)
		if c.epsGolden != "" {
			checkGolden(t, c.prefix+" eps beside the JVP", eps, c.epsGolden, goldenTol)
		}
		_, vjp, err := m.EpsVJP(c.in, u)
		if err != nil {
			t.Fatal(err)
		}
		checkGoldenRel(t, c.prefix+" vjp_eps", vjp, c.prefix+"/vjp_eps", 1e-4)
	}
}

// TestVAEMatchesDiffusers checks decode, encode's latent mean and the decoder's Jacobian products, with both
// attention naming schemes (bit-identical).
func TestVAEMatchesDiffusers(t *testing.T) {
	z, image := tloco(t, "in/z"), tloco(t, "in/image")
	var first []float32
	for _, dir := range []string{"tiny-vae", "tiny-vae-legacy-attn-names"} {
		m := loadVAE(t, dir)
		if m.Config.ScalingFactor != 0.13025 {
			t.Errorf("%s: scaling_factor %g, config.json says 0.13025", dir, m.Config.ScalingFactor)
		}
		dec, err := m.DecodeImages(z)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, dir+" decode", dec, "vae/decoded", goldenTol)
		if first == nil {
			first = flat(dec)
		} else if d := maxAbsErr(flat(dec), first); d != 0 {
			t.Errorf("the two attention naming schemes decode %.3g apart, want identical", d)
		}
		mean, err := m.EncodeImages(image)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, dir+" encode mean", mean, "vae/mean", goldenTol)
	}
	m := loadVAE(t, "tiny-vae")
	_, vjp, err := m.DecodeVJP(z, tloco(t, "in/u_decoded"))
	if err != nil {
		t.Fatal(err)
	}
	checkGoldenRel(t, "vae vjp_decoded", vjp, "vae/vjp_decoded", 1e-4)
	_, jvp, err := m.DecodeJVP(z, tloco(t, "in/v_z"))
	if err != nil {
		t.Fatal(err)
	}
	checkGoldenRel(t, "vae jvp_decoded", jvp, "vae/jvp_decoded", 1e-4)
}

// TestRealConfigs reads the configs of Stable Diffusion 2.1-base's UNet, LCM Dreamshaper v7's UNet (SD 1.5
// with a 256-wide guidance embedding) and the Stable Diffusion VAE, and checks the weight lists against the
// tensor and parameter counts of the same configs built by diffusers v0.29.2.
func TestRealConfigs(t *testing.T) {
	for _, c := range []struct {
		dir             string
		tensors, params int
	}{
		{"sd21-base-unet", 686, 865_910_724},
		{"lcm-dreamshaper-v7-unet", 687, 859_602_884},
		{"sd-vae", 248, 83_653_863},
	} {
		path := filepath.Join("testdata", c.dir, "config.json")
		var specs []ParamSpec
		var err error
		if c.dir == "sd-vae" {
			var cfg *AutoencoderKLConfig
			if cfg, err = ReadAutoencoderKLConfig(path); err == nil {
				specs, err = cfg.ParamSpecs()
			}
		} else {
			var cfg *UNet2DConditionConfig
			if cfg, err = ReadUNet2DConditionConfig(path); err == nil {
				specs, err = cfg.ParamSpecs()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range specs {
			n += s.Size()
		}
		if len(specs) != c.tensors || n != c.params {
			t.Errorf("%s: %d tensors, %d parameters; diffusers has %d, %d", c.dir, len(specs), n, c.tensors, c.params)
		}
	}
}

// TestCondConfigErrors checks that unsupported or inconsistent configs are refused with the field named.
func TestCondConfigErrors(t *testing.T) {
	base := `"block_out_channels": [32, 64], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]`
	for _, c := range []struct{ extra, want string }{
		{`, "attention_head_dim": [2, 4, 8]`, "attention_head_dim has 3 entries for 2 blocks"},
		{`, "num_attention_heads": 8`, "num_attention_heads must be null"},
		{`, "addition_embed_type": "text_time"`, "addition_embed_type"},
		{`, "only_cross_attention": true`, "only_cross_attention"},
		{`, "cross_attention_dim": [16, 32]`, "encoder_hid_proj"},
		{`, "mid_block_type": "UNetMidBlock2DSimpleCrossAttn"`, "mid_block_type"},
		{`, "norm_num_groups": 5`, "norm_num_groups"},
		{`, "class_embed_type": "timestep"`, "class-conditional"},
	} {
		_, err := ParseUNet2DConditionConfig([]byte("{" + base + c.extra + "}"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config with %s: error %v, want one mentioning %q", c.extra, err, c.want)
		}
	}
	if _, err := ParseUNet2DConditionConfig([]byte(`{"down_block_types": ["AttnDownBlock2D"]}`)); err == nil || !strings.Contains(err.Error(), "4 block_out_channels") {
		t.Errorf("mismatched block lists: %v", err)
	}
	if _, err := ParseAutoencoderKLConfig([]byte(`{"down_block_types": ["DownBlock2D"]}`)); err == nil || !strings.Contains(err.Error(), "DownEncoderBlock2D") {
		t.Errorf("VAE with a UNet block: %v", err)
	}
}

// TestCondInputErrors checks the errors of Eps, EpsJVP and the VAE on inputs that do not fit.
func TestCondInputErrors(t *testing.T) {
	sd2 := loadCondUNet(t, "tiny-sd2-unet")
	x, text, cond := tloco(t, "in/x"), tloco(t, "in/text"), tloco(t, "in/cond")
	odd := tensors.FromFlatDataAndDimensions(make([]float32, 2*4*6*6), 2, 4, 6, 6)
	for _, c := range []struct {
		in   CondInputs
		want string
	}{
		{CondInputs{X: odd, T: []float32{1}, Text: text}, "multiples of 4"},
		{CondInputs{X: x, T: []float32{1, 2, 3}, Text: text}, "3 time values for a batch of 2"},
		{CondInputs{X: x, T: []float32{1}, Text: cond}, "text embeddings"},
		{CondInputs{X: x, T: []float32{1}, Text: text, Cond: cond}, "time_cond_proj_dim"},
		{CondInputs{X: x, T: []float32{float32(math.NaN())}, Text: text}, "not a finite time"},
	} {
		if _, err := sd2.Eps(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Eps: error %v, want one mentioning %q", err, c.want)
		}
	}
	if _, _, err := sd2.EpsJVP(CondInputs{X: x, T: []float32{1}, Text: text}, text); err == nil || !strings.Contains(err.Error(), "direction") {
		t.Errorf("EpsJVP with a misshapen direction: %v", err)
	}
	vae := loadVAE(t, "tiny-vae")
	if _, err := vae.EncodeImages(tloco(t, "in/x")); err == nil || !strings.Contains(err.Error(), "[_ 3 _ _]") {
		t.Errorf("EncodeImages on latents: %v", err)
	}
	if _, _, err := vae.DecodeVJP(tloco(t, "in/z"), tloco(t, "in/z")); err == nil || !strings.Contains(err.Error(), "direction") {
		t.Errorf("DecodeVJP with a latent-shaped cotangent: %v", err)
	}
}
