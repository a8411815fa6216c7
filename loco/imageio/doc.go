// Package imageio converts between image files and the float32 tensors LOCO-Edit works on, builds image
// strips and grids for figures, and builds edit masks from PNG files, CelebAMask-HQ labels and simple shapes.
//
// Conventions:
//
//   - An Image is one C×H×W tensor (channels first, row-major) with values in [−1, 1]: black is −1, white +1.
//     Reading maps an 8-bit value u to (u/255 − 0.5)/0.5 and writing maps x back to
//     uint8(clamp(x/2 + 0.5, 0, 1)·255 + 0.5), both in float32, as torchvision's ToTensor/Normalize and
//     save_image do, so a PNG read and written again is bit-identical.
//   - A Mask is a C×H×W boolean tensor in the same order; a 1×H×W mask applies to every channel.
//   - Nothing here needs GoMLX: pixels are plain []float32 slices that callers wrap as tensors.
package imageio
