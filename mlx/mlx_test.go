package mlx

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

func prod(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// exec runs fn on inputs of the given shapes and returns its outputs as flat slices.
func exec[T float32 | float64](t testing.TB, b backends.Backend, fn func([]*Node) []*Node, inputs [][]T, dims [][]int) [][]T {
	t.Helper()
	var outs [][]T
	err := Call(func() {
		e := MustNewExec(b, func(xs []*Node) []*Node { return fn(xs) })
		defer e.Finalize()
		args := make([]any, len(inputs))
		for i := range inputs {
			args[i] = tensors.FromFlatDataAndDimensions(inputs[i], dims[i]...)
		}
		res := e.MustExec(args...)
		for _, r := range res {
			outs = append(outs, tensors.MustCopyFlatData[T](r))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func maxAbs(a []float64) float64 {
	m := 0.0
	for _, v := range a {
		m = max(m, math.Abs(v))
	}
	return m
}

func TestPadOnPureGo(t *testing.T) {
	b := testBackend(t)
	x := []float64{1, 2, 3, 4, 5, 6} // [2,3]
	cases := []struct {
		cfg  []backends.PadAxis
		dims []int
		want []float64
	}{
		{[]backends.PadAxis{{Start: 1, End: 0}, {Start: 0, End: 1}}, []int{3, 4},
			[]float64{0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0}},
		{[]backends.PadAxis{{}, {Start: 1, End: 1, Interior: 1}}, []int{2, 7},
			[]float64{0, 1, 0, 2, 0, 3, 0, 0, 4, 0, 5, 0, 6, 0}},
		{[]backends.PadAxis{{}, {Start: -1, End: 0}}, []int{2, 2}, []float64{2, 3, 5, 6}},
	}
	for _, c := range cases {
		out := exec(t, b, func(xs []*Node) []*Node {
			return []*Node{Pad(xs[0], ScalarZero(xs[0].Graph(), xs[0].DType()), c.cfg...)}
		}, [][]float64{x}, [][]int{{2, 3}})
		if d := maxAbsDiff(out[0], c.want); d != 0 || len(out[0]) != prod(c.dims) {
			t.Errorf("Pad %+v = %v, want %v", c.cfg, out[0], c.want)
		}
	}
}

func TestReverseOnPureGo(t *testing.T) {
	b := testBackend(t)
	out := exec(t, b, func(xs []*Node) []*Node { return []*Node{Reverse(xs[0], 0, 1)} },
		[][]float64{{1, 2, 3, 4, 5, 6}}, [][]int{{2, 3}})
	want := []float64{6, 5, 4, 3, 2, 1}
	if maxAbsDiff(out[0], want) != 0 {
		t.Errorf("Reverse = %v, want %v", out[0], want)
	}
}

// TestNodeFormats pins the node parameters the VJP fixes read (GoMLX v0.26.0).
func TestNodeFormats(t *testing.T) {
	b := testBackend(t)
	err := Call(func() {
		g := NewGraph(b, "formats")
		x := Parameter(g, "x", Ones(g, shapesOf(2, 3, 4)).Shape())
		y := Parameter(g, "y", Ones(g, shapesOf(2, 4, 5)).Shape())
		dg := DotGeneral(x, []int{2}, []int{0}, y, []int{1}, []int{0})
		lc, lb, rc, rb := dotGeneralParams(dg)
		if !equalInts(lc, []int{2}) || !equalInts(lb, []int{0}) || !equalInts(rc, []int{1}) || !equalInts(rb, []int{0}) {
			t.Errorf("DotGeneral params = %v %v %v %v from %s", lc, lb, rc, rb, dg)
		}
		p := Pad(x, ScalarZero(g, x.DType()), backends.PadAxis{Start: 1, End: 2, Interior: 3}, backends.PadAxis{Start: -1})
		cfg := padAxes(p)
		if len(cfg) != 2 || cfg[0] != (backends.PadAxis{Start: 1, End: 2, Interior: 3}) || cfg[1] != (backends.PadAxis{Start: -1}) {
			t.Errorf("Pad params = %+v from %s", cfg, p)
		}
		r := Reverse(x, 0, 2)
		if axes := intsParam(r, "axes"); !equalInts(axes, []int{0, 2}) {
			t.Errorf("Reverse axes = %v from %s", axes, r)
		}
		g.Finalize()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkGradients compares, for f: R^n -> R^m (float64), the VJP and the double-VJP JVP against central
// finite differences along random directions, and checks the adjoint identity ⟨Jv,u⟩ = ⟨v,Jᵀu⟩.
func checkGradients(t *testing.T, name string, dims []int, f func(x *Node) *Node) {
	t.Helper()
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	n := prod(dims)
	x, v := randSlice(rng, n), randSlice(rng, n)
	y := exec(t, b, func(xs []*Node) []*Node { return []*Node{f(xs[0])} }, [][]float64{x}, [][]int{dims})[0]
	u := randSlice(rng, len(y))
	var ydims []int
	_ = Call(func() {
		g := NewGraph(b, "shape")
		ydims = f(Parameter(g, "x", shapesOf(dims...))).Shape().Dimensions
		g.Finalize()
	})
	outs := exec(t, b, func(xs []*Node) []*Node {
		_, jv := JacobianVector(f, xs[0], xs[1])
		_, jtu := VectorJacobian(f, xs[0], xs[2])
		return []*Node{jv, jtu}
	}, [][]float64{x, v, u}, [][]int{dims, dims, ydims})
	jv, jtu := outs[0], outs[1]

	// Central differences along v.
	const h = 1e-5
	xp, xm := make([]float64, n), make([]float64, n)
	for i := range x {
		xp[i], xm[i] = x[i]+h*v[i], x[i]-h*v[i]
	}
	fp := exec(t, b, func(xs []*Node) []*Node { return []*Node{f(xs[0])} }, [][]float64{xp}, [][]int{dims})[0]
	fm := exec(t, b, func(xs []*Node) []*Node { return []*Node{f(xs[0])} }, [][]float64{xm}, [][]int{dims})[0]
	fd := make([]float64, len(fp))
	for i := range fd {
		fd[i] = (fp[i] - fm[i]) / (2 * h)
	}
	if rel := maxAbsDiff(jv, fd) / maxAbs(fd); rel > 1e-6 || math.IsNaN(rel) {
		t.Errorf("%s: JVP vs finite differences: relative error %.3g", name, rel)
	}
	var a, c float64
	for i := range jv {
		a += jv[i] * u[i]
	}
	for i := range jtu {
		c += jtu[i] * v[i]
	}
	if math.Abs(a-c) > 1e-9*math.Max(1, math.Abs(a)) {
		t.Errorf("%s: <Jv,u> = %.12g but <v,J^T u> = %.12g", name, a, c)
	}
}

func TestDotGeneralVJP(t *testing.T) {
	// Batch axis not first, contracting axes out of order, crosses on both sides.
	checkGradients(t, "DotGeneral", []int{3, 2, 4}, func(x *Node) *Node {
		g := x.Graph()
		w := Const(g, constData(4*3*5*2, []int{4, 3, 5, 2}))
		y := DotGeneral(x, []int{2, 0}, []int{1}, w, []int{0, 1}, []int{3}) // [2, 5]
		return Mul(y, y)                                                    // nonlinear so the JVP depends on x
	})
	checkGradients(t, "Einsum", []int{2, 3, 4}, func(x *Node) *Node {
		return Einsum("bij,bkj->bik", x, Tanh(x))
	})
}

// TestDotGeneralVJPMatchesBuiltin compares the fast rule with GoMLX's own.
func TestDotGeneralVJPMatchesBuiltin(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	x, v := randSlice(rng, 2*3*4), randSlice(rng, 3*2*5)
	w := constData(5*4*2, []int{5, 4, 2})
	var fast, builtin [][]float64
	for i, out := range []*[][]float64{&fast, &builtin} {
		*out = exec(t, b, func(xs []*Node) []*Node {
			wn := Const(xs[0].Graph(), w)
			y := DotGeneral(xs[0], []int{2}, []int{0}, wn, []int{1}, []int{2}) // [2,3,5]
			rule := singleOutput(dotGeneralVJP)
			if i == 1 {
				rule = builtinVJP[NodeTypeDotGeneral]
			}
			vn := Reshape(TransposeAllAxes(Reshape(xs[1], 3, 2, 5), 1, 0, 2), 2, 3, 5)
			grads := rule(y, []*Node{vn}, y.Shape())
			return grads
		}, [][]float64{x, v}, [][]int{{2, 3, 4}, {3, 2, 5}})
	}
	for k := range fast {
		if d := maxAbsDiff(fast[k], builtin[k]); d > 1e-12 {
			t.Errorf("operand %d: fast and builtin DotGeneral VJPs differ by %g", k, d)
		}
	}
}

func constData(n int, dims []int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	return tensors.FromFlatDataAndDimensions(randSlice(rng, n), dims...)
}

func TestConv2DMatchesBuiltin(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	x := randSlice(rng, 2*7*6*3)
	k := constData(3*3*3*4, []int{3, 3, 3, 4})
	for _, c := range []struct {
		stride int
		pad    [4]int
	}{{1, [4]int{1, 1, 1, 1}}, {2, [4]int{0, 1, 0, 1}}, {2, [4]int{1, 1, 1, 1}}, {1, [4]int{}}} {
		outs := exec(t, b, func(xs []*Node) []*Node {
			kn := Const(xs[0].Graph(), k)
			mine := conv2DIm2Col(xs[0], kn, c.stride, c.pad)
			ref := Convolve(PadSpatial(xs[0], c.pad), kn).NoPadding().StridePerAxis(c.stride, c.stride).Done()
			return []*Node{mine, ref}
		}, [][]float64{x}, [][]int{{2, 7, 6, 3}})
		if d := maxAbsDiff(outs[0], outs[1]); d > 1e-12 || len(outs[0]) != len(outs[1]) {
			t.Errorf("stride %d pad %v: im2col differs from Convolve by %g", c.stride, c.pad, d)
		}
	}
}

func TestConv2DGradients(t *testing.T) {
	k := constData(3*3*2*3, []int{3, 3, 2, 3})
	for _, method := range []ConvMethod{ConvIm2Col, ConvBuiltin, ConvWinograd} {
		DefaultConvMethod = method
		checkGradients(t, "conv3x3 s1", []int{2, 5, 4, 2}, func(x *Node) *Node {
			return Tanh(Conv2D(x, Const(x.Graph(), k), 1, [4]int{1, 1, 1, 1}))
		})
		checkGradients(t, "conv3x3 s2 pad(0,1)", []int{2, 6, 6, 2}, func(x *Node) *Node {
			return Tanh(Conv2D(x, Const(x.Graph(), k), 2, [4]int{0, 1, 0, 1}))
		})
	}
	DefaultConvMethod = ConvAuto
}

func TestGroupNormAndBlocks(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(8, 9))
	dims := []int{2, 3, 2, 4} // B,H,W,C with 2 groups of 2 channels
	x := randSlice(rng, prod(dims))
	out := exec(t, b, func(xs []*Node) []*Node { return []*Node{GroupNorm(xs[0], 2, 1e-6, nil, nil)} },
		[][]float64{x}, [][]int{dims})[0]
	// Direct computation.
	for bi := range 2 {
		for gi := range 2 {
			var idx []int
			for p := range 6 {
				for c := gi * 2; c < gi*2+2; c++ {
					idx = append(idx, (bi*6+p)*4+c)
				}
			}
			var mean, vr float64
			for _, i := range idx {
				mean += x[i]
			}
			mean /= float64(len(idx))
			for _, i := range idx {
				vr += (x[i] - mean) * (x[i] - mean)
			}
			vr /= float64(len(idx))
			for _, i := range idx {
				want := (x[i] - mean) / math.Sqrt(vr+1e-6)
				if math.Abs(out[i]-want) > 1e-12 {
					t.Fatalf("GroupNorm[%d] = %g, want %g", i, out[i], want)
				}
			}
		}
	}
	scale := constData(4, []int{4})
	checkGradients(t, "GroupNorm+SiLU+upsample+concat+dense", dims, func(x *Node) *Node {
		g := x.Graph()
		h := SiLU(GroupNorm(x, 2, 1e-6, Const(g, scale), nil))
		h = Concatenate([]*Node{UpsampleNearest2x(h), UpsampleNearest2x(x)}, 3)
		return Dense(h, Const(g, constData(8*3, []int{8, 3})), nil)
	})
	checkGradients(t, "Rsqrt", []int{5}, func(x *Node) *Node { return Rsqrt(AddScalar(Square(x), 1)) })
}

func shapesOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float64, dims...) }
