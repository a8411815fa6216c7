package imageio

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTestPNG(t *testing.T, path string, pic image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, pic); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestToUint8(t *testing.T) {
	for _, tc := range []struct {
		x    float32
		want uint8
	}{{-1, 0}, {1, 255}, {0, 128}, {-2, 0}, {3, 255}, {float32(2*100.0/255 - 1), 100}, {-0.998, 0}, {-0.996, 1}} {
		if got := ToUint8(tc.x); got != tc.want {
			t.Errorf("ToUint8(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
	var nan float32
	nan = nan / nan
	if got := ToUint8(nan); got != 0 {
		t.Errorf("ToUint8(NaN) = %d, want 0", got)
	}
}

// Every 8-bit value survives decode → encode unchanged.
func TestByteRoundTrip(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 256, 1))
	for i := range g.Pix {
		g.Pix[i] = uint8(i)
	}
	img, err := DecodeImage(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	if img.C != 1 || img.H != 1 || img.W != 256 {
		t.Fatalf("shape %v", img.Shape())
	}
	if img.Pix[0] != -1 || img.Pix[255] != 1 {
		t.Errorf("0 → %v, 255 → %v; want −1, 1", img.Pix[0], img.Pix[255])
	}
	for i, x := range img.Pix {
		if ToUint8(x) != uint8(i) {
			t.Fatalf("value %d came back as %d", i, ToUint8(x))
		}
	}
}

func TestWriteReadPNG(t *testing.T) {
	dir := t.TempDir()
	img := &Image{C: 3, H: 2, W: 3, Pix: []float32{
		-1, 0, 1, 0.5, -0.5, 0.25, // R
		1, 1, 1, -1, -1, -1, // G
		0, 0, 0, 0, 0, 2, // B (2 clamps to 1)
	}}
	path := filepath.Join(dir, "a.png")
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.C != 3 || back.H != 2 || back.W != 3 {
		t.Fatalf("read back shape %v", back.Shape())
	}
	for i, x := range img.Pix {
		if ToUint8(back.Pix[i]) != ToUint8(x) {
			t.Errorf("element %d: wrote %d, read %d", i, ToUint8(x), ToUint8(back.Pix[i]))
		}
	}
	// The file is an opaque 8-bit RGB PNG with the expected bytes.
	f, _ := os.Open(path)
	defer f.Close()
	pic, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := color.NRGBAModel.Convert(pic.At(2, 1)).(color.NRGBA); got != (color.NRGBA{159, 0, 255, 255}) {
		t.Errorf("pixel (2,1) = %v, want {159 0 255 255}", got)
	}
	// No temporary file is left behind, and an overwrite works.
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after two writes, want 1", len(entries))
	}
}

func TestWritePNGFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	bad := &Image{C: 2, H: 1, W: 1, Pix: []float32{0, 0}}
	if err := WritePNG(filepath.Join(dir, "x.png"), bad); err == nil {
		t.Error("2-channel image written without error")
	}
	if err := WritePNG(filepath.Join(dir, "missing", "x.png"), &Image{C: 1, H: 1, W: 1, Pix: []float32{0}}); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %d files", len(entries))
	}
}

func TestDecodeChannels(t *testing.T) {
	rgb := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	rgb.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	rgb.SetNRGBA(1, 0, color.NRGBA{10, 20, 30, 0}) // transparent: alpha is dropped, colour kept

	img, err := DecodeImage(rgb, 0)
	if err != nil {
		t.Fatal(err)
	}
	if img.C != 3 {
		t.Fatalf("native channels %d, want 3", img.C)
	}
	if ToUint8(img.At(0, 0, 1)) != 10 || ToUint8(img.At(1, 0, 1)) != 20 || ToUint8(img.At(2, 0, 1)) != 30 {
		t.Errorf("alpha not dropped correctly: %v", img.Pix)
	}

	_, err = DecodeImage(rgb, 1)
	if err == nil || !strings.Contains(err.Error(), "1 channel") || !strings.Contains(err.Error(), "Convert") {
		t.Errorf("RGB → 1 channel without Convert: error %v, want one that says 1 channel was expected and names Convert", err)
	}
	grey, err := DecodeImage(rgb, 1, Convert)
	if err != nil {
		t.Fatal(err)
	}
	// Luminance of pure red is 0.299.
	if want := float32(0.299*2 - 1); abs32(grey.Pix[0]-want) > 1e-6 {
		t.Errorf("luminance of red = %v, want %v", grey.Pix[0], want)
	}
	want := float32((0.299*10+0.587*20+0.114*30)/255*2 - 1)
	if abs32(grey.Pix[1]-want) > 1e-6 {
		t.Errorf("luminance of (10,20,30) = %v, want %v", grey.Pix[1], want)
	}

	// A colour image whose pixels are all grey is accepted as greyscale without Convert.
	g := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	g.SetNRGBA(0, 0, color.NRGBA{77, 77, 77, 255})
	if img, err := DecodeImage(g, 1); err != nil || ToUint8(img.Pix[0]) != 77 {
		t.Errorf("grey RGB → 1 channel: %v, %v", img, err)
	}

	// Grey → RGB replicates.
	gr := image.NewGray(image.Rect(0, 0, 1, 1))
	gr.Pix[0] = 200
	if img, err := DecodeImage(gr, 3); err != nil || img.C != 3 || ToUint8(img.Pix[0]) != 200 || ToUint8(img.Pix[2]) != 200 {
		t.Errorf("grey → RGB: %v, %v", img, err)
	}
	if _, err := DecodeImage(gr, 4); err == nil {
		t.Error("4 channels accepted")
	}
}

func TestDecodePaletteAnd16Bit(t *testing.T) {
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.Gray{0}, color.Gray{128}})
	pal.Pix[1] = 1
	if NativeChannels(pal) != 1 {
		t.Error("grey palette not seen as greyscale")
	}
	img, err := DecodeImage(pal, 0)
	if err != nil || img.C != 1 || ToUint8(img.Pix[1]) != 128 {
		t.Errorf("palette decode: %v %v", img, err)
	}
	cpal := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.RGBA{0, 0, 255, 255}})
	if img, err := DecodeImage(cpal, 0); err != nil || img.C != 3 || img.Pix[2] != 1 || img.Pix[0] != -1 {
		t.Errorf("colour palette decode: %v %v", img, err)
	}
	g16 := image.NewGray16(image.Rect(0, 0, 1, 1))
	g16.SetGray16(0, 0, color.Gray16{Y: 32768})
	img, err = DecodeImage(g16, 0)
	if err != nil || abs32(img.Pix[0]-float32(32768.0/65535*2-1)) > 1e-6 {
		t.Errorf("16-bit decode: %v %v", img, err)
	}
}

func TestLoadImage(t *testing.T) {
	dir := t.TempDir()
	pic := image.NewGray(image.Rect(0, 0, 8, 4)) // 8 wide, 4 high
	for x := 0; x < 8; x++ {
		for y := 0; y < 4; y++ {
			pic.SetGray(x, y, color.Gray{uint8(x * 30)})
		}
	}
	path := filepath.Join(dir, "wide.png")
	writeTestPNG(t, path, pic)
	if _, err := LoadImage(path, 1, 2, 2); err == nil || !strings.Contains(err.Error(), "CenterCrop") {
		t.Errorf("aspect change without CenterCrop: %v", err)
	}
	img, err := LoadImage(path, 1, 2, 2, CenterCrop)
	if err != nil {
		t.Fatal(err)
	}
	// The centre 4×4 crop holds columns 2…5 (60, 90, 120, 150); 2× area shrink averages pairs: 75, 135.
	if ToUint8(img.At(0, 0, 0)) != 75 || ToUint8(img.At(0, 1, 1)) != 135 {
		t.Errorf("crop+resize = %v, want 75 and 135", []uint8{ToUint8(img.Pix[0]), ToUint8(img.Pix[3])})
	}
	img, err = LoadImage(path, 3, 4, 8)
	if err != nil || img.C != 3 || img.W != 8 {
		t.Errorf("grey file as 3 channels: %v %v", img, err)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
