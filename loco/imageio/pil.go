package imageio

import (
	"fmt"
	"math"
)

// Pillow-compatible 8-bit resampling. The LOCO-Edit data loaders call PIL's Image.resize with its default
// filter (bicubic for "L" and "RGB" images, Pillow ≥ 7) on 8-bit pictures: the CelebA-HQ JPEGs (1024² → 256²)
// and the CelebAMask-HQ annotation PNGs (512² → 256², then ≠ 0, docs/method.md §14 item 10). This file reproduces that
// arithmetic: separable passes (horizontal first, then vertical), the filter stretched by the shrink factor,
// weights normalised to sum 1 and quantised to 22-bit fixed point, each pass rounded and clipped to 0…255.

// pilPrecisionBits is Pillow's fixed-point precision for 8-bit images (32 − 8 − 2).
const pilPrecisionBits = 22

// pilBicubic is Pillow's bicubic kernel (a = −0.5), support 2.
func pilBicubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// pilCoeffs returns, for each output index, the first source index and the fixed-point weights.
func pilCoeffs(in, out int) (starts []int, kk [][]int32) {
	const support = 2.0 // bicubic
	scale := float64(in) / float64(out)
	filterScale := math.Max(scale, 1)
	sup := support * filterScale
	starts, kk = make([]int, out), make([][]int32, out)
	for i := 0; i < out; i++ {
		center := (float64(i) + 0.5) * scale
		xmin := int(center - sup + 0.5) // C truncation, as Pillow
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + sup + 0.5)
		if xmax > in {
			xmax = in
		}
		ws := make([]float64, xmax-xmin)
		var sum float64
		for x := range ws {
			ws[x] = pilBicubic((float64(x+xmin) - center + 0.5) / filterScale)
			sum += ws[x]
		}
		k := make([]int32, len(ws))
		for x, w := range ws {
			if sum != 0 {
				w /= sum
			}
			if w < 0 {
				k[x] = int32(-0.5 + w*(1<<pilPrecisionBits))
			} else {
				k[x] = int32(0.5 + w*(1<<pilPrecisionBits))
			}
		}
		starts[i], kk[i] = xmin, k
	}
	return starts, kk
}

// pilClip8 turns a fixed-point accumulator into a byte.
func pilClip8(v int64) uint8 {
	switch {
	case v >= 256<<pilPrecisionBits:
		return 255
	case v <= 0:
		return 0
	}
	return uint8(v >> pilPrecisionBits)
}

// pilResize8 resizes one 8-bit plane (row-major inH×inW) to outH×outW as Pillow's bicubic Image.resize.
func pilResize8(src []uint8, inH, inW, outH, outW int) []uint8 {
	cur, curW := src, inW
	if outW != inW {
		starts, kk := pilCoeffs(inW, outW)
		tmp := make([]uint8, inH*outW)
		for y := 0; y < inH; y++ {
			row := cur[y*inW : (y+1)*inW]
			for x := 0; x < outW; x++ {
				acc := int64(1) << (pilPrecisionBits - 1)
				for k, w := range kk[x] {
					acc += int64(row[starts[x]+k]) * int64(w)
				}
				tmp[y*outW+x] = pilClip8(acc)
			}
		}
		cur, curW = tmp, outW
	}
	if outH != inH {
		starts, kk := pilCoeffs(inH, outH)
		tmp := make([]uint8, outH*curW)
		for y := 0; y < outH; y++ {
			for x := 0; x < curW; x++ {
				acc := int64(1) << (pilPrecisionBits - 1)
				for k, w := range kk[y] {
					acc += int64(cur[(starts[y]+k)*curW+x]) * int64(w)
				}
				tmp[y*curW+x] = pilClip8(acc)
			}
		}
		cur = tmp
	}
	if &cur[0] == &src[0] {
		cur = append([]uint8(nil), src...)
	}
	return cur
}

// ResizePILBicubic resizes img to h×w the way the LOCO-Edit loaders do: each channel is quantised to 8 bits
// (ToUint8, exact for images read from 8-bit files) and resampled with Pillow's default bicubic
// Image.resize arithmetic, then mapped back to [−1, 1]. Use it to reproduce the authors' inputs; Resize is
// the better general-purpose filter (no 8-bit rounding).
func ResizePILBicubic(img *Image, h, w int) (*Image, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize(img.C, h, w); err != nil {
		return nil, fmt.Errorf("imageio: resizing: %w", err)
	}
	n := img.H * img.W
	out := &Image{C: img.C, H: h, W: w, Pix: make([]float32, img.C*h*w)}
	plane := make([]uint8, n)
	for c := 0; c < img.C; c++ {
		for i, v := range img.Pix[c*n : (c+1)*n] {
			plane[i] = ToUint8(v)
		}
		for i, u := range pilResize8(plane, img.H, img.W, h, w) {
			out.Pix[c*h*w+i] = (float32(u)/255 - 0.5) / 0.5
		}
	}
	return out, nil
}
