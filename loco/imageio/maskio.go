package imageio

import (
	"fmt"
	"image"
)

// MaskResampling says how a mask picture is brought to the model's size.
type MaskResampling int

const (
	// MaskNearest resizes the boolean mask by nearest neighbour (Mask.Resize). This is the default and keeps
	// the region's area (up to the grid).
	MaskNearest MaskResampling = iota
	// MaskPILBicubicNonzero reproduces the LOCO-Edit CelebAMask-HQ loader: the 8-bit picture is resized with
	// Pillow's default bicubic filter and every pixel that is not exactly 0 afterwards is inside. The
	// smoothing spreads the region, so masks come out slightly dilated (docs/method.md §14 item 10).
	MaskPILBicubicNonzero
)

// MaskFromImage returns the 1×H×W mask of the pixels of src whose colour is not black (any of R, G, B
// nonzero after alpha premultiplication; for a palette image the palette colour counts, not the index),
// resized to h×w by nearest neighbour. h = w = 0 keeps the picture's size. The picture must have the aspect
// ratio of h×w: a mask drawn on a picture of another shape goes through that picture's Framing instead.
func MaskFromImage(src image.Image, h, w int) (*Mask, error) {
	return maskFromImage(src, modelFraming(h, w), MaskNearest)
}

// modelFraming is ModelFraming(h, w), or nil (keep the picture's size) for h = w = 0.
func modelFraming(h, w int) *Framing {
	if h == 0 && w == 0 {
		return nil
	}
	f := ModelFraming(h, w)
	return &f
}

// maskFromImage reads the mask of src and frames it with f (nil: the picture's own size).
func maskFromImage(src image.Image, f *Framing, how MaskResampling) (*Mask, error) {
	if src == nil {
		return nil, fmt.Errorf("imageio: nil mask image")
	}
	b := src.Bounds()
	sh, sw := b.Dy(), b.Dx()
	if err := checkSize(1, sh, sw); err != nil {
		return nil, fmt.Errorf("imageio: mask picture: %w", err)
	}
	if f == nil {
		return pictureMask(src), nil
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	r, err := f.region(sh, sw)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	src = subPicture{src, r.Add(b.Min)}
	if how == MaskPILBicubicNonzero && (r.Dy() != f.H || r.Dx() != f.W) {
		return pilMask(src, f.H, f.W), nil
	}
	m := pictureMask(src)
	if m.H == f.H && m.W == f.W {
		return m, nil
	}
	return m.Resize(f.H, f.W)
}

// pictureMask is the mask of the non-black pixels of src, at its own size.
func pictureMask(src image.Image) *Mask {
	b := src.Bounds()
	sh, sw := b.Dy(), b.Dx()
	m := &Mask{C: 1, H: sh, W: sw, In: make([]bool, sh*sw)}
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			r, g, bl, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			m.In[y*sw+x] = r|g|bl != 0
		}
	}
	return m
}

// pilMask resizes each 8-bit colour plane with Pillow's bicubic arithmetic; inside = any plane nonzero.
func pilMask(src image.Image, h, w int) *Mask {
	b := src.Bounds()
	sh, sw := b.Dy(), b.Dx()
	planes := [3][]uint8{make([]uint8, sh*sw), make([]uint8, sh*sw), make([]uint8, sh*sw)}
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			r, g, bl, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*sw + x
			planes[0][i], planes[1][i], planes[2][i] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
	m := &Mask{C: 1, H: h, W: w, In: make([]bool, h*w)}
	for _, p := range planes {
		for i, u := range pilResize8(p, sh, sw, h, w) {
			if u != 0 {
				m.In[i] = true
			}
		}
	}
	return m
}

// MaskFromPNG reads a mask picture (PNG, or any format ReadImage reads): every pixel that is not black is
// inside. The result is 1×h×w (it applies to every channel), resized by nearest neighbour when the picture
// has another size; h = w = 0 keeps the picture's size. The picture must have the aspect ratio of h×w (it is
// never stretched): for a mask drawn on a photo of another shape, use the photo's Framing (LoadImageFramed).
func MaskFromPNG(path string, h, w int) (*Mask, error) {
	return ReadMask(path, h, w, MaskNearest)
}

// ReadMask is MaskFromPNG with a choice of resampling (see MaskResampling).
func ReadMask(path string, h, w int, how MaskResampling) (*Mask, error) {
	src, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	m, err := maskFromImage(src, modelFraming(h, w), how)
	if err != nil {
		return nil, fmt.Errorf("reading mask %s: %w", path, err)
	}
	return m, nil
}
