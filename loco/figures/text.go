package figures

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Font sizes in pixels of the text drawn on figures.
const (
	TitleSize   = 16
	LabelSize   = 13
	CaptionSize = 12
)

var (
	fontOnce  sync.Once
	fontFaces map[float64]font.Face
	fontMu    sync.Mutex
	fontParse *opentype.Font
	fontErr   error
)

// face returns the Go Regular font face at size pixels (it covers Latin, Greek and the usual maths signs:
// λ, ε, Ω, ∂, ′, −, ×, ≥, →).
func face(size float64) (font.Face, error) {
	fontOnce.Do(func() {
		fontParse, fontErr = opentype.Parse(goregular.TTF)
		fontFaces = map[float64]font.Face{}
	})
	if fontErr != nil {
		return nil, fmt.Errorf("parsing the Go font: %w", fontErr)
	}
	fontMu.Lock()
	defer fontMu.Unlock()
	if f, ok := fontFaces[size]; ok {
		return f, nil
	}
	f, err := opentype.NewFace(fontParse, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("building a %g px font face: %w", size, err)
	}
	fontFaces[size] = f
	return f, nil
}

// textBlock is text split into lines, measured in a face.
type textBlock struct {
	lines      []string
	face       font.Face
	lineHeight int
	width      int
}

// measure splits s at newlines and measures it in the face of the given size.
func measure(s string, size float64) (textBlock, error) {
	f, err := face(size)
	if err != nil {
		return textBlock{}, err
	}
	b := textBlock{face: f, lineHeight: f.Metrics().Height.Ceil()}
	if s == "" {
		return b, nil
	}
	b.lines = strings.Split(s, "\n")
	for _, l := range b.lines {
		b.width = max(b.width, font.MeasureString(f, l).Ceil())
	}
	return b, nil
}

// height is the height of all lines.
func (b textBlock) height() int { return len(b.lines) * b.lineHeight }

// draw draws the lines in black with their top at y, each centred on cx (center) or starting at x0.
func (b textBlock) draw(dst draw.Image, x0, y, width int, center bool) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(color.Black), Face: b.face}
	ascent := b.face.Metrics().Ascent.Ceil()
	for i, l := range b.lines {
		x := x0
		if center {
			x = x0 + (width-font.MeasureString(b.face, l).Ceil())/2
		}
		d.Dot = fixed.P(x, y+i*b.lineHeight+ascent)
		d.DrawString(l)
	}
}
