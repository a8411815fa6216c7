package metrics

import (
	"fmt"
	"math"
)

// SSIM parameters (Wang et al., "Image quality assessment: from error visibility to structural
// similarity", IEEE TIP 2004).
const (
	// SSIMWindow is the side of the Gaussian window (radius 5).
	SSIMWindow = 11
	// SSIMSigma is the standard deviation of the Gaussian window in pixels.
	SSIMSigma = 1.5
	// SSIMK1 and SSIMK2 set the stabilising constants C1 = (K1·L)², C2 = (K2·L)² for data range L.
	SSIMK1, SSIMK2 = 0.01, 0.03
)

// ssimWeights returns the normalised 11-tap Gaussian exp(−k²/(2σ²)), k = −5…5.
func ssimWeights() [SSIMWindow]float64 {
	var g [SSIMWindow]float64
	var s float64
	for k := range g {
		d := float64(k - SSIMWindow/2)
		g[k] = math.Exp(-0.5 * d * d / (SSIMSigma * SSIMSigma))
		s += g[k]
	}
	for k := range g {
		g[k] /= s
	}
	return g
}

// SSIM returns the mean structural similarity of two c×h×w images, averaged over the channels.
//
// Convention (exactly scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=dataRange, channel_axis=0), and torchmetrics' default SSIM): per
// channel, local means μ, variances σ² and covariance σxy are Gaussian-weighted averages over an 11×11
// window (σ = 1.5 px, weights normalised to 1, population — not sample — moments); the map
//
//	S = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),  C1 = (0.01·L)², C2 = (0.03·L)²,
//
// is evaluated only where the window lies inside the image ("valid" filtering: the (h−10)×(w−10) centres,
// which is what those libraries' cropping of 5-pixel borders amounts to), and averaged. L = dataRange is
// fixed by the caller: 2 for images in [−1, 1]. h and w must be at least 11. Computed in float64;
// identical images give exactly 1 and SSIM(a, b) = SSIM(b, a) exactly. For a batch, pass c = N·C: the mean
// over all channels of all images is the mean of the per-image values.
func SSIM(a, b []float32, c, h, w int, dataRange float64) (float64, error) {
	if c <= 0 || h <= 0 || w <= 0 {
		return math.NaN(), fmt.Errorf("metrics: SSIM of a %d×%d×%d image: sizes must be positive", c, h, w)
	}
	if err := checkRange(dataRange); err != nil {
		return math.NaN(), err
	}
	if err := checkPair(a, b); err != nil {
		return math.NaN(), err
	}
	if len(a) != c*h*w {
		return math.NaN(), fmt.Errorf("metrics: SSIM: %d values do not make a %d×%d×%d image", len(a), c, h, w)
	}
	if h < SSIMWindow || w < SSIMWindow {
		return math.NaN(), fmt.Errorf("metrics: SSIM needs images of at least %d×%d pixels (its window); got %d×%d",
			SSIMWindow, SSIMWindow, h, w)
	}
	g := ssimWeights()
	c1 := (SSIMK1 * dataRange) * (SSIMK1 * dataRange)
	c2 := (SSIMK2 * dataRange) * (SSIMK2 * dataRange)
	oh, ow := h-SSIMWindow+1, w-SSIMWindow+1
	n := h * w
	x, y := make([]float64, n), make([]float64, n)
	xx, yy, xy := make([]float64, n), make([]float64, n), make([]float64, n)
	tmp := make([]float64, h*ow)
	mx, my := make([]float64, oh*ow), make([]float64, oh*ow)
	mxx, myy, mxy := make([]float64, oh*ow), make([]float64, oh*ow), make([]float64, oh*ow)
	var total float64
	for ch := 0; ch < c; ch++ {
		for i := 0; i < n; i++ {
			x[i], y[i] = float64(a[ch*n+i]), float64(b[ch*n+i])
			xx[i], yy[i], xy[i] = x[i]*x[i], y[i]*y[i], x[i]*y[i]
		}
		gaussValid(x, h, w, &g, tmp, mx)
		gaussValid(y, h, w, &g, tmp, my)
		gaussValid(xx, h, w, &g, tmp, mxx)
		gaussValid(yy, h, w, &g, tmp, myy)
		gaussValid(xy, h, w, &g, tmp, mxy)
		var s float64
		for i := range mx {
			ux, uy := mx[i], my[i]
			vx, vy, vxy := mxx[i]-ux*ux, myy[i]-uy*uy, mxy[i]-ux*uy
			s += ((2*ux*uy + c1) * (2*vxy + c2)) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
		}
		total += s / float64(len(mx))
	}
	return total / float64(c), nil
}

// gaussValid filters the h×w plane src with the separable window g, keeping only the (h−10)×(w−10) outputs
// whose window lies inside the plane; tmp holds h×(w−10) values.
func gaussValid(src []float64, h, w int, g *[SSIMWindow]float64, tmp, dst []float64) {
	ow := w - SSIMWindow + 1
	for y := 0; y < h; y++ {
		row := src[y*w : (y+1)*w]
		for x := 0; x < ow; x++ {
			var s float64
			for k, wt := range g {
				s += wt * row[x+k]
			}
			tmp[y*ow+x] = s
		}
	}
	oh := h - SSIMWindow + 1
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var s float64
			for k, wt := range g {
				s += wt * tmp[(y+k)*ow+x]
			}
			dst[y*ow+x] = s
		}
	}
}
