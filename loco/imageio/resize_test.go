package imageio

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

func TestResizeBilinearUp(t *testing.T) {
	img := &Image{C: 1, H: 1, W: 2, Pix: []float32{0, 1}}
	out, err := Resize(img, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Half-pixel centres: source x = (i+0.5)/2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
	want := []float32{0, 0.25, 0.75, 1}
	for i, w := range want {
		if math.Abs(float64(out.Pix[i]-w)) > 1e-7 {
			t.Errorf("up[%d] = %v, want %v", i, out.Pix[i], w)
		}
	}
}

func TestResizeAreaDown(t *testing.T) {
	// 2×4 → 1×2: means of the 2×2 blocks.
	img := &Image{C: 1, H: 2, W: 4, Pix: []float32{0, 1, 2, 3, 4, 5, 6, 7}}
	out, err := Resize(img, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if out.Pix[0] != 2.5 || out.Pix[1] != 4.5 {
		t.Errorf("area shrink = %v, want [2.5 4.5]", out.Pix)
	}
	// 3 → 2 along x: covers [0,1.5) and [1.5,3): (a + b/2)/1.5 and (b/2 + c)/1.5.
	img = &Image{C: 1, H: 1, W: 3, Pix: []float32{0, 3, 6}}
	out, _ = Resize(img, 1, 2)
	if math.Abs(float64(out.Pix[0])-1) > 1e-6 || math.Abs(float64(out.Pix[1])-5) > 1e-6 {
		t.Errorf("3→2 = %v, want [1 5]", out.Pix)
	}
	// A constant image stays constant whatever the sizes.
	c := &Image{C: 2, H: 7, W: 5, Pix: make([]float32, 70)}
	for i := range c.Pix {
		c.Pix[i] = 0.3
	}
	for _, sz := range [][2]int{{3, 2}, {11, 13}, {7, 2}, {1, 1}} {
		out, err := Resize(c, sz[0], sz[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Pix {
			if math.Abs(float64(v)-0.3) > 1e-6 {
				t.Fatalf("constant image resized to %v has %v", sz, v)
			}
		}
	}
}

func TestResizeNearestPicksPixels(t *testing.T) {
	// 4×4 with value 10·y + x → 2×2 picks rows/cols 0 and 2 (floor(i·4/2)).
	img := &Image{C: 1, H: 4, W: 4, Pix: make([]float32, 16)}
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			img.Pix[y*4+x] = float32(10*y + x)
		}
	}
	out, err := ResizeNearest(img, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 2, 20, 22}
	for i := range want {
		if out.Pix[i] != want[i] {
			t.Fatalf("nearest 4→2 = %v, want %v", out.Pix, want)
		}
	}
	// 2 → 5: floor(i·2/5) = 0, 0, 0, 1, 1.
	row := &Image{C: 1, H: 1, W: 2, Pix: []float32{7, 9}}
	out, _ = ResizeNearest(row, 1, 5)
	want = []float32{7, 7, 7, 9, 9}
	for i := range want {
		if out.Pix[i] != want[i] {
			t.Fatalf("nearest 2→5 = %v, want %v", out.Pix, want)
		}
	}
}

// pilCase is one reference resize computed by Pillow 9.4.0 (testdata/pil_bicubic.json).
type pilCase struct {
	Name                 string
	InH, InW, OutH, OutW int
	Out                  []uint8
}

func (c *pilCase) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name string `json:"name"`
		InH  int    `json:"in_h"`
		InW  int    `json:"in_w"`
		OutH int    `json:"out_h"`
		OutW int    `json:"out_w"`
		Out  []int  `json:"out"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	c.Name, c.InH, c.InW, c.OutH, c.OutW = raw.Name, raw.InH, raw.InW, raw.OutH, raw.OutW
	for _, v := range raw.Out {
		c.Out = append(c.Out, uint8(v))
	}
	return nil
}

// The inputs the Pillow references were computed from (same formulas as the generating script).
func pilInput(name string, h, w int) []uint8 {
	p := make([]uint8, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			switch name {
			case "pattern":
				p[y*w+x] = uint8((y*37 + x*91 + ((x*y)%17)*11) % 256)
			case "binary":
				dy, dx := (float64(y)-30.5)/12, (float64(x)-20.5)/9
				if dy*dy+dx*dx <= 1 || (y >= 5 && y < 9 && x == 40) {
					p[y*w+x] = 255
				}
			}
		}
	}
	return p
}

func loadPILCases(t *testing.T) []pilCase {
	t.Helper()
	data, err := os.ReadFile("testdata/pil_bicubic.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []pilCase }
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) != 6 {
		t.Fatalf("%d reference cases, want 6", len(ref.Cases))
	}
	return ref.Cases
}

func TestPILBicubicMatchesPillow(t *testing.T) {
	for _, c := range loadPILCases(t) {
		got := pilResize8(pilInput(c.Name, c.InH, c.InW), c.InH, c.InW, c.OutH, c.OutW)
		bad := 0
		for i := range got {
			if got[i] != c.Out[i] {
				bad++
			}
		}
		if bad != 0 {
			t.Errorf("%s %d×%d → %d×%d: %d of %d bytes differ from Pillow", c.Name, c.InH, c.InW, c.OutH, c.OutW, bad, len(got))
		}
	}
	// Through the Image API (pattern 20×24 → 10×8).
	c := loadPILCases(t)[0]
	in := pilInput(c.Name, c.InH, c.InW)
	img := &Image{C: 1, H: c.InH, W: c.InW, Pix: make([]float32, len(in))}
	for i, u := range in {
		img.Pix[i] = (float32(u)/255 - 0.5) / 0.5
	}
	out, err := ResizePILBicubic(img, c.OutH, c.OutW)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range out.Pix {
		if ToUint8(x) != c.Out[i] {
			t.Fatalf("ResizePILBicubic byte %d = %d, Pillow %d", i, ToUint8(x), c.Out[i])
		}
	}
}
