package molrg

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
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

func TestReadFashionMNISTSynthetic(t *testing.T) {
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
	imgs, labels, err := ReadFashionMNISTSplit(dir, "t10k")
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
	if _, _, err := ReadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
		t.Errorf("missing train split: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxBytes([]int{2, 1}, []byte{9, 3}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFashionMNISTSplit(dir, "t10k"); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("labels with 2 dimensions: %v", err)
	}
	if _, _, err := ReadFashionMNISTSplit(dir, "validation"); err == nil {
		t.Error("unknown split accepted")
	}
}

func fashionDir(t *testing.T) string {
	dir := DefaultFashionMNISTDir
	if d := os.Getenv("FASHION_MNIST_DIR"); d != "" {
		dir = d
	}
	if _, err := os.Stat(filepath.Join(dir, "train-labels-idx1-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed in %s (apt-get install dataset-fashion-mnist)", dir)
	}
	return dir
}

// TestEmbeddedMatchesTrainingSet checks the embedded parameters against the Fashion-MNIST training split without
// refitting: class means, priors, the variance along the first principal direction (λ_1 + σ²) and the total
// variance (Σλ + dσ²) of every class.
func TestEmbeddedMatchesTrainingSet(t *testing.T) {
	imgs, labels, err := ReadFashionMNIST(fashionDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 60000 {
		t.Fatalf("%d training images, want 60000", len(imgs))
	}
	p := mustEmbedded(t).Params()
	d := p.Dim()
	for j := range 10 {
		var rows [][]float32
		for i, l := range labels {
			if l == j {
				rows = append(rows, imgs[i])
			}
		}
		n := float64(len(rows))
		if math.Abs(float64(p.Priors[j])-n/60000) > 1e-7 {
			t.Errorf("class %d: prior %v, frequency %v", j, p.Priors[j], n/60000)
		}
		mean := make([]float64, d)
		for _, r := range rows {
			for i, v := range r {
				mean[i] += float64(v) / n
			}
		}
		if e := maxAbsDiff(mean, to64(p.Means[j])); e > 1e-5 {
			t.Errorf("class %d: embedded mean differs from the training mean by %.3g", j, e)
		}
		u := to64(p.Bases[j][:d])
		var v1, total float64
		for _, r := range rows {
			c := 0.0
			for i, v := range r {
				y := float64(v) - mean[i]
				c += u[i] * y
				total += y * y / n
			}
			v1 += c * c / n
		}
		s := float64(p.ResidualVariances[j])
		modelTotal := float64(d) * s
		for _, l := range p.Variances[j] {
			modelTotal += float64(l)
		}
		if math.Abs(v1-(float64(p.Variances[j][0])+s)) > 1e-4*v1 || math.Abs(total-modelTotal) > 1e-4*total {
			t.Errorf("class %d: variance along u_1 %.6g (model %.6g), total variance %.6g (model %.6g)",
				j, v1, float64(p.Variances[j][0])+s, total, modelTotal)
		}
	}
}
