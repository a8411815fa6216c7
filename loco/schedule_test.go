package loco

import (
	"math"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// schedGoldenPath is the golden reference data (diffusers and the authors' code; testdata/golden/meta.json).
const schedGoldenPath = "../testdata/golden/golden.safetensors"

// schedGolden reads the golden tensors the schedule tests need.
type schedGolden struct{ f *safetensors.File }

func loadSchedGolden(t *testing.T) *schedGolden {
	t.Helper()
	f, err := safetensors.ReadFile(schedGoldenPath)
	if err != nil {
		t.Fatalf("loading golden data: %v", err)
	}
	return &schedGolden{f: f}
}

// tensor returns the tensor called name, which must have the given dtype.
func (g *schedGolden) tensor(t *testing.T, name string, dtype safetensors.DType) *safetensors.Tensor {
	t.Helper()
	x, err := g.f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	if x.DType != dtype {
		t.Fatalf("golden tensor %q is %s, want %s", name, x.DType, dtype)
	}
	return x
}

func (g *schedGolden) f32(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := g.tensor(t, name, safetensors.F32).Float32()
	if err != nil {
		t.Fatalf("golden tensor %q: %v", name, err)
	}
	return v
}

func (g *schedGolden) i64(t *testing.T, name string) []int64 {
	t.Helper()
	v, err := g.tensor(t, name, safetensors.I64).Int64s()
	if err != nil {
		t.Fatalf("golden tensor %q: %v", name, err)
	}
	return v
}

// ulpDiff is the distance between two finite float32 values in units in the last place.
func ulpDiff(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if d := ia - ib; d >= 0 {
		return d
	} else {
		return -d
	}
}

func TestAlphasCumprodMatchesGolden(t *testing.T) {
	want := loadSchedGolden(t).f32(t, "sched/alphas_cumprod")
	s := LinearSchedule()
	if s.NumTrainSteps() != len(want) {
		t.Fatalf("NumTrainSteps = %d, golden has %d", s.NumTrainSteps(), len(want))
	}
	exact := 0
	for i, w := range want {
		got := float32(s.AlphasCumprod[i])
		if d := ulpDiff(got, w); d > 1 {
			t.Errorf("ᾱ[%d] = %.9g rounds to %.9g, golden %.9g (%d ulp)", i, s.AlphasCumprod[i], got, w, d)
		} else if d == 0 {
			exact++
		}
		if s.AlphaBar32(float32(i)) != got {
			t.Errorf("AlphaBar32(%d) = %v, want %v", i, s.AlphaBar32(float32(i)), got)
		}
	}
	if exact != len(want) {
		t.Errorf("only %d of %d float32-rounded ᾱ values equal the golden bit for bit", exact, len(want))
	}
}

func TestAlphasCumprodReferenceValues(t *testing.T) {
	// Spec §1.1, 4 significant digits.
	cases := []struct {
		kind       BetaSchedule
		start, end float64
		i          int
		want       float64 // as printed in the spec
		unit       float64 // one unit in the last printed digit
	}{
		{BetaLinear, 1e-4, 0.02, 0, 0.9999, 1e-4},
		{BetaLinear, 1e-4, 0.02, 201, 0.6537, 1e-4},
		{BetaLinear, 1e-4, 0.02, 504, 0.0747, 1e-4},
		{BetaLinear, 1e-4, 0.02, 595, 0.02716, 1e-5},
		{BetaLinear, 1e-4, 0.02, 696, 0.00727, 1e-5},
		{BetaLinear, 1e-4, 0.02, 746, 0.00351, 1e-5},
		{BetaLinear, 1e-4, 0.02, 797, 0.00158, 1e-5},
		{BetaScaledLinear, 0.00085, 0.012, 696, 0.08497, 1e-5},
		{BetaScaledLinear, 0.00085, 0.012, 499, 0.2777, 1e-4},
		{BetaSquaredCosCapV2, 0, 0, 750, 0.1432, 1e-4},
		{BetaSquaredCosCapV2, 0, 0, 990, 1.97e-4, 1e-6},
	}
	for _, c := range cases {
		ab, err := AlphasCumprod(c.kind, c.start, c.end, 1000)
		if err != nil {
			t.Fatalf("AlphasCumprod(%s): %v", c.kind, err)
		}
		if got := ab[c.i]; math.Abs(got-c.want) > c.unit/2 {
			t.Errorf("%s ᾱ[%d] = %.6g, want %g (±%g)", c.kind, c.i, got, c.want, c.unit/2)
		}
	}
}

func TestAlphasCumprodIsDecreasing(t *testing.T) {
	for _, kind := range SupportedBetaSchedules {
		ab, err := AlphasCumprod(kind, 0.00085, 0.012, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(ab); i++ {
			if !(ab[i] < ab[i-1]) || !(ab[i] > 0) {
				t.Fatalf("%s: ᾱ[%d] = %g does not decrease from ᾱ[%d] = %g", kind, i, ab[i], i-1, ab[i-1])
			}
		}
	}
}

func TestAlphasCumprodErrors(t *testing.T) {
	_, err := AlphasCumprod("cosine", 1e-4, 0.02, 1000)
	if err == nil {
		t.Fatal("unknown schedule accepted")
	}
	for _, k := range SupportedBetaSchedules {
		if !strings.Contains(err.Error(), string(k)) {
			t.Errorf("error %q does not list %q", err, k)
		}
	}
	if _, err := NewSchedule(BetaLinear, 1e-4, 0.02, 0); err == nil {
		t.Error("NewSchedule with 0 steps accepted")
	}
}

func TestAlphaBarFloorLookup(t *testing.T) {
	s := LinearSchedule()
	cases := []struct {
		t    float32
		want int
	}{
		{595.3635864257812, 595},
		{math.Nextafter32(666, 0), 665},
		{666, 666},
		{1e-6, 0},
		{0, 0},
		{-3, 0},
		{999, 999},
		{1e6, 999},
	}
	for _, c := range cases {
		if got := s.Index(c.t); got != c.want {
			t.Errorf("Index(%v) = %d, want %d", c.t, got, c.want)
		}
		if got, want := s.AlphaBar(c.t), s.AlphasCumprod[c.want]; got != want {
			t.Errorf("AlphaBar(%v) = %v, want ᾱ[%d] = %v", c.t, got, c.want, want)
		}
	}
	if v := s.AlphaBar(float32(math.NaN())); !math.IsNaN(v) {
		t.Errorf("AlphaBar(NaN) = %v, want NaN", v)
	}
	if v := (&Schedule{}).AlphaBar(3); !math.IsNaN(v) {
		t.Errorf("AlphaBar on an empty table = %v, want NaN", v)
	}
}

// TestGoldenNames documents the golden tensors the schedule tests use.
func TestGoldenNames(t *testing.T) {
	g := loadSchedGolden(t)
	for _, name := range []string{
		"sched/alphas_cumprod", "sched/timesteps_forward", "sched/timesteps_forward_next",
		"sched/timesteps_inversion", "sched/timesteps_inversion_next", "sched/yh_step_prev_sample",
		"sched/yh_step_x0", "sched/diffusers_ddim_timesteps", "sched/diffusers_ddim_t", "sched/diffusers_ddim_eps",
		"sched/diffusers_ddim_prev_sample", "sched/diffusers_ddim_x0", "in/xt", "in/t_float", "out/eps_t_float",
	} {
		if !g.f.Has(name) {
			t.Errorf("golden tensor %q missing", name)
		}
	}
}
