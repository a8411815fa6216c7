package imageio

import (
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMaskShapes(t *testing.T) {
	m, err := MaskRect(3, 8, 10, 2, 3, 5, 7) // rows 2..4, cols 3..6
	if err != nil {
		t.Fatal(err)
	}
	if m.Count() != 3*3*4 {
		t.Errorf("rect count %d, want 36", m.Count())
	}
	if !m.In[(1*8+2)*10+3] || m.In[(1*8+5)*10+3] || m.In[(1*8+2)*10+7] {
		t.Error("rect edges wrong (half-open [y0,y1)×[x0,x1))")
	}
	if got := m.Fraction(); got != 36.0/240 {
		t.Errorf("fraction %v", got)
	}
	c := m.Complement()
	if c.Count() != 240-36 || c.In[(1*8+2)*10+3] {
		t.Error("complement wrong")
	}
	f := m.Float32()
	if f[(0*8+3)*10+4] != 1 || f[0] != 0 {
		t.Error("Float32 wrong")
	}
	clipped, _ := MaskRect(1, 4, 4, -5, -5, 2, 100)
	if clipped.Count() != 8 {
		t.Errorf("clipped rect count %d, want 8", clipped.Count())
	}

	e, err := MaskEllipse(1, 9, 9, 4, 4, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Rows 2..6; row 4 spans x 1..7 (|dx| ≤ 3), rows 2 and 6 only x = 4, rows 3,5: (1/2)²+(dx/3)² ≤ 1 → |dx| ≤ 2.
	if e.Count() != 1+5+7+5+1 {
		t.Errorf("ellipse count %d, want 19", e.Count())
	}
	if !e.In[4*9+1] || e.In[4*9+0] || !e.In[2*9+4] || e.In[2*9+5] {
		t.Error("ellipse pixels wrong")
	}
	if _, err := MaskEllipse(1, 4, 4, 1, 1, 0, 1); err == nil {
		t.Error("zero radius accepted")
	}
	if _, err := MaskRect(0, 4, 4, 0, 0, 1, 1); err == nil {
		t.Error("zero channels accepted")
	}
}

func TestMaskExpandValidate(t *testing.T) {
	m, _ := MaskRect(1, 4, 4, 0, 0, 2, 2)
	e, err := m.Expand(3)
	if err != nil {
		t.Fatal(err)
	}
	if e.C != 3 || e.Count() != 12 || !e.In[2*16+0] {
		t.Errorf("expand: C=%d count=%d", e.C, e.Count())
	}
	if _, err := e.Expand(2); err == nil {
		t.Error("3 → 2 channels accepted")
	}
	if err := m.Validate(3, 4, 4); err != nil {
		t.Errorf("1-channel mask for a 3-channel model: %v", err)
	}
	big, _ := MaskRect(1, 64, 64, 0, 0, 8, 8)
	err = big.Validate(3, 32, 32)
	if err == nil || !strings.Contains(err.Error(), "mask is 64×64 but the model works at 32×32") {
		t.Errorf("size mismatch error = %v", err)
	}
	empty, _ := NewMask(1, 4, 4)
	if err := empty.Validate(1, 4, 4); !errors.Is(err, ErrEmptyMask) {
		t.Errorf("empty mask error = %v", err)
	}
	two, _ := NewMask(2, 4, 4)
	two.In[0] = true
	if err := two.Validate(3, 4, 4); err == nil {
		t.Error("2-channel mask accepted for a 3-channel model")
	}
	u, err := m.Union(func() *Mask { r, _ := MaskRect(3, 4, 4, 3, 3, 4, 4); return r }())
	if err != nil || u.C != 3 || u.Count() != 12+3 {
		t.Errorf("union: %v count %d", err, u.Count())
	}
	in, _ := m.Intersect(func() *Mask { r, _ := MaskRect(1, 4, 4, 1, 1, 4, 4); return r }())
	if in.Count() != 1 || !in.In[1*4+1] {
		t.Errorf("intersect count %d", in.Count())
	}
}

func TestMaskResizeNearest(t *testing.T) {
	// 4×4 with exactly pixel (1,3) and (2,0) inside. Down to 2×2, output (y,x) samples (2y, 2x): only (2,0)
	// is seen. Up to 8×8, each source pixel becomes a 2×2 block.
	m, _ := NewMask(1, 4, 4)
	m.In[1*4+3], m.In[2*4+0] = true, true
	d, err := m.Resize(2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d.Count() != 1 || !d.In[1*2+0] {
		t.Errorf("4→2 = %v, want only (1,0)", d.In)
	}
	u, _ := m.Resize(8, 8)
	if u.Count() != 8 || !u.In[2*8+6] || !u.In[3*8+7] || !u.In[4*8+0] || !u.In[5*8+1] {
		t.Errorf("4→8 count %d", u.Count())
	}
}

func TestMaskFromPNG(t *testing.T) {
	dir := t.TempDir()
	// 8×6 RGBA picture: a red 2×3 block (rows 1–2, cols 2–4) and one dim blue pixel at (5, 7); black elsewhere.
	pic := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	for y := 0; y < 6; y++ {
		for x := 0; x < 8; x++ {
			pic.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255})
		}
	}
	for y := 1; y <= 2; y++ {
		for x := 2; x <= 4; x++ {
			pic.SetNRGBA(x, y, color.NRGBA{200, 0, 0, 255})
		}
	}
	pic.SetNRGBA(7, 5, color.NRGBA{0, 0, 1, 255})
	path := filepath.Join(dir, "m.png")
	writeTestPNG(t, path, pic)

	m, err := MaskFromPNG(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.C != 1 || m.H != 6 || m.W != 8 || m.Count() != 7 || !m.In[1*8+2] || !m.In[5*8+7] || m.In[0] {
		t.Errorf("native mask: %d×%d count %d", m.H, m.W, m.Count())
	}
	// 6×8 → 3×4 samples rows 0,2,4 and cols 0,2,4,6: inside only (row 2, col 2) and (row 2, col 4).
	s, err := MaskFromPNG(path, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if s.Count() != 2 || !s.In[1*4+1] || !s.In[1*4+2] {
		t.Errorf("resized mask = %v", s.In)
	}
	// Round trip through WriteMaskPNG.
	out := filepath.Join(dir, "back.png")
	if err := WriteMaskPNG(out, m); err != nil {
		t.Fatal(err)
	}
	back, err := MaskFromPNG(out, 6, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.In {
		if m.In[i] != back.In[i] {
			t.Fatal("mask PNG round trip changed the mask")
		}
	}
	if _, err := MaskFromPNG(filepath.Join(dir, "nope.png"), 4, 4); err == nil {
		t.Error("missing file accepted")
	}
}

// The authors' loader (Pillow bicubic, then ≠ 0) gives a slightly dilated mask; nearest keeps the area.
func TestMaskPILBicubicDilates(t *testing.T) {
	c := loadPILCases(t)[4] // binary 64×64 → 32×32
	if c.Name != "binary" || c.OutH != 32 {
		t.Fatalf("unexpected case %s %d", c.Name, c.OutH)
	}
	in := pilInput(c.Name, c.InH, c.InW)
	pic := image.NewGray(image.Rect(0, 0, c.InW, c.InH))
	copy(pic.Pix, in)
	dir := t.TempDir()
	path := filepath.Join(dir, "b.png")
	writeTestPNG(t, path, pic)
	authors, err := ReadMask(path, 32, 32, MaskPILBicubicNonzero)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i, u := range c.Out {
		if u != 0 {
			want++
		}
		if authors.In[i] != (u != 0) {
			t.Fatalf("pixel %d: ours %v, Pillow byte %d", i, authors.In[i], u)
		}
	}
	near, _ := MaskFromPNG(path, 32, 32)
	if authors.Count() != want || authors.Count() <= near.Count() {
		t.Errorf("Pillow-style mask has %d pixels (Pillow %d), nearest %d: expected dilation", authors.Count(), want, near.Count())
	}
	// Every nearest pixel is inside the dilated mask.
	for i := range near.In {
		if near.In[i] && !authors.In[i] {
			t.Fatalf("nearest pixel %d not inside the dilated mask", i)
		}
	}
}

func TestLabelMapMask(t *testing.T) {
	// 4×4 labels: row 0 skin(1), row 1 l_eye(4), row 2 r_eye(5), row 3 hair(13).
	lm := &LabelMap{H: 4, W: 4, Labels: []uint8{1, 1, 1, 1, 4, 4, 4, 4, 5, 5, 5, 5, 13, 13, 13, 0}}
	m, err := MaskFromLabelMap(lm, 0, 0, "l_eye", "r_eye")
	if err != nil {
		t.Fatal(err)
	}
	if m.Count() != 8 || !m.In[4] || !m.In[11] || m.In[3] || m.In[12] {
		t.Errorf("eyes mask = %v", m.In)
	}
	h, _ := MaskFromLabelMap(lm, 2, 2, "hair") // samples rows 0,2 → no hair
	if h.Count() != 0 {
		t.Errorf("hair at 2×2 = %v, want empty (rows 0 and 2 sampled)", h.In)
	}
	h, _ = MaskFromLabelMap(lm, 8, 8, "hair")
	if h.Count() != 3*4 {
		t.Errorf("hair at 8×8 count %d, want 12", h.Count())
	}
	_, err = MaskFromLabelMap(lm, 0, 0, "leye")
	if err == nil || !strings.Contains(err.Error(), `"leye"`) || !strings.Contains(err.Error(), "l_eye") {
		t.Errorf("unknown class error = %v", err)
	}
	if _, err := MaskFromLabelMap(lm, 0, 0); err == nil {
		t.Error("no class accepted")
	}
	custom := &LabelMap{H: 1, W: 3, Labels: []uint8{0, 1, 2}, Classes: []string{"sky", "tower", "car"}}
	if m, err := MaskFromLabelMap(custom, 0, 0, "car"); err != nil || !m.In[2] || m.Count() != 1 {
		t.Errorf("custom classes: %v %v", m, err)
	}
	if CelebAMaskHQClasses[4] != "l_eye" || CelebAMaskHQClasses[13] != "hair" || len(CelebAMaskHQClasses) != 19 {
		t.Error("CelebAMask-HQ class order changed")
	}

	// From a greyscale PNG and a palette PNG.
	dir := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 4, 4))
	copy(g.Pix, lm.Labels)
	writeTestPNG(t, filepath.Join(dir, "g.png"), g)
	p := image.NewPaletted(image.Rect(0, 0, 4, 4), make(color.Palette, 19))
	for i := range p.Palette {
		p.Palette[i] = color.RGBA{uint8(i * 13), uint8(255 - i*13), 7, 255}
	}
	copy(p.Pix, lm.Labels)
	writeTestPNG(t, filepath.Join(dir, "p.png"), p)
	for _, name := range []string{"g.png", "p.png"} {
		read, err := ReadLabelMap(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := MaskFromLabelMap(read, 0, 0, "skin")
		if err != nil || m.Count() != 4 || !m.In[0] {
			t.Errorf("%s: skin mask %v %v", name, m, err)
		}
	}
	col := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	col.SetNRGBA(0, 0, color.NRGBA{1, 2, 3, 255})
	if _, err := LabelMapFromImage(col); err == nil {
		t.Error("coloured label map accepted")
	}
}

func TestCelebAMaskHQDir(t *testing.T) {
	root := t.TempDir()
	anno := filepath.Join(root, "CelebAMask-HQ-mask-anno", "2") // 4729/2000 = 2
	if err := os.MkdirAll(anno, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(class string, y0, x0, y1, x1 int) {
		pic := image.NewGray(image.Rect(0, 0, 16, 16))
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				pic.SetGray(x, y, color.Gray{255})
			}
		}
		writeTestPNG(t, filepath.Join(anno, "04729_"+class+".png"), pic)
	}
	write("l_eye", 4, 2, 6, 6)   // 2×4 at 16²
	write("r_eye", 4, 10, 6, 14) // 2×4
	write("hair", 0, 0, 2, 16)

	d := CelebAMaskHQ{Dir: root}
	if got := d.AnnotationPath(4729, "l_eye"); got != filepath.Join(anno, "04729_l_eye.png") {
		t.Errorf("path %s", got)
	}
	m, err := MaskFromCelebAMaskHQDir(root, 4729, 8, 8, "l_eye", "r_eye")
	if err != nil {
		t.Fatal(err)
	}
	// 16 → 8 samples even rows/cols: each eye becomes 1 row × 2 cols.
	if m.Count() != 4 || !m.In[2*8+1] || !m.In[2*8+2] || !m.In[2*8+5] || !m.In[2*8+6] {
		t.Errorf("eyes at 8×8 = %v", m.In)
	}
	// The annotation folder itself works too, and a missing class adds nothing.
	m2, err := MaskFromCelebAMaskHQDir(filepath.Join(root, "CelebAMask-HQ-mask-anno"), 4729, 16, 16, "l_eye", "hat")
	if err != nil || m2.Count() != 8 {
		t.Errorf("l_eye+hat (hat missing): %v count %d", err, m2.Count())
	}
	_, err = MaskFromCelebAMaskHQDir(root, 4729, 16, 16, "nose")
	if err == nil || !strings.Contains(err.Error(), "l_eye, r_eye, hair") {
		t.Errorf("missing class error = %v, want the annotated classes listed", err)
	}
	if _, err := MaskFromCelebAMaskHQDir(root, 4729, 16, 16, "eyes"); err == nil || !strings.Contains(err.Error(), "valid classes") {
		t.Errorf("unknown class error = %v", err)
	}
	classes, _ := d.Classes(4729)
	if strings.Join(classes, ",") != "l_eye,r_eye,hair" {
		t.Errorf("classes %v", classes)
	}
}

func TestDescribeRegion(t *testing.T) {
	want := map[string]string{"upper": "upper half", "Lower": "lower half", "left": "left half", "right": "right half",
		"centre": "centre square", "center": "centre square", "ellipse": "central ellipse", "full": "whole image",
		"blob": "region blob"}
	for name, w := range want {
		if got := DescribeRegion(name); got != w {
			t.Errorf("DescribeRegion(%q) = %q, want %q", name, got, w)
		}
	}
	for _, name := range Regions { // every region has its own words
		if d := DescribeRegion(name); strings.HasPrefix(d, "region ") {
			t.Errorf("DescribeRegion(%q) = %q", name, d)
		}
	}
}
