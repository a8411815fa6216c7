package nbutil

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"

	"github.com/janpfeifer/gonb/gonbui"
)

// DisplayImage displays img in the notebook as a PNG. It returns an error only if img cannot be
// encoded. Outside a notebook it does nothing.
func DisplayImage(img image.Image) error {
	if !IsNotebook() {
		return nil
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding image as PNG: %w", err)
	}
	gonbui.DisplayPNG(buf.Bytes())
	return nil
}

// DisplayPNGFile displays the PNG file at path in the notebook. It returns an error if the file
// cannot be read or is not a PNG; the check is done outside notebooks too.
func DisplayPNGFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading PNG: %w", err)
	}
	if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%s is not a valid PNG file: %w", path, err)
	}
	gonbui.DisplayPNG(data)
	return nil
}

// DisplayMarkdown displays the Markdown text s in the notebook. Outside a notebook it does
// nothing.
func DisplayMarkdown(s string) {
	gonbui.DisplayMarkdown(s)
}
