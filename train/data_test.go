package train

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/loco/imageio"
)

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFolder: colour images of another aspect are centre-cropped, resized and turned to luminance for a
// 1-channel model; subfolders count; other files are ignored.
func TestOpenFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// 48×32, the centre 32×32 white, 8 red columns on each side (cropped away).
	img := image.NewNRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			c := color.NRGBA{255, 255, 255, 255}
			if x < 8 || x >= 40 {
				c = color.NRGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	writePNG(t, filepath.Join(dir, "a.png"), img)
	writePNG(t, filepath.Join(dir, "sub", "b.png"), image.NewGray(image.Rect(0, 0, 8, 8))) // black
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := OpenData(dir, 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || d.Dim() != 256 {
		t.Fatalf("%d images of %d values, want 2 of 256", d.Len(), d.Dim())
	}
	for i, v := range d.Image(0) {
		if v != 1 {
			t.Fatalf("image a.png value %d = %g, want 1 (white centre crop)", i, v)
		}
	}
	for _, v := range d.Image(1) {
		if v != -1 {
			t.Fatalf("image sub/b.png value %g, want −1 (black, enlarged)", v)
		}
	}
	rgb, err := OpenData(dir, 3, 16)
	if err != nil {
		t.Fatal(err)
	}
	if rgb.Dim() != 3*256 || rgb.Image(1)[2*256] != -1 {
		t.Errorf("3-channel data set: dim %d", rgb.Dim())
	}
}

func TestOpenFashionMNIST(t *testing.T) {
	if _, err := os.Stat(fashionmnist.Dir()); err != nil {
		t.Skipf("Fashion-MNIST is not installed (%v): scripts/setup.sh installs it", err)
	}
	d, err := OpenData(FashionMNIST, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 60000 || d.Dim() != 1024 {
		t.Fatalf("%d images of %d values, want 60000 of 1024", d.Len(), d.Dim())
	}
	img := d.Image(0)
	for i := range 32 { // the 2-pixel border is background
		if img[i] != -1 || img[32*31+i] != -1 || img[32*i] != -1 {
			t.Fatalf("border pixel not −1")
		}
	}
	// Another size and 3 channels: resized (2×2 means) and repeated.
	small, err := fit(&imageio.Image{C: 1, H: 32, W: 32, Pix: img}, 3, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(small) != 3*256 || small[0] != -1 || small[256+100] != small[100] || small[2*256+100] != small[100] {
		t.Errorf("fit to 3×16×16: %d values", len(small))
	}
	want := (img[2*32*3+2*4] + img[2*32*3+2*4+1] + img[(2*3+1)*32+2*4] + img[(2*3+1)*32+2*4+1]) / 4
	if got := small[3*16+4]; got != want {
		t.Errorf("resized pixel (3, 4) = %g, want the mean of its 2×2 block %g", got, want)
	}
}
