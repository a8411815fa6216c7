package imageio

import "fmt"

// Image is one image as a C×H×W float32 tensor (channels first, row-major) with values in [−1, 1].
type Image struct {
	// C, H, W are the number of channels (1 or 3), the height and the width.
	C, H, W int
	// Pix holds C·H·W values; the value of channel c at row y, column x is Pix[(c·H+y)·W+x].
	Pix []float32
}

// NewImage returns a black (all −1) C×H×W image.
func NewImage(c, h, w int) (*Image, error) {
	if err := checkSize(c, h, w); err != nil {
		return nil, err
	}
	img := &Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
	for i := range img.Pix {
		img.Pix[i] = -1
	}
	return img, nil
}

// FromCHW wraps pix (C·H·W values, channels first) as an Image without copying it.
func FromCHW(pix []float32, c, h, w int) (*Image, error) {
	if err := checkSize(c, h, w); err != nil {
		return nil, err
	}
	if len(pix) != c*h*w {
		return nil, fmt.Errorf("imageio: %d values do not make a %d×%d×%d image (want %d)", len(pix), c, h, w, c*h*w)
	}
	return &Image{C: c, H: h, W: w, Pix: pix}, nil
}

// Clone returns a deep copy of img.
func (img *Image) Clone() *Image {
	return &Image{C: img.C, H: img.H, W: img.W, Pix: append([]float32(nil), img.Pix...)}
}

// At returns the value of channel c at row y, column x.
func (img *Image) At(c, y, x int) float32 { return img.Pix[(c*img.H+y)*img.W+x] }

// Set sets the value of channel c at row y, column x.
func (img *Image) Set(c, y, x int, v float32) { img.Pix[(c*img.H+y)*img.W+x] = v }

// Shape returns [C, H, W].
func (img *Image) Shape() []int { return []int{img.C, img.H, img.W} }

// Validate checks that the sizes are positive and Pix has C·H·W values.
func (img *Image) Validate() error {
	if img == nil {
		return fmt.Errorf("imageio: nil image")
	}
	if err := checkSize(img.C, img.H, img.W); err != nil {
		return err
	}
	if len(img.Pix) != img.C*img.H*img.W {
		return fmt.Errorf("imageio: image is %d×%d×%d but holds %d values (want %d)",
			img.C, img.H, img.W, len(img.Pix), img.C*img.H*img.W)
	}
	return nil
}

// checkSize rejects non-positive or absurdly large sizes (a guard against allocation panics).
func checkSize(c, h, w int) error {
	if c <= 0 || h <= 0 || w <= 0 {
		return fmt.Errorf("imageio: invalid size %d×%d×%d: channels, height and width must be positive", c, h, w)
	}
	const maxElems = 1 << 31
	if int64(c)*int64(h)*int64(w) > maxElems {
		return fmt.Errorf("imageio: size %d×%d×%d is too large", c, h, w)
	}
	return nil
}
