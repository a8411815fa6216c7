package f32

import "math"

// ReduceOp is a reduction.
type ReduceOp int

const (
	Sum ReduceOp = iota
	Max
)

// Reduce reduces src (row-major over dims) over the axes marked in reduced, writing the kept axes row-major into
// dst (len = product of the kept dimensions).
func Reduce(op ReduceOp, dst, src []float32, dims []int, reduced []bool) {
	srcStrides := RowMajorStrides(dims)
	dstStrides := make([]int, len(dims))
	acc := 1
	for a := len(dims) - 1; a >= 0; a-- {
		if !reduced[a] {
			dstStrides[a] = acc
			acc *= dims[a]
		}
	}
	d, ss := simplify(dims, srcStrides, dstStrides)
	init := float32(0)
	if op == Max {
		init = float32(math.Inf(-1))
	}
	for i := range dst {
		dst[i] = init
	}
	if len(d) == 0 { // a single element
		reduceRun(op, dst[:1], src[:1])
		return
	}
	sStr, dStr := ss[0], ss[1]
	last := len(d) - 1
	if dStr[last] == 0 && d[last] < 16 && hasKept(dStr) {
		// A short reduced run innermost (GroupNorm's channels per group): first reduce everything else, keeping
		// that run, with long vector operations; then the short runs.
		tmpDims := append([]int(nil), dims...)
		tmpReduced := append([]bool(nil), reduced...)
		// The innermost merged axis may span several original axes: keep all of them.
		span := 1
		for a := len(dims) - 1; a >= 0 && span < d[last]; a-- {
			if dims[a] == 1 {
				continue
			}
			tmpReduced[a] = false
			span *= dims[a]
		}
		tmpLen := 1
		for a, dim := range tmpDims {
			if !tmpReduced[a] {
				tmpLen *= dim
			}
		}
		tmp := make([]float32, tmpLen)
		Reduce(op, tmp, src, tmpDims, tmpReduced)
		for i := range dst {
			reduceRun(op, dst[i:i+1], tmp[i*d[last]:(i+1)*d[last]])
		}
		return
	}
	inner := d[last]
	outerDims := d[:last]
	outerS, outerD := sStr[:last], dStr[:last]
	run := func(lo, hi int) {
		w := newWalker(lo, outerDims, []int{0, 0}, outerS, outerD)
		for o := lo; o < hi; o++ {
			sOff, dOff := w.off[0], w.off[1]
			in := src[sOff : sOff+inner]
			if dStr[last] == 0 {
				reduceRun(op, dst[dOff:dOff+1], in)
			} else {
				combine(op, dst[dOff:dOff+inner], in)
			}
			w.next()
		}
	}
	outer := 1
	for _, x := range outerDims {
		outer *= x
	}
	if len(outerDims) > 0 && outerD[0] != 0 {
		// The outermost axis is kept: its ranges write disjoint parts of dst.
		per := outer / outerDims[0]
		Parallel(outerDims[0], float64(per*inner), func(lo, hi int) { run(lo*per, hi*per) })
		return
	}
	run(0, outer)
}

func hasKept(dstStrides []int) bool {
	for _, s := range dstStrides {
		if s != 0 {
			return true
		}
	}
	return false
}

// reduceRun folds all of in into out[0].
func reduceRun(op ReduceOp, out, in []float32) {
	if op == Max {
		m := out[0]
		for _, v := range in {
			if v > m || v != v {
				m = v
			}
		}
		out[0] = m
		return
	}
	var s float64
	for _, v := range in {
		s += float64(v)
	}
	out[0] += float32(s)
}

// combine folds in into out element by element.
func combine(op ReduceOp, out, in []float32) {
	in = in[:len(out)]
	if op == Max {
		for i, v := range in {
			if v > out[i] || v != v {
				out[i] = v
			}
		}
		return
	}
	binaryVectors(Add, out, out, in)
}
