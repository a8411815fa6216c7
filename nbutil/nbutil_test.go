package nbutil

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsNotebookOutsideGoNB(t *testing.T) {
	if os.Getenv("GONB_PIPE") != "" {
		t.Skip("running inside a GoNB kernel")
	}
	if IsNotebook() {
		t.Error("IsNotebook() = true outside a GoNB kernel")
	}
}

func TestQuick(t *testing.T) {
	t.Setenv(QuickEnv, "1")
	if !Quick() {
		t.Errorf("Quick() = false with %s=1", QuickEnv)
	}
	t.Setenv(QuickEnv, "")
	if Quick() {
		t.Errorf("Quick() = true with %s unset", QuickEnv)
	}
}

func TestDisplayPNGFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	img.SetGray(1, 1, color.Gray{Y: 200})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := DisplayPNGFile(good); err != nil {
		t.Errorf("DisplayPNGFile(valid PNG) = %v, want nil", err)
	}

	notPNG := filepath.Join(dir, "text.png")
	if err := os.WriteFile(notPNG, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := DisplayPNGFile(notPNG)
	if err == nil || !strings.Contains(err.Error(), "not a valid PNG") {
		t.Errorf("DisplayPNGFile(text file) = %v, want a 'not a valid PNG' error", err)
	}

	missing := filepath.Join(dir, "missing.png")
	err = DisplayPNGFile(missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("DisplayPNGFile(missing) = %v, want an error naming %s", err, missing)
	}
}

func TestDisplayImageOutsideNotebook(t *testing.T) {
	if IsNotebook() {
		t.Skip("running inside a GoNB kernel")
	}
	if err := DisplayImage(image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Errorf("DisplayImage outside a notebook = %v, want nil", err)
	}
}
