package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pngChunk appends one PNG chunk (length, type, data, CRC).
func pngChunk(out *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	out.Write(n[:])
	out.WriteString(typ)
	out.Write(data)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(append([]byte(typ), data...)))
	out.Write(n[:])
}

// hostilePNG is a valid 1-bit greyscale PNG of w×h black pixels: a few hundred kB on disk that Go's decoder
// would expand to w·h bytes (and the float32 conversion to 24·w·h more).
func hostilePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, greyscale
	pngChunk(&out, "IHDR", ihdr)
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+(w+7)/8) // filter byte 0, then the packed bits
	for range h {
		if _, err := z.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	pngChunk(&out, "IDAT", idat.Bytes())
	pngChunk(&out, "IEND", nil)
	return out.Bytes()
}

// hostileJPEG is a small JPEG whose frame header is patched to declare w×h pixels.
func hostileJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	sof := bytes.Index(b, []byte{0xff, 0xc0})
	if sof < 0 {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(b[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(b[sof+7:], uint16(w))
	return b
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A picture whose header declares more pixels than the limit is refused by every file reader from its header:
// the error names the file, its size, the limit and the fix, and almost nothing is allocated.
func TestHostilePictureRefusedFromHeader(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "huge.png")
	data := hostilePNG(t, 20000, 20000)
	if err := os.WriteFile(png, data, 0o644); err != nil {
		t.Fatal(err)
	}
	jpg := filepath.Join(dir, "huge.jpg")
	if err := os.WriteFile(jpg, hostileJPEG(t, 60000, 50000), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("huge.png: %d bytes declaring 20000×20000", len(data))
	readers := map[string]func(path string) error{
		"ReadImage": func(p string) error { _, err := ReadImage(p, 3); return err },
		"LoadImage": func(p string) error { _, err := LoadImage(p, 3, 256, 256, CenterCrop); return err },
		"MaskFromPNG": func(p string) error {
			_, err := MaskFromPNG(p, 256, 256)
			return err
		},
		"ReadLabelMap": func(p string) error { _, err := ReadLabelMap(p); return err },
		"Framing.ReadMask": func(p string) error {
			_, err := ModelFraming(256, 256).ReadMask(p, MaskPILBicubicNonzero)
			return err
		},
	}
	for _, c := range []struct{ path, size, mp string }{
		{png, "20000×20000", "400 megapixels"}, {jpg, "60000×50000", "3000 megapixels"},
	} {
		for name, read := range readers {
			var err error
			n := allocated(func() { err = read(c.path) })
			if !errors.Is(err, ErrImageTooLarge) {
				t.Errorf("%s(%s): error %v, want ErrImageTooLarge", name, filepath.Base(c.path), err)
				continue
			}
			var tl *TooLargeError
			if !errors.As(err, &tl) || tl.Limit != DefaultMaxPixels {
				t.Errorf("%s: %v is not a *TooLargeError with the default limit", name, err)
			}
			for _, want := range []string{c.path, c.size, c.mp, "limit of 64 megapixels", "downscale", "SetMaxPixels"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not mention %q", name, err, want)
				}
			}
			if name == "ReadImage" {
				t.Logf("%s: %v (%d kB allocated)", filepath.Base(c.path), err, n>>10)
			}
			if n > 8<<20 {
				t.Errorf("%s(%s) allocated %d MB before refusing the file", name, filepath.Base(c.path), n>>20)
			}
		}
	}
}

func TestSetMaxPixels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.png")
	pic := image.NewNRGBA(image.Rect(0, 0, 16, 12))
	for i := range pic.Pix {
		pic.Pix[i] = 200
	}
	writeTestPNG(t, path, pic)
	if got := MaxPixels(); got != DefaultMaxPixels {
		t.Fatalf("MaxPixels() = %d before any SetMaxPixels, want the default %d", got, DefaultMaxPixels)
	}
	if prev := SetMaxPixels(100); prev != DefaultMaxPixels {
		t.Errorf("SetMaxPixels returned %d, want the default %d", prev, DefaultMaxPixels)
	}
	defer SetMaxPixels(0)
	_, err := ReadImage(path, 3)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.W != 16 || tl.H != 12 || tl.Limit != 100 || tl.Format != "png" {
		t.Fatalf("16×12 picture under a limit of 100 pixels: %v", err)
	}
	if !strings.Contains(err.Error(), "16×12") || !strings.Contains(err.Error(), "0.0001 megapixels") {
		t.Errorf("error %q does not give the size and the limit", err)
	}
	if prev := SetMaxPixels(192); prev != 100 {
		t.Errorf("SetMaxPixels returned %d, want 100", prev)
	}
	if img, err := ReadImage(path, 3); err != nil || img.W != 16 || img.H != 12 {
		t.Errorf("16×12 picture at a limit of exactly 192 pixels: %v", err)
	}
	SetMaxPixels(-5)
	if got := MaxPixels(); got != DefaultMaxPixels {
		t.Errorf("MaxPixels() = %d after SetMaxPixels(-5), want the default", got)
	}
}

// Files that are not pictures, or declare an empty one, fail with the path named.
func TestDecodeFileErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(text, []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jpg")
	if err := os.WriteFile(empty, hostileJPEG(t, 0, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{text: "PNG or JPEG expected", empty: "0×16"} {
		_, err := ReadImage(path, 0)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming the file and %q", filepath.Base(path), err, want)
		}
	}
	if got := decoderBytesPerPixel(color.Palette{color.Black}); got != 1 {
		t.Errorf("palette pictures decode to %d bytes a pixel, want 1", got)
	}
}

// BenchmarkRefuseHostilePNG measures the refusal of the 20000×20000 PNG (time and allocations per read).
func BenchmarkRefuseHostilePNG(b *testing.B) {
	path := filepath.Join(b.TempDir(), "huge.png")
	if err := os.WriteFile(path, hostilePNG(b, 20000, 20000), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadImage(path, 3); !errors.Is(err, ErrImageTooLarge) {
			b.Fatal(err)
		}
	}
}
