package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randData(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// forEach calls fn with every index of dims in row-major order and its flat position.
func forEach(dims []int, fn func(idx []int, flat int)) {
	idx := make([]int, len(dims))
	for flat := range size(dims) {
		fn(idx, flat)
		for a := len(dims) - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < dims[a] {
				break
			}
			idx[a] = 0
		}
	}
}

func TestCopySliceBroadcastTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 300 {
		rank := 1 + rng.IntN(5)
		dims := make([]int, rank)
		for a := range dims {
			dims[a] = 1 + rng.IntN(6)
		}
		if trial%50 == 0 {
			dims[rank-1] = 40000 // large enough to run in parallel
		}
		// A source large enough for any of the views below, with random strides (0 = broadcast).
		strides := make([]int, rank)
		offset := rng.IntN(5)
		need := offset
		for a := range strides {
			switch rng.IntN(4) {
			case 0:
				strides[a] = 0
			default:
				strides[a] = 1 + rng.IntN(50)
			}
			need += (dims[a] - 1) * strides[a]
		}
		if rng.IntN(3) == 0 { // a contiguous row-major view (the fast copy path)
			strides = RowMajorStrides(dims)
			offset, need = 0, size(dims)-1
		}
		src := randData(rng, need+1)
		dst := make([]float32, size(dims))
		Copy(dst, src, offset, dims, strides)
		forEach(dims, func(idx []int, flat int) {
			off := offset
			for a, i := range idx {
				off += i * strides[a]
			}
			if dst[flat] != src[off] {
				t.Fatalf("dims %v strides %v offset %d: dst%v = %g, want %g", dims, strides, offset, idx, dst[flat], src[off])
			}
		})
	}
}

func TestConcatenate(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		dims [][]int
		axis int
	}{
		{[][]int{{2, 3, 4}, {2, 5, 4}}, 1},
		{[][]int{{3}, {1}, {4}}, 0},
		{[][]int{{2, 3, 1}, {2, 3, 7}, {2, 3, 2}}, 2},
		{[][]int{{64, 32, 30}, {64, 32, 34}}, 2},
	} {
		srcs := make([][]float32, len(c.dims))
		for i, d := range c.dims {
			srcs[i] = randData(rng, size(d))
		}
		outDims := append([]int(nil), c.dims[0]...)
		outDims[c.axis] = 0
		for _, d := range c.dims {
			outDims[c.axis] += d[c.axis]
		}
		dst := make([]float32, size(outDims))
		Concatenate(dst, srcs, c.dims, c.axis)
		forEach(outDims, func(idx []int, flat int) {
			pos := idx[c.axis]
			for i, d := range c.dims {
				if pos < d[c.axis] {
					sidx := append([]int(nil), idx...)
					sidx[c.axis] = pos
					sflat := 0
					for a, s := range RowMajorStrides(d) {
						sflat += sidx[a] * s
					}
					if dst[flat] != srcs[i][sflat] {
						t.Fatalf("%v axis %d: dst%v = %g, want %g", c.dims, c.axis, idx, dst[flat], srcs[i][sflat])
					}
					return
				}
				pos -= d[c.axis]
			}
		})
	}
}

func TestReduce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	cases := [][]int{{8, 64, 8, 4}, {1, 1024, 8, 4}, {3, 5}, {7}, {2, 3, 4, 5, 6}, {40000, 3}, {5, 1, 6}}
	for trial := range 200 {
		var dims []int
		if trial < len(cases) {
			dims = cases[trial]
		} else {
			dims = make([]int, 1+rng.IntN(5))
			for a := range dims {
				dims[a] = 1 + rng.IntN(7)
			}
		}
		reduced := make([]bool, len(dims))
		for a := range reduced {
			reduced[a] = rng.IntN(2) == 0
		}
		if trial < 2 {
			reduced = []bool{false, true, false, true} // GroupNorm's statistics
		}
		src := randData(rng, size(dims))
		var keptDims []int
		for a, d := range dims {
			if !reduced[a] {
				keptDims = append(keptDims, d)
			}
		}
		for _, op := range []ReduceOp{Sum, Max} {
			dst := make([]float32, size(keptDims))
			Reduce(op, dst, src, dims, reduced)
			want := make([]float64, len(dst))
			for i := range want {
				if op == Max {
					want[i] = math.Inf(-1)
				}
			}
			ks := RowMajorStrides(keptDims)
			forEach(dims, func(idx []int, flat int) {
				o, k := 0, 0
				for a, i := range idx {
					if !reduced[a] {
						o += i * ks[k]
						k++
					}
				}
				if op == Max {
					want[o] = math.Max(want[o], float64(src[flat]))
				} else {
					want[o] += float64(src[flat])
				}
			})
			for i := range want {
				if d := math.Abs(float64(dst[i]) - want[i]); d > 1e-5*math.Sqrt(float64(size(dims))) {
					t.Fatalf("op %d dims %v reduced %v: out[%d] = %g, want %g", op, dims, reduced, i, dst[i], want[i])
				}
			}
		}
	}
}

func TestExpAndLogisticAccuracy(t *testing.T) {
	worstExp, worstLog := 0.0, 0.0
	check := func(x float32) {
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if want > math.MaxFloat32 {
			if !math.IsInf(got, 1) {
				t.Fatalf("exp32(%g) = %g, want +Inf", x, got)
			}
		} else if want >= 1.2e-38 { // normal float32 results: relative error
			worstExp = max(worstExp, math.Abs(got-want)/want)
		} else if math.Abs(got-want) > 1.5e-45 {
			t.Fatalf("exp32(%g) = %g, want %g", x, got, want)
		}
		gl, wl := float64(logistic32(x)), 1/(1+math.Exp(-float64(x)))
		if wl >= 1.2e-38 {
			worstLog = max(worstLog, math.Abs(gl-wl)/wl)
		}
	}
	for x := float32(-110); x <= 100; x += 0.00731 {
		check(x)
	}
	for _, x := range []float32{0, -0, 1e-30, -1e-30, 88.7, 88.73, 89, -87.3, -88, -103.9, -104, -200, 200} {
		check(x)
	}
	if worstExp > 3e-7 || worstLog > 3e-7 {
		t.Errorf("relative error: exp %.3g, logistic %.3g (want ≤ 3e-7, a few float32 ulps)", worstExp, worstLog)
	}
	if v := exp32(float32(math.NaN())); v == v {
		t.Error("exp32(NaN) is not NaN")
	}
}

func TestUnaryAndBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{1, 7, 100000} {
		a, b := randData(rng, n), randData(rng, n)
		for _, op := range []UnaryOp{Exp, Logistic, Neg, Sqrt, Tanh, Abs} {
			dst := make([]float32, n)
			Unary(op, dst, a)
			for i, v := range a {
				x := float64(v)
				want := map[UnaryOp]float64{Exp: math.Exp(x), Logistic: 1 / (1 + math.Exp(-x)), Neg: -x,
					Sqrt: math.Sqrt(x), Tanh: math.Tanh(x), Abs: math.Abs(x)}[op]
				if got := float64(dst[i]); !(math.Abs(got-want) <= 3e-7*math.Abs(want)) && !(math.IsNaN(want) && math.IsNaN(got)) {
					t.Fatalf("unary %d of %g = %g, want %g", op, v, got, want)
				}
			}
		}
		for _, op := range []BinaryOp{Add, Sub, Mul, Div, Maximum, Minimum} {
			for _, shape := range []string{"vv", "vs", "sv"} {
				x, y := a, b
				if shape[0] == 's' {
					x = a[:1]
				}
				if shape[1] == 's' {
					y = b[:1]
				}
				dst := make([]float32, n)
				Binary(op, dst, x, y)
				for i := range dst {
					xi, yi := x[min(i, len(x)-1)], y[min(i, len(y)-1)]
					if want := apply(op, xi, yi); dst[i] != want {
						t.Fatalf("%s binary %d at %d: %g, want %g", shape, op, i, dst[i], want)
					}
				}
			}
		}
	}
}

func BenchmarkKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 8 * 32 * 32 * 32
	src := randData(rng, 4*n)
	dst := make([]float32, n)
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"exp", func() { Unary(Exp, dst, src[:n]) }},
		{"logistic", func() { Unary(Logistic, dst, src[:n]) }},
		{"add", func() { Binary(Add, dst, src[:n], src[n:2*n]) }},
		{"slice-stride2", func() { Copy(dst, src, 0, []int{8, 32, 32, 32}, []int{4 * 32 * 32 * 32 / 8, 2 * 64 * 32, 64, 1}) }},
		{"broadcast-channels", func() { Copy(dst, src, 0, []int{8, 1024, 32}, []int{32, 0, 1}) }},
		{"transpose-nchw", func() { Copy(dst, src, 0, []int{8, 32, 32, 32}, []int{32768, 1, 1024, 32}) }},
		{"reduce-groupnorm", func() { Reduce(Sum, dst[:64], src[:n], []int{8, 1024, 8, 4}, []bool{false, true, false, true}) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				c.fn()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/element")
		})
	}
	_ = fmt.Sprint()
}

func TestVectorExpMatchesScalar(t *testing.T) {
	var xs []float32
	for x := float32(-120); x <= 100; x += 0.0173 {
		xs = append(xs, x)
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 88.72, 88.73, -87.33, -103.9, -104, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3, 5) // a tail past the last 8
	for _, c := range []struct {
		name   string
		vec    func(d, s []float32)
		scalar func(float32) float32
	}{{"exp", expSlice, exp32}, {"logistic", logisticSlice, logistic32}} {
		got := make([]float32, len(xs))
		c.vec(got, xs)
		for i, x := range xs {
			want := c.scalar(x)
			if x != x {
				if got[i] == got[i] {
					t.Errorf("%s(NaN) = %g", c.name, got[i])
				}
				continue
			}
			if d := math.Abs(float64(got[i] - want)); d > 2e-7*math.Abs(float64(want)) && d > 1.5e-45 {
				t.Errorf("%s(%g): vector %g, scalar %g", c.name, x, got[i], want)
			}
		}
	}
}

func TestWinogradTransforms(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, n := range []int{1, 8, 17, 64} {
		d := make([][]float32, 4)
		for i := range d {
			d[i] = randData(rng, n)
		}
		o := make([][]float32, 4)
		for i := range o {
			o[i] = make([]float32, n)
		}
		WinogradInput(o[0], o[1], o[2], o[3], d[0], d[1], d[2], d[3])
		for i := range n {
			if o[0][i] != d[0][i]-d[2][i] || o[1][i] != d[1][i]+d[2][i] || o[2][i] != d[2][i]-d[1][i] || o[3][i] != d[1][i]-d[3][i] {
				t.Fatalf("n=%d: input transform wrong at %d", n, i)
			}
		}
		WinogradOutput(o[0], o[1], d[0], d[1], d[2], d[3])
		for i := range n {
			if o[0][i] != d[0][i]+d[1][i]+d[2][i] || o[1][i] != d[1][i]-d[2][i]-d[3][i] {
				t.Fatalf("n=%d: output transform wrong at %d", n, i)
			}
		}
	}
}

func TestBinaryStrided(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 200 {
		rank := 1 + rng.IntN(4)
		dims := make([]int, rank)
		for i := range dims {
			dims[i] = 1 + rng.IntN(5)
		}
		if trial%40 == 0 {
			dims[rank-1] = 20000
		}
		// Each operand broadcasts along a random subset of axes (dimension 1 there, stride 0).
		view := func() ([]float32, []int) {
			od := append([]int(nil), dims...)
			for i := range od {
				if rng.IntN(3) == 0 {
					od[i] = 1
				}
			}
			st := RowMajorStrides(od)
			for i := range od {
				if od[i] == 1 {
					st[i] = 0
				}
			}
			return randData(rng, size(od)), st
		}
		a, as := view()
		b, bs := view()
		op := BinaryOp(rng.IntN(6))
		dst := make([]float32, size(dims))
		BinaryStrided(op, dst, dims, a, as, b, bs)
		forEach(dims, func(idx []int, flat int) {
			pa, pb := 0, 0
			for i, x := range idx {
				pa += x * as[i]
				pb += x * bs[i]
			}
			if want := apply(op, a[pa], b[pb]); dst[flat] != want {
				t.Fatalf("dims %v op %d strides %v %v: dst%v = %g, want %g", dims, op, as, bs, idx, dst[flat], want)
			}
		})
	}
}
