package imageio

import (
	"fmt"
	"strings"
)

// Regions are the names MaskRegion accepts (besides "full").
var Regions = []string{"upper", "lower", "left", "right", "centre", "ellipse"}

// MaskRegion returns a named region of an h×w image as a 1×H×W mask: "upper", "lower", "left" or "right" (half
// of the image), "centre" (the middle half of each side), "ellipse" (an ellipse in the middle, half the height and
// 70 % of the width) or "full".
func MaskRegion(name string, h, w int) (*Mask, error) {
	switch strings.ToLower(name) {
	case "upper":
		return MaskRect(1, h, w, 0, 0, h/2, w)
	case "lower":
		return MaskRect(1, h, w, h/2, 0, h, w)
	case "left":
		return MaskRect(1, h, w, 0, 0, h, w/2)
	case "right":
		return MaskRect(1, h, w, 0, w/2, h, w)
	case "centre", "center":
		return MaskRect(1, h, w, h/4, w/4, h-h/4, w-w/4)
	case "ellipse":
		return MaskEllipse(1, h, w, float64(h-1)/2, float64(w-1)/2, float64(h)/4, 0.35*float64(w))
	case "full", "all":
		return MaskRect(1, h, w, 0, 0, h, w)
	}
	return nil, fmt.Errorf("unknown region %q: use one of %s (or full)", name, strings.Join(Regions, ", "))
}

// DescribeRegion names a region of MaskRegion in words, for titles and captions: "upper half", "centre square",
// "central ellipse", "whole image". An unknown name is returned as "region <name>".
func DescribeRegion(name string) string {
	switch strings.ToLower(name) {
	case "upper", "lower", "left", "right":
		return strings.ToLower(name) + " half"
	case "centre", "center":
		return "centre square"
	case "ellipse":
		return "central ellipse"
	case "full", "all":
		return "whole image"
	}
	return "region " + name
}
