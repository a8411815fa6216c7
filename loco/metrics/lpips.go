package metrics

import (
	"errors"
	"math"
)

// ErrLPIPSUnavailable is returned by LPIPS.
var ErrLPIPSUnavailable = errors.New("metrics: LPIPS is not available: it needs the ImageNet-trained AlexNet " +
	"weights (torchvision's alexnet-owt-7be5be79.pth) and the LPIPS v0.1 linear-layer weights " +
	"(lpips/weights/v0.1/alex.pth from github.com/richzhang/PerceptualSimilarity, the `lpips` Python package), " +
	"which this project does not ship, and the AlexNet+LPIPS network is not implemented here; " +
	"compute LPIPS with the `lpips` Python package (net='alex', inputs in [−1, 1]) on the saved PNGs, or use SSIM")

// LPIPS would return the learned perceptual distance (Zhang et al. 2018, AlexNet backbone, version 0.1) that
// the paper reports next to SSIM. It is not implemented: it always returns NaN and ErrLPIPSUnavailable, which
// names the two weight files a port would need. (For such a port: LPIPS shifts and scales the [−1, 1]
// input per channel, takes the five ReLU outputs of AlexNet's feature layers, normalises each feature
// vector to unit length over channels, weights the squared differences per channel with the learned
// non-negative 1×1 linear layers, averages over space and sums over the five layers.)
func LPIPS(a, b []float32, c, h, w int) (float64, error) {
	return math.NaN(), ErrLPIPSUnavailable
}
