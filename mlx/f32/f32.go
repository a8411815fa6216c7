// Package f32 holds float32 array kernels for GoMLX's pure-Go backend: strided copies (slices, broadcasts,
// transposes, concatenations), reductions and element-wise maps, each split over the CPU's cores when the
// array is large enough to pay for it.
//
// Arrays are flat row-major slices; a strided view of one is given by an offset and one stride per axis (in
// elements; zero repeats a value along an axis).
package f32

import (
	"runtime"
	"sync"
)

// Workers is the number of goroutines large operations are split over (default: GOMAXPROCS at start-up).
var Workers = runtime.GOMAXPROCS(0)

// grain is the least number of elements worth one goroutine.
const grain = 1 << 14

// Parallel calls fn on consecutive ranges [lo, hi) that cover [0, n), on up to Workers goroutines when n·cost
// (cost: relative work per element, 1 for a copy) is large enough; otherwise once, on the calling goroutine.
func Parallel(n int, cost float64, fn func(lo, hi int)) {
	parts := min(Workers, int(float64(n)*cost/grain))
	if parts <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + parts - 1) / parts
	for lo := step; lo < n; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(n, lo+step))
	}
	fn(0, min(n, step))
	wg.Wait()
}

// RowMajorStrides returns the strides (in elements) of a contiguous row-major array with the given dimensions.
func RowMajorStrides(dims []int) []int {
	s := make([]int, len(dims))
	acc := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= dims[i]
	}
	return s
}

// walker steps through the positions of a loop nest (row-major over dims), keeping one memory offset per
// operand (offset = Σ idx·strides[operand]).
type walker struct {
	dims    []int
	strides [][]int
	idx     []int
	off     []int
}

// newWalker returns a walker positioned at flat position pos, the offsets starting from base.
func newWalker(pos int, dims []int, base []int, strides ...[]int) *walker {
	w := &walker{dims: dims, strides: strides, idx: make([]int, len(dims)), off: append([]int(nil), base...)}
	for a := len(dims) - 1; a >= 0; a-- {
		w.idx[a] = pos % dims[a]
		pos /= dims[a]
		for i, s := range strides {
			w.off[i] += w.idx[a] * s[a]
		}
	}
	return w
}

// next moves to the following position.
func (w *walker) next() {
	for a := len(w.dims) - 1; a >= 0; a-- {
		w.idx[a]++
		for i, s := range w.strides {
			w.off[i] += s[a]
		}
		if w.idx[a] < w.dims[a] {
			return
		}
		for i, s := range w.strides {
			w.off[i] -= w.idx[a] * s[a]
		}
		w.idx[a] = 0
	}
}

// simplify drops axes of dimension 1 and merges neighbouring axes that walk memory as one (strides[a] ==
// strides[a+1]·dims[a+1] in every one of the stride lists), returning new slices.
func simplify(dims []int, strides ...[]int) ([]int, [][]int) {
	outDims := make([]int, 0, len(dims))
	outStrides := make([][]int, len(strides))
	for i := range strides {
		outStrides[i] = make([]int, 0, len(dims))
	}
	for a, d := range dims {
		if d == 1 {
			continue
		}
		last := len(outDims) - 1
		merge := last >= 0
		if merge {
			for i, s := range strides {
				if outStrides[i][last] != s[a]*d {
					merge = false
					break
				}
			}
		}
		if merge {
			outDims[last] *= d
			for i, s := range strides {
				outStrides[i][last] = s[a]
			}
			continue
		}
		outDims = append(outDims, d)
		for i, s := range strides {
			outStrides[i] = append(outStrides[i], s[a])
		}
	}
	return outDims, outStrides
}

// Copy fills dst (contiguous, row-major over dims) with src[offset + Σ idx[a]·strides[a]]: a slice (strides
// scaled by the slice's steps), a broadcast (stride 0 on the new axes) or a transpose (permuted strides).
func Copy(dst, src []float32, offset int, dims, strides []int) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	if n == 0 {
		return
	}
	d, ss := simplify(dims, strides)
	s := ss[0]
	if len(d) == 0 {
		dst[0] = src[offset]
		return
	}
	inner, innerStride := d[len(d)-1], s[len(s)-1]
	outer := n / inner
	outerDims, outerStrides := d[:len(d)-1], s[:len(s)-1]
	cost := 1.0
	if innerStride != 1 {
		cost = 2
	}
	Parallel(outer, cost*float64(inner), func(lo, hi int) {
		w := newWalker(lo, outerDims, []int{offset}, outerStrides)
		for o := lo; o < hi; o++ {
			off := w.off[0]
			out := dst[o*inner : (o+1)*inner]
			switch innerStride {
			case 1:
				copy(out, src[off:off+inner])
			case 0:
				v := src[off]
				for i := range out {
					out[i] = v
				}
			default:
				in := off
				for i := range out {
					out[i] = src[in]
					in += innerStride
				}
			}
			w.next()
		}
	})
}

// Concatenate joins the row-major arrays srcs along axis into dst; srcDims[i] are their dimensions (equal except
// on axis).
func Concatenate(dst []float32, srcs [][]float32, srcDims [][]int, axis int) {
	outer := 1
	for _, d := range srcDims[0][:axis] {
		outer *= d
	}
	blocks := make([]int, len(srcs)) // elements of each source per outer index
	total := 0
	for i, dims := range srcDims {
		b := 1
		for _, d := range dims[axis:] {
			b *= d
		}
		blocks[i] = b
		total += b
	}
	Parallel(outer, float64(total), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			pos := o * total
			for i, src := range srcs {
				b := blocks[i]
				copy(dst[pos:pos+b], src[o*b:(o+1)*b])
				pos += b
			}
		}
	})
}
