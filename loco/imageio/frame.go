package imageio

import (
	"fmt"
	"image"
	"image/color"
)

// Framing is how LoadImage brings a picture to the model's grid: the centred region it keeps (the whole
// picture, unless CenterCrop had to change the aspect ratio) and the H×W size it resizes that region to.
//
// A mask or label map drawn on the picture must go through the same framing, or the edit lands on pixels the
// user did not select: Framing.Mask, Framing.ReadMask and Framing.LabelMask crop it as the picture was
// cropped and resize it by nearest neighbour. They accept a mask
//
//   - with the picture's size, or any size with the picture's aspect ratio (it is cropped in proportion), or
//   - with the model's aspect ratio: drawn on the framed picture (e.g. on a saved input.png); it is only
//     resized.
//
// Any other aspect ratio is refused: stretching the mask would move the region. Aspect ratios count as equal
// when they differ by less than one pixel of the larger side (the rounding of a proportional resize).
type Framing struct {
	// SrcH and SrcW are the picture's height and width.
	SrcH, SrcW int
	// Crop is the region kept, in picture pixels.
	Crop image.Rectangle
	// H and W are the model's height and width.
	H, W int
}

// NewFraming returns the framing of an srcH×srcW picture (height × width) for an h×w model: the largest
// centred crop with the model's aspect ratio when crop is true; otherwise the whole picture, which must then
// have the model's aspect ratio.
func NewFraming(srcH, srcW, h, w int, crop bool) (Framing, error) {
	if err := checkSize(1, srcH, srcW); err != nil {
		return Framing{}, fmt.Errorf("imageio: picture: %w", err)
	}
	if err := checkSize(1, h, w); err != nil {
		return Framing{}, fmt.Errorf("imageio: model size: %w", err)
	}
	f := Framing{SrcH: srcH, SrcW: srcW, Crop: image.Rect(0, 0, srcW, srcH), H: h, W: w}
	if int64(srcH)*int64(w) == int64(srcW)*int64(h) {
		return f, nil
	}
	if !crop {
		return Framing{}, fmt.Errorf("imageio: the picture is %d×%d but the model works at %d×%d (another aspect ratio): "+
			"pass imageio.CenterCrop to crop it, or crop it yourself", srcW, srcH, w, h)
	}
	f.Crop = centerCrop(srcH, srcW, h, w)
	return f, nil
}

// ModelFraming is the framing of an input already at the model's h×w size (an image given as a tensor): masks
// must then have the model's aspect ratio.
func ModelFraming(h, w int) Framing {
	return Framing{SrcH: h, SrcW: w, Crop: image.Rect(0, 0, w, h), H: h, W: w}
}

// centerCrop is the largest centred region of an srcH×srcW picture with the aspect ratio h:w.
func centerCrop(srcH, srcW, h, w int) image.Rectangle {
	ch, cw := srcH, srcW
	if int64(srcH)*int64(w) > int64(srcW)*int64(h) { // too tall
		ch = max(1, int(int64(srcW)*int64(h)/int64(w)))
	} else {
		cw = max(1, int(int64(srcH)*int64(w)/int64(h)))
	}
	y0, x0 := (srcH-ch)/2, (srcW-cw)/2
	return image.Rect(x0, y0, x0+cw, y0+ch)
}

// check verifies a Framing built by hand.
func (f Framing) check() error {
	if err := checkSize(1, f.SrcH, f.SrcW); err != nil {
		return fmt.Errorf("imageio: framing: picture: %w", err)
	}
	if err := checkSize(1, f.H, f.W); err != nil {
		return fmt.Errorf("imageio: framing: model size: %w", err)
	}
	if f.Crop.Empty() || !f.Crop.In(image.Rect(0, 0, f.SrcW, f.SrcH)) {
		return fmt.Errorf("imageio: framing: crop %v is empty or outside the %d×%d picture", f.Crop, f.SrcW, f.SrcH)
	}
	return nil
}

// sameAspect reports whether an ah×aw and a bh×bw picture have the same aspect ratio up to less than one
// pixel of the larger side.
func sameAspect(ah, aw, bh, bw int) bool {
	d := int64(ah)*int64(bw) - int64(bh)*int64(aw)
	if d < 0 {
		d = -d
	}
	return d < int64(max(aw, bw)) || d < int64(max(ah, bh))
}

// region returns the part of an mh×mw mask picture that corresponds to the crop, or an error when the mask
// fits neither the picture's nor the model's aspect ratio.
func (f Framing) region(mh, mw int) (image.Rectangle, error) {
	switch {
	case mh == f.SrcH && mw == f.SrcW:
		return f.Crop, nil
	case sameAspect(mh, mw, f.SrcH, f.SrcW):
		scale := func(v, m, src int) int { return int((int64(v)*int64(m) + int64(src)/2) / int64(src)) }
		r := image.Rect(scale(f.Crop.Min.X, mw, f.SrcW), scale(f.Crop.Min.Y, mh, f.SrcH),
			scale(f.Crop.Max.X, mw, f.SrcW), scale(f.Crop.Max.Y, mh, f.SrcH))
		if r.Dx() < 1 || r.Dy() < 1 {
			return image.Rectangle{}, fmt.Errorf("the mask is %d×%d: too small to cover the %d×%d crop of the %d×%d picture",
				mw, mh, f.Crop.Dx(), f.Crop.Dy(), f.SrcW, f.SrcH)
		}
		return r, nil
	case sameAspect(mh, mw, f.H, f.W):
		return image.Rect(0, 0, mw, mh), nil
	}
	if f.SrcH == f.H && f.SrcW == f.W {
		return image.Rectangle{}, fmt.Errorf("the mask is %d×%d but the model works at %d×%d (another aspect ratio), and "+
			"stretching it would move the selected region: give a mask with the aspect ratio of the image (drawn on it; "+
			"it is cropped and resized as the image is, see imageio.Framing) or of the model", mw, mh, f.W, f.H)
	}
	return image.Rectangle{}, fmt.Errorf("the mask is %d×%d, but the image is %d×%d and the model works at %d×%d: "+
		"stretching the mask would move the selected region; draw it on the image (same size or aspect ratio: it is "+
		"then cropped and resized as the image is) or on the model's %d×%d frame", mw, mh, f.SrcW, f.SrcH, f.W, f.H, f.W, f.H)
}

// Mask brings a mask drawn on the picture to the model's H×W grid: the picture's crop, then a
// nearest-neighbour resize (see Framing for the sizes accepted). The channel count is kept.
func (f Framing) Mask(m *Mask) (*Mask, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	r, err := f.region(m.H, m.W)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	if r.Dx() != m.W || r.Dy() != m.H {
		m = m.crop(r)
	}
	if m.H == f.H && m.W == f.W {
		return m, nil
	}
	return m.Resize(f.H, f.W)
}

// crop returns the part of m inside r (which lies in m).
func (m *Mask) crop(r image.Rectangle) *Mask {
	out := &Mask{C: m.C, H: r.Dy(), W: r.Dx(), In: make([]bool, m.C*r.Dy()*r.Dx())}
	for c := 0; c < m.C; c++ {
		for y := 0; y < out.H; y++ {
			src := (c*m.H+r.Min.Y+y)*m.W + r.Min.X
			copy(out.In[(c*out.H+y)*out.W:(c*out.H+y+1)*out.W], m.In[src:src+out.W])
		}
	}
	return out
}

// ReadMask reads a mask picture drawn on the picture (every pixel that is not black is inside) and frames
// it as the picture was framed (see Framing), with the given resampling.
func (f Framing) ReadMask(path string, how MaskResampling) (*Mask, error) {
	src, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	m, err := maskFromImage(src, &f, how)
	if err != nil {
		return nil, fmt.Errorf("reading mask %s: %w", path, err)
	}
	return m, nil
}

// LabelMask returns the 1×H×W mask of the pixels of a label map drawn on the picture whose label is one of
// classNames (see MaskFromLabelMap), framed as the picture was (see Framing).
func (f Framing) LabelMask(lm *LabelMap, classNames ...string) (*Mask, error) {
	m, err := MaskFromLabelMap(lm, 0, 0, classNames...)
	if err != nil {
		return nil, err
	}
	return f.Mask(m)
}

// subPicture is the part r of a picture, in the picture's coordinates (a crop without copying pixels).
type subPicture struct {
	image.Image
	r image.Rectangle
}

func (s subPicture) Bounds() image.Rectangle { return s.r }

func (s subPicture) At(x, y int) color.Color { return s.Image.At(x, y) }
