package imageio

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // CelebA-HQ images are JPEG files.
	_ "image/png"
)

// DecodeOption changes how DecodeImage, ReadImage and LoadImage treat their input.
type DecodeOption int

const (
	// Convert allows the lossy colour conversion: a colour image asked for as 1 channel becomes its luminance
	// Y = 0.299·R + 0.587·G + 0.114·B (ITU-R BT.601 weights, computed in float64 on values in [0,1], not
	// rounded to 8 bits). Without it such a request is an error, unless every pixel is already grey (R=G=B).
	// Grey to RGB (replicating the channel) is exact and always allowed.
	Convert DecodeOption = iota + 1
	// CenterCrop makes LoadImage crop the largest centred region with the target aspect ratio before resizing
	// (the unconditional data loaders centre-crop to the short side, docs/method.md §9). Without it LoadImage refuses
	// to change the aspect ratio.
	CenterCrop
	// PILBicubic makes LoadImage resize with ResizePILBicubic (8-bit Pillow bicubic, as the LOCO-Edit loaders)
	// instead of Resize.
	PILBicubic
)

func hasOption(opts []DecodeOption, o DecodeOption) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// NativeChannels returns 1 for a greyscale image (grey colour model, or a palette of grey colours only) and 3
// otherwise. Alpha never counts: it is dropped.
func NativeChannels(src image.Image) int {
	switch m := src.ColorModel().(type) {
	case color.Palette:
		for _, c := range m {
			r, g, b, _ := color.NRGBA64Model.Convert(c).(color.NRGBA64).RGBA()
			if r != g || g != b {
				return 3
			}
		}
		return 1
	default:
		if m == color.GrayModel || m == color.Gray16Model {
			return 1
		}
		return 3
	}
}

// DecodeImage converts src to an Image with values in [−1, 1].
//
// channels is 1 (greyscale), 3 (RGB) or 0 (the image's own: NativeChannels). Alpha is dropped (the colour is
// taken un-premultiplied). Palette images are expanded. 8-bit values map exactly as torchvision's
// ToTensor+Normalize(0.5, 0.5) does; 16-bit values use u/65535. A colour image asked for as 1 channel needs
// the Convert option (see Convert).
func DecodeImage(src image.Image, channels int, opts ...DecodeOption) (*Image, error) {
	if src == nil {
		return nil, fmt.Errorf("imageio: nil image")
	}
	native := NativeChannels(src)
	if channels == 0 {
		channels = native
	}
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("imageio: cannot decode to %d channels: only 1 (greyscale) or 3 (RGB) are supported", channels)
	}
	b := src.Bounds()
	h, w := b.Dy(), b.Dx()
	if err := checkSize(3, h, w); err != nil {
		return nil, fmt.Errorf("imageio: decoding a %d×%d image: %w", w, h, err)
	}
	rgb := decodeRGB(src) // 3×H×W in [0,1]
	img := &Image{C: channels, H: h, W: w, Pix: make([]float32, channels*h*w)}
	n := h * w
	switch {
	case channels == 3:
		for i, v := range rgb {
			img.Pix[i] = (v - 0.5) / 0.5
		}
	case native == 1 || isGrey(rgb, n):
		for i := 0; i < n; i++ {
			img.Pix[i] = (rgb[i] - 0.5) / 0.5
		}
	case hasOption(opts, Convert):
		for i := 0; i < n; i++ {
			y := 0.299*float64(rgb[i]) + 0.587*float64(rgb[n+i]) + 0.114*float64(rgb[2*n+i])
			img.Pix[i] = (float32(y) - 0.5) / 0.5
		}
	default:
		return nil, fmt.Errorf("imageio: the image is RGB (3 channels) but 1 channel (greyscale) was expected: " +
			"convert it to greyscale, or pass imageio.Convert to use its luminance (0.299·R + 0.587·G + 0.114·B)")
	}
	return img, nil
}

// isGrey reports whether the 3×n planes are identical.
func isGrey(rgb []float32, n int) bool {
	for i := 0; i < n; i++ {
		if rgb[i] != rgb[n+i] || rgb[i] != rgb[2*n+i] {
			return false
		}
	}
	return true
}

// decodeRGB returns the image as three planes R, G, B with values in [0,1] (float32(u)/255 for 8-bit images).
func decodeRGB(src image.Image) []float32 {
	b := src.Bounds()
	h, w := b.Dy(), b.Dx()
	n := h * w
	out := make([]float32, 3*n)
	put := func(i int, r, g, bl float32) { out[i], out[n+i], out[2*n+i] = r, g, bl }
	switch s := src.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w]
			for x, u := range row {
				v := float32(u) / 255
				put(y*w+x, v, v, v)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+4*w]
			for x := 0; x < w; x++ {
				put(y*w+x, float32(row[4*x])/255, float32(row[4*x+1])/255, float32(row[4*x+2])/255)
			}
		}
	default:
		deep := false
		switch src.(type) {
		case *image.Gray16, *image.RGBA64, *image.NRGBA64:
			deep = true
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBA64Model.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				if deep {
					put(y*w+x, float32(c.R)/65535, float32(c.G)/65535, float32(c.B)/65535)
				} else {
					put(y*w+x, float32(c.R>>8)/255, float32(c.G>>8)/255, float32(c.B>>8)/255)
				}
			}
		}
	}
	return out
}

// ReadImage reads a PNG or JPEG file as an Image with the given number of channels (0 = the file's own);
// see DecodeImage for the conversion rules.
func ReadImage(path string, channels int, opts ...DecodeOption) (*Image, error) {
	src, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	img, err := DecodeImage(src, channels, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return img, nil
}

// ReadPNG reads a PNG (or JPEG) file with its own number of channels: 1 for greyscale, 3 otherwise.
func ReadPNG(path string) (*Image, error) { return ReadImage(path, 0) }

// LoadImage reads an image file and makes it a c×h×w model input: colour conversion as in DecodeImage, then
// (with the CenterCrop option) a centred crop to the h:w aspect ratio, then Resize (or, with the PILBicubic
// option, ResizePILBicubic) to h×w.
func LoadImage(path string, c, h, w int, opts ...DecodeOption) (*Image, error) {
	img, _, err := LoadImageFramed(path, c, h, w, opts...)
	return img, err
}

// LoadImageFramed is LoadImage that also returns the framing it applied, so that a mask or label map drawn on
// the same picture can be brought to the model's grid the same way (Framing.ReadMask, Framing.LabelMask).
func LoadImageFramed(path string, c, h, w int, opts ...DecodeOption) (*Image, Framing, error) {
	if err := checkSize(c, h, w); err != nil {
		return nil, Framing{}, err
	}
	img, err := ReadImage(path, c, opts...)
	if err != nil {
		return nil, Framing{}, err
	}
	f, err := NewFraming(img.H, img.W, h, w, hasOption(opts, CenterCrop))
	if err != nil {
		return nil, Framing{}, fmt.Errorf("%s: %w", path, err)
	}
	if f.Crop.Dx() != img.W || f.Crop.Dy() != img.H {
		img = cropImage(img, f.Crop)
	}
	if hasOption(opts, PILBicubic) {
		img, err = ResizePILBicubic(img, h, w)
	} else {
		img, err = Resize(img, h, w)
	}
	if err != nil {
		return nil, Framing{}, err
	}
	return img, f, nil
}

// CenterCropAspect returns the largest centred crop of img with the aspect ratio h:w.
func CenterCropAspect(img *Image, h, w int) (*Image, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("imageio: invalid aspect %d:%d", h, w)
	}
	return cropToAspect(img, h, w), nil
}

func cropToAspect(img *Image, h, w int) *Image {
	return cropImage(img, centerCrop(img.H, img.W, h, w))
}

// cropImage returns the part r of img (r lies in img).
func cropImage(img *Image, r image.Rectangle) *Image {
	ch, cw := r.Dy(), r.Dx()
	out := &Image{C: img.C, H: ch, W: cw, Pix: make([]float32, img.C*ch*cw)}
	for c := 0; c < img.C; c++ {
		for y := 0; y < ch; y++ {
			copy(out.Pix[(c*ch+y)*cw:(c*ch+y+1)*cw], img.Pix[(c*img.H+r.Min.Y+y)*img.W+r.Min.X:])
		}
	}
	return out
}
