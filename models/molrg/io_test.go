package molrg

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

func TestSaveAndReloadReproducesPredictions(t *testing.T) {
	for _, name := range []string{"random", EmbeddedName} {
		var m *Model
		if name == EmbeddedName {
			m = mustEmbedded(t)
		} else {
			m = newModel(t, randomParams(t, 4), name)
		}
		dir := filepath.Join(t.TempDir(), "saved")
		if err := m.Params().Save(dir); err != nil {
			t.Fatal(err)
		}
		re, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		a, b := m.Params(), re.Params()
		for j := range a.Config.NumClasses {
			if !slices.Equal(a.Means[j], b.Means[j]) || !slices.Equal(a.Bases[j], b.Bases[j]) || !slices.Equal(a.Variances[j], b.Variances[j]) {
				t.Errorf("%s: class %d parameters changed in the round trip", name, j)
			}
		}
		if !slices.Equal(a.Priors, b.Priors) || !slices.Equal(a.ResidualVariances, b.ResidualVariances) {
			t.Errorf("%s: priors or residual variances changed in the round trip", name)
		}
		d := a.Dim()
		rng := rand.New(rand.NewPCG(1, 1))
		x := num.Float32s(randn(rng, 3*d, 1))
		ts := []float32{10, 500, 990}
		want, err := predictValues(t, m, x, ts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := predictValues(t, re, x, ts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: reloaded model's predictions differ by %.3g", name, maxAbsDiff(num.Float64s(got), num.Float64s(want)))
		}
		if re.Name() != dir {
			t.Errorf("loaded model's name %q, want its folder %q", re.Name(), dir)
		}
	}
}

func TestEmbeddedModel(t *testing.T) {
	if !slices.Equal(Names(), []string{"fashion-molrg-32"}) {
		t.Errorf("Names() = %q", Names())
	}
	m, err := Open("fashion-molrg-32")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != "fashion-molrg-32" || !slices.Equal(m.SampleShape(), []int{1, 32, 32}) || m.Prediction() != loco.PredictSample {
		t.Errorf("name %q, shape %v, prediction %v", m.Name(), m.SampleShape(), m.Prediction())
	}
	if !slices.Equal(m.Schedule().AlphasCumprod, loco.LinearSchedule().AlphasCumprod) {
		t.Error("schedule is not loco.LinearSchedule()")
	}
	if !slices.Equal(m.ClassNames(), fashionmnist.ClassNames) || !slices.Equal(m.Ranks(), slices.Repeat([]int{FashionRank}, 10)) {
		t.Errorf("class names %q, ranks %v", m.ClassNames(), m.Ranks())
	}
	if i, err := m.ClassIndex("Bag"); err != nil || i != 8 {
		t.Errorf("ClassIndex(Bag) = %d, %v", i, err)
	}
	if _, err := m.ClassIndex("Hat"); err == nil || !strings.Contains(err.Error(), "Ankle boot") {
		t.Errorf("ClassIndex(Hat): %v", err)
	}
	st, err := os.Stat(filepath.Join(EmbeddedName, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 2<<20 {
		t.Errorf("%s is %d bytes, keep it well under 5 MB", WeightsFile, st.Size())
	}
	raw, err := os.ReadFile(filepath.Join(EmbeddedName, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"_class_name": "MoLRG", "sample_size": 32.0, "in_channels": 1.0, "num_classes": 10.0,
		"rank": float64(FashionRank), "beta_schedule": "linear", "prediction_type": "sample", "num_train_timesteps": 1000.0} {
		if cfg[key] != want {
			t.Errorf("config.json %s = %v, want %v", key, cfg[key], want)
		}
	}
	v := m.Context().GetVariableByScopeAndName(Scope, VarBases)
	if v == nil || !slices.Equal(v.Shape().Dimensions, []int{10, FashionRank, 1024}) {
		t.Errorf("context variable %s/%s: %v", Scope, VarBases, v)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open("fashion-molrg-64")
	if err == nil || !strings.Contains(err.Error(), `"fashion-molrg-32"`) || !strings.Contains(err.Error(), "fashion-molrg-64") {
		t.Errorf("unknown name: error %v should name it and list the embedded models", err)
	}
	if _, err := LoadEmbedded("nope"); err == nil || !strings.Contains(err.Error(), "fashion-molrg-32") {
		t.Errorf("LoadEmbedded(nope): %v", err)
	}
	dir := t.TempDir()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("empty folder: %v", err)
	}
	file := filepath.Join(dir, "x.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"_class_name": "UNet2DModel"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a MoLRG") {
		t.Errorf("UNet config: %v", err)
	}
}

func TestValidateRejectsBrokenParams(t *testing.T) {
	breakers := map[string]func(p *Params){
		"priors":       func(p *Params) { p.Priors[0] = 0.9 },
		"negative var": func(p *Params) { p.Variances[1][0] = -1 },
		"padded var":   func(p *Params) { p.Variances[0][4] = 1 }, // class 0 has rank 3
		"basis":        func(p *Params) { p.Bases[2][0] += 0.1 },
		"nan mean":     func(p *Params) { p.Means[0][3] = float32(math.NaN()) },
		"class name":   func(p *Params) { p.Config.ClassName = "UNet2DModel" },
		"schedule":     func(p *Params) { p.Config.BetaSchedule = "sigmoid" },
		"shape":        func(p *Params) { p.Means[1] = p.Means[1][:10] },
	}
	for name, brk := range breakers {
		p := randomParams(t, 1)
		brk(p)
		if _, err := New(p, "broken"); err == nil {
			t.Errorf("%s: New accepted broken parameters", name)
		}
	}
}

func TestTimeLookupFloorsAndBroadcasts(t *testing.T) {
	m := newModel(t, randomParams(t, 2), "random")
	d := m.Params().Dim()
	rng := rand.New(rand.NewPCG(2, 2))
	x := randn(rng, d, 1)
	at := func(tt float32) []float64 { return predict64(t, m, x, []float32{tt}) }
	if !slices.Equal(at(500.9), at(500)) || slices.Equal(at(501), at(500)) {
		t.Error("ᾱ is not read at floor(t)")
	}
	if !slices.Equal(at(1500), at(999)) || !slices.Equal(at(-3), at(0)) {
		t.Error("t outside [0, 999] is not clamped")
	}
	// t [1] broadcasts over the batch.
	two := append(append([]float64(nil), x...), x...)
	both := predict64(t, m, two, []float32{300, 300})
	b := evalModelPredictT1(t, m, two, 300)
	if !slices.Equal(both, b) {
		t.Error("t of shape [1] does not broadcast over the batch")
	}
	want, _, err := m.Params().PosteriorMean(x, float64(m.Schedule().AlphaBar32(500)), -1)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxAbsDiff(at(500), want); e > 1e-6 {
		t.Errorf("graph vs Params.PosteriorMean: %.3g", e)
	}
}
