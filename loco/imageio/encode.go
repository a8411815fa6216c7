package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	"github.com/locoedit/locoedit/internal/atomicfile"
)

// ToUint8 maps a value in [−1, 1] to a byte as torchvision's save_image does after the usual x/2+0.5:
// uint8(clamp(x/2 + 0.5, 0, 1)·255 + 0.5), in float32 (rounding half up). NaN maps to 0.
func ToUint8(x float32) uint8 {
	v := x/2 + 0.5
	if !(v >= 0) { // also catches NaN
		v = 0
	}
	if v > 1 {
		v = 1
	}
	return uint8(v*255 + 0.5)
}

// ToImage converts img to an *image.Gray (1 channel) or an opaque *image.NRGBA (3 channels); see ToUint8.
func ToImage(img *Image) (image.Image, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	n := img.H * img.W
	switch img.C {
	case 1:
		out := image.NewGray(image.Rect(0, 0, img.W, img.H))
		for i := 0; i < n; i++ {
			out.Pix[i] = ToUint8(img.Pix[i])
		}
		return out, nil
	case 3:
		out := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
		for i := 0; i < n; i++ {
			out.Pix[4*i] = ToUint8(img.Pix[i])
			out.Pix[4*i+1] = ToUint8(img.Pix[n+i])
			out.Pix[4*i+2] = ToUint8(img.Pix[2*n+i])
			out.Pix[4*i+3] = 255
		}
		return out, nil
	}
	return nil, fmt.Errorf("imageio: cannot make a picture of a %d-channel image: only 1 or 3 channels", img.C)
}

// WritePNG writes img as an 8-bit PNG (greyscale for 1 channel, RGB for 3) atomically: the data goes to a
// temporary file in the same directory that is renamed over path only once complete, so path never holds a
// half-written file.
func WritePNG(path string, img *Image) error {
	pic, err := ToImage(img)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WritePNGImage(path, pic)
}

// WritePNGImage encodes any image.Image as PNG and writes it atomically (see WritePNG).
func WritePNGImage(path string, pic image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, pic); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
