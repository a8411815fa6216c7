package mlx

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// PlusBackend decorates a backend with the ops GoMLX v0.26.0's pure-Go backend lacks but gradients emit:
//
//   - Pad (emitted by the gradient of Slice and Concatenate), built from BroadcastInDim, Concatenate,
//     Reshape and Slice;
//   - Reverse (emitted by the gradient of Convolve), built from single-element Slices and Concatenate;
//   - ConvGeneral with nil strides or dilations (the pure-Go shape inference reads nil as 0), filled with 1s.
//
// Every other method passes through. It costs nothing where unused.
type PlusBackend struct {
	backends.Backend
}

// Builder implements backends.Backend.
func (b *PlusBackend) Builder(name string) backends.Builder {
	return &plusBuilder{Builder: b.Backend.Builder(name), fold: GoKernelsOn()}
}

// Unwrap returns the decorated backend.
func (b *PlusBackend) Unwrap() backends.Backend { return b.Backend }

type plusBuilder struct {
	backends.Builder
	fold       bool                            // fold broadcasts into binary ops (see plusbackend_fuse.go)
	broadcasts map[backends.Op]broadcastSource // BroadcastInDim results, for folding
}

// Pad implements backends.Builder for the pure-Go backend.
func (b *plusBuilder) Pad(x, fill backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	cur := x
	for axis, cfg := range axesConfig {
		var err error
		if cfg.Interior > 0 {
			if cur, err = b.padInterior(cur, fill, axis, cfg.Interior); err != nil {
				return nil, err
			}
		}
		if cur, err = b.padEdge(cur, fill, axis, cfg.Start, true); err != nil {
			return nil, err
		}
		if cur, err = b.padEdge(cur, fill, axis, cfg.End, false); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// fillBlock returns fill broadcast to x's shape with dimension n at axis.
func (b *plusBuilder) fillBlock(fill backends.Op, shape shapes.Shape, axis, n int) (backends.Op, error) {
	dims := slices.Clone(shape.Dimensions)
	dims[axis] = n
	return b.BroadcastInDim(fill, shapes.Make(shape.DType, dims...), nil)
}

// padEdge pads (n > 0) or crops (n < 0) x at the start or end of axis.
func (b *plusBuilder) padEdge(x, fill backends.Op, axis, n int, atStart bool) (backends.Op, error) {
	if n == 0 {
		return x, nil
	}
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		dim := shape.Dimensions[axis]
		if -n > dim {
			return nil, fmt.Errorf("Pad: negative padding %d larger than axis %d of dimension %d", n, axis, dim)
		}
		starts := make([]int, shape.Rank())
		limits := slices.Clone(shape.Dimensions)
		if atStart {
			starts[axis] = -n
		} else {
			limits[axis] = dim + n
		}
		return b.Slice(x, starts, limits, onesIfEmpty(nil, len(starts)))
	}
	block, err := b.fillBlock(fill, shape, axis, n)
	if err != nil {
		return nil, err
	}
	if atStart {
		return b.Concatenate(axis, block, x)
	}
	return b.Concatenate(axis, x, block)
}

// padInterior inserts `interior` fill elements between consecutive elements of axis.
func (b *plusBuilder) padInterior(x, fill backends.Op, axis, interior int) (backends.Op, error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	n := shape.Dimensions[axis]
	if n <= 1 {
		return x, nil
	}
	// [..., n, ...] -> [..., n, 1, ...] ++ fill [..., n, interior, ...] -> [..., n*(1+interior), ...] -> first n+(n-1)*interior.
	expanded := slices.Insert(slices.Clone(shape.Dimensions), axis+1, 1)
	xr, err := b.Reshape(x, expanded...)
	if err != nil {
		return nil, err
	}
	block, err := b.fillBlock(fill, shapes.Make(shape.DType, expanded...), axis+1, interior)
	if err != nil {
		return nil, err
	}
	joined, err := b.Concatenate(axis+1, xr, block)
	if err != nil {
		return nil, err
	}
	flat := slices.Clone(shape.Dimensions)
	flat[axis] = n * (1 + interior)
	joined, err = b.Reshape(joined, flat...)
	if err != nil {
		return nil, err
	}
	limits := slices.Clone(flat)
	limits[axis] = n + (n-1)*interior
	return b.Slice(joined, make([]int, len(flat)), limits, onesIfEmpty(nil, len(flat)))
}

// Reverse implements backends.Builder for the pure-Go backend.
func (b *plusBuilder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	cur := x
	for _, axis := range axes {
		shape, err := b.OpShape(cur)
		if err != nil {
			return nil, err
		}
		n := shape.Dimensions[axis]
		if n <= 1 {
			continue
		}
		parts := make([]backends.Op, n)
		for i := range n {
			starts := make([]int, shape.Rank())
			limits := slices.Clone(shape.Dimensions)
			starts[axis], limits[axis] = i, i+1
			if parts[n-1-i], err = b.Slice(cur, starts, limits, onesIfEmpty(nil, len(starts))); err != nil {
				return nil, err
			}
		}
		if cur, err = b.Concatenate(axis, parts...); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// ConvGeneral implements backends.Builder, filling nil strides and dilations with 1s.
func (b *plusBuilder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int,
	paddings [][2]int, inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	n := len(axes.InputSpatial)
	strides, inputDilations, kernelDilations = onesIfEmpty(strides, n), onesIfEmpty(inputDilations, n), onesIfEmpty(kernelDilations, n)
	return b.Builder.ConvGeneral(input, kernel, axes, strides, paddings, inputDilations, kernelDilations,
		channelGroupCount, batchGroupCount)
}

func onesIfEmpty(s []int, n int) []int {
	if len(s) > 0 {
		return s
	}
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	return ones
}
