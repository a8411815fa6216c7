package figures

import (
	"math"
	"testing"
	"time"

	"github.com/locoedit/locoedit/loco"
)

func TestNumberFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{F3(0.95249), "0.952"},
		{F3(-0.5), "−0.500"},
		{F3(math.NaN()), "—"},
		{Sci(0.000123), "0.00012"},
		{Sci(-2.5e-7), "−2.5e−07"},
		{Seconds(1500 * time.Millisecond), "1.5 s"},
		{Seconds(42 * time.Second), "42 s"},
		{Seconds(130 * time.Millisecond), "0.13 s"},
		{FormatLambda(-8), "λ = −8"},
		{FormatLambda(2.5), "λ = 2.5"},
		{Caption(nil), "unedited"},
		{Caption([]Term{{Name: "upper", Lambda: 8}, {Name: "lower", Lambda: -4}}), "+8·upper −4·lower"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestRegionMask(t *testing.T) {
	for _, c := range []struct {
		name   string
		count  int
		inside [2]int // a pixel inside
		out    [2]int // a pixel outside
	}{
		{"upper", 512, [2]int{0, 0}, [2]int{16, 0}},
		{"lower", 512, [2]int{16, 5}, [2]int{15, 5}},
		{"left", 512, [2]int{31, 15}, [2]int{0, 16}},
		{"right", 512, [2]int{0, 16}, [2]int{31, 15}},
		{"centre", 256, [2]int{8, 8}, [2]int{7, 8}},
		{"full", 1024, [2]int{31, 31}, [2]int{-1, -1}},
	} {
		m, err := RegionMask(c.name, 32, 32)
		if err != nil {
			t.Fatal(err)
		}
		if m.Count() != c.count {
			t.Errorf("%s: %d pixels inside, want %d", c.name, m.Count(), c.count)
		}
		if !m.In[c.inside[0]*32+c.inside[1]] {
			t.Errorf("%s: pixel %v should be inside", c.name, c.inside)
		}
		if c.out[0] >= 0 && m.In[c.out[0]*32+c.out[1]] {
			t.Errorf("%s: pixel %v should be outside", c.name, c.out)
		}
	}
	e, err := RegionMask("ellipse", 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	// Semi-axes 8 and 11.2 px: area π·8·11.2 ≈ 281 pixels.
	if n := e.Count(); n < 260 || n > 300 {
		t.Errorf("ellipse has %d pixels, want about 281", n)
	}
	if _, err := RegionMask("top", 32, 32); err == nil {
		t.Error("RegionMask(top) did not fail")
	}
}

// synthetic returns an outcome whose change at strength λ is λ·u (+ the bend term·λ² on the first value).
func synthetic(lambdas []float64, bend float32) *Outcome {
	m, _ := RegionMask("upper", 4, 4)
	u := make([]float32, 16)
	for i := range u {
		u[i] = float32(i%5) - 2
	}
	o := &Outcome{Mask: m, EditResult: &loco.EditResult{V: u, Lambdas: lambdas, Reference: make([]float32, 16)}}
	for _, l := range lambdas {
		img := make([]float32, 16)
		for i := range img {
			img[i] = float32(l) * u[i]
		}
		img[0] += bend * float32(l*l)
		o.X0 = append(o.X0, img...)
	}
	return o
}

func TestLinearity(t *testing.T) {
	lin := synthetic([]float64{-4, -2, 0, 2, 4}, 0).Linearity()
	for i, l := range lin.Lambdas {
		if l == 0 {
			if !math.IsNaN(lin.NormPerLambda[i]) || !math.IsNaN(lin.Cosine[i]) {
				t.Errorf("λ = 0: got %v, %v, want NaN", lin.NormPerLambda[i], lin.Cosine[i])
			}
			continue
		}
		if math.Abs(lin.NormPerLambda[i]-1) > 1e-6 || math.Abs(lin.Cosine[i]-1) > 1e-6 {
			t.Errorf("λ = %g: norm ratio %v, cosine %v; a linear strip gives 1 and 1", l, lin.NormPerLambda[i], lin.Cosine[i])
		}
	}
	bent := synthetic([]float64{1, 2, 4}, 3).Linearity()
	if !(bent.NormPerLambda[2] > 1.05) || !(bent.Cosine[0] < 0.999) {
		t.Errorf("a bent strip looks linear: %+v", bent)
	}
}

func TestStrongestAndExtremes(t *testing.T) {
	o := synthetic([]float64{-8, -4, 0, 4, 8}, 0)
	if i := o.Strongest(); i != 4 {
		t.Errorf("Strongest = %d, want 4", i)
	}
	if i := synthetic([]float64{-8, -2, 0}, 0).Strongest(); i != 0 {
		t.Errorf("Strongest without positive strengths = %d, want 0 (largest |λ|)", i)
	}
	if lo, hi := extremes([]float64{3, -5, 0, 7, 1}); lo != 1 || hi != 3 {
		t.Errorf("extremes = %d, %d, want 1, 3", lo, hi)
	}
}

func TestTransferScoreIgnoresSign(t *testing.T) {
	a := synthetic([]float64{0, 4}, 0)
	b := synthetic([]float64{0, 4}, 0)
	for i := range b.Image(1) {
		b.Image(1)[i] = -b.Image(1)[i]
	}
	s, err := TransferScore(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s-1) > 1e-9 {
		t.Errorf("score of opposite changes = %v, want 1 (singular vectors have no sign)", s)
	}
	zero := synthetic([]float64{0, 4}, 0)
	clear(zero.Image(1))
	if s, err := TransferScore(a, zero); err != nil || !math.IsNaN(s) {
		t.Errorf("score against no change = %v, %v, want NaN, nil", s, err)
	}
}

func TestSettings(t *testing.T) {
	base := loco.DefaultEditJob()
	ts := EditTimeSettings(base, 0.2, 0.5)
	if len(ts) != 2 || ts[0].Name != "t = 0.2" || ts[1].Job.EditT != 0.5 || ts[0].Job.Direction.NullRank != base.Direction.NullRank {
		t.Errorf("EditTimeSettings = %+v", ts)
	}
	nr := NullRankSettings(base, 0, 10)
	if nr[0].Name != "no projection" || nr[0].Job.Direction.NullRank != 0 || nr[1].Name != "r′ = 10" || nr[1].Job.Direction.NullRank != 10 {
		t.Errorf("NullRankSettings = %+v", nr)
	}
	m := Table1Variants(base)
	if len(m) != 3 || m[1].Job.Direction.Output.String() != "eps" || !m[1].Job.NoMask || m[1].Job.Direction.NullRank != 0 || !m[2].Job.Direction.Random || m[0].Job.Direction.NullRank != 5 {
		t.Errorf("Table1Variants = %+v", m)
	}
	if d := describe(m[1].Job, 0.5); d != "eps, no mask, t=0.5, no projection" {
		t.Errorf("describe = %q", d)
	}
}
