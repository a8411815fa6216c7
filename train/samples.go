package train

import (
	"fmt"
	"io"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

// SampleOptions configure the sample grids written during training.
type SampleOptions struct {
	// Count images, laid out PerRow per row, drawn with deterministic DDIM on a grid of Steps points from the
	// noise of seeds Seed, Seed+1, … (loco.Pipeline.Noise: the same every time, so successive grids show the
	// training progress).
	Count, PerRow, Steps int
	Seed                 uint64
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

// DefaultSampleOptions: 16 images, 8 per row, 50 DDIM steps, seed 0.
func DefaultSampleOptions() SampleOptions { return SampleOptions{Count: 16, PerRow: 8, Steps: 50} }

// Samples draws images from a UNet2DModel (ε-prediction with the given schedule) with DDIM (η = 0) from seeded noise.
// It returns Count images of C·H·W values.
func Samples(m *diffusers.UNet2DModel, sched *diffusers.SchedulerConfig, o SampleOptions) ([]*imageio.Image, error) {
	if o.Count < 1 || o.Steps < 2 {
		return nil, fmt.Errorf("samples: need at least 1 image and 2 DDIM grid points, got %d and %d", o.Count, o.Steps)
	}
	s, err := loco.NewSchedule(loco.BetaSchedule(sched.BetaSchedule), sched.BetaStart, sched.BetaEnd, sched.NumTrainTimesteps)
	if err != nil {
		return nil, err
	}
	p, err := loco.NewPipeline(&loco.UNetDenoiser{UNet: m, ModelID: "training EMA", Sched: s, PredType: loco.PredictEpsilon})
	if err != nil {
		return nil, err
	}
	d := p.Dim()
	seeds := make([]uint64, o.Count)
	for i := range seeds {
		seeds[i] = o.Seed + uint64(i)
	}
	x, err := p.Sample(p.Noise(seeds...), 0, -1, loco.SampleOptions{Steps: o.Steps, Callback: loco.ProgressBar(o.Progress, "DDIM")})
	if err != nil {
		return nil, err
	}
	sh := p.SampleShape()
	out := make([]*imageio.Image, o.Count)
	for i := range out {
		pix := x[i*d : (i+1)*d]
		for j, v := range pix {
			pix[j] = max(-1, min(1, v))
		}
		if out[i], err = imageio.FromCHW(pix, sh[0], sh[1], sh[2]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteSampleGrid draws samples from the EMA weights and writes them as one PNG grid.
func (tr *Trainer) WriteSampleGrid(path string, o SampleOptions) error {
	m, err := tr.EMAModel()
	if err != nil {
		return err
	}
	images, err := Samples(m, tr.opts.Scheduler, o)
	if err != nil {
		return fmt.Errorf("sampling: %w", err)
	}
	grid, err := imageio.Grid(images, max(1, o.PerRow), 2)
	if err != nil {
		return err
	}
	return imageio.WritePNG(path, grid)
}
