package diffusers

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// CheckInput reports whether an NCHW input of the given dimensions, with numTimes time values, is one the
// model can run: x must be [B, in_channels, H, W] with B ≥ 1 and H, W positive multiples of 2^(levels−1)
// (each down block but the last halves the resolution, and the up path must meet the skips at the same
// sizes), and numTimes must be 1 (one t for the whole batch) or B.
func (c *UNet2DConfig) CheckInput(dims []int, numTimes int) error {
	if len(dims) != 4 {
		return fmt.Errorf("UNet2DModel input must be NCHW [B,%d,H,W], got shape %v (rank %d)", c.InChannels, dims, len(dims))
	}
	b, ch, h, w := dims[0], dims[1], dims[2], dims[3]
	if b < 1 {
		return fmt.Errorf("UNet2DModel input %v has batch size %d: need at least one sample", dims, b)
	}
	if ch != c.InChannels {
		return fmt.Errorf("UNet2DModel input %v has %d channels, the model takes in_channels = %d (input must be NCHW [B,%d,H,W])",
			dims, ch, c.InChannels, c.InChannels)
	}
	mult := 1 << (len(c.BlockOutChannels) - 1)
	if h < 1 || w < 1 || h%mult != 0 || w%mult != 0 {
		return fmt.Errorf("UNet2DModel input %v has spatial size %dx%d: height and width must be positive multiples of %d "+
			"(the model halves the resolution %d times; its native size is %d)", dims, h, w, mult, len(c.BlockOutChannels)-1, c.SampleSize)
	}
	if numTimes != 1 && numTimes != b {
		return fmt.Errorf("UNet2DModel got %d time values for a batch of %d: give one t for the whole batch or one per sample", numTimes, b)
	}
	return nil
}

// Eps runs the model: it returns the noise prediction ε(x, t) [B, out_channels, H, W] for x [B, in_channels,
// H, W] (NCHW, float32) and t, one float time per sample or a single one for the whole batch (fed to the time
// embedding as is, so fractional times work).
//
// Invalid inputs are reported as errors that name the problem, as are failures inside GoMLX; Eps never panics.
// It runs on the shared backend (mlx.Backend) and compiles the graph once per input shape, so repeated calls at
// one shape are cheap. Eps is safe for concurrent use.
func (m *UNet2DModel) Eps(x *tensors.Tensor, t []float32) (*tensors.Tensor, error) {
	if m == nil || m.Config == nil || m.ctx == nil {
		return nil, fmt.Errorf("UNet2DModel.Eps: the model is not initialised (use LoadUNet2D, NewUNet2D or NewRandomUNet2D)")
	}
	if x == nil {
		return nil, fmt.Errorf("UNet2DModel.Eps: x is nil")
	}
	if x.DType() != dtypes.Float32 {
		return nil, fmt.Errorf("UNet2DModel.Eps: x has dtype %s, want float32", x.DType())
	}
	if err := m.Config.CheckInput(x.Shape().Dimensions, len(t)); err != nil {
		return nil, err
	}
	if err := CheckTimes("UNet2DModel.Eps", t); err != nil {
		return nil, err
	}
	out, err := m.run.Run(m.ctx, "eps", func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.Forward(ctx, in[0], in[1])}
	}, x, tensors.FromFlatDataAndDimensions(t, len(t)))
	if err != nil {
		return nil, fmt.Errorf("UNet2DModel.Eps on input %s: %w", x.Shape(), err)
	}
	return out[0], nil
}

// CheckTimes checks the timesteps given to a UNet: finite and in [0, MaxTrainTimesteps] (a UNet's config does
// not say how many steps its schedule has; far outside every schedule the time embedding is meaningless).
func CheckTimes(model string, t []float32) error {
	for i, v := range t {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: t[%d] = %v is not a finite time", model, i, v)
		}
		if v < 0 || v > MaxTrainTimesteps {
			return fmt.Errorf("%s: t[%d] = %v is outside [0, %d]: t counts training steps (released schedules "+
				"have 1000: 0 is the clean sample, 999 pure noise)", model, i, v, MaxTrainTimesteps)
		}
	}
	return nil
}
