package imageio

import (
	"fmt"
	"image/color"
	"math"
)

// MaskOverlay returns an RGB copy of img (a greyscale image is replicated to 3 channels) with the pixels
// inside m (any channel) tinted by col: out = (1−α)·img + α·col, where α is col's alpha (color.NRGBA{255, 0,
// 0, 128} tints half red; an opaque colour paints the region).
func MaskOverlay(img *Image, m *Mask, col color.Color) (*Image, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	if m.H != img.H || m.W != img.W {
		return nil, fmt.Errorf("imageio: mask is %d×%d but the image is %d×%d", m.H, m.W, img.H, img.W)
	}
	if col == nil {
		return nil, fmt.Errorf("imageio: nil overlay colour")
	}
	c := color.NRGBAModel.Convert(col).(color.NRGBA)
	alpha := float32(c.A) / 255
	tint := [3]float32{float32(c.R)/255*2 - 1, float32(c.G)/255*2 - 1, float32(c.B)/255*2 - 1}
	out, err := toRGB(img)
	if err != nil {
		return nil, err
	}
	n := img.H * img.W
	px := m.Pixels()
	for i, in := range px.In {
		if !in {
			continue
		}
		for ch := 0; ch < 3; ch++ {
			v := &out.Pix[ch*n+i]
			*v = (1-alpha)**v + alpha*tint[ch]
		}
	}
	return out, nil
}

// toRGB returns a 3-channel copy of img.
func toRGB(img *Image) (*Image, error) {
	switch img.C {
	case 3:
		return img.Clone(), nil
	case 1:
		n := img.H * img.W
		out := &Image{C: 3, H: img.H, W: img.W, Pix: make([]float32, 3*n)}
		for ch := 0; ch < 3; ch++ {
			copy(out.Pix[ch*n:], img.Pix)
		}
		return out, nil
	}
	return nil, fmt.Errorf("imageio: cannot show a %d-channel image in colour: only 1 or 3 channels", img.C)
}

// Masked returns a copy of img with every element outside m set to fill (0 is mid-grey): the "P_Ω" pictures
// of the method diagram (spec Fig. 3). A 1-channel mask applies to every channel.
func Masked(img *Image, m *Mask, fill float32) (*Image, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	if m.H != img.H || m.W != img.W {
		return nil, fmt.Errorf("imageio: mask is %d×%d but the image is %d×%d", m.H, m.W, img.H, img.W)
	}
	full, err := m.Expand(img.C)
	if err != nil {
		return nil, err
	}
	out := img.Clone()
	for i, in := range full.In {
		if !in {
			out.Pix[i] = fill
		}
	}
	return out, nil
}

// checkDirection validates a c×h×w direction.
func checkDirection(v []float32, c, h, w int) error {
	if err := checkSize(c, h, w); err != nil {
		return err
	}
	if len(v) != c*h*w {
		return fmt.Errorf("imageio: direction has %d values, a %d×%d×%d image needs %d", len(v), c, h, w, c*h*w)
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("imageio: direction value %d is %v", i, x)
		}
	}
	return nil
}

// DirectionImage renders an edit direction v (c×h×w, e.g. v_p) on a white background, element by element:
// u = 1 − |v|/max|v| shown as a c-channel picture (white where v = 0, dark where |v| is largest; a change
// confined to one colour channel shows in the complementary colour). The paper's Fig. 8 shows directions on
// white without saying how they were mapped; this is our reading of it (docs/method.md §14 item 14), see also
// DirectionMagnitudeImage and DirectionSignedImage. v = 0 gives a white picture.
func DirectionImage(v []float32, c, h, w int) (*Image, error) {
	if err := checkDirection(v, c, h, w); err != nil {
		return nil, err
	}
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	out := &Image{C: c, H: h, W: w, Pix: make([]float32, len(v))}
	for i, x := range v {
		u := 1.0
		if m > 0 {
			u = 1 - math.Abs(float64(x))/m
		}
		out.Pix[i] = float32(2*u - 1)
	}
	return out, nil
}

// DirectionMagnitudeImage renders v (c×h×w) as a 1-channel picture of 1 − ‖v(y,x)‖/max‖v‖, where ‖v(y,x)‖
// is the Euclidean norm over the channels at pixel (y, x): black where the direction is strongest, white
// where it is zero.
func DirectionMagnitudeImage(v []float32, c, h, w int) (*Image, error) {
	if err := checkDirection(v, c, h, w); err != nil {
		return nil, err
	}
	n := h * w
	norms := make([]float64, n)
	var m float64
	for i := range norms {
		var s float64
		for ch := 0; ch < c; ch++ {
			x := float64(v[ch*n+i])
			s += x * x
		}
		norms[i] = math.Sqrt(s)
		m = math.Max(m, norms[i])
	}
	out := &Image{C: 1, H: h, W: w, Pix: make([]float32, n)}
	for i, s := range norms {
		u := 1.0
		if m > 0 {
			u = 1 - s/m
		}
		out.Pix[i] = float32(2*u - 1)
	}
	return out, nil
}

// DirectionSignedImage renders v (c×h×w) as an RGB picture of its channel mean s(y,x), scaled by max|s|:
// white where s = 0, shading to pure red (+1, 0, 0 in [0,1] terms) where s = +max|s| and to pure blue where
// s = −max|s| (a diverging blue/white/red colour map).
func DirectionSignedImage(v []float32, c, h, w int) (*Image, error) {
	if err := checkDirection(v, c, h, w); err != nil {
		return nil, err
	}
	n := h * w
	s := make([]float64, n)
	var m float64
	for i := range s {
		for ch := 0; ch < c; ch++ {
			s[i] += float64(v[ch*n+i])
		}
		s[i] /= float64(c)
		m = math.Max(m, math.Abs(s[i]))
	}
	out := &Image{C: 3, H: h, W: w, Pix: make([]float32, 3*n)}
	for i, x := range s {
		r, g, b := 1.0, 1.0, 1.0 // in [0,1]
		if m > 0 {
			t := x / m
			if t > 0 {
				g, b = 1-t, 1-t
			} else {
				r, g = 1+t, 1+t
			}
		}
		out.Pix[i], out.Pix[n+i], out.Pix[2*n+i] = float32(2*r-1), float32(2*g-1), float32(2*b-1)
	}
	return out, nil
}
