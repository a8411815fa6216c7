package fashionmnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// idxBytes encodes an idx file of unsigned bytes.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(0x0800|len(dims)))
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func TestReadSynthetic(t *testing.T) {
	dir := t.TempDir()
	pix := make([]byte, 2*784)
	pix[0] = 255           // image 0, (0,0)
	pix[784+27*28+27] = 51 // image 1, (27,27)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(idxBytes([]int{2, 28, 28}, pix))
	_ = zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxBytes([]int{2}, []byte{9, 3}), 0o644); err != nil {
		t.Fatal(err)
	}
	imgs, labels, err := ReadSplit(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || len(imgs[0]) != 1024 || labels[0] != 9 || labels[1] != 3 {
		t.Fatalf("read %d images of %d values, labels %v", len(imgs), len(imgs[0]), labels)
	}
	if imgs[0][0] != -1 || imgs[0][2*32+2] != 1 || imgs[0][2*32+3] != -1 {
		t.Errorf("image 0: padding %v, pixel (0,0) → %v, (0,1) → %v", imgs[0][0], imgs[0][2*32+2], imgs[0][2*32+3])
	}
	if want := float32(51)/127.5 - 1; imgs[1][29*32+29] != want || imgs[1][31*32+31] != -1 {
		t.Errorf("image 1: pixel (27,27) → %v, want %v; corner %v", imgs[1][29*32+29], want, imgs[1][31*32+31])
	}
	if _, _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
		t.Errorf("missing train split: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxBytes([]int{2, 1}, []byte{9, 3}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadSplit(dir, "t10k"); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("labels with 2 dimensions: %v", err)
	}
	if _, _, err := ReadSplit(dir, "validation"); err == nil {
		t.Error("unknown split accepted")
	}
}

func TestDirFromEnv(t *testing.T) {
	t.Setenv("FASHION_MNIST_DIR", "")
	if got := Dir(); got != DefaultDir {
		t.Errorf("Dir() = %q without FASHION_MNIST_DIR, want %q", got, DefaultDir)
	}
	t.Setenv("FASHION_MNIST_DIR", "/some/where")
	if got := Dir(); got != "/some/where" {
		t.Errorf("Dir() = %q, want the variable's value", got)
	}
}

// Headers declaring more than the file holds, or than a Fashion-MNIST split can be, are refused before the
// data is read, with the dimensions named.
func TestHostileIdxRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	labels := idxBytes([]int{2}, []byte{1, 2})
	for _, c := range []struct {
		name   string
		images []byte
		want   string
	}{
		{"4e9 images", idxBytes([]int{1 << 31, 28, 28}, nil), "implausibly large"},
		{"overflowing dims", idxBytes([]int{0xffffffff, 0xffffffff, 1}, nil), "implausibly large"},
		{"too many images", idxBytes([]int{MaxImages + 1, 28, 28}, nil), "n ≤ 100000"},
		{"wrong size", idxBytes([]int{2, 32, 32}, make([]byte, 2*1024)), "want [n 28 28]"},
		{"declared, not there", idxBytes([]int{80000, 28, 28}, make([]byte, 784)), "need 62720000 bytes of data, the file has 784"},
		{"truncated header", idxBytes([]int{2, 28, 28}, nil)[:9], "EOF"},
	} {
		write("t10k-images-idx3-ubyte", c.images)
		write("t10k-labels-idx1-ubyte", labels)
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err = ReadSplit(dir, "t10k")
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte") {
			t.Errorf("%s: error %v, want one naming the file and %q", c.name, err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 70<<20 {
			t.Errorf("%s: %d MB allocated before refusing", c.name, n>>20)
		}
	}
	write("t10k-images-idx3-ubyte", idxBytes([]int{2, 28, 28}, make([]byte, 2*784)))
	write("t10k-labels-idx1-ubyte", idxBytes([]int{3}, []byte{1, 2, 3}))
	if _, _, err := ReadSplit(dir, "t10k"); err == nil || !strings.Contains(err.Error(), "2 images but labels have dimensions [3]") {
		t.Errorf("label count mismatch: %v", err)
	}
}
