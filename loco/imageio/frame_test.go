package imageio

import (
	"image"
	"image/color"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// selectionPicture is a w×h picture, black except the columns x0 ≤ x < x1 of rows y0 ≤ y < y1 (white).
func selectionPicture(w, h, x0, y0, x1, y1 int) *image.Gray {
	pic := image.NewGray(image.Rect(0, 0, w, h))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			pic.SetGray(x, y, color.Gray{255})
		}
	}
	return pic
}

// maskCols returns, for a 1-channel mask, the columns that are inside in row y.
func maskCols(m *Mask, y int) []int {
	var cols []int
	for x := 0; x < m.W; x++ {
		if m.In[y*m.W+x] {
			cols = append(cols, x)
		}
	}
	return cols
}

// A mask drawn on a non-square photo lands on the same model pixels as the photo's content: it goes through
// the photo's centre crop and resize, at full or at reduced resolution, from a file or a label map.
func TestMaskFollowsTheImageCrop(t *testing.T) {
	dir := t.TempDir()
	// A 16×8 (width×height) photo whose columns 6 and 7 are bright: the user selects exactly them.
	photo := image.NewGray(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		photo.SetGray(6, y, color.Gray{255})
		photo.SetGray(7, y, color.Gray{255})
	}
	photoPath := filepath.Join(dir, "photo.png")
	writeTestPNG(t, photoPath, photo)
	img, f, err := LoadImageFramed(photoPath, 1, 4, 4, CenterCrop)
	if err != nil {
		t.Fatal(err)
	}
	if f.Crop != image.Rect(4, 0, 12, 8) || f.SrcW != 16 || f.SrcH != 8 || f.H != 4 || f.W != 4 {
		t.Fatalf("framing %+v, want the centred 8×8 crop at x = 4 resized to 4×4", f)
	}
	// The bright columns 6, 7 are columns 2, 3 of the crop: column 1 of the 4×4 image.
	var bright []int
	for x := 0; x < 4; x++ {
		if img.At(0, 0, x) > 0 {
			bright = append(bright, x)
		}
	}
	if !slices.Equal(bright, []int{1}) {
		t.Fatalf("bright columns of the framed photo: %v, want [1]", bright)
	}

	full := filepath.Join(dir, "mask-full.png") // drawn on the photo, same size
	writeTestPNG(t, full, selectionPicture(16, 8, 6, 0, 8, 8))
	half := filepath.Join(dir, "mask-half.png") // drawn at half resolution
	writeTestPNG(t, half, selectionPicture(8, 4, 3, 0, 4, 4))
	for _, path := range []string{full, half} {
		m, err := f.ReadMask(path, MaskNearest)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if m.H != 4 || m.W != 4 {
			t.Fatalf("%s: framed mask is %d×%d", filepath.Base(path), m.W, m.H)
		}
		for y := 0; y < 4; y++ {
			if got := maskCols(m, y); !slices.Equal(got, bright) {
				t.Errorf("%s row %d: mask columns %v, the photo's selected content is at %v", filepath.Base(path), y, got, bright)
			}
		}
	}
	// Columns 12–15 of the photo lie outside the crop: framed, that selection is empty, where the stretched
	// mask of the old behaviour selected model column 3.
	outside := selectionPicture(16, 8, 12, 0, 16, 8)
	if m, err := maskFromImage(outside, &f, MaskNearest); err != nil || m.Count() != 0 {
		t.Errorf("mask outside the crop: %v, %v; want an empty mask", m, err)
	}
	if st, _ := pictureMask(outside).Resize(4, 4); !slices.Equal(maskCols(st, 0), []int{3}) {
		t.Errorf("stretched mask columns %v (test premise: [3])", maskCols(st, 0))
	}

	// A label map drawn on the photo follows the same crop.
	lm := &LabelMap{H: 8, W: 16, Labels: make([]uint8, 8*16)}
	for y := 0; y < 8; y++ {
		lm.Labels[y*16+6], lm.Labels[y*16+7] = 13, 13 // hair
	}
	m, err := f.LabelMask(lm, "hair")
	if err != nil {
		t.Fatal(err)
	}
	if got := maskCols(m, 2); !slices.Equal(got, bright) {
		t.Errorf("label map: hair at columns %v, want %v", got, bright)
	}

	// A mask drawn on the model's square frame is only resized.
	square := filepath.Join(dir, "mask-square.png")
	writeTestPNG(t, square, selectionPicture(8, 8, 0, 0, 2, 8))
	if m, err := f.ReadMask(square, MaskNearest); err != nil || !slices.Equal(maskCols(m, 0), []int{0}) {
		t.Errorf("square mask: %v, %v; want column 0", m, err)
	}
}

// A mask with neither the photo's nor the model's aspect ratio is refused with both sizes and the fix named,
// and the plain readers never stretch a mask.
func TestMaskAspectMismatchRefused(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFraming(480, 640, 256, 256, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.Crop != image.Rect(80, 0, 560, 480) {
		t.Fatalf("crop %v", f.Crop)
	}
	odd := filepath.Join(dir, "odd.png")
	writeTestPNG(t, odd, selectionPicture(300, 100, 0, 0, 10, 10))
	_, err = f.ReadMask(odd, MaskNearest)
	for _, want := range []string{"odd.png", "300×100", "640×480", "256×256", "stretching", "draw it on the image"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mask of a third aspect ratio: error %v does not mention %q", err, want)
		}
	}
	// The plain readers: a 640×480 mask for a 256×256 model is not stretched.
	wide := filepath.Join(dir, "wide.png")
	writeTestPNG(t, wide, selectionPicture(640, 480, 0, 0, 10, 10))
	_, err = MaskFromPNG(wide, 256, 256)
	for _, want := range []string{"640×480", "256×256", "stretching", "imageio.Framing"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("MaskFromPNG of a 4:3 mask for a square model: error %v does not mention %q", err, want)
		}
	}
	lm := &LabelMap{H: 480, W: 640, Labels: make([]uint8, 480*640)}
	if _, err := MaskFromLabelMap(lm, 256, 256, "background"); err == nil || !strings.Contains(err.Error(), "stretching") {
		t.Errorf("MaskFromLabelMap of a 4:3 map for a square model: %v", err)
	}
	// One pixel of rounding is tolerated: 641×480 is a 4:3 mask.
	nearly := &Mask{C: 1, H: 480, W: 641, In: make([]bool, 480*641)}
	if m, err := f.Mask(nearly); err != nil || m.H != 256 || m.W != 256 {
		t.Errorf("641×480 mask for a 640×480 photo: %v", err)
	}
	// Without cropping the photo cannot be framed.
	if _, err := NewFraming(480, 640, 256, 256, false); err == nil || !strings.Contains(err.Error(), "CenterCrop") {
		t.Errorf("NewFraming without crop: %v", err)
	}
	if err := (Framing{SrcH: 4, SrcW: 4, Crop: image.Rect(0, 0, 5, 4), H: 2, W: 2}).check(); err == nil {
		t.Error("a crop outside the picture was accepted")
	}
}

// The authors' Pillow-bicubic mask resampling is applied to the cropped region.
func TestFramedPILMask(t *testing.T) {
	pic := selectionPicture(24, 12, 8, 3, 11, 7)
	f, err := NewFraming(12, 24, 6, 6, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := maskFromImage(pic, &f, MaskPILBicubicNonzero)
	if err != nil {
		t.Fatal(err)
	}
	crop := image.NewGray(image.Rect(0, 0, 12, 12))
	for y := 0; y < 12; y++ {
		copy(crop.Pix[y*12:(y+1)*12], pic.Pix[y*pic.Stride+6:])
	}
	want := pilMask(crop, 6, 6)
	if !slices.Equal(got.In, want.In) || got.Count() == 0 {
		t.Errorf("framed Pillow mask %v, want %v", got.In, want.In)
	}
}
