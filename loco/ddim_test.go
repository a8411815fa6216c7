package loco

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// maxAbsDiff is max_i |a_i − b_i| (+Inf on a length mismatch).
func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		if d := math.Abs(float64(a[i]) - float64(b[i])); d > m || d != d {
			m = d
		}
	}
	return m
}

func TestYHStepMatchesGolden(t *testing.T) {
	g := loadSchedGolden(t)
	xt, eps := g.f32(t, "in/xt"), g.f32(t, "out/eps_t_float")
	tFloat := g.f32(t, "in/t_float")[0]
	fwd, err := NewGrid(100, 999, false)
	if err != nil {
		t.Fatal(err)
	}
	i, err := fwd.IndexOf(tFloat)
	if err != nil || i != 40 {
		t.Fatalf("IndexOf(%v) = %d, %v; want 40", tFloat, i, err)
	}
	tNext, err := fwd.NextOf(tFloat)
	if err != nil {
		t.Fatal(err)
	}
	s := LinearSchedule()
	xNext, x0, err := DDIMStep(xt, eps, s.AlphaBar(tFloat), s.AlphaBar(tNext), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  []float32
	}{{"sched/yh_step_prev_sample", xNext}, {"sched/yh_step_x0", x0}} {
		d := maxAbsDiff(c.got, g.f32(t, c.name))
		t.Logf("%s: max |Δ| = %.3g", c.name, d)
		// Every operation is a correctly rounded float32 operation in the reference's order, so the result
		// is bit-identical, on every platform (explicit conversions forbid FMA fusion).
		if d != 0 {
			t.Errorf("%s: max |Δ| = %.3g, want bit-identical (at least ≤ 1e-5)", c.name, d)
		}
	}
}

func TestDiffusersDDIMMatchesGolden(t *testing.T) {
	g := loadSchedGolden(t)
	d, err := NewDiffusersDDIM(AuthorsDDIMConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetTimesteps(100); err != nil {
		t.Fatal(err)
	}
	wantTs := g.i64(t, "sched/diffusers_ddim_timesteps")
	if len(wantTs) != len(d.Timesteps) {
		t.Fatalf("%d timesteps, golden %d", len(d.Timesteps), len(wantTs))
	}
	for i, w := range wantTs {
		if int64(d.Timesteps[i]) != w {
			t.Fatalf("timesteps[%d] = %d, golden %d", i, d.Timesteps[i], w)
		}
	}
	step := int(g.i64(t, "sched/diffusers_ddim_t")[0])
	if step != 601 || d.PrevTimestep(step) != 591 {
		t.Fatalf("golden step at t = %d → %d, want 601 → 591", step, d.PrevTimestep(step))
	}
	prev, x0, err := d.Step(g.f32(t, "sched/diffusers_ddim_eps"), step, g.f32(t, "in/xt"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  []float32
	}{{"sched/diffusers_ddim_prev_sample", prev}, {"sched/diffusers_ddim_x0", x0}} {
		diff := maxAbsDiff(c.got, g.f32(t, c.name))
		t.Logf("%s: max |Δ| = %.3g", c.name, diff)
		if diff != 0 {
			t.Errorf("%s: max |Δ| = %.3g, want bit-identical (at least ≤ 1e-5)", c.name, diff)
		}
	}
}

// randVec is a reproducible N(0, 1) vector.
func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func TestDDIMRoundTrip(t *testing.T) {
	// An η = 0 step t → t' followed by the inverse step t' → t with the same ε returns x (docs/method.md §4, §5.2).
	r := rand.New(rand.NewPCG(1, 2))
	s := LinearSchedule()
	fwd, err := NewGrid(100, 999, false)
	if err != nil {
		t.Fatal(err)
	}
	x, eps := randVec(r, 3072), randVec(r, 3072)
	for _, i := range []int{0, 40, 79, 98} {
		a, an := s.AlphaBar(fwd.Timesteps[i]), s.AlphaBar(fwd.Next[i])
		xNext, x0, err := DDIMStep(x, eps, a, an, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		back, x0Back, err := DDIMStep(xNext, eps, an, a, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		scale := 1 / math.Sqrt(a) // x0 grows like 1/sqrt(ᾱ); float32 errors with it
		if d := maxAbsDiff(back, x); d > 2e-6*scale {
			t.Errorf("step %d: round trip max |Δx| = %.3g", i, d)
		}
		if d := maxAbsDiff(x0Back, x0); d > 2e-6*scale {
			t.Errorf("step %d: x0 of the inverse step differs by %.3g", i, d)
		}
		if d := maxAbsDiff(back, xNext); d < 1e-3 {
			t.Errorf("step %d: the step did not move x (max |Δ| = %.3g)", i, d)
		}
	}
}

func TestDDIMStepEtaMatchesFloat64Formula(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := LinearSchedule()
	x, eps, z := randVec(r, 1000), randVec(r, 1000), randVec(r, 1000)
	for _, eta := range []float64{0, 0.5, 1} {
		for _, pair := range [][2]int{{595, 585}, {201, 191}, {10, 0}, {999, 988}} {
			a, an := s.AlphasCumprod[pair[0]], s.AlphasCumprod[pair[1]]
			xNext, x0, err := DDIMStep(x, eps, a, an, eta, z)
			if err != nil {
				t.Fatal(err)
			}
			a, an = float64(float32(a)), float64(float32(an))
			sigma2 := DDIMVariance(a, an)
			worst := 0.0
			for i := range x {
				p := (float64(x[i]) - math.Sqrt(1-a)*float64(eps[i])) / math.Sqrt(a)
				want := math.Sqrt(an)*p + math.Sqrt(1-an-eta*sigma2)*float64(eps[i]) + eta*math.Sqrt(sigma2)*float64(z[i])
				worst = max(worst, math.Abs(float64(xNext[i])-want)/(1+math.Abs(want)), math.Abs(float64(x0[i])-p)/(1+math.Abs(p)))
			}
			if worst > 1e-5 {
				t.Errorf("η = %v, %d → %d: relative error %.3g against the float64 formula", eta, pair[0], pair[1], worst)
			}
		}
	}
}

func TestDDIMNoiseCoefficients(t *testing.T) {
	// With x0 = 0 the step returns dir·ε + η·σ·z: probe both coefficients and check the η·σ² rule (docs/method.md §4):
	// dir² = 1 − a' − η·σ² and the noise scale is η·σ; for η = 1 the step preserves variance (dir² + σ² = 1 − a').
	s := LinearSchedule()
	a, an := s.AlphasCumprod[595], s.AlphasCumprod[585]
	sigma2 := DDIMVariance(float64(float32(a)), float64(float32(an)))
	for _, eta := range []float64{0.25, 0.5, 1} {
		eps, z := []float32{1, 0}, []float32{0, 1}
		x := []float32{sqrt32(1 - float32(a)), 0} // x0 = (x − sqrt(1−a)·ε)/sqrt(a) = 0
		xNext, x0, err := DDIMStep(x, eps, a, an, eta, z)
		if err != nil {
			t.Fatal(err)
		}
		if x0[0] != 0 || x0[1] != 0 {
			t.Fatalf("probe x0 = %v, want 0", x0)
		}
		dir, noise := float64(xNext[0]), float64(xNext[1])
		if want := 1 - float64(float32(an)) - eta*sigma2; math.Abs(dir*dir-want) > 1e-6 {
			t.Errorf("η = %v: dir² = %.7g, want 1 − a' − η·σ² = %.7g", eta, dir*dir, want)
		}
		if want := eta * math.Sqrt(sigma2); math.Abs(noise-want) > 1e-6 {
			t.Errorf("η = %v: noise scale %.7g, want η·σ = %.7g", eta, noise, want)
		}
		if eta == 1 {
			if got, want := dir*dir+noise*noise, 1-float64(float32(an)); math.Abs(got-want) > 1e-6 {
				t.Errorf("η = 1: dir² + σ² = %.7g, want 1 − a' = %.7g", got, want)
			}
		}
	}
}

func TestDDIMVarianceIsDDPMPosteriorVariance(t *testing.T) {
	// Between consecutive training steps σ² is β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t.
	betas, err := Betas(BetaLinear, 1e-4, 0.02, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ab := LinearSchedule().AlphasCumprod
	for _, i := range []int{1, 10, 201, 595, 999} {
		want := (1 - ab[i-1]) / (1 - ab[i]) * betas[i]
		if got := DDIMVariance(ab[i], ab[i-1]); math.Abs(got-want) > 1e-9*want {
			t.Errorf("σ²(%d → %d) = %.12g, want β̃ = %.12g", i, i-1, got, want)
		}
	}
}

func TestDDIMStepFromX0(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := LinearSchedule()
	x, eps, z := randVec(r, 500), randVec(r, 500), randVec(r, 500)
	a, an := s.AlphasCumprod[504], s.AlphasCumprod[494]
	for _, eta := range []float64{0, 1} {
		want, x0, err := DDIMStep(x, eps, a, an, eta, z)
		if err != nil {
			t.Fatal(err)
		}
		got, epsBack, err := DDIMStepFromX0(x, x0, a, an, eta, z)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(epsBack, eps); d > 1e-5 {
			t.Errorf("η = %v: recovered ε differs by %.3g", eta, d)
		}
		if d := maxAbsDiff(got, want); d > 1e-5 {
			t.Errorf("η = %v: x0-prediction step differs from the ε step by %.3g", eta, d)
		}
		viaFor, x0For, err := DDIMStepFor(PredictSample, x, x0, a, an, eta, z)
		if err != nil || maxAbsDiff(viaFor, got) != 0 || maxAbsDiff(x0For, x0) != 0 {
			t.Errorf("DDIMStepFor(sample) disagrees with DDIMStepFromX0 (err %v)", err)
		}
		viaFor, x0For, err = DDIMStepFor(PredictEpsilon, x, eps, a, an, eta, z)
		if err != nil || maxAbsDiff(viaFor, want) != 0 || maxAbsDiff(x0For, x0) != 0 {
			t.Errorf("DDIMStepFor(epsilon) disagrees with DDIMStep (err %v)", err)
		}
	}
}

func TestDDIMStepErrors(t *testing.T) {
	x := []float32{1, 2}
	cases := []struct {
		name         string
		x, out       []float32
		aT, aNext, η float64
		noise        []float32
		want         string
	}{
		{"noise missing", x, x, 0.5, 0.6, 1, nil, "noise"},
		{"noise too short", x, x, 0.5, 0.6, 1, []float32{0}, "noise"},
		{"shape mismatch", x, []float32{1}, 0.5, 0.6, 0, nil, "same shape"},
		{"ᾱ zero", x, x, 0, 0.6, 0, nil, "(0, 1]"},
		{"ᾱ above one", x, x, 0.5, 1.5, 0, nil, "(0, 1]"},
		{"ᾱ NaN", x, x, math.NaN(), 0.6, 0, nil, "(0, 1]"},
		{"η negative", x, x, 0.5, 0.6, -1, nil, "η"},
		{"η too large", x, x, 0.5, 0.6, 1e6, x, "negative"},
	}
	for _, c := range cases {
		_, _, err := DDIMStep(c.x, c.out, c.aT, c.aNext, c.η, c.noise)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, _, err := DDIMStepFromX0(x, x, 1, 0.5, 0, nil); err == nil {
		t.Error("DDIMStepFromX0 with ᾱ_t = 1 accepted")
	}
	if _, _, err := DDIMStepFor(Prediction(7), x, x, 0.5, 0.6, 0, nil); err == nil {
		t.Error("DDIMStepFor with an unknown prediction type accepted")
	}
	// η = 0 ignores the noise argument.
	if _, _, err := DDIMStep(x, x, 0.5, 0.6, 0, []float32{9}); err != nil {
		t.Errorf("η = 0 with an unused noise slice: %v", err)
	}
}

func TestDiffusersDDIMAgreesWithYHStep(t *testing.T) {
	// For η = 0 diffusers' step is the same float32 arithmetic as the LOCO step on the same ᾱ pair.
	d, err := NewDiffusersDDIM(AuthorsDDIMConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetTimesteps(100); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	x, eps, z := randVec(r, 300), randVec(r, 300), randVec(r, 300)
	for _, step := range []int{991, 601, 1} {
		aPrev := float64(d.FinalAlphaCumprod)
		if p := d.PrevTimestep(step); p >= 0 {
			aPrev = float64(d.AlphasCumprod[p])
		}
		for _, eta := range []float64{0, 1} {
			got, gotX0, err := d.Step(eps, step, x, eta, z)
			if err != nil {
				t.Fatal(err)
			}
			want, wantX0, err := DDIMStep(x, eps, float64(d.AlphasCumprod[step]), aPrev, eta, z)
			if err != nil {
				t.Fatal(err)
			}
			tol := 0.0
			if eta != 0 {
				tol = 1e-5 // σ² is evaluated in a different order
			}
			if dd := maxAbsDiff(got, want); dd > tol {
				t.Errorf("t = %d, η = %v: prev_sample differs from the LOCO step by %.3g", step, eta, dd)
			}
			if dd := maxAbsDiff(gotX0, wantX0); dd != 0 {
				t.Errorf("t = %d: x0 differs from the LOCO step by %.3g", step, dd)
			}
		}
	}
	if d.PrevTimestep(1) >= 0 || d.FinalAlphaCumprod != d.AlphasCumprod[0] {
		t.Errorf("last step: prev %d, final ᾱ %v; want < 0 and ᾱ[0] (set_alpha_to_one false)", d.PrevTimestep(1), d.FinalAlphaCumprod)
	}
}

func TestDiffusersAlphasCumprodCloseToFloat64(t *testing.T) {
	for _, c := range []struct {
		kind       BetaSchedule
		start, end float64
	}{{BetaLinear, 1e-4, 0.02}, {BetaScaledLinear, 0.00085, 0.012}, {BetaSquaredCosCapV2, 0, 0}} {
		f32, err := DiffusersAlphasCumprod(c.kind, c.start, c.end, 1000)
		if err != nil {
			t.Fatal(err)
		}
		f64, err := AlphasCumprod(c.kind, c.start, c.end, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i := range f64 {
			if rel := math.Abs(float64(f32[i])-f64[i]) / f64[i]; rel > 2e-5 {
				t.Errorf("%s ᾱ[%d]: float32 betas give %.9g, float64 %.9g (rel %.2g)", c.kind, i, f32[i], f64[i], rel)
				break
			}
		}
	}
	if _, err := DiffusersAlphasCumprod("nope", 0, 0, 10); err == nil {
		t.Error("unknown schedule accepted")
	}
}

func TestDiffusersDDIMTimesteps(t *testing.T) {
	cases := []struct {
		spacing TimestepSpacing
		offset  int
		want    []int
	}{
		{SpacingLeading, 1, []int{901, 801, 701, 601, 501, 401, 301, 201, 101, 1}},
		{SpacingLeading, 0, []int{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}},
		{SpacingLinspace, 0, []int{999, 888, 777, 666, 555, 444, 333, 222, 111, 0}},
		{SpacingTrailing, 0, []int{999, 899, 799, 699, 599, 499, 399, 299, 199, 99}},
	}
	for _, c := range cases {
		cfg := DefaultDiffusersDDIMConfig()
		cfg.TimestepSpacing, cfg.StepsOffset = c.spacing, c.offset
		d, err := NewDiffusersDDIM(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetTimesteps(10); err != nil {
			t.Fatal(err)
		}
		for i := range c.want {
			if d.Timesteps[i] != c.want[i] {
				t.Errorf("%s offset %d: timesteps %v, want %v", c.spacing, c.offset, d.Timesteps, c.want)
				break
			}
		}
	}
	d, err := NewDiffusersDDIM(DefaultDiffusersDDIMConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Step([]float32{0}, 500, []float32{0}, 0, nil); err == nil || !strings.Contains(err.Error(), "SetTimesteps") {
		t.Errorf("Step before SetTimesteps: err = %v", err)
	}
	if err := d.SetTimesteps(1001); err == nil {
		t.Error("1001 inference steps accepted for 1000 training steps")
	}
	cfg := DefaultDiffusersDDIMConfig()
	cfg.TimestepSpacing = "odd"
	if d, err := NewDiffusersDDIM(cfg); err != nil || d.SetTimesteps(10) == nil {
		t.Errorf("unknown spacing accepted (err %v)", err)
	}
}

func TestDiffusersDDIMDefaultsClipAndFinalAlpha(t *testing.T) {
	// diffusers' defaults clip x̂0 to [−1, 1] and use ᾱ = 1 after the last step.
	d, err := NewDiffusersDDIM(DefaultDiffusersDDIMConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetTimesteps(100); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	x, eps := randVec(r, 200), randVec(r, 200)
	_, x0, err := d.Step(eps, 600, x, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	clipped := 0
	for _, v := range x0 {
		if v < -1 || v > 1 {
			t.Fatalf("x0 value %v outside [−1, 1] with clip_sample", v)
		}
		if v == 1 || v == -1 {
			clipped++
		}
	}
	if clipped == 0 {
		t.Error("no x0 value was clipped at t = 600 (they spread far beyond ±1)")
	}
	prev, x0, err := d.Step(eps, 0, x, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.FinalAlphaCumprod != 1 || maxAbsDiff(prev, x0) != 0 {
		t.Errorf("last step with set_alpha_to_one: prev_sample should equal x̂0 (final ᾱ %v)", d.FinalAlphaCumprod)
	}
}
