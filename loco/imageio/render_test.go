package imageio

import (
	"image/color"
	"math"
	"testing"
)

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }

func TestMaskOverlay(t *testing.T) {
	img := constImage(1, 2, 2, 0) // mid grey
	m, _ := MaskRect(1, 2, 2, 0, 0, 1, 1)
	out, err := MaskOverlay(img, m, color.NRGBA{255, 0, 0, 255})
	if err != nil {
		t.Fatal(err)
	}
	if out.C != 3 || out.At(0, 0, 0) != 1 || out.At(1, 0, 0) != -1 || out.At(2, 0, 0) != -1 || out.At(0, 1, 1) != 0 {
		t.Errorf("opaque overlay wrong: %v", out.Pix)
	}
	half, _ := MaskOverlay(img, m, color.NRGBA{255, 0, 0, 51}) // α = 0.2
	if !near(half.At(0, 0, 0), 0.2) || !near(half.At(1, 0, 0), -0.2) {
		t.Errorf("20%% overlay = %v, %v; want 0.2, −0.2", half.At(0, 0, 0), half.At(1, 0, 0))
	}
	big, _ := MaskRect(1, 4, 4, 0, 0, 1, 1)
	if _, err := MaskOverlay(img, big, color.White); err == nil {
		t.Error("mask of another size accepted")
	}
	g, err := Masked(constImage(3, 2, 2, 0.7), m, 0)
	if err != nil || g.At(2, 0, 0) != 0.7 || g.At(2, 1, 0) != 0 {
		t.Errorf("Masked: %v %v", g, err)
	}
}

func TestDirectionImages(t *testing.T) {
	// 2 channels × 1×2: pixel 0 = (0.5, −1), pixel 1 = (0, 0).
	v := []float32{0.5, 0, -1, 0}
	d, err := DirectionImage(v, 2, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	// 1 − |v|/1 → 0.5, 1, 0, 1 → in [−1,1]: 0, 1, −1, 1.
	for i, w := range []float32{0, 1, -1, 1} {
		if !near(d.Pix[i], w) {
			t.Errorf("DirectionImage[%d] = %v, want %v", i, d.Pix[i], w)
		}
	}
	m, _ := DirectionMagnitudeImage(v, 2, 1, 2)
	if m.C != 1 || !near(m.Pix[0], -1) || !near(m.Pix[1], 1) {
		t.Errorf("magnitude = %v, want [−1 1]", m.Pix)
	}
	// Signed: channel mean −0.25 at pixel 0 (the max) → pure blue; pixel 1 → white.
	s, _ := DirectionSignedImage(v, 2, 1, 2)
	want := []float32{-1, 1, -1, 1, 1, 1} // R plane, G plane, B plane
	for i, w := range want {
		if !near(s.Pix[i], w) {
			t.Errorf("signed[%d] = %v, want %v", i, s.Pix[i], w)
		}
	}
	pos, _ := DirectionSignedImage([]float32{2, 1}, 1, 1, 2)
	// +1 → red (1, −1, −1); +0.5 → (1, 0, 0).
	if !near(pos.Pix[0], 1) || !near(pos.Pix[2], -1) || !near(pos.Pix[3], 0) || !near(pos.Pix[5], 0) {
		t.Errorf("positive signed = %v", pos.Pix)
	}
	z, _ := DirectionImage(make([]float32, 4), 1, 2, 2)
	for _, x := range z.Pix {
		if x != 1 {
			t.Fatalf("zero direction not white: %v", z.Pix)
		}
	}
	if _, err := DirectionImage(v, 3, 1, 2); err == nil {
		t.Error("length mismatch accepted")
	}
}
