package analysis

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"
	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/models/molrg"
)

const goldenDir = "../../testdata/golden"

// linearDenoiser predicts x̂0 = A·x (flattened), so its x̂0-Jacobian is A at every x and t, and its ε-Jacobian is
// (I − √ᾱ·A)/√(1−ᾱ).
type linearDenoiser struct {
	a     *mat.Dense // d×d
	shape []int
}

func (l *linearDenoiser) Name() string                { return "linear-test-denoiser" }
func (l *linearDenoiser) SampleShape() []int          { return l.shape }
func (l *linearDenoiser) Schedule() *loco.Schedule    { return loco.LinearSchedule() }
func (l *linearDenoiser) Prediction() loco.Prediction { return loco.PredictSample }
func (l *linearDenoiser) Context() *context.Context   { return nil }
func (l *linearDenoiser) Predict(_ *context.Context, x, _ *Node) *Node {
	dims := x.Shape().Dimensions
	d := dims[1] * dims[2] * dims[3]
	a := make([]float32, d*d)
	for i := range d {
		for j := range d {
			a[i*d+j] = float32(l.a.At(i, j))
		}
	}
	am := Reshape(Const(x.Graph(), a), d, d)
	y := Einsum("bj,ij->bi", Reshape(x, dims[0], d), am)
	return Reshape(y, dims...)
}

// f32Matrix rounds a matrix to float32 values, as the graph sees it.
func f32Matrix(a *mat.Dense) *mat.Dense {
	r, c := a.Dims()
	out := mat.NewDense(r, c, nil)
	for i := range r {
		for j := range c {
			out.Set(i, j, float64(float32(a.At(i, j))))
		}
	}
	return out
}

// randomOrthogonal returns a d×d orthogonal matrix from the QR of a seeded Gaussian matrix.
func randomOrthogonal(d int, rng *rand.Rand) *mat.Dense { return num.OrthonormalColumns(rng, d, d) }

// spectrumMatrix returns U·diag(s)·Vᵀ for random orthogonal U, V (a non-symmetric matrix with singular values s).
func spectrumMatrix(s []float64, seed uint64) *mat.Dense {
	d := len(s)
	rng := rand.New(rand.NewPCG(seed, 2))
	u, v := randomOrthogonal(d, rng), randomOrthogonal(d, rng)
	var us mat.Dense
	us.Mul(u, mat.NewDiagDense(d, s))
	var a mat.Dense
	a.Mul(&us, v.T())
	return &a
}

func linearPipeline(t testing.TB, a *mat.Dense, shape []int) *loco.Pipeline {
	t.Helper()
	p, err := loco.NewPipeline(&linearDenoiser{a: a, shape: shape})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func oraclePipeline(t testing.TB, d int, ranks []int, seed uint64) *loco.Pipeline {
	t.Helper()
	m, err := molrg.NewOracle(d, ranks, seed)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noisyOraclePoint draws x_t = √ᾱ·x0 + √(1−ᾱ)·ε with x0 from the oracle's first component.
func noisyOraclePoint(t testing.TB, p *loco.Pipeline, tt float32, seed uint64) []float32 {
	t.Helper()
	m := p.Model.(*molrg.Model)
	basis := m.Basis(0)
	rng := rand.New(rand.NewPCG(seed, 3))
	d := p.Dim()
	x0 := make([]float64, d)
	for _, b := range basis {
		a := rng.NormFloat64()
		for i := range d {
			x0[i] += a * b[i]
		}
	}
	ab := m.Schedule().AlphaBar(tt)
	x := make([]float32, d)
	for i := range d {
		x[i] = float32(math.Sqrt(ab)*x0[i] + math.Sqrt(1-ab)*rng.NormFloat64())
	}
	return x
}

var (
	goldenOnce sync.Once
	goldenFile *safetensors.File
	goldenErr  error
	tinyOnce   sync.Once
	tinyPipe   *loco.Pipeline
	tinyErr    error
)

func goldenVec(t testing.TB, name string) []float32 {
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
	return slices.Clone(d)
}

func tinyPipeline(t testing.TB) *loco.Pipeline {
	t.Helper()
	tinyOnce.Do(func() {
		m, err := loco.LoadModel(filepath.Join(goldenDir, "tiny-ddpm-unet"))
		if err != nil {
			tinyErr = err
			return
		}
		tinyPipe, tinyErr = loco.NewPipeline(m)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyPipe
}

// maxAbsDiff returns max |a_i − b_i| and max |b_i|.
func maxAbsDiff(a, b []float64) (diff, scale float64) {
	for i := range a {
		diff = max(diff, math.Abs(a[i]-b[i]))
		scale = max(scale, math.Abs(b[i]))
	}
	return diff, scale
}
