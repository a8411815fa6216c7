package imageio

import (
	"errors"
	"fmt"
)

// Mask is an edit region Ω as a C×H×W boolean tensor (channels first, row-major, like Image). A 1×H×W mask
// applies to every channel of an image (see Expand).
type Mask struct {
	// C, H, W are the number of channels (1, or the image's), the height and the width.
	C, H, W int
	// In holds C·H·W flags; In[(c·H+y)·W+x] is true when that element is inside the region.
	In []bool
}

// ErrEmptyMask is returned (wrapped) by Mask.Validate for a mask with no pixel inside.
var ErrEmptyMask = errors.New("mask is empty (no pixel inside)")

// NewMask returns an empty C×H×W mask.
func NewMask(c, h, w int) (*Mask, error) {
	if err := checkSize(c, h, w); err != nil {
		return nil, fmt.Errorf("imageio: mask: %w", err)
	}
	return &Mask{C: c, H: h, W: w, In: make([]bool, c*h*w)}, nil
}

// check verifies the mask's own consistency.
func (m *Mask) check() error {
	if m == nil {
		return fmt.Errorf("imageio: nil mask")
	}
	if err := checkSize(m.C, m.H, m.W); err != nil {
		return fmt.Errorf("imageio: mask: %w", err)
	}
	if len(m.In) != m.C*m.H*m.W {
		return fmt.Errorf("imageio: mask is %d×%d×%d but holds %d flags (want %d)", m.C, m.H, m.W, len(m.In), m.C*m.H*m.W)
	}
	return nil
}

// Validate checks that the mask fits a model working on c×h×w images: same height and width, 1 or c
// channels, and at least one pixel inside (an empty region has nothing to edit). A full mask is valid, but
// its complement is empty, so null-space projection has nothing to protect.
func (m *Mask) Validate(c, h, w int) error {
	if err := m.check(); err != nil {
		return err
	}
	if m.H != h || m.W != w {
		return fmt.Errorf("imageio: mask is %d×%d but the model works at %d×%d: resize it "+
			"(Mask.Resize(%d, %d), or MaskFromPNG(path, %d, %d)) or use a mask made for this model",
			m.H, m.W, h, w, h, w, h, w)
	}
	if m.C != 1 && m.C != c {
		return fmt.Errorf("imageio: mask has %d channels but the model's images have %d: "+
			"use a 1-channel mask (it applies to every channel) or a %d-channel one", m.C, c, c)
	}
	if m.Count() == 0 {
		return fmt.Errorf("imageio: %w: choose a region with at least one pixel (check the mask file or class names)", ErrEmptyMask)
	}
	return nil
}

// Clone returns a deep copy of m.
func (m *Mask) Clone() *Mask {
	return &Mask{C: m.C, H: m.H, W: m.W, In: append([]bool(nil), m.In...)}
}

// Count returns the number of elements inside.
func (m *Mask) Count() int {
	n := 0
	for _, in := range m.In {
		if in {
			n++
		}
	}
	return n
}

// Fraction returns Count()/(C·H·W), the share of elements inside.
func (m *Mask) Fraction() float64 {
	if len(m.In) == 0 {
		return 0
	}
	return float64(m.Count()) / float64(len(m.In))
}

// Complement returns Ω^C: inside where m is outside and vice versa.
func (m *Mask) Complement() *Mask {
	out := &Mask{C: m.C, H: m.H, W: m.W, In: make([]bool, len(m.In))}
	for i, in := range m.In {
		out.In[i] = !in
	}
	return out
}

// Float32 returns the mask as 1 (inside) and 0 (outside), in the same C×H×W order.
func (m *Mask) Float32() []float32 {
	out := make([]float32, len(m.In))
	for i, in := range m.In {
		if in {
			out[i] = 1
		}
	}
	return out
}

// Expand returns the mask with c channels: a 1-channel mask is repeated for every channel, a c-channel mask
// is copied; any other channel count is an error.
func (m *Mask) Expand(c int) (*Mask, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	switch {
	case m.C == c:
		return m.Clone(), nil
	case m.C == 1 && c > 0:
		out := &Mask{C: c, H: m.H, W: m.W, In: make([]bool, c*m.H*m.W)}
		for k := 0; k < c; k++ {
			copy(out.In[k*m.H*m.W:], m.In)
		}
		return out, nil
	}
	return nil, fmt.Errorf("imageio: cannot expand a %d-channel mask to %d channels: only a 1-channel mask expands", m.C, c)
}

// Pixels returns the 1×H×W mask of the pixels where any channel is inside.
func (m *Mask) Pixels() *Mask {
	n := m.H * m.W
	out := &Mask{C: 1, H: m.H, W: m.W, In: make([]bool, n)}
	for i, in := range m.In {
		if in {
			out.In[i%n] = true
		}
	}
	return out
}

// Resize returns the mask at h×w by nearest neighbour: output pixel (y, x) takes source pixel
// (⌊y·H/h⌋, ⌊x·W/w⌋), exactly PyTorch's F.interpolate(mode="nearest") (used by the LOCO-Edit code for SAM
// masks). The channel count is kept.
func (m *Mask) Resize(h, w int) (*Mask, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	out, err := NewMask(m.C, h, w)
	if err != nil {
		return nil, err
	}
	for c := 0; c < m.C; c++ {
		for y := 0; y < h; y++ {
			sy := nearestIndex(y, m.H, h)
			for x := 0; x < w; x++ {
				out.In[(c*h+y)*w+x] = m.In[(c*m.H+sy)*m.W+nearestIndex(x, m.W, w)]
			}
		}
	}
	return out, nil
}

// Union returns m ∪ o. The masks must have the same height and width; a 1-channel mask is expanded to the
// other's channel count.
func (m *Mask) Union(o *Mask) (*Mask, error) {
	return m.combine(o, func(a, b bool) bool { return a || b })
}

// Intersect returns m ∩ o (sizes as in Union).
func (m *Mask) Intersect(o *Mask) (*Mask, error) {
	return m.combine(o, func(a, b bool) bool { return a && b })
}

func (m *Mask) combine(o *Mask, op func(a, b bool) bool) (*Mask, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	if m.H != o.H || m.W != o.W {
		return nil, fmt.Errorf("imageio: combining a %d×%d mask with a %d×%d mask: sizes differ", m.H, m.W, o.H, o.W)
	}
	c := max(m.C, o.C)
	a, err := m.Expand(c)
	if err != nil {
		return nil, err
	}
	b, err := o.Expand(c)
	if err != nil {
		return nil, err
	}
	for i := range a.In {
		a.In[i] = op(a.In[i], b.In[i])
	}
	return a, nil
}

// MaskRect returns a C×H×W mask whose inside is the rows y0 ≤ y < y1 and columns x0 ≤ x < x1 (half-open,
// clipped to the image) in every channel.
func MaskRect(c, h, w, y0, x0, y1, x1 int) (*Mask, error) {
	m, err := NewMask(c, h, w)
	if err != nil {
		return nil, err
	}
	y0, y1 = max(y0, 0), min(y1, h)
	x0, x1 = max(x0, 0), min(x1, w)
	for ch := 0; ch < c; ch++ {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				m.In[(ch*h+y)*w+x] = true
			}
		}
	}
	return m, nil
}

// MaskEllipse returns a C×H×W mask whose inside is the pixels (y, x), in pixel-index coordinates, with
// ((y−cy)/ry)² + ((x−cx)/rx)² ≤ 1, in every channel. (cy, cx) = ((H−1)/2, (W−1)/2) is the image centre.
func MaskEllipse(c, h, w int, cy, cx, ry, rx float64) (*Mask, error) {
	if !(ry > 0) || !(rx > 0) {
		return nil, fmt.Errorf("imageio: ellipse radii %g, %g: must be positive", ry, rx)
	}
	m, err := NewMask(c, h, w)
	if err != nil {
		return nil, err
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dy, dx := (float64(y)-cy)/ry, (float64(x)-cx)/rx
			if dy*dy+dx*dx <= 1 {
				for ch := 0; ch < c; ch++ {
					m.In[(ch*h+y)*w+x] = true
				}
			}
		}
	}
	return m, nil
}

// ToImage renders the mask as a picture: white (+1) inside, black (−1) outside, one channel per mask channel.
func (m *Mask) ToImage() (*Image, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	img := &Image{C: m.C, H: m.H, W: m.W, Pix: make([]float32, len(m.In))}
	for i, in := range m.In {
		img.Pix[i] = -1
		if in {
			img.Pix[i] = 1
		}
	}
	return img, nil
}

// WriteMaskPNG writes the mask's pixels (any channel inside) as a black-and-white greyscale PNG that
// MaskFromPNG reads back unchanged; the write is atomic.
func WriteMaskPNG(path string, m *Mask) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	img, _ := m.Pixels().ToImage()
	return WritePNG(path, img)
}
