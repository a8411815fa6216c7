package molrg

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/internal/num"
)

func fashionDir(t *testing.T) string {
	dir := fashionmnist.Dir()
	if _, err := os.Stat(filepath.Join(dir, "train-labels-idx1-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed in %s (apt-get install dataset-fashion-mnist)", dir)
	}
	return dir
}

// TestEmbeddedMatchesTrainingSet checks the embedded parameters against the Fashion-MNIST training split without
// refitting: class means, priors, the variance along the first principal direction (λ_1 + σ²) and the total
// variance (Σλ + dσ²) of every class.
func TestEmbeddedMatchesTrainingSet(t *testing.T) {
	imgs, labels, err := fashionmnist.Read(fashionDir(t))
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
		if e := maxAbsDiff(mean, num.Float64s(p.Means[j])); e > 1e-5 {
			t.Errorf("class %d: embedded mean differs from the training mean by %.3g", j, e)
		}
		u := num.Float64s(p.Bases[j][:d])
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
