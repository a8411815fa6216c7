package molrg

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var (
	refit     = flag.Bool("refit", false, "refit fashion-molrg-32 from Fashion-MNIST and rewrite the embedded folder")
	writeGrid = flag.Bool("grid", false, "render the DDIM sample grid to docs/figures/molrg-samples.png")
)

// TestRefitFashion regenerates the embedded folder: go test ./models/molrg -run TestRefitFashion -refit
// (FASHION_MNIST_DIR overrides the dataset folder).
func TestRefitFashion(t *testing.T) {
	if !*refit {
		t.Skip("pass -refit to refit fashion-molrg-32 (one to two minutes)")
	}
	start := time.Now()
	p, err := FitFashionMNIST(os.Getenv("FASHION_MNIST_DIR"), FashionRank)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit of rank %d took %v", FashionRank, time.Since(start))
	if err := p.Save(EmbeddedName); err != nil {
		t.Fatal(err)
	}
}

// TestWriteSampleGrid renders the documentation figure: go test ./models/molrg -run TestWriteSampleGrid -grid
func TestWriteSampleGrid(t *testing.T) {
	if !*writeGrid {
		t.Skip("pass -grid to render docs/figures/molrg-samples.png")
	}
	m, err := Open(EmbeddedName)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	img, err := SampleGrid(m, 2, 100, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("30 samples with 100-step DDIM in %v", time.Since(start))
	dir := filepath.Join("..", "..", "docs", "figures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WritePNG(filepath.Join(dir, "molrg-samples.png"), img); err != nil {
		t.Fatal(err)
	}
}
