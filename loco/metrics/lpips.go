package metrics

import (
	"math"

	"github.com/locoedit/locoedit/models/lpips"
)

// ErrLPIPSUnavailable is returned by LPIPS when no weights are configured. Its message names the two weight
// files and how to point at them.
var ErrLPIPSUnavailable = lpips.ErrNoWeights

// LPIPS returns the learned perceptual distance (Zhang et al. 2018, AlexNet trunk, version 0.1) between two
// C×H×W images in [−1, 1] (C = 3, or 1 for greyscale; H, W ≥ 31), the metric the paper reports next to SSIM.
// It runs the network of package models/lpips on the weights the user supplies (the CLI's --lpips-weights,
// or $LOCO_LPIPS_WEIGHTS: a folder with torchvision's alexnet-owt-7be5be79.pth and LPIPS's alex.pth), loaded
// on first use. Without them it returns NaN and an error wrapping ErrLPIPSUnavailable.
func LPIPS(a, b []float32, c, h, w int) (float64, error) {
	net, err := lpips.Default()
	if err != nil {
		return math.NaN(), err
	}
	return net.Distance(a, b, c, h, w)
}

// LPIPSAvailable reports whether LPIPS weights are configured and load (so LPIPS returns distances).
func LPIPSAvailable() bool {
	_, err := lpips.Default()
	return err == nil
}
