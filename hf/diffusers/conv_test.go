package diffusers

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/locoedit/locoedit/mlx"
)

// The UNet's 3×3 convolutions run through mlx.Conv2D, which on the pure-Go backend uses Winograd's F(2×2,3×3)
// for most of them. These tests hold it to im2col (itself checked against graph.Convolve and finite
// differences in package mlx) in value, VJP and JVP, in float64 where the only difference is rounding.

// convWith builds f(x) = tanh(Conv2D(x, k)) with the given method; tanh makes the JVP depend on x.
func convWith(method mlx.ConvMethod, k *tensors.Tensor, pad [4]int) func(x *Node) *Node {
	return func(x *Node) *Node {
		prev := mlx.DefaultConvMethod
		mlx.DefaultConvMethod = method
		defer func() { mlx.DefaultConvMethod = prev }()
		return Tanh(mlx.Conv2D(x, Const(x.Graph(), k), 1, pad))
	}
}

func randF64(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

func TestWinogradConvMatchesIm2Col(t *testing.T) {
	b, err := mlx.Backend()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		x   []int
		pad [4]int
	}{
		{[]int{2, 6, 8, 16}, [4]int{1, 1, 1, 1}}, // "same" padding, as in the UNet
		{[]int{1, 7, 5, 16}, [4]int{0, 1, 2, 1}}, // asymmetric padding, non-square input
		{[]int{1, 4, 4, 16}, [4]int{}},           // no padding: one output tile
	} {
		k := randF64(rng, 3, 3, c.x[3], 5)
		x, v := randF64(rng, c.x...), randF64(rng, c.x...)
		var outs [2][]*tensors.Tensor
		for i, method := range []mlx.ConvMethod{mlx.ConvWinograd, mlx.ConvIm2Col} {
			f := convWith(method, k, c.pad)
			err := mlx.Call(func() {
				e := MustNewExec(b, func(x, v *Node) []*Node {
					y, jv := mlx.JacobianVector(f, x, v)
					u := Sin(y) // any cotangent shaped like y
					_, jtu := mlx.VectorJacobian(f, x, u)
					return []*Node{y, jv, jtu}
				})
				defer e.Finalize()
				outs[i] = e.MustExec(x, v)
			})
			if err != nil {
				t.Fatalf("x %v pad %v method %d: %v", c.x, c.pad, method, err)
			}
		}
		for j, what := range []string{"output", "JVP", "VJP"} {
			w, r := outs[0][j], outs[1][j]
			if !w.Shape().Equal(r.Shape()) {
				t.Fatalf("x %v pad %v: Winograd %s has shape %s, im2col %s", c.x, c.pad, what, w.Shape(), r.Shape())
			}
			wd, rd := tensors.MustCopyFlatData[float64](w), tensors.MustCopyFlatData[float64](r)
			var diff, scale float64
			for i := range rd {
				diff = max(diff, math.Abs(wd[i]-rd[i]))
				scale = max(scale, math.Abs(rd[i]))
			}
			if diff > 1e-12*scale || scale == 0 {
				t.Errorf("x %v pad %v: Winograd %s differs from im2col by %.3g (scale %.3g)", c.x, c.pad, what, diff, scale)
			}
		}
	}
}

// TestWinogradConvFloat32 checks the float32 rounding of the Winograd transforms on UNet-sized activations.
func TestWinogradConvFloat32(t *testing.T) {
	b, err := mlx.Backend()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	x32 := make([]float32, 2*16*16*64)
	for i := range x32 {
		x32[i] = float32(3 * rng.NormFloat64())
	}
	k32 := make([]float32, 3*3*64*32)
	for i := range k32 {
		k32[i] = float32(rng.NormFloat64() / 24)
	}
	x := tensors.FromFlatDataAndDimensions(x32, 2, 16, 16, 64)
	k := tensors.FromFlatDataAndDimensions(k32, 3, 3, 64, 32)
	var got [2][]float32
	for i, method := range []mlx.ConvMethod{mlx.ConvWinograd, mlx.ConvIm2Col} {
		err := mlx.Call(func() {
			e := MustNewExec(b, func(x *Node) *Node {
				prev := mlx.DefaultConvMethod
				mlx.DefaultConvMethod = method
				defer func() { mlx.DefaultConvMethod = prev }()
				return mlx.Conv2D(x, Const(x.Graph(), k), 1, [4]int{1, 1, 1, 1})
			})
			defer e.Finalize()
			got[i] = tensors.MustCopyFlatData[float32](e.MustExec(x)[0])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := maxAbsErr(got[0], got[1]); d > 2e-5 {
		t.Errorf("float32 Winograd differs from im2col by %.3g", d)
	} else {
		t.Logf("float32 Winograd vs im2col: max-abs difference %.3g (outputs of scale ~%.3g)", d, maxAbsErr(got[1], make([]float32, len(got[1]))))
	}
}
