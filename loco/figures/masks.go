package figures

import (
	"fmt"
	"image/color"

	"github.com/locoedit/locoedit/loco/imageio"
)

// overlayColor tints the edit region in overlays: translucent red.
var overlayColor = color.NRGBA{R: 255, A: 110}

// Regions are the names Session.Region accepts (see imageio.MaskRegion).
var Regions = imageio.Regions

// DescribeRegion names a region in words for titles: "upper half", "centre square", "central ellipse".
func DescribeRegion(name string) string { return imageio.DescribeRegion(name) }

// Region returns a named edit region of the model's image size, as a 1×H×W mask (see imageio.MaskRegion).
func (s *Session) Region(name string) (*imageio.Mask, error) {
	return RegionMask(name, s.H, s.W)
}

// RegionMask is Session.Region for an h×w image.
func RegionMask(name string, h, w int) (*imageio.Mask, error) { return imageio.MaskRegion(name, h, w) }

// maskValues returns the mask expanded to the model's channels as 1/0 values.
func (s *Session) maskValues(m *imageio.Mask) ([]float32, error) {
	if m == nil {
		return nil, fmt.Errorf("no mask given: use Session.Region or imageio.MaskFromPNG")
	}
	if err := m.Validate(s.C, s.H, s.W); err != nil {
		return nil, err
	}
	e, err := m.Expand(s.C)
	if err != nil {
		return nil, err
	}
	return e.Float32(), nil
}

// flags turns 1/0 mask values into flags (for the metrics).
func flags(m []float32) []bool {
	out := make([]bool, len(m))
	for i, v := range m {
		out[i] = v != 0
	}
	return out
}

// Overlay returns x (one image) with the mask tinted red: the "where is the edit" picture of the figures.
func (s *Session) Overlay(x []float32, m *imageio.Mask) (*imageio.Image, error) {
	img, err := s.Picture(x)
	if err != nil {
		return nil, err
	}
	return imageio.MaskOverlay(img, m, overlayColor)
}
