package molrg

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/mlx"
)

// PredictValues runs Predict on the shared backend (mlx.Backend) for a batch given as flat float32 values: x holds
// len(t) samples of d = C·H·W values (NCHW), t one time per sample. It returns x̂0 in the same layout. The compiled
// program is cached in the model.
func (m *Model) PredictValues(x, t []float32) ([]float32, error) {
	d, b := m.params.Dim(), len(t)
	if b == 0 || len(x) != b*d {
		return nil, fmt.Errorf("MoLRG %q: %d values for %d times: want %d·%d (one sample of d = C·H·W values per time)", m.Name(), len(x), b, b, d)
	}
	backend, err := mlx.Backend()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []float32
	err = mlx.Call(func() {
		if m.exec == nil {
			e, err := context.NewExec(backend, m.ctx, func(ctx *context.Context, x, t *Node) *Node { return m.Predict(ctx, x, t) })
			if err != nil {
				panic(err)
			}
			m.exec = e
		}
		shape := append([]int{b}, m.SampleShape()...)
		res, err := m.exec.Exec(tensors.FromFlatDataAndDimensions(x, shape...), tensors.FromFlatDataAndDimensions(t, b))
		if err != nil {
			panic(err)
		}
		out = tensors.MustCopyFlatData[float32](res[0])
		res[0].FinalizeAll()
	})
	if err != nil {
		return nil, fmt.Errorf("MoLRG %q: evaluating the posterior mean: %w", m.Name(), err)
	}
	return out, nil
}

// SampleDDIM runs deterministic DDIM (η = 0) on the LOCO-Edit time grid (loco.NewGrid with numSteps steps, from
// t = NumTrainSteps−1 down to 0; spec §1.2–1.3) from xT, a batch of flat samples (len(xT) a multiple of d), and
// returns the final samples.
func (m *Model) SampleDDIM(xT []float32, numSteps int) ([]float32, error) {
	d := m.params.Dim()
	if len(xT) == 0 || len(xT)%d != 0 {
		return nil, fmt.Errorf("MoLRG %q: x_T has %d values, not a positive multiple of d = %d", m.Name(), len(xT), d)
	}
	b := len(xT) / d
	grid, err := loco.NewGrid(numSteps, float32(m.sched.NumTrainSteps()-1), false)
	if err != nil {
		return nil, err
	}
	x := append([]float32(nil), xT...)
	ts := make([]float32, b)
	for i, t := range grid.Timesteps {
		for j := range ts {
			ts[j] = t
		}
		x0, err := m.PredictValues(x, ts)
		if err != nil {
			return nil, err
		}
		x, _, err = loco.DDIMStepFor(loco.PredictSample, x, x0, m.sched.AlphaBar(t), m.sched.AlphaBar(grid.Next[i]), 0, nil)
		if err != nil {
			return nil, fmt.Errorf("DDIM step %d (t = %v): %w", i, t, err)
		}
	}
	return x, nil
}

// GaussianNoise returns n seeded standard normal float32 values (the x_T of SampleGrid).
func GaussianNoise(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365)) // "noise"
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// SampleGrid draws a picture of DDIM samples (numSteps steps, η = 0, seeded Gaussian x_T): rows rows of
// class-conditional samples (column k is WithClass(k)) and below them one row of samples of the whole mixture,
// each image magnified scale times (nearest neighbour), 2·scale pixels of grey between images. The model must have
// 1 (grey) or 3 (RGB) channels; values in [−1, 1] map to 0…255.
func SampleGrid(m *Model, rows, numSteps int, seed uint64, scale int) (image.Image, error) {
	shape := m.SampleShape()
	c, h, w, d := shape[0], shape[1], shape[2], m.params.Dim()
	k := m.NumClasses()
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("MoLRG sample grid: %d channels: only 1 or 3 can be drawn", c)
	}
	if rows < 1 || scale < 1 {
		return nil, fmt.Errorf("MoLRG sample grid: rows %d and scale %d must be at least 1", rows, scale)
	}
	var tiles [][]float32 // row-major over the grid
	classRows := make([][][]float32, rows)
	for j := range k {
		cm, err := m.WithClass(j)
		if err != nil {
			return nil, err
		}
		out, err := cm.SampleDDIM(GaussianNoise(rows*d, seed+uint64(j)), numSteps)
		if err != nil {
			return nil, err
		}
		for r := range rows {
			classRows[r] = append(classRows[r], out[r*d:(r+1)*d])
		}
	}
	for _, row := range classRows {
		tiles = append(tiles, row...)
	}
	mix, err := m.SampleDDIM(GaussianNoise(k*d, seed+1000), numSteps)
	if err != nil {
		return nil, err
	}
	for j := range k {
		tiles = append(tiles, mix[j*d:(j+1)*d])
	}
	gap := 2 * scale
	gw, gh := k*(w*scale+gap)+gap, (rows+1)*(h*scale+gap)+gap
	img := image.NewRGBA(image.Rect(0, 0, gw, gh))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	for n, tile := range tiles {
		ox, oy := gap+(n%k)*(w*scale+gap), gap+(n/k)*(h*scale+gap)
		for y := range h * scale {
			for x := range w * scale {
				var px [3]uint8
				for ch := range 3 {
					px[ch] = toUint8(tile[(min(ch, c-1)*h+y/scale)*w+x/scale])
				}
				img.SetRGBA(ox+x, oy+y, color.RGBA{px[0], px[1], px[2], 255})
			}
		}
	}
	return img, nil
}

// toUint8 maps [−1, 1] to 0…255 (round half up, clamped), as torchvision's save_image does for (x+1)/2.
func toUint8(v float32) uint8 {
	f := (float64(v)+1)/2*255 + 0.5
	switch {
	case !(f > 0):
		return 0
	case f >= 255:
		return 255
	}
	return uint8(f)
}

// WritePNG encodes img as PNG and writes it to path atomically.
func WritePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}
