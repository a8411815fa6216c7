// Package metrics holds the image metrics of the LOCO-Edit evaluation (docs/method.md §10): SSIM, PSNR, MSE,
// masked MSE, LPIPS (on user-supplied weights, see LPIPS), and two measures of an edit's locality and
// transferability.
//
// All functions take flattened float32 images (C×H×W, or N×C×H×W, row-major) and compute in float64. Masks
// are []bool in the same order; a mask shorter than the images is repeated over the leading axes, so one
// H×W mask serves every channel and one C×H×W mask every image of a batch (len(images) must be a multiple
// of len(mask)).
//
// This re-implementation fixes the evaluation bugs of the authors' eval.py (docs/method.md §14 item 9): SSIM uses a
// fixed data range (2 for images in [−1, 1]) instead of inferring it, and the masked MSE really is masked
// and reports both the region and its complement.
package metrics
