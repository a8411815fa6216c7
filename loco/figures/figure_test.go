package figures

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/loco/imageio"
)

// gradient returns a c×h×w image whose value at (y, x) is −1 + 2·(y·w+x)/(h·w−1).
func gradient(t *testing.T, c, h, w int) *imageio.Image {
	t.Helper()
	img, err := imageio.NewImage(c, h, w)
	if err != nil {
		t.Fatal(err)
	}
	for ch := range c {
		for y := range h {
			for x := range w {
				img.Set(ch, y, x, -1+2*float32(y*w+x)/float32(h*w-1))
			}
		}
	}
	return img
}

// grey is the grey value of img at (x, y).
func grey(img image.Image, x, y int) uint8 {
	return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
}

// findMagnified returns the top-left corner of pic drawn s times magnified in img: the first pixel where the
// s×s block has pic's (0,0) value and the next blocks right and down have the values of (0,1) and (1,0).
func findMagnified(img image.Image, pic *imageio.Image, s int) (image.Point, bool) {
	v00, v01, v10 := imageio.ToUint8(pic.At(0, 0, 0)), imageio.ToUint8(pic.At(0, 0, 1)), imageio.ToUint8(pic.At(0, 1, 0))
	b := img.Bounds()
	for y := b.Min.Y; y+s < b.Max.Y; y++ {
		for x := b.Min.X; x+s < b.Max.X; x++ {
			if grey(img, x, y) != v00 || grey(img, x+s-1, y+s-1) != v00 || grey(img, x+s, y) != v01 || grey(img, x, y+s) != v10 {
				continue
			}
			if x > b.Min.X && grey(img, x-1, y) == v00 {
				continue
			}
			return image.Pt(x, y), true
		}
	}
	return image.Point{}, false
}

// findPicture returns the first non-white pixel in the rectangle r.
func findPicture(img image.Image, r image.Rectangle) (image.Point, bool) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := color.GrayModel.Convert(img.At(x, y)).(color.Gray); c.Y != 255 {
				return image.Pt(x, y), true
			}
		}
	}
	return image.Point{}, false
}

func TestFigureRenderScalesPictures(t *testing.T) {
	pic := gradient(t, 1, 8, 8)
	f := NewFigure("").AddRow("", Cell{Image: pic})
	if got := f.scale(); got != 14 { // ⌈112/8⌉
		t.Errorf("automatic scale for 8×8 pictures = %d, want 14", got)
	}
	f.Scale = 3
	img, err := f.Render()
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	// No title, no label, one 24×24 picture: margins of 10 on every side.
	if b.Dx() != 24+2*margin || b.Dy() != 24+2*margin {
		t.Fatalf("figure is %dx%d, want %dx%d", b.Dx(), b.Dy(), 24+2*margin, 24+2*margin)
	}
	want := func(y, x int) uint8 { return imageio.ToUint8(pic.At(0, y, x)) }
	for _, p := range []struct{ y, x int }{{0, 0}, {0, 7}, {3, 5}, {7, 7}} {
		for dy := range 3 {
			for dx := range 3 {
				got := color.GrayModel.Convert(img.At(margin+3*p.x+dx, margin+3*p.y+dy)).(color.Gray).Y
				if got != want(p.y, p.x) {
					t.Fatalf("pixel (%d,%d) of the magnified picture = %d, want %d (source (%d,%d))",
						margin+3*p.x+dx, margin+3*p.y+dy, got, want(p.y, p.x), p.y, p.x)
				}
			}
		}
	}
	if c := color.GrayModel.Convert(img.At(2, 2)).(color.Gray).Y; c != 255 {
		t.Errorf("margin pixel = %d, want white", c)
	}
}

func TestFigureLayoutWithTextAndColumns(t *testing.T) {
	a, b := gradient(t, 1, 16, 16), gradient(t, 3, 16, 16)
	f := NewFigure("a title")
	f.Columns = []string{"first", "second column\nheader"}
	f.AddRow("row one", Cell{Image: a, Caption: "λ = −8"}, Cell{Image: b, Caption: "λ = 8"})
	f.AddRow("row two\nlonger label", Cell{Image: a}, Cell{Caption: "no picture"})
	img, err := f.Render()
	if err != nil {
		t.Fatal(err)
	}
	// Pictures are 16·7 = 112 px; two rows of them plus text must fit, and the label column pushes them right.
	bnd := img.Bounds()
	if bnd.Dx() < 2*112+margin*2 || bnd.Dy() < 2*112+margin*2 {
		t.Fatalf("figure %v is too small for two rows of two 112-px pictures", bnd)
	}
	p, ok := findMagnified(img, a, 7)
	if !ok {
		t.Fatal("the first picture, magnified 7 times, is not in the figure")
	}
	// It is right of the row labels and below the title and the two-line column headers.
	if p.X < margin+40 || p.Y < margin+TitleSize+2*CaptionSize {
		t.Errorf("first picture at %v overlaps the labels or headers", p)
	}
	// The picture of the second row is in the same column, one row (112 px + caption) lower.
	if _, ok := findMagnified(subImage(img, image.Rect(p.X-1, p.Y+112+1, p.X+113, bnd.Dy())), a, 7); !ok {
		t.Error("the second row's picture is not below the first")
	}
	// Text was drawn: some dark pixels in the title line.
	if _, ok := findPicture(img, image.Rect(0, 0, bnd.Dx(), margin+TitleSize)); !ok {
		t.Error("no title text drawn")
	}
}

// subImage returns the part r of img.
func subImage(img image.Image, r image.Rectangle) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

func TestFigureErrors(t *testing.T) {
	if _, err := NewFigure("empty").Render(); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("Render of an empty figure = %v, want a 'no rows' error", err)
	}
	bad := &imageio.Image{C: 1, H: 4, W: 4, Pix: make([]float32, 3)}
	_, err := NewFigure("bad").AddRow("r", Cell{Image: bad}).Render()
	if err == nil || !strings.Contains(err.Error(), "row 0") {
		t.Errorf("Render with an inconsistent image = %v, want an error naming row 0", err)
	}
}

func TestRowWithoutCaptions(t *testing.T) {
	r := Row{Label: "l", Cells: []Cell{{Caption: "a"}, {Image: gradient(t, 1, 2, 2), Caption: "b"}}}
	got := r.WithoutCaptions()
	if got.Label != "l" || got.Cells[0].Caption != "" || got.Cells[1].Caption != "" || got.Cells[1].Image == nil {
		t.Errorf("WithoutCaptions = %+v", got)
	}
	if r.Cells[1].Caption != "b" {
		t.Error("WithoutCaptions changed the original row")
	}
}
