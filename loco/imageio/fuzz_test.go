package imageio

import (
	"bytes"
	"testing"
)

// FuzzMaskAndLabelMap decodes arbitrary bytes as a mask picture and as a label map, and frames the result for
// a model of another size: nothing may panic, a decoded picture never exceeds the pixel limit, and every mask
// comes out at the model's size. Seeds are in testdata/fuzz/FuzzMaskAndLabelMap; run with
// go test -fuzz=FuzzMaskAndLabelMap.
func FuzzMaskAndLabelMap(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, h, w uint8) {
		defer SetMaxPixels(SetMaxPixels(1 << 16))
		src, err := decode(bytes.NewReader(data), "fuzz.png")
		if err != nil {
			return
		}
		b := src.Bounds()
		if px := int64(b.Dx()) * int64(b.Dy()); px > MaxPixels() || px <= 0 {
			t.Fatalf("decoded a %d×%d picture with a limit of %d pixels", b.Dx(), b.Dy(), MaxPixels())
		}
		mh, mw := int(h%48)+1, int(w%48)+1
		fr, err := NewFraming(b.Dy(), b.Dx(), mh, mw, true)
		if err != nil {
			t.Fatalf("framing a %d×%d picture for %d×%d: %v", b.Dx(), b.Dy(), mw, mh, err)
		}
		for _, how := range []MaskResampling{MaskNearest, MaskPILBicubicNonzero} {
			m, err := maskFromImage(src, &fr, how)
			if err != nil || m.H != mh || m.W != mw || len(m.In) != mh*mw {
				t.Fatalf("mask of a %d×%d picture framed to %d×%d: %v, %v", b.Dx(), b.Dy(), mw, mh, m, err)
			}
		}
		if lm, err := LabelMapFromImage(src); err == nil {
			m, err := fr.LabelMask(lm, "background")
			if err != nil || m.H != mh || m.W != mw {
				t.Fatalf("label mask of a %d×%d picture framed to %d×%d: %v", b.Dx(), b.Dy(), mw, mh, err)
			}
		}
		img, err := DecodeImage(src, 3)
		if err != nil {
			t.Fatalf("decoding to RGB: %v", err)
		}
		if _, err := Resize(cropImage(img, fr.Crop), mh, mw); err != nil {
			t.Fatalf("crop and resize: %v", err)
		}
	})
}

// FuzzFraming checks the framing arithmetic for any picture, model and mask sizes: a mask is either refused
// or brought to the model's size from a non-empty region inside it.
func FuzzFraming(f *testing.F) {
	f.Add(uint16(480), uint16(640), uint16(256), uint16(256), uint16(240), uint16(320))
	f.Add(uint16(7), uint16(3), uint16(5), uint16(11), uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, sh, sw, h, w, mh, mw uint16) {
		if sh == 0 || sw == 0 || h == 0 || w == 0 || mh == 0 || mw == 0 || int(mh)*int(mw) > 1<<20 || int(h)*int(w) > 1<<16 {
			return
		}
		fr, err := NewFraming(int(sh), int(sw), int(h), int(w), true)
		if err != nil {
			t.Fatal(err)
		}
		if err := fr.check(); err != nil || !sameAspect(fr.Crop.Dy(), fr.Crop.Dx(), int(h), int(w)) && fr.Crop.Dx() > 1 && fr.Crop.Dy() > 1 {
			t.Fatalf("framing %+v: crop %v does not have the model's aspect ratio (%v)", fr, fr.Crop, err)
		}
		r, err := fr.region(int(mh), int(mw))
		if err != nil {
			return
		}
		if r.Empty() || r.Min.X < 0 || r.Min.Y < 0 || r.Max.X > int(mw) || r.Max.Y > int(mh) {
			t.Fatalf("framing %+v: region %v of a %d×%d mask", fr, r, mw, mh)
		}
		m, err := fr.Mask(&Mask{C: 1, H: int(mh), W: int(mw), In: make([]bool, int(mh)*int(mw))})
		if err != nil || m.H != int(h) || m.W != int(w) {
			t.Fatalf("framing %+v of a %d×%d mask: %v", fr, mw, mh, err)
		}
	})
}
