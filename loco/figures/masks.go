package figures

import (
	"fmt"
	"image/color"
	"strings"

	"github.com/locoedit/locoedit/loco/imageio"
)

// overlayColor tints the edit region in overlays: translucent red.
var overlayColor = color.NRGBA{R: 255, A: 110}

// Regions are the names Session.Region accepts.
var Regions = []string{"upper", "lower", "left", "right", "centre", "ellipse"}

// Region returns a named edit region of the model's image size, as a 1×H×W mask: "upper", "lower", "left"
// or "right" (half of the image), "centre" (the middle half of each side) or "ellipse" (an ellipse in the
// middle, half the height and 70 % of the width).
func (s *Session) Region(name string) (*imageio.Mask, error) {
	return RegionMask(name, s.H, s.W)
}

// RegionMask is Session.Region for an h×w image.
func RegionMask(name string, h, w int) (*imageio.Mask, error) {
	switch strings.ToLower(name) {
	case "upper":
		return imageio.MaskRect(1, h, w, 0, 0, h/2, w)
	case "lower":
		return imageio.MaskRect(1, h, w, h/2, 0, h, w)
	case "left":
		return imageio.MaskRect(1, h, w, 0, 0, h, w/2)
	case "right":
		return imageio.MaskRect(1, h, w, 0, w/2, h, w)
	case "centre", "center":
		return imageio.MaskRect(1, h, w, h/4, w/4, h-h/4, w-w/4)
	case "ellipse":
		return imageio.MaskEllipse(1, h, w, float64(h-1)/2, float64(w-1)/2, float64(h)/4, 0.35*float64(w))
	case "full", "all":
		return imageio.MaskRect(1, h, w, 0, 0, h, w)
	}
	return nil, fmt.Errorf("unknown region %q: use one of %s (or full)", name, strings.Join(Regions, ", "))
}

// maskValues returns the mask expanded to the model's channels as 1/0 values (for the pipeline) and as
// flags (for the metrics).
func (s *Session) maskValues(m *imageio.Mask) ([]float32, []bool, error) {
	if m == nil {
		return nil, nil, fmt.Errorf("no mask given: use Session.Region or imageio.MaskFromPNG")
	}
	if err := m.Validate(s.C, s.H, s.W); err != nil {
		return nil, nil, err
	}
	e, err := m.Expand(s.C)
	if err != nil {
		return nil, nil, err
	}
	return e.Float32(), e.In, nil
}

// Overlay returns x (one image) with the mask tinted red: the "where is the edit" picture of the figures.
func (s *Session) Overlay(x []float32, m *imageio.Mask) (*imageio.Image, error) {
	img, err := s.Picture(x)
	if err != nil {
		return nil, err
	}
	return imageio.MaskOverlay(img, m, overlayColor)
}
