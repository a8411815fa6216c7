package metrics

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// testBase and testNoise reproduce the images of testdata/skimage_ssim.json (same integer formulas as the
// generating script).
func testBase(c, h, w int) []float32 {
	a := make([]float32, c*h*w)
	for k := 0; k < c; k++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				a[(k*h+y)*w+x] = float32(float64((k*7+y*13+x*29+((x*y)%11)*5)%64)/32.0 - 1.0)
			}
		}
	}
	return a
}

func testNoisy(a []float32, seed int64, amp float64) []float32 {
	b := make([]float32, len(a))
	s := seed
	for i := range a {
		s = (s*1103515245 + 12345) % (1 << 31)
		n := float32(float64((s>>16)%1000)/1000.0*2*amp - amp)
		v := a[i] + n
		b[i] = float32(math.Max(-1, math.Min(1, float64(v))))
	}
	return b
}

// directSSIM is a slow, straightforward float64 SSIM: for every window centre, 2-D Gaussian weights
// normalised over the window, two-pass (centred) variances and covariance, then the SSIM formula.
func directSSIM(a, b []float32, c, h, w int, L float64) float64 {
	const r = 5
	var wts [2*r + 1][2*r + 1]float64
	var sum float64
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			wts[dy+r][dx+r] = math.Exp(-float64(dy*dy+dx*dx) / (2 * 1.5 * 1.5))
			sum += wts[dy+r][dx+r]
		}
	}
	c1, c2 := (0.01*L)*(0.01*L), (0.03*L)*(0.03*L)
	var total float64
	for ch := 0; ch < c; ch++ {
		at := func(p []float32, y, x int) float64 { return float64(p[(ch*h+y)*w+x]) }
		var s float64
		count := 0
		for cy := r; cy < h-r; cy++ {
			for cx := r; cx < w-r; cx++ {
				var mx, my float64
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						wt := wts[dy+r][dx+r] / sum
						mx += wt * at(a, cy+dy, cx+dx)
						my += wt * at(b, cy+dy, cx+dx)
					}
				}
				var vx, vy, vxy float64
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						wt := wts[dy+r][dx+r] / sum
						ex, ey := at(a, cy+dy, cx+dx)-mx, at(b, cy+dy, cx+dx)-my
						vx += wt * ex * ex
						vy += wt * ey * ey
						vxy += wt * ex * ey
					}
				}
				s += (2*mx*my + c1) * (2*vxy + c2) / ((mx*mx + my*my + c1) * (vx + vy + c2))
				count++
			}
		}
		total += s / float64(count)
	}
	return total / float64(c)
}

func TestSSIMIdenticalAndSymmetric(t *testing.T) {
	a := testBase(3, 24, 20)
	b := testNoisy(a, 1, 0.2)
	s, err := SSIM(a, a, 3, 24, 20, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s != 1 {
		t.Errorf("SSIM(a, a) = %.17g, want exactly 1", s)
	}
	ab, _ := SSIM(a, b, 3, 24, 20, 2)
	ba, _ := SSIM(b, a, 3, 24, 20, 2)
	if ab != ba {
		t.Errorf("SSIM not symmetric: %.17g vs %.17g", ab, ba)
	}
	if !(ab < 1 && ab > 0.5) {
		t.Errorf("SSIM of a mildly noisy copy = %v", ab)
	}
}

func TestSSIMMatchesDirectFormula(t *testing.T) {
	for _, tc := range []struct {
		c, h, w int
		seed    int64
		amp, L  float64
	}{{3, 24, 20, 1, 0.2, 2}, {1, 32, 32, 7, 0.6, 2}, {2, 11, 15, 9, 0.9, 1}} {
		a := testBase(tc.c, tc.h, tc.w)
		b := testNoisy(a, tc.seed, tc.amp)
		got, err := SSIM(a, b, tc.c, tc.h, tc.w, tc.L)
		if err != nil {
			t.Fatal(err)
		}
		want := directSSIM(a, b, tc.c, tc.h, tc.w, tc.L)
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%v: SSIM %.15f, direct formula %.15f", tc, got, want)
		}
	}
}

// Reference values computed by scikit-image 0.19.3 (testdata/skimage_ssim.json).
func TestSSIMMatchesScikitImage(t *testing.T) {
	data, err := os.ReadFile("testdata/skimage_ssim.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			C, H, W   int
			Seed      int64
			Amp       float64
			DataRange float64 `json:"data_range"`
			SSIM      float64
			PSNR      float64
			MSE       float64
		}
		ConstantZeroVsHalf float64 `json:"constant_zero_vs_half"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) != 4 {
		t.Fatalf("%d cases, want 4", len(ref.Cases))
	}
	for _, rc := range ref.Cases {
		a := testBase(rc.C, rc.H, rc.W)
		b := testNoisy(a, rc.Seed, rc.Amp)
		s, err := SSIM(a, b, rc.C, rc.H, rc.W, rc.DataRange)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(s-rc.SSIM) > 1e-12 {
			t.Errorf("%d×%d×%d seed %d: SSIM %.15f, scikit-image %.15f", rc.C, rc.H, rc.W, rc.Seed, s, rc.SSIM)
		}
		p, _ := PSNR(a, b, rc.DataRange)
		m, _ := MSE(a, b)
		if math.Abs(p-rc.PSNR) > 1e-10 || math.Abs(m-rc.MSE) > 1e-15 {
			t.Errorf("PSNR %.12f / MSE %.15g, scikit-image %.12f / %.15g", p, m, rc.PSNR, rc.MSE)
		}
	}
	// Constant images p = 0 and q = 0.5: no variance, so SSIM = (2pq + C1)/(p² + q² + C1) = 0.0004/0.2504.
	zero, half := make([]float32, 256), make([]float32, 256)
	for i := range half {
		half[i] = 0.5
	}
	s, _ := SSIM(zero, half, 1, 16, 16, 2)
	if want := 0.0004 / 0.2504; math.Abs(s-want) > 1e-15 || math.Abs(ref.ConstantZeroVsHalf-want) > 1e-15 {
		t.Errorf("constant images: SSIM %.17g, closed form %.17g, scikit-image %.17g", s, want, ref.ConstantZeroVsHalf)
	}
}

func TestSSIMErrors(t *testing.T) {
	a := make([]float32, 100)
	if _, err := SSIM(a, a, 1, 10, 10, 2); err == nil {
		t.Error("10×10 image accepted (window is 11)")
	}
	b := make([]float32, 121)
	if _, err := SSIM(b, b, 1, 11, 11, 0); err == nil {
		t.Error("zero data range accepted")
	}
	if _, err := SSIM(b, b[:120], 1, 11, 11, 2); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := SSIM(b, b, 2, 11, 11, 2); err == nil {
		t.Error("wrong shape accepted")
	}
	nan := append([]float32(nil), b...)
	nan[3] = float32(math.NaN())
	if _, err := SSIM(nan, b, 1, 11, 11, 2); err == nil {
		t.Error("NaN accepted")
	}
}
