package loco

import (
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

const goldenDir = "../testdata/golden"

var (
	goldenOnce sync.Once
	goldenFile *safetensors.File
	goldenErr  error
)

// goldenF32 returns a reference tensor of the golden file as float32 with its shape.
func goldenF32(t testing.TB, name string) ([]float32, []int) {
	t.Helper()
	goldenOnce.Do(func() { goldenFile, goldenErr = safetensors.ReadFile(filepath.Join(goldenDir, "golden.safetensors")) })
	if goldenErr != nil {
		t.Fatal(goldenErr)
	}
	tt, err := goldenFile.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return d, slices.Clone(tt.Shape)
}

func goldenVec(t testing.TB, name string) []float32 {
	d, _ := goldenF32(t, name)
	return d
}

var (
	tinyOnce sync.Once
	tinyPipe *Pipeline
	tinyErr  error
)

// tinyPipeline is the golden tiny UNet as a pipeline (shared by the tests of this package).
func tinyPipeline(t testing.TB) *Pipeline {
	t.Helper()
	tinyOnce.Do(func() {
		m, err := LoadModel(filepath.Join(goldenDir, "tiny-ddpm-unet"))
		if err != nil {
			tinyErr = err
			return
		}
		tinyPipe, tinyErr = NewPipeline(m)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyPipe
}

func maxAbsDiff32(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func maxAbs32(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}
