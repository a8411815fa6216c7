package imageio

import "fmt"

// Strip lays the images out in one row with torchvision make_grid's layout: padding pixels of black around
// every image and between neighbours, so n images of H×W give a (n·(W+padding)+padding) × (H+2·padding)
// picture; the LOCO-Edit strips (5 images of 256², padding 2) are 1292×260. All images must have the same
// size and number of channels (unlike make_grid, 1-channel images stay 1-channel).
func Strip(images []*Image, padding int) (*Image, error) {
	return Grid(images, len(images), padding)
}

// StripOf is Strip for n images given as one flat batch of n·C·H·W values of shape [C, H, W].
func StripOf(batch []float32, n int, shape []int, padding int) (*Image, error) {
	if len(shape) != 3 || n < 1 || len(batch) != n*shape[0]*shape[1]*shape[2] {
		return nil, fmt.Errorf("imageio: strip of %d images of shape %v from %d values", n, shape, len(batch))
	}
	d := len(batch) / n
	images := make([]*Image, n)
	for i := range images {
		img, err := FromCHW(batch[i*d:(i+1)*d], shape[0], shape[1], shape[2])
		if err != nil {
			return nil, err
		}
		images[i] = img
	}
	return Strip(images, padding)
}

// Grid lays the images out row by row, nrow images per row, with make_grid's layout: a picture of
// (cols·(W+padding)+padding) × (rows·(H+padding)+padding) pixels, where cols = min(nrow, len(images)) and
// rows = ⌈len(images)/cols⌉; the padding and the unused cells of the last row are black (−1).
func Grid(images []*Image, nrow, padding int) (*Image, error) {
	return GridWithPadValue(images, nrow, padding, -1)
}

// GridWithPadValue is Grid with the padding filled with padValue (in [−1, 1]; +1 is white).
func GridWithPadValue(images []*Image, nrow, padding int, padValue float32) (*Image, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("imageio: grid of no images")
	}
	if nrow <= 0 {
		return nil, fmt.Errorf("imageio: grid with %d images per row: must be positive", nrow)
	}
	if padding < 0 {
		return nil, fmt.Errorf("imageio: negative grid padding %d", padding)
	}
	first := images[0]
	for i, img := range images {
		if err := img.Validate(); err != nil {
			return nil, fmt.Errorf("imageio: grid image %d: %w", i, err)
		}
		if img.C != first.C || img.H != first.H || img.W != first.W {
			return nil, fmt.Errorf("imageio: grid image %d is %d×%d×%d but image 0 is %d×%d×%d: all must match",
				i, img.C, img.H, img.W, first.C, first.H, first.W)
		}
	}
	cols := min(nrow, len(images))
	rows := (len(images) + cols - 1) / cols
	c, cellH, cellW := first.C, first.H+padding, first.W+padding
	gh, gw := rows*cellH+padding, cols*cellW+padding
	if err := checkSize(c, gh, gw); err != nil {
		return nil, err
	}
	out := &Image{C: c, H: gh, W: gw, Pix: make([]float32, c*gh*gw)}
	for i := range out.Pix {
		out.Pix[i] = padValue
	}
	for k, img := range images {
		y0, x0 := (k/cols)*cellH+padding, (k%cols)*cellW+padding
		for ch := 0; ch < c; ch++ {
			for y := 0; y < img.H; y++ {
				src := img.Pix[(ch*img.H+y)*img.W : (ch*img.H+y+1)*img.W]
				copy(out.Pix[(ch*gh+y0+y)*gw+x0:], src)
			}
		}
	}
	return out, nil
}
