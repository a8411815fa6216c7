package figures

import (
	"fmt"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

// Bounds of SampleGrid's rows and magnification (the grid is one picture in memory).
const (
	MaxGridRows  = 100
	MaxGridScale = 16
)

// SampleGrid draws new images with deterministic DDIM (Generate) laid out as a picture, each magnified scale
// times with 2·scale grey pixels between them. A class-conditional model gets rows rows with one column per class
// (column k shows class k) and a last row of samples of the whole model; another model gets rows rows of 10.
// Sample i of a row (or class) is seeded by seed + 1000·class + row. Rows and scale are bounded by MaxGridRows
// and MaxGridScale.
func (s *Session) SampleGrid(rows int, seed uint64, scale int) (*imageio.Image, error) {
	if rows < 1 || rows > MaxGridRows || scale < 1 || scale > MaxGridScale {
		return nil, fmt.Errorf("sample grid: rows %d and scale %d must lie in [1, %d] and [1, %d]", rows, scale, MaxGridRows, MaxGridScale)
	}
	cols, classes := 10, 0
	if names := s.classNames(); len(names) > 0 {
		cols, classes = len(names), len(names)
	}
	gridRows := rows
	if classes > 0 {
		gridRows++
	}
	if h, w := int64(gridRows*(s.H+2)*scale), int64(cols*(s.W+2)*scale); h*w > imageio.MaxPixels() {
		return nil, fmt.Errorf("sample grid: %d rows of %d samples of %d×%d magnified %d times make a picture of about %d×%d pixels, "+
			"above the limit of %d megapixels: lower the rows or the scale", gridRows, cols, s.H, s.W, scale, w, h, imageio.MaxPixels()/1_000_000)
	}
	var tiles []*imageio.Image
	draw := func(class int, sd uint64) error {
		x, err := s.Generate(class, sd)
		if err != nil {
			return err
		}
		pic, err := s.Picture(x)
		if err != nil {
			return err
		}
		tiles = append(tiles, pic)
		return nil
	}
	for r := range rows {
		for c := range cols {
			class := -1
			if classes > 0 {
				class = c
			}
			if err := draw(class, seed+uint64(1000*c+r)); err != nil {
				return nil, err
			}
		}
	}
	if classes > 0 {
		for c := range cols {
			if err := draw(-1, seed+uint64(1000*c+rows)+500); err != nil {
				return nil, err
			}
		}
	}
	grid, err := imageio.GridWithPadValue(tiles, cols, 2, 0)
	if err != nil {
		return nil, err
	}
	return imageio.ResizeNearest(grid, grid.H*scale, grid.W*scale)
}

// classNames returns the model's class names, or nil when it is not class-conditional.
func (s *Session) classNames() []string {
	if cc, ok := s.Model.(loco.ClassConditional); ok {
		return cc.ClassNames()
	}
	return nil
}
