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
	// smoothing spreads the region, so masks come out slightly dilated (spec §10 item 10).
	MaskPILBicubicNonzero
)

// MaskFromImage returns the 1×H×W mask of the pixels of src whose colour is not black (any of R, G, B
// nonzero after alpha premultiplication; for a palette image the palette colour counts, not the index),
// resized to h×w by nearest neighbour. h = w = 0 keeps the picture's size.
func MaskFromImage(src image.Image, h, w int) (*Mask, error) {
	return maskFromImage(src, h, w, MaskNearest)
}

func maskFromImage(src image.Image, h, w int, how MaskResampling) (*Mask, error) {
	if src == nil {
		return nil, fmt.Errorf("imageio: nil mask image")
	}
	b := src.Bounds()
	sh, sw := b.Dy(), b.Dx()
	if h == 0 && w == 0 {
		h, w = sh, sw
	}
	if err := checkSize(1, sh, sw); err != nil {
		return nil, fmt.Errorf("imageio: mask picture: %w", err)
	}
	if err := checkSize(1, h, w); err != nil {
		return nil, fmt.Errorf("imageio: mask size: %w", err)
	}
	if how == MaskPILBicubicNonzero && (h != sh || w != sw) {
		return pilMask(src, h, w), nil
	}
	m := &Mask{C: 1, H: sh, W: sw, In: make([]bool, sh*sw)}
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			r, g, bl, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			m.In[y*sw+x] = r|g|bl != 0
		}
	}
	if h == sh && w == sw {
		return m, nil
	}
	return m.Resize(h, w)
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
// has another size; h = w = 0 keeps the picture's size.
func MaskFromPNG(path string, h, w int) (*Mask, error) {
	return ReadMask(path, h, w, MaskNearest)
}

// ReadMask is MaskFromPNG with a choice of resampling (see MaskResampling).
func ReadMask(path string, h, w int, how MaskResampling) (*Mask, error) {
	src, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	m, err := maskFromImage(src, h, w, how)
	if err != nil {
		return nil, fmt.Errorf("reading mask %s: %w", path, err)
	}
	return m, nil
}
