package figures

import (
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/loco/imageio"
)

// TestLoadImageFramed: a mask drawn on a 64×48 photo, framed as the photo was, selects the same content at the
// model's 32×32: the photo's columns 40–43 are model columns 22–23 after the centred crop (columns 8–55) and the
// resize.
func TestLoadImageFramed(t *testing.T) {
	s := session(t)
	dir := t.TempDir()
	write := func(name string, fill func(x int) uint8) string {
		img := image.NewGray(image.Rect(0, 0, 64, 48))
		for y := range 48 {
			for x := range 64 {
				img.SetGray(x, y, color.Gray{Y: fill(x)})
			}
		}
		path := filepath.Join(dir, name)
		if err := imageio.WritePNGImage(path, img); err != nil {
			t.Fatal(err)
		}
		return path
	}
	photo := write("photo.png", func(x int) uint8 { return uint8(4 * x) })
	maskPath := write("mask.png", func(x int) uint8 {
		if x >= 40 && x < 44 {
			return 255
		}
		return 0
	})
	x0, framing, err := s.LoadImageFramed(photo)
	if err != nil {
		t.Fatal(err)
	}
	if len(x0) != s.Dim() || framing.Crop != image.Rect(8, 0, 56, 48) {
		t.Fatalf("%d values, crop %v; want %d values and the centred 48×48 crop", len(x0), framing.Crop, s.Dim())
	}
	m, err := framing.ReadMask(maskPath, imageio.MaskNearest)
	if err != nil {
		t.Fatal(err)
	}
	for x := range 32 {
		if in := m.In[x]; in != (x == 22 || x == 23) {
			t.Errorf("model column %d inside = %v", x, in)
		}
	}
}

// TestSampleGridBounds: a grid that would not fit in memory is refused before any sample is drawn.
func TestSampleGridBounds(t *testing.T) {
	s := session(t)
	for _, c := range [][2]int{{1_000_000, 1}, {1, 10_000}, {0, 1}, {1, 0}} {
		if _, err := s.SampleGrid(c[0], 0, c[1]); err == nil || !strings.Contains(err.Error(), "must lie in [1, 100] and [1, 16]") {
			t.Errorf("SampleGrid(rows %d, scale %d): error %v", c[0], c[1], err)
		}
	}
	// In range one by one, but together a picture of 54400×5440 pixels (11 rows of the 10 classes of 32×32, with
	// 2 pixels between them, magnified 16 times), refused before any sample is drawn.
	if _, err := s.SampleGrid(99, 0, 16); err == nil || !strings.Contains(err.Error(), "about 5440×54400 pixels, above the limit of 64 megapixels: lower the rows or the scale") {
		t.Errorf("SampleGrid(rows 99, scale 16): error %v", err)
	}
}
