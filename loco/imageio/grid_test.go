package imageio

import "testing"

func constImage(c, h, w int, v float32) *Image {
	img := &Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func TestStripLOCOSize(t *testing.T) {
	var imgs []*Image
	for k := 0; k < 5; k++ {
		imgs = append(imgs, constImage(3, 256, 256, float32(k)/5))
	}
	s, err := Strip(imgs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.W != 1292 || s.H != 260 || s.C != 3 {
		t.Fatalf("strip is %d×%d×%d, want 3×260×1292", s.C, s.H, s.W)
	}
	// Corners and gaps are black padding; image k starts at x = 2 + 258k, y = 2.
	for _, p := range [][2]int{{0, 0}, {1, 1291}, {259, 0}, {100, 258}, {100, 259}, {100, 1290}, {258, 100}} {
		if v := s.At(1, p[0], p[1]); v != -1 {
			t.Errorf("padding at (y=%d, x=%d) = %v, want −1", p[0], p[1], v)
		}
	}
	for k := 0; k < 5; k++ {
		x0 := 2 + 258*k
		for _, p := range [][2]int{{2, x0}, {257, x0 + 255}} {
			if v := s.At(2, p[0], p[1]); v != float32(k)/5 {
				t.Errorf("image %d at (y=%d, x=%d) = %v, want %v", k, p[0], p[1], v, float32(k)/5)
			}
		}
	}
}

func TestGrid(t *testing.T) {
	var imgs []*Image
	for k := 0; k < 5; k++ {
		imgs = append(imgs, constImage(1, 4, 3, float32(k)/10))
	}
	g, err := Grid(imgs, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	// cols 2, rows 3: width 2·(3+1)+1 = 9, height 3·(4+1)+1 = 16.
	if g.W != 9 || g.H != 16 {
		t.Fatalf("grid is %d×%d, want 9×16", g.W, g.H)
	}
	// Image 3 is row 1, column 1: top-left at (y=6, x=5). Image 4 is row 2, column 0; cell (2,1) is empty.
	if g.At(0, 6, 5) != 0.3 || g.At(0, 11, 1) != 0.4 || g.At(0, 11, 5) != -1 {
		t.Errorf("grid cells: %v %v %v", g.At(0, 6, 5), g.At(0, 11, 1), g.At(0, 11, 5))
	}
	if _, err := Grid(append(imgs, constImage(3, 4, 3, 0)), 2, 1); err == nil {
		t.Error("mixed channel counts accepted")
	}
	if _, err := Strip(nil, 2); err == nil {
		t.Error("empty strip accepted")
	}
	w, err := GridWithPadValue(imgs[:1], 1, 1, 1)
	if err != nil || w.W != 5 || w.H != 6 || w.At(0, 0, 0) != 1 {
		t.Errorf("white padding: %v %v", w, err)
	}
}
