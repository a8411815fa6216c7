package diffusers

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// tlocoDir holds the text-to-image goldens made by testdata/tloco/gen_tloco.py from diffusers' own code.
var tlocoDir = filepath.Join("testdata", "tloco")

// tloco returns a tensor of testdata/tloco/golden.safetensors.
func tloco(t testing.TB, name string) *tensors.Tensor {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(tlocoDir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tt, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return tensors.FromFlatDataAndDimensions(data, slices.Clone(tt.Shape)...)
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
