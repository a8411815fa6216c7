# Regenerates skimage_ssim.json (scikit-image 0.19.3, Debian python3-skimage): SSIM, PSNR and MSE reference
# values. The images are integer formulas that the Go test rebuilds (testBase, testNoisy in ssim_test.go).
# Run: python3 gen_skimage_ssim.py
import json
import numpy as np
import skimage
from skimage.metrics import structural_similarity, peak_signal_noise_ratio, mean_squared_error


def base(c, h, w):
    a = np.zeros((c, h, w), np.float32)
    for k in range(c):
        for y in range(h):
            for x in range(w):
                a[k, y, x] = np.float32(((k * 7 + y * 13 + x * 29 + ((x * y) % 11) * 5) % 64) / 32.0 - 1.0)
    return a


def noise(c, h, w, seed, amp):
    out = np.zeros((c, h, w), np.float32)
    s = seed
    for i in range(c * h * w):
        s = (s * 1103515245 + 12345) % (1 << 31)
        out.flat[i] = np.float32(((s >> 16) % 1000) / 1000.0 * 2 * amp - amp)
    return out


def ssim(a, b, dr):
    return structural_similarity(a.astype(np.float64), b.astype(np.float64), channel_axis=0,
                                 gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=dr)


cases = []
for c, h, w, seed, amp, dr in [(3, 24, 20, 1, 0.2, 2.0), (1, 32, 32, 7, 0.6, 2.0), (3, 16, 13, 3, 0.05, 2.0),
                               (1, 11, 11, 5, 0.3, 1.0)]:
    a = base(c, h, w)
    b = np.clip(a + noise(c, h, w, seed, amp), -1, 1).astype(np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    cases.append(dict(c=c, h=h, w=w, seed=seed, amp=amp, data_range=dr, ssim=ssim(a, b, dr),
                      psnr=peak_signal_noise_ratio(a64, b64, data_range=dr), mse=mean_squared_error(a64, b64)))
const = ssim(np.zeros((1, 16, 16)), np.full((1, 16, 16), 0.5), 2.0)
json.dump(dict(source="scikit-image %s structural_similarity(channel_axis=0, gaussian_weights=True, sigma=1.5, "
                      "use_sample_covariance=False, data_range=...), peak_signal_noise_ratio, mean_squared_error "
                      "on float64 copies" % skimage.__version__,
               cases=cases, constant_zero_vs_half=const), open("skimage_ssim.json", "w"), indent=1)
