package f32

import "math"

// UnaryOp is an element-wise function.
type UnaryOp int

const (
	Exp UnaryOp = iota
	Logistic
	Neg
	Sqrt
	Tanh
	Abs
)

// Unary sets dst[i] = op(src[i]) (dst and src may be the same slice).
func Unary(op UnaryOp, dst, src []float32) {
	src = src[:len(dst)]
	cost := 1.0
	switch op {
	case Exp, Logistic:
		cost = 2
	case Tanh:
		cost = 8
	}
	Parallel(len(dst), cost, func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		switch op {
		case Exp:
			expSlice(d, s)
		case Logistic:
			logisticSlice(d, s)
		case Neg:
			for i, v := range s {
				d[i] = -v
			}
		case Sqrt:
			for i, v := range s {
				d[i] = float32(math.Sqrt(float64(v)))
			}
		case Tanh:
			for i, v := range s {
				d[i] = float32(math.Tanh(float64(v)))
			}
		case Abs:
			for i, v := range s {
				d[i] = float32(math.Abs(float64(v)))
			}
		}
	})
}

// BinaryOp is an element-wise function of two arguments.
type BinaryOp int

const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	Maximum
	Minimum
)

// Binary sets dst[i] = op(a[i], b[i]); an operand of length 1 stands for that value everywhere. dst may be a or b.
func Binary(op BinaryOp, dst, a, b []float32) {
	Parallel(len(dst), 1, func(lo, hi int) {
		d := dst[lo:hi]
		switch {
		case len(a) == 1 && len(b) == 1:
			for i := range d {
				d[i] = apply(op, a[0], b[0])
			}
		case len(a) == 1:
			binaryScalarVector(op, d, a[0], b[lo:hi])
		case len(b) == 1:
			binaryVectorScalar(op, d, a[lo:hi], b[0])
		default:
			binaryVectors(op, d, a[lo:hi], b[lo:hi])
		}
	})
}

func apply(op BinaryOp, x, y float32) float32 {
	switch op {
	case Add:
		return x + y
	case Sub:
		return x - y
	case Mul:
		return x * y
	case Div:
		return x / y
	case Maximum:
		return max(x, y)
	default:
		return min(x, y)
	}
}

func binaryVectors(op BinaryOp, d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	if n := binaryVectorsAsm(op, d, a, b); n > 0 {
		d, a, b = d[n:], a[n:], b[n:]
	}
	switch op {
	case Add:
		for i := range d {
			d[i] = a[i] + b[i]
		}
	case Sub:
		for i := range d {
			d[i] = a[i] - b[i]
		}
	case Mul:
		for i := range d {
			d[i] = a[i] * b[i]
		}
	case Div:
		for i := range d {
			d[i] = a[i] / b[i]
		}
	default:
		for i := range d {
			d[i] = apply(op, a[i], b[i])
		}
	}
}

func binaryVectorScalar(op BinaryOp, d, a []float32, y float32) {
	a = a[:len(d)]
	switch op {
	case Add:
		for i := range d {
			d[i] = a[i] + y
		}
	case Sub:
		for i := range d {
			d[i] = a[i] - y
		}
	case Mul:
		for i := range d {
			d[i] = a[i] * y
		}
	default:
		for i := range d {
			d[i] = apply(op, a[i], y)
		}
	}
}

func binaryScalarVector(op BinaryOp, d []float32, x float32, b []float32) {
	b = b[:len(d)]
	switch op {
	case Add:
		for i := range d {
			d[i] = x + b[i]
		}
	case Sub:
		for i := range d {
			d[i] = x - b[i]
		}
	case Mul:
		for i := range d {
			d[i] = x * b[i]
		}
	default:
		for i := range d {
			d[i] = apply(op, x, b[i])
		}
	}
}

// exp32 is e^x in float32 to about one unit in the last place (Cody–Waite range reduction and a degree-6
// polynomial, as in Cephes' expf), with the limits of float32: +Inf above ln(MaxFloat32), 0 far below.
func exp32(x float32) float32 {
	const (
		maxArg = 88.72283905206835   // ln(math.MaxFloat32)
		minArg = -103.97207708399179 // ln of the smallest denormal
		log2e  = 1.44269504088896341
		ln2hi  = 0.693359375
		ln2lo  = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > maxArg:
		return float32(math.Inf(1))
	case x < minArg:
		return 0
	}
	fn := x*log2e + 0.5
	n := int32(fn)
	if fn < 0 && float32(n) != fn {
		n-- // floor
	}
	nf := float32(n)
	r := x - nf*ln2hi - nf*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	// Scale by 2^n, in two steps where 2^n is not a normal float32.
	if n < -125 {
		p *= 1.0 / (1 << 30) / (1 << 30) // 2^-60
		n += 60
	} else if n > 127 {
		p *= 2
		n--
	}
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// logistic32 is 1/(1+e^−x), computed from e^−|x| so that it neither overflows nor loses the small side.
func logistic32(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + exp32(-x))
	}
	e := exp32(x)
	return e / (1 + e)
}

// BinaryStrided sets dst (contiguous, row-major over dims) to op(a, b) where a and b are strided views
// (a[Σ idx·aStrides], b[Σ idx·bStrides]; a zero stride repeats a value: implicit broadcasting).
func BinaryStrided(op BinaryOp, dst []float32, dims []int, a []float32, aStrides []int, b []float32, bStrides []int) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	if n == 0 {
		return
	}
	d, ss := simplify(dims, RowMajorStrides(dims), aStrides, bStrides)
	if len(d) == 0 {
		dst[0] = apply(op, a[0], b[0])
		return
	}
	as, bs := ss[1], ss[2]
	if len(d) >= 2 && d[len(d)-1] < 32 && d[len(d)-1]*d[len(d)-2] <= 4096 {
		// Short innermost runs (GroupNorm's channels per group): treat the last two axes as one tile, gathering a
		// strided operand's tile into a buffer (reused while the outer axes repeat it).
		binaryTiled(op, dst, d, a, as, b, bs)
		return
	}
	last := len(d) - 1
	inner, ia, ib := d[last], as[last], bs[last]
	outerDims, outerA, outerB := d[:last], as[:last], bs[:last]
	outer := n / inner
	Parallel(outer, float64(inner), func(lo, hi int) {
		w := newWalker(lo, outerDims, []int{0, 0}, outerA, outerB)
		for o := lo; o < hi; o++ {
			offA, offB := w.off[0], w.off[1]
			out := dst[o*inner : (o+1)*inner]
			switch {
			case ia == 1 && ib == 1:
				binaryVectors(op, out, a[offA:offA+inner], b[offB:offB+inner])
			case ia == 1 && ib == 0:
				binaryVectorScalar(op, out, a[offA:offA+inner], b[offB])
			case ia == 0 && ib == 1:
				binaryScalarVector(op, out, a[offA], b[offB:offB+inner])
			default:
				pa, pb := offA, offB
				for i := range out {
					out[i] = apply(op, a[pa], b[pb])
					pa += ia
					pb += ib
				}
			}
			w.next()
		}
	})
}

// binaryTiled is BinaryStrided (after simplify) over tiles made of the last two axes.
func binaryTiled(op BinaryOp, dst []float32, d []int, a []float32, as []int, b []float32, bs []int) {
	l := len(d) - 1
	rows, cols := d[l-1], d[l]
	tile := rows * cols
	outerDims, outerA, outerB := d[:l-1], as[:l-1], bs[:l-1]
	outer := 1
	for _, x := range outerDims {
		outer *= x
	}
	// operand returns the tile of x at offset off: in place when contiguous, else gathered into buf.
	type tileReader struct {
		rs, cs  int
		buf     []float32
		lastOff int
	}
	newReader := func(rs, cs int) *tileReader {
		r := &tileReader{rs: rs, cs: cs, lastOff: -1}
		if !(cs == 1 && rs == cols) && !(rs == 0 && cs == 0) {
			r.buf = make([]float32, tile)
		}
		return r
	}
	read := func(r *tileReader, x []float32, off int) []float32 {
		switch {
		case r.buf == nil && r.rs == 0:
			return x[off : off+1]
		case r.buf == nil:
			return x[off : off+tile]
		case off == r.lastOff:
			return r.buf
		}
		for i := range rows {
			row := r.buf[i*cols : (i+1)*cols]
			p := off + i*r.rs
			for j := range row {
				row[j] = x[p]
				p += r.cs
			}
		}
		r.lastOff = off
		return r.buf
	}
	Parallel(outer, float64(tile), func(lo, hi int) {
		ra, rb := newReader(as[l-1], as[l]), newReader(bs[l-1], bs[l])
		w := newWalker(lo, outerDims, []int{0, 0}, outerA, outerB)
		for o := lo; o < hi; o++ {
			out := dst[o*tile : (o+1)*tile]
			ta, tb := read(ra, a, w.off[0]), read(rb, b, w.off[1])
			switch {
			case len(ta) == 1 && len(tb) == 1:
				v := apply(op, ta[0], tb[0])
				for i := range out {
					out[i] = v
				}
			case len(ta) == 1:
				binaryScalarVector(op, out, ta[0], tb)
			case len(tb) == 1:
				binaryVectorScalar(op, out, ta, tb[0])
			default:
				binaryVectors(op, out, ta, tb)
			}
			w.next()
		}
	})
}
