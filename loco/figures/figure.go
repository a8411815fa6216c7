package figures

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/nbutil"
)

// Cell is one picture of a figure with an optional caption under it. A cell without an image is left
// blank (its caption is still drawn).
type Cell struct {
	Image   *imageio.Image
	Caption string
}

// Row is one row of a figure with a label on its left (newlines break the label into lines).
type Row struct {
	Label string
	Cells []Cell
}

// WithoutCaptions returns the row with its cells' captions removed (for figures whose column headers say
// the same).
func (r Row) WithoutCaptions() Row {
	cells := make([]Cell, len(r.Cells))
	for i, c := range r.Cells {
		cells[i] = Cell{Image: c.Image}
	}
	return Row{Label: r.Label, Cells: cells}
}

// Figure is a grid of captioned pictures: a title, optional column headers, and labelled rows. Pictures
// are magnified by Scale (nearest neighbour, so model pixels stay sharp).
type Figure struct {
	Title   string
	Columns []string
	Rows    []Row
	// Scale magnifies every picture; 0 picks the smallest factor that makes the largest picture at least
	// MinPictureSize pixels wide (4 for 32×32 images, 1 from 112 pixels on).
	Scale int
}

// MinPictureSize is the smallest side, in pixels, that Figure.Render magnifies pictures to when Scale is 0.
const MinPictureSize = 112

// Layout constants, in pixels.
const (
	margin  = 10
	cellGap = 6
	rowGap  = 8
)

// NewFigure returns an empty figure with a title.
func NewFigure(title string) *Figure { return &Figure{Title: title} }

// Add appends rows and returns the figure, so calls chain.
func (f *Figure) Add(rows ...Row) *Figure {
	f.Rows = append(f.Rows, rows...)
	return f
}

// AddRow appends a row built from a label and cells.
func (f *Figure) AddRow(label string, cells ...Cell) *Figure {
	return f.Add(Row{Label: label, Cells: cells})
}

// scale returns the magnification Render uses.
func (f *Figure) scale() int {
	if f.Scale > 0 {
		return f.Scale
	}
	side := 0
	for _, r := range f.Rows {
		for _, c := range r.Cells {
			if c.Image != nil {
				side = max(side, c.Image.H, c.Image.W)
			}
		}
	}
	if side == 0 {
		return 1
	}
	return max(1, int(math.Ceil(float64(MinPictureSize)/float64(side))))
}

// Render draws the figure on a white background.
func (f *Figure) Render() (image.Image, error) {
	if len(f.Rows) == 0 {
		return nil, errors.New("figure has no rows: add rows before rendering it")
	}
	s := f.scale()
	title, err := measure(f.Title, TitleSize)
	if err != nil {
		return nil, err
	}
	// Column count and widths: each column is as wide as its widest picture, caption or header.
	ncol := len(f.Columns)
	for _, r := range f.Rows {
		ncol = max(ncol, len(r.Cells))
	}
	colW := make([]int, ncol)
	headers := make([]textBlock, ncol)
	headerH := 0
	for i, h := range f.Columns {
		if headers[i], err = measure(h, CaptionSize); err != nil {
			return nil, err
		}
		colW[i] = max(colW[i], headers[i].width)
		headerH = max(headerH, headers[i].height())
	}
	labelW := 0
	labels := make([]textBlock, len(f.Rows))
	captions := make([][]textBlock, len(f.Rows))
	rowH := make([]int, len(f.Rows))
	picH := make([]int, len(f.Rows))
	for i, r := range f.Rows {
		if labels[i], err = measure(r.Label, LabelSize); err != nil {
			return nil, err
		}
		labelW = max(labelW, labels[i].width)
		captions[i] = make([]textBlock, len(r.Cells))
		capH := 0
		for j, c := range r.Cells {
			if c.Image != nil {
				if err := c.Image.Validate(); err != nil {
					return nil, fmt.Errorf("row %d (%q), picture %d: %w", i, r.Label, j, err)
				}
				colW[j] = max(colW[j], c.Image.W*s)
				picH[i] = max(picH[i], c.Image.H*s)
			}
			if captions[i][j], err = measure(c.Caption, CaptionSize); err != nil {
				return nil, err
			}
			colW[j] = max(colW[j], captions[i][j].width)
			capH = max(capH, captions[i][j].height())
		}
		rowH[i] = max(picH[i]+capH, labels[i].height())
		if capH > 0 {
			rowH[i] += 2
		}
	}
	if labelW > 0 {
		labelW += cellGap + 4
	}
	width := margin + labelW
	for _, w := range colW {
		width += w + cellGap
	}
	width += margin - cellGap
	width = max(width, title.width+2*margin)
	height := margin
	if title.height() > 0 {
		height += title.height() + rowGap
	}
	if headerH > 0 {
		height += headerH + 2
	}
	for _, h := range rowH {
		height += h + rowGap
	}
	height += margin - rowGap

	dst := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	y := margin
	if title.height() > 0 {
		title.draw(dst, margin, y, 0, false)
		y += title.height() + rowGap
	}
	if headerH > 0 {
		x := margin + labelW
		for j, h := range headers {
			h.draw(dst, x, y+headerH-h.height(), colW[j], true)
			x += colW[j] + cellGap
		}
		y += headerH + 2
	}
	for i, r := range f.Rows {
		labels[i].draw(dst, margin, y+(picH[i]-labels[i].height())/2, 0, false)
		x := margin + labelW
		for j, c := range r.Cells {
			if c.Image != nil {
				px := x + (colW[j]-c.Image.W*s)/2
				if err := drawScaled(dst, c.Image, px, y+(picH[i]-c.Image.H*s)/2, s); err != nil {
					return nil, fmt.Errorf("row %d (%q), picture %d: %w", i, r.Label, j, err)
				}
			}
			captions[i][j].draw(dst, x, y+picH[i]+2, colW[j], true)
			x += colW[j] + cellGap
		}
		y += rowH[i] + rowGap
	}
	return dst, nil
}

// drawScaled draws img magnified s times (nearest neighbour) with its top-left corner at (x0, y0).
func drawScaled(dst *image.RGBA, img *imageio.Image, x0, y0, s int) error {
	big, err := imageio.ResizeNearest(img, img.H*s, img.W*s)
	if err != nil {
		return err
	}
	src, err := imageio.ToImage(big)
	if err != nil {
		return err
	}
	draw.Draw(dst, image.Rect(x0, y0, x0+big.W, y0+big.H), src, src.Bounds().Min, draw.Src)
	return nil
}

// Show renders the figure and displays it in the notebook as a PNG (outside a notebook it only renders).
func Show(f *Figure) error {
	img, err := f.Render()
	if err != nil {
		return fmt.Errorf("rendering figure %q: %w", f.Title, err)
	}
	return nbutil.DisplayImage(img)
}
