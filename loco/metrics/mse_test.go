package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestMSEAndPSNR(t *testing.T) {
	a := make([]float32, 8)
	b := make([]float32, 8)
	for i := range b {
		b[i] = 0.1
	}
	m, err := MSE(a, b)
	if err != nil || math.Abs(m-0.01) > 1e-9 {
		t.Errorf("MSE = %v, %v; want 0.01", m, err)
	}
	p, _ := PSNR(a, b, 2)
	if want := 10 * math.Log10(4/m); p != want || math.Abs(p-26.0206) > 1e-3 {
		t.Errorf("PSNR = %v, want 10·log10(4/0.01) ≈ 26.0206", p)
	}
	if p, err := PSNR(a, a, 2); !math.IsInf(p, 1) || err != nil {
		t.Errorf("PSNR of identical images = %v, %v; want +Inf", p, err)
	}
	if _, err := MSE(a, b[:7]); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := PSNR(a, b, -1); err == nil {
		t.Error("negative range accepted")
	}
}

func TestMaskedMSE(t *testing.T) {
	a := []float32{0, 0, 0, 0}
	b := []float32{1, 2, 0, 0.5}
	in, out, err := MaskedMSE(a, b, []bool{true, true, false, false})
	if err != nil || in != 2.5 || out != 0.125 {
		t.Errorf("MaskedMSE = %v, %v, %v; want 2.5, 0.125", in, out, err)
	}
	// Broadcast: a 2-value mask over 2 channels of 2 pixels; mask {true,false} → elements 0 and 2 inside.
	in, out, _ = MaskedMSE(a, b, []bool{true, false})
	if in != 0.5 || out != 2.125 {
		t.Errorf("broadcast MaskedMSE = %v, %v; want 0.5, 2.125", in, out)
	}
	in, out, _ = MaskedMSE(a, b, []bool{true, true, true, true})
	if in != 5.25/4 || !math.IsNaN(out) {
		t.Errorf("full mask: %v, %v; want 1.3125, NaN", in, out)
	}
	if _, _, err := MaskedMSE(a, b, []bool{true, false, true}); err == nil {
		t.Error("mask of 3 for 4 values accepted")
	}
}

func TestLocality(t *testing.T) {
	n := 3 * 8 * 8
	orig := make([]float32, n)
	for i := range orig {
		orig[i] = float32(i%7)/7 - 0.5
	}
	mask := make([]bool, 64) // 1×8×8, broadcast over channels: rows 2..4, cols 1..4
	for y := 2; y < 5; y++ {
		for x := 1; x < 5; x++ {
			mask[y*8+x] = true
		}
	}
	// An edit confined to the mask.
	confined := append([]float32(nil), orig...)
	for c := 0; c < 3; c++ {
		for p, in := range mask {
			if in {
				confined[c*64+p] += 0.3 * float32(c+1)
			}
		}
	}
	if l, err := Locality(orig, confined, mask); err != nil || l != 1 {
		t.Errorf("confined edit: locality %v, %v; want 1", l, err)
	}
	// A uniform change: the mask's share of the image, 12/64.
	uniform := make([]float32, n)
	for i := range uniform {
		uniform[i] = orig[i] + 0.25
	}
	if l, _ := Locality(orig, uniform, mask); math.Abs(l-12.0/64) > 1e-12 {
		t.Errorf("uniform change: locality %v, want %v", l, 12.0/64)
	}
	// Energy split: Δ = 1 on one inside element and 3 on one outside element → 1/10.
	split := append([]float32(nil), orig...)
	split[2*8+1] += 1
	split[0] += 3
	if l, _ := Locality(orig, split, mask); math.Abs(l-0.1) > 1e-6 {
		t.Errorf("split change: locality %v, want 0.1", l)
	}
	l, err := Locality(orig, orig, mask)
	if !math.IsNaN(l) || !errors.Is(err, ErrNoChange) {
		t.Errorf("no change: %v, %v; want NaN and ErrNoChange", l, err)
	}
}

func TestTransferScore(t *testing.T) {
	own := []float32{1, 2, 0, 5}
	mask := []bool{true, true, false, false}
	if s, err := TransferScore([]float32{2, 4, 9, -9}, own, mask); err != nil || math.Abs(s-1) > 1e-12 {
		t.Errorf("same change inside (different outside): %v, %v; want 1", s, err)
	}
	if s, _ := TransferScore([]float32{-1, -2, 0, 0}, own, mask); math.Abs(s+1) > 1e-12 {
		t.Errorf("opposite: %v, want −1", s)
	}
	if s, _ := TransferScore([]float32{2, -1, 0, 0}, own, mask); math.Abs(s) > 1e-12 {
		t.Errorf("orthogonal: %v, want 0", s)
	}
	// Whole image (nil mask): cos between (1,0,0,0) and own = 1/√30.
	if s, _ := TransferScore([]float32{1, 0, 0, 0}, own, nil); math.Abs(s-1/math.Sqrt(30)) > 1e-12 {
		t.Errorf("nil mask: %v, want %v", s, 1/math.Sqrt(30))
	}
	if s, err := TransferScore([]float32{0, 0, 1, 1}, own, mask); !math.IsNaN(s) || !errors.Is(err, ErrNoChange) {
		t.Errorf("zero inside: %v, %v", s, err)
	}
}

func TestLPIPSUnavailable(t *testing.T) {
	v, err := LPIPS(make([]float32, 3*64*64), make([]float32, 3*64*64), 3, 64, 64)
	if !math.IsNaN(v) || !errors.Is(err, ErrLPIPSUnavailable) {
		t.Fatalf("LPIPS = %v, %v", v, err)
	}
	for _, name := range []string{"alexnet-owt-7be5be79.pth", "v0.1/alex.pth"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("LPIPS error does not name %s", name)
		}
	}
}
