package imageio

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"sync/atomic"
)

// DefaultMaxPixels is the largest picture, in pixels (width × height), that the file readers (ReadImage,
// LoadImage, the mask and label-map readers) decode unless SetMaxPixels raises it: 64 megapixels, more than
// an 8K frame (33 MP) or most cameras' photos, while decoding one takes a few GB at most. The models work
// at a few hundred pixels a side, so a larger picture is almost always a mistake or a hostile file.
const DefaultMaxPixels = 64_000_000

// maxPixels holds the limit set by SetMaxPixels; 0 means DefaultMaxPixels.
var maxPixels atomic.Int64

// SetMaxPixels sets the largest picture (width × height) the file readers decode and returns the previous
// limit; n ≤ 0 restores DefaultMaxPixels. It is safe for concurrent use; it applies to the whole process.
func SetMaxPixels(n int64) (previous int64) {
	if n < 0 {
		n = 0
	}
	old := maxPixels.Swap(n)
	if old == 0 {
		return DefaultMaxPixels
	}
	return old
}

// MaxPixels returns the current limit of SetMaxPixels.
func MaxPixels() int64 {
	if n := maxPixels.Load(); n > 0 {
		return n
	}
	return DefaultMaxPixels
}

// ErrImageTooLarge is what errors.Is finds in a *TooLargeError.
var ErrImageTooLarge = errors.New("picture larger than the pixel limit")

// TooLargeError is returned when a picture's header declares more pixels than MaxPixels allows. The file is
// refused from its header, before any pixel is decoded.
type TooLargeError struct {
	// Path is the file; Format the decoder's name ("png", "jpeg").
	Path, Format string
	// W and H are the declared width and height.
	W, H int
	// DecodeBytes estimates the memory decoding would take (the decoder's buffer and the float32 copies).
	DecodeBytes int64
	// Limit is MaxPixels when the file was refused.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("imageio: %s declares %d×%d pixels (%s, %s; decoding it would take about %s), above the limit "+
		"of %s: downscale the picture (the models work at a few hundred pixels a side), or raise the limit "+
		"(imageio.SetMaxPixels)", e.Path, e.W, e.H, megapixels(int64(e.W)*int64(e.H)), e.Format,
		humanBytes(e.DecodeBytes), megapixels(e.Limit))
}

// Is reports whether target is ErrImageTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrImageTooLarge }

func megapixels(n int64) string {
	if v := float64(n) / 1e6; v < 100 {
		return fmt.Sprintf("%.3g megapixels", v)
	}
	return fmt.Sprintf("%.0f megapixels", float64(n)/1e6)
}

// humanBytes writes a byte count in decimal units (kB, MB, GB, TB).
func humanBytes(n int64) string {
	v := float64(n)
	for _, unit := range []string{"B", "kB", "MB", "GB"} {
		if v < 1000 {
			return fmt.Sprintf("%.3g %s", v, unit)
		}
		v /= 1000
	}
	return fmt.Sprintf("%.3g TB", v)
}

// decoderBytesPerPixel is what Go's decoder allocates per pixel for a colour model.
func decoderBytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// checkDeclared refuses a picture whose header declares more pixels than MaxPixels (or a non-positive size).
func checkDeclared(path, format string, cfg image.Config) error {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("imageio: %s declares a %d×%d picture: not a usable image", path, cfg.Width, cfg.Height)
	}
	px, limit := int64(cfg.Width)*int64(cfg.Height), MaxPixels()
	if px <= limit {
		return nil
	}
	// Decoding keeps the decoder's buffer, three float32 planes (decodeRGB) and the float32 image.
	per := decoderBytesPerPixel(cfg.ColorModel) + 12 + 12
	return &TooLargeError{Path: path, Format: format, W: cfg.Width, H: cfg.Height, DecodeBytes: px * per, Limit: limit}
}

// decodeFile opens and decodes an image file (PNG or JPEG); see decode.
func decodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	defer f.Close()
	return decode(f, path)
}

// decode decodes a PNG or JPEG picture; name names it in errors. The header is read first and a picture
// larger than MaxPixels is refused before any pixel is decoded, so memory stays bounded whatever the file
// declares.
func decode(r io.ReadSeeker, name string) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("imageio: decoding %s (PNG or JPEG expected): %w", name, err)
	}
	if err := checkDeclared(name, format, cfg); err != nil {
		return nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	src, _, err := image.Decode(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("imageio: decoding %s (PNG or JPEG expected): %w", name, err)
	}
	return src, nil
}
