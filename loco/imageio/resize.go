package imageio

import (
	"fmt"
	"math"
)

// Resize returns img resampled to h×w, each axis on its own:
//
//   - enlarging (or keeping) an axis uses linear interpolation with half-pixel centres, the source
//     coordinate (i+0.5)·in/out − 0.5 clamped to the image (PyTorch's bilinear with align_corners=False);
//   - shrinking an axis averages the source pixels each output pixel covers, weighted by the covered length
//     ("area" resampling; for an integer factor k it is the mean of k×k blocks).
//
// Masks and label maps must not be resampled this way; use Mask.Resize (nearest neighbour).
func Resize(img *Image, h, w int) (*Image, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize(img.C, h, w); err != nil {
		return nil, err
	}
	if h == img.H && w == img.W {
		return img.Clone(), nil
	}
	ty, tx := resampleTaps(img.H, h), resampleTaps(img.W, w)
	out := &Image{C: img.C, H: h, W: w, Pix: make([]float32, img.C*h*w)}
	tmp := make([]float64, img.H*w) // one channel resized along x
	for c := 0; c < img.C; c++ {
		src := img.Pix[c*img.H*img.W : (c+1)*img.H*img.W]
		for y := 0; y < img.H; y++ {
			row := src[y*img.W : (y+1)*img.W]
			for x := 0; x < w; x++ {
				var s float64
				for k, wt := range tx.weights[x] {
					s += wt * float64(row[tx.start[x]+k])
				}
				tmp[y*w+x] = s
			}
		}
		dst := out.Pix[c*h*w : (c+1)*h*w]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float64
				for k, wt := range ty.weights[y] {
					s += wt * tmp[(ty.start[y]+k)*w+x]
				}
				dst[y*w+x] = float32(s)
			}
		}
	}
	return out, nil
}

// taps lists, for each output index, the first source index and the weights of the consecutive sources.
type taps struct {
	start   []int
	weights [][]float64
}

// resampleTaps returns linear-interpolation taps when out ≥ in and area taps when out < in.
func resampleTaps(in, out int) taps {
	t := taps{start: make([]int, out), weights: make([][]float64, out)}
	scale := float64(in) / float64(out)
	if out >= in {
		for i := 0; i < out; i++ {
			s := (float64(i)+0.5)*scale - 0.5
			s = math.Max(0, math.Min(s, float64(in-1)))
			i0 := int(math.Floor(s))
			f := s - float64(i0)
			if i0+1 >= in || f == 0 {
				t.start[i], t.weights[i] = i0, []float64{1}
				continue
			}
			t.start[i], t.weights[i] = i0, []float64{1 - f, f}
		}
		return t
	}
	for i := 0; i < out; i++ {
		lo, hi := float64(i)*scale, float64(i+1)*scale
		j0, j1 := int(math.Floor(lo)), min(in, int(math.Ceil(hi)))
		ws := make([]float64, 0, j1-j0)
		for j := j0; j < j1; j++ {
			ws = append(ws, (math.Min(hi, float64(j+1))-math.Max(lo, float64(j)))/scale)
		}
		t.start[i], t.weights[i] = j0, ws
	}
	return t
}

// nearestIndex returns the source index for output index i when resizing in → out with nearest neighbour:
// floor(i·in/out), computed exactly in integers. This is PyTorch's F.interpolate(mode="nearest"), which the
// LOCO-Edit code uses for its SAM masks; for integer enlargement factors it equals every other convention.
func nearestIndex(i, in, out int) int { return int(int64(i) * int64(in) / int64(out)) }

// ResizeNearest returns img resized to h×w by nearest neighbour (see Mask.Resize for the convention); use it
// for label maps and masks stored as images.
func ResizeNearest(img *Image, h, w int) (*Image, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize(img.C, h, w); err != nil {
		return nil, fmt.Errorf("imageio: resizing: %w", err)
	}
	out := &Image{C: img.C, H: h, W: w, Pix: make([]float32, img.C*h*w)}
	for c := 0; c < img.C; c++ {
		for y := 0; y < h; y++ {
			sy := nearestIndex(y, img.H, h)
			for x := 0; x < w; x++ {
				out.Pix[(c*h+y)*w+x] = img.Pix[(c*img.H+sy)*img.W+nearestIndex(x, img.W, w)]
			}
		}
	}
	return out, nil
}
