package mlx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/core/tensors/images"
)

// execFloat32 runs fn on float32 inputs with the fast kernels on or off and returns its outputs.
func execFloat32(t testing.TB, b backends.Backend, fast bool, fn func([]*Node) []*Node, inputs [][]float32, dims [][]int) [][]float32 {
	t.Helper()
	was := SetGoKernels(fast)
	defer SetGoKernels(was)
	return exec(t, b, fn, inputs, dims)
}

func randFloat32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// compareFast runs fn with the fast kernels and with simplego's own, and checks that they agree to float32
// rounding (relative to the largest output magnitude).
func compareFast(t *testing.T, name string, fn func([]*Node) []*Node, dims ...[]int) {
	t.Helper()
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(7, uint64(len(name))))
	inputs := make([][]float32, len(dims))
	for i, d := range dims {
		inputs[i] = randFloat32(rng, prod(d))
	}
	want := execFloat32(t, b, false, fn, inputs, dims)
	got := execFloat32(t, b, true, fn, inputs, dims)
	for i := range want {
		scale, diff := 0.0, 0.0
		for j := range want[i] {
			scale = max(scale, math.Abs(float64(want[i][j])))
			diff = max(diff, math.Abs(float64(got[i][j]-want[i][j])))
		}
		if diff > 2e-6*(scale+1) || math.IsNaN(diff) {
			t.Errorf("%s output %d: fast kernels differ from simplego's by %g (largest value %g)", name, i, diff, scale)
		}
	}
}

func TestFastDotGeneralMatchesBuiltin(t *testing.T) {
	cases := []struct {
		lhs, rhs       []int
		lc, lb, rc, rb []int
	}{
		{[]int{8, 16, 16, 32}, []int{32, 48}, []int{3}, nil, []int{0}, nil},                   // 1×1 convolution / dense
		{[]int{2048, 64}, []int{64, 64}, []int{1}, nil, []int{0}, nil},                        // Winograd product
		{[]int{2048, 64}, []int{2048, 32}, []int{0}, nil, []int{0}, nil},                      // its kernel gradient (Aᵀ·B)
		{[]int{2048, 32}, []int{64, 32}, []int{1}, nil, []int{1}, nil},                        // its input gradient (A·Bᵀ)
		{[]int{4, 64, 32}, []int{4, 64, 32}, []int{2}, []int{0}, []int{2}, []int{0}},          // attention scores
		{[]int{4, 64, 64}, []int{4, 64, 32}, []int{2}, []int{0}, []int{1}, []int{0}},          // attention output
		{[]int{4, 64, 64}, []int{4, 64, 32}, []int{1}, []int{0}, []int{1}, []int{0}},          // its gradient
		{[]int{3, 5, 7, 9}, []int{9, 7, 3, 11}, []int{3, 2}, []int{0}, []int{0, 1}, []int{2}}, // scattered axes
		{[]int{6, 10, 12}, []int{12, 6, 5}, []int{2}, []int{0}, []int{0}, []int{1}},           // batch in the middle
		{[]int{16, 9}, []int{9, 96}, []int{1}, nil, []int{0}, nil},                            // Winograd kernel transform
		{[]int{5, 7, 3}, []int{3, 2}, []int{2}, nil, []int{0}, nil},                           // too small: builtin
	}
	calls := GoKernelCalls(backends.OpTypeDotGeneral)
	for _, c := range cases {
		name := fmt.Sprintf("%v·%v c%v%v b%v%v", c.lhs, c.rhs, c.lc, c.rc, c.lb, c.rb)
		compareFast(t, name, func(x []*Node) []*Node {
			return []*Node{DotGeneral(x[0], c.lc, c.lb, x[1], c.rc, c.rb)}
		}, c.lhs, c.rhs)
	}
	// All but the scattered-axes and the tiny product ran on sgemm.
	if n := GoKernelCalls(backends.OpTypeDotGeneral) - calls; n != int64(len(cases)-2) {
		t.Errorf("sgemm ran %d of the %d products it covers", n, len(cases)-2)
	}
}

func TestViewOperand(t *testing.T) {
	// [B,H,W,C] contracting C, batch none: cross H·W·B collapses (stride C), contract stride 1.
	v, ok := viewOperand([]int{2, 3, 4, 5}, []int{3}, nil)
	if !ok || v.cross != 24 || v.crossStride != 5 || v.contract != 5 || v.contractStride != 1 || v.batch != 1 {
		t.Errorf("NHWC·W: got %+v, %v", v, ok)
	}
	// Contracting axes out of memory order do not collapse.
	if _, ok := viewOperand([]int{3, 5, 7, 9}, []int{3, 2}, []int{0}); ok {
		t.Error("contracting axes [3 2] collapsed to one stride")
	}
	// Unit dimensions never break a group.
	v, ok = viewOperand([]int{4, 1, 6}, []int{0, 1}, nil)
	if !ok || v.contract != 4 || v.contractStride != 6 || v.cross != 6 || v.crossStride != 1 {
		t.Errorf("unit axis: got %+v, %v", v, ok)
	}
}

func TestFastOpsMatchBuiltin(t *testing.T) {
	ops := []backends.OpType{backends.OpTypeSlice, backends.OpTypeBroadcastInDim, backends.OpTypeTranspose,
		backends.OpTypeConcatenate, backends.OpTypeReduceSum, backends.OpTypeReduceMax, backends.OpTypeExp,
		backends.OpTypeLogistic, backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv}
	before := make([]int64, len(ops))
	for i, op := range ops {
		before[i] = GoKernelCalls(op)
	}
	x4 := []int{2, 6, 10, 8}
	compareFast(t, "slices", func(x []*Node) []*Node {
		return []*Node{
			Slice(x[0], AxisRange(), AxisRange(1, 5).Stride(2), AxisRange(), AxisRange()),
			Slice(x[0], AxisRange(), AxisRange(), AxisRange(3, 9).Stride(3), AxisRange(2, 6)),
			Slice(x[0], AxisElem(1)),
		}
	}, x4)
	compareFast(t, "broadcasts and transposes", func(x []*Node) []*Node {
		b := BroadcastToDims(Reshape(x[1], 1, 1, 1, 8), x4...)
		return []*Node{b, TransposeAllAxes(x[0], 0, 3, 1, 2), BroadcastToDims(Reshape(x[1], 8, 1), 8, 5),
			Add(x[0], b), Mul(x[0], MulScalar(x[0], 0.5)), Sub(x[0], b), Div(x[0], AddScalar(Square(b), 1))}
	}, x4, []int{8})
	compareFast(t, "concatenate and reductions", func(x []*Node) []*Node {
		return []*Node{Concatenate([]*Node{x[0], Neg(x[0]), x[0]}, 2), ReduceSum(x[0], 1, 3), ReduceMax(x[0], 2),
			ReduceAllSum(x[0]), ReduceSum(Reshape(x[0], 2, 60, 4, 2), 1, 3)}
	}, x4)
	compareFast(t, "element-wise", func(x []*Node) []*Node {
		return []*Node{Exp(x[0]), Sigmoid(x[0]), Sqrt(Abs(x[0])), Tanh(x[0]), Max(x[0], Neg(x[0])), Min(x[0], x[0])}
	}, x4)
	for i, op := range ops {
		if GoKernelCalls(op) == before[i] {
			t.Errorf("the fast %s kernel never ran", op)
		}
	}
}

func TestFastConvMatchesBuiltin(t *testing.T) {
	calls := GoKernelCalls(backends.OpTypeConvGeneral)
	x, k := []int{2, 9, 8, 5}, []int{3, 3, 5, 7}
	compareFast(t, "conv 3×3 same", func(v []*Node) []*Node {
		return []*Node{Convolve(v[0], v[1]).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()}
	}, x, k)
	compareFast(t, "conv strided, dilated, asymmetric", func(v []*Node) []*Node {
		return []*Node{
			Convolve(v[0], v[1]).PaddingPerDim([][2]int{{0, 1}, {2, 0}}).StridePerAxis(2, 1).Done(),
			Convolve(v[0], v[1]).NoPadding().DilationPerAxis(2, 1).StridePerAxis(1, 1).Done(),
		}
	}, x, k)
	compareFast(t, "conv channels first", func(v []*Node) []*Node {
		return []*Node{Convolve(v[0], v[1]).ChannelsAxis(images.ChannelsFirst).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()}
	}, []int{2, 5, 9, 8}, []int{7, 5, 3, 3})
	// Gradients: the input's is a convolution with the reversed kernel, the kernel's one with the input and the
	// cotangent as operands (other axis layouts).
	compareFast(t, "conv gradients", func(v []*Node) []*Node {
		y := Convolve(v[0], v[1]).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
		g := Gradient(ReduceAllSum(Mul(y, v[2])), v[0], v[1])
		return []*Node{y, g[0], g[1]}
	}, x, k, []int{2, 9, 8, 7})
	if n := GoKernelCalls(backends.OpTypeConvGeneral) - calls; n < 7 {
		t.Errorf("the fast convolution ran %d times, want ≥ 7", n)
	}
}

func TestFastWinogradConvMatchesBuiltin(t *testing.T) {
	calls := winogradCalls.Load()
	for _, c := range []struct {
		x, k []int
		pads [][2]int
	}{
		{[]int{2, 9, 8, 16}, []int{3, 3, 16, 24}, [][2]int{{1, 1}, {1, 1}}},   // odd output height
		{[]int{1, 7, 7, 32}, []int{3, 3, 32, 16}, [][2]int{{0, 0}, {0, 0}}},   // no padding, odd sizes
		{[]int{3, 20, 6, 17}, []int{3, 3, 17, 19}, [][2]int{{2, 1}, {0, 2}}},  // asymmetric
		{[]int{1, 40, 40, 16}, []int{3, 3, 16, 16}, [][2]int{{1, 1}, {1, 1}}}, // several tile blocks
	} {
		for _, wino := range []bool{true, false} {
			winogradConvs = wino
			compareFast(t, fmt.Sprintf("winograd %v: %v * %v pads %v", wino, c.x, c.k, c.pads), func(v []*Node) []*Node {
				y := Convolve(v[0], v[1]).PaddingPerDim(c.pads).Done()
				g := Gradient(ReduceAllSum(Mul(y, y)), v[0])
				return []*Node{y, g[0]}
			}, c.x, c.k)
		}
	}
	winogradConvs = true
	// Forward and input gradient of each case.
	if n := winogradCalls.Load() - calls; n < 8 {
		t.Errorf("Winograd ran %d times, want ≥ 8", n)
	}
}

// BenchmarkConv times one 3×3 convolution of the tiny UNet's sizes (batch 8) with simplego's executor, the
// implicit-GEMM one and Winograd's.
func BenchmarkConv(b *testing.B) {
	backend := testBackend(b)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct{ x, k []int }{
		{[]int{8, 32, 32, 32}, []int{3, 3, 32, 32}},
		{[]int{8, 16, 16, 64}, []int{3, 3, 64, 64}},
		{[]int{8, 32, 32, 96}, []int{3, 3, 96, 32}},
	} {
		x := tensors.FromFlatDataAndDimensions(randFloat32(rng, prod(c.x)), c.x...)
		k := tensors.FromFlatDataAndDimensions(randFloat32(rng, prod(c.k)), c.k...)
		e := MustNewExec(backend, func(x, k *Node) *Node {
			return Convolve(x, k).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
		})
		flops := 2 * float64(prod(c.x)/c.x[3]*prod(c.k))
		for _, mode := range []string{"simplego", "gemm", "winograd"} {
			b.Run(fmt.Sprintf("%v*%v/%s", c.x, c.k, mode), func(b *testing.B) {
				if mode == "simplego" && testing.Short() {
					b.Skip("slow")
				}
				was := SetGoKernels(mode != "simplego")
				defer SetGoKernels(was)
				winogradConvs = mode == "winograd"
				defer func() { winogradConvs = true }()
				cpu0 := processCPU()
				for range b.N {
					e.MustExec(x, k)[0].FinalizeAll()
				}
				cpu := (processCPU() - cpu0).Seconds()
				b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
				b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
			})
		}
		e.Finalize()
	}
}

func TestWinogradKernelCache(t *testing.T) {
	g := convGeometry{spatial: 2, cin: 16, cout: 16, kDims: []int{3, 3}, kInStride: 16, kOutStride: 1,
		kSpatialStride: []int{3 * 256, 256}}
	ker := randFloat32(rand.New(rand.NewPCG(1, 2)), 9*16*16)
	var c kernelCache
	first := c.get(&g, ker)
	if again := c.get(&g, ker); again != first {
		t.Error("unchanged kernel transformed again")
	}
	ker[5]++
	changed := c.get(&g, ker)
	if changed == first {
		t.Fatal("changed kernel served from the cache")
	}
	want := newWinogradPacked(&g, ker)
	for p := range want {
		if !slices.Equal(changed[p].Data(), want[p].Data()) {
			t.Fatalf("position %d: cached transform differs from a fresh one", p)
		}
	}
}

func TestFastImplicitBroadcast(t *testing.T) {
	calls := GoKernelCalls(backends.OpTypeAdd)
	compareFast(t, "implicit broadcasting", func(x []*Node) []*Node {
		// Reshaped (not broadcast) operands: the binary ops broadcast them implicitly.
		row, col := Reshape(x[1], 1, 1, 1, 8), Reshape(x[2], 2, 1, 1, 1)
		return []*Node{Add(x[0], row), Mul(col, x[0]), Sub(row, col), Div(x[0], AddScalar(Square(row), 1))}
	}, []int{2, 6, 10, 8}, []int{8}, []int{2})
	if GoKernelCalls(backends.OpTypeAdd) == calls {
		t.Error("the fast Add never ran")
	}
	// Explicit broadcasts read only by a binary op are folded into it: the broadcast itself never runs.
	broadcasts := GoKernelCalls(backends.OpTypeBroadcastInDim)
	compareFast(t, "folded broadcasts", func(x []*Node) []*Node {
		bias := BroadcastToDims(Reshape(x[1], 1, 1, 1, 8), 2, 6, 10, 8)
		scale := BroadcastToDims(Reshape(x[2], 2, 1, 1, 1), 2, 6, 10, 8)
		return []*Node{Add(Mul(x[0], scale), bias)}
	}, []int{2, 6, 10, 8}, []int{8}, []int{2})
	if n := GoKernelCalls(backends.OpTypeBroadcastInDim) - broadcasts; n != 0 {
		t.Errorf("%d broadcasts were materialised, want 0", n)
	}
}
