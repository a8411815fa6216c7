package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/locoedit/locoedit/loco"
)

// Parsers of the flags whose values have a syntax of their own. They check everything that needs no model, so
// that a typo is reported before anything is loaded.

// maxCoordinate bounds the pixel coordinates of --mask-rect and --mask-ellipse (models work at a few hundred
// pixels a side).
const maxCoordinate = 1 << 20

// parseMaskRect parses --mask-rect "y0,x0,y1,x1": four integers in model pixels, end exclusive, with y0 < y1 and
// x0 < x1.
func parseMaskRect(s string) ([4]int, error) {
	var r [4]int
	fail := func(why string) ([4]int, error) {
		return [4]int{}, fmt.Errorf("--mask-rect %q: %s; want y0,x0,y1,x1: four integers in model pixels, end exclusive, e.g. 0,0,16,32 for the upper half of a 32×32 model", s, why)
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return fail(fmt.Sprintf("%d values", len(parts)))
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fail(fmt.Sprintf("%q is not an integer", strings.TrimSpace(p)))
		}
		if v < 0 || v > maxCoordinate {
			return fail(fmt.Sprintf("%d is outside [0, %d]", v, maxCoordinate))
		}
		r[i] = v
	}
	if r[0] >= r[2] || r[1] >= r[3] {
		return fail("the rectangle is empty (it needs y0 < y1 and x0 < x1)")
	}
	return r, nil
}

// parseMaskEllipse parses --mask-ellipse "cy,cx,ry,rx": finite numbers in model pixels, positive radii.
func parseMaskEllipse(s string) ([4]float64, error) {
	var e [4]float64
	fail := func(why string) ([4]float64, error) {
		return [4]float64{}, fmt.Errorf("--mask-ellipse %q: %s; want cy,cx,ry,rx: centre and radii in model pixels, e.g. 15.5,15.5,8,11", s, why)
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return fail(fmt.Sprintf("%d values", len(parts)))
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.Abs(v) > maxCoordinate {
			return fail(fmt.Sprintf("%q is not a number in [-%d, %d]", strings.TrimSpace(p), maxCoordinate, maxCoordinate))
		}
		e[i] = v
	}
	if !(e[2] > 0 && e[3] > 0) {
		return fail("the radii must be positive")
	}
	return e, nil
}

// directionSpec is one entry of --direction: a saved direction and, with HasLambda, its signed strength.
type directionSpec struct {
	Path      string
	Lambda    float64
	HasLambda bool
}

// parseDirections parses --direction "path[:λ][,path[:λ]…]". A strength is the number after the last colon
// (a colon followed by a path, as in C:\dirs\d.safetensors, belongs to the path). Strengths are checked as
// loco.Combination does (finite, |λ| ≤ loco.MaxStrength); the composition decodes one image per entry plus
// the original, at most loco.MaxStrengths.
func parseDirections(s string) ([]directionSpec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("--direction is required (a direction.safetensors written by loco edit, or path:λ,path:λ to compose)")
	}
	entries := strings.Split(s, ",")
	if len(entries)+1 > loco.MaxStrengths {
		return nil, fmt.Errorf("--direction composes %d directions: at most %d are decoded at once", len(entries), loco.MaxStrengths-1)
	}
	specs := make([]directionSpec, len(entries))
	for i, e := range entries {
		spec := directionSpec{Path: e}
		if k := strings.LastIndex(e, ":"); k >= 0 && !strings.ContainsAny(e[k+1:], `/\`) {
			spec.Path = e[:k]
			l, err := strconv.ParseFloat(strings.TrimSpace(e[k+1:]), 64)
			if err != nil {
				return nil, fmt.Errorf("--direction entry %q: the strength %q after the colon is not a number (path:λ, e.g. d.safetensors:4)", e, e[k+1:])
			}
			if err := (loco.Combination{Lambda: l}).Validate(); err != nil {
				return nil, fmt.Errorf("--direction entry %q: %w", e, err)
			}
			spec.Lambda, spec.HasLambda = l, true
		}
		if strings.TrimSpace(spec.Path) == "" {
			return nil, fmt.Errorf("--direction entry %q has no file name (path or path:λ, entries separated by commas)", e)
		}
		specs[i] = spec
	}
	return specs, nil
}
