package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// layout builds a View of a batch×rows×cols tensor stored in one of the layouts the UNet's products use.
type layout int

const (
	rowMajor   layout = iota // [batch, rows, cols]
	colMajor                 // [batch, cols, rows] (a transposed operand)
	batchInner               // [rows, batch, cols] (batch axis in the middle)
)

func makeView(rng *rand.Rand, l layout, batch, rows, cols int) (View, func(b, i, j int) float32) {
	data := make([]float32, batch*rows*cols+3) // a little slack past the end must stay unread
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	var v View
	switch l {
	case rowMajor:
		v = View{Data: data, BatchStride: rows * cols, RowStride: cols, ColStride: 1}
	case colMajor:
		v = View{Data: data, BatchStride: rows * cols, RowStride: 1, ColStride: rows}
	case batchInner:
		v = View{Data: data, BatchStride: cols, RowStride: batch * cols, ColStride: 1}
	}
	return v, func(b, i, j int) float32 { return data[b*v.BatchStride+i*v.RowStride+j*v.ColStride] }
}

func TestMulMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := [][4]int{ // batch, M, N, K
		{1, 1, 1, 1}, {1, 6, 16, 1}, {1, 7, 17, 3}, {2, 5, 3, 9}, {1, 13, 33, 257}, {3, 100, 31, 70},
		{1, 97, 16, 513}, {8, 64, 64, 64}, {1, 2048, 32, 32}, {2, 191, 47, 300}, {1, 1, 200, 600},
	}
	for _, s := range sizes {
		for _, la := range []layout{rowMajor, colMajor, batchInner} {
			for _, lb := range []layout{rowMajor, colMajor, batchInner} {
				batch, m, n, k := s[0], s[1], s[2], s[3]
				a, at := makeView(rng, la, batch, m, k)
				b, bt := makeView(rng, lb, batch, k, n)
				c := make([]float32, batch*m*n+5)
				for i := range c {
					c[i] = float32(math.NaN()) // must be overwritten, not accumulated into
				}
				c[batch*m*n] = 42
				p := Problem{Batch: batch, M: m, N: n, K: k, A: a, B: b}
				for _, workers := range []int{1, 3} {
					mulBatched(c, p, workers)
					name := fmt.Sprintf("b%d_m%d_n%d_k%d_A%d_B%d_w%d", batch, m, n, k, la, lb, workers)
					for bb := range batch {
						for i := range m {
							for j := range n {
								var want, scale float64
								for kk := range k {
									x := float64(at(bb, i, kk)) * float64(bt(bb, kk, j))
									want += x
									scale += math.Abs(x)
								}
								got := float64(c[(bb*m+i)*n+j])
								// float32 rounding of a sum of k products: a few ulps of the sum of magnitudes.
								if tol := 4e-7 * (scale + 1) * math.Sqrt(float64(k)+1); math.Abs(got-want) > tol || math.IsNaN(got) {
									t.Fatalf("%s: C[%d,%d,%d] = %g, want %g (tolerance %g)", name, bb, i, j, got, want, tol)
								}
							}
						}
					}
					if c[batch*m*n] != 42 {
						t.Fatalf("%s: wrote past the end of C", name)
					}
				}
			}
		}
	}
}

func TestMulRejectsBadProblems(t *testing.T) {
	a := View{Data: make([]float32, 6), RowStride: 3, ColStride: 1}
	b := View{Data: make([]float32, 6), RowStride: 2, ColStride: 1}
	good := Problem{Batch: 1, M: 2, N: 2, K: 3, A: a, B: b}
	if err := Mul(make([]float32, 4), good); err != nil {
		t.Fatalf("good problem: %v", err)
	}
	for name, p := range map[string]Problem{
		"zero size":  {Batch: 1, M: 0, N: 2, K: 3, A: a, B: b},
		"A too long": {Batch: 1, M: 3, N: 2, K: 3, A: a, B: b},
		"B too long": {Batch: 2, M: 2, N: 2, K: 3, A: a, B: View{Data: b.Data, BatchStride: 6, RowStride: 2, ColStride: 1}},
	} {
		if err := Mul(make([]float32, 100), p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := Mul(make([]float32, 3), good); err == nil {
		t.Error("short C: no error")
	}
}

func TestGoKernelMatchesAsm(t *testing.T) {
	if !useAsm {
		t.Skip("no assembly kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, depth := range []int{1, 2, 3, 8, 255} {
		lda, ldc := depth+5, nr+3
		a := make([]float32, mr*lda)
		b := make([]float32, depth*nr)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		for _, acc := range []bool{false, true} {
			c1 := make([]float32, mr*ldc)
			c2 := make([]float32, mr*ldc)
			for i := range c1 {
				c1[i] = float32(i)
				c2[i] = float32(i)
			}
			kernel6x16(depth, &a[0], lda*4, &b[0], &c1[0], ldc*4, acc)
			kernelGo(depth, a, lda, b, c2, ldc, acc)
			for i := range c1 {
				if d := math.Abs(float64(c1[i] - c2[i])); d > 1e-4*(1+math.Abs(float64(c2[i]))) {
					t.Fatalf("depth %d acc %v: element %d: asm %g, go %g", depth, acc, i, c1[i], c2[i])
				}
			}
		}
	}
}

func BenchmarkMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][4]int{{1, 2048, 32, 32}, {1, 512, 64, 128}, {8, 256, 256, 64}, {1, 1024, 1024, 1024}, {1, 8192, 64, 576}} {
		p := Problem{Batch: s[0], M: s[1], N: s[2], K: s[3]}
		p.A, _ = makeView(rng, rowMajor, p.Batch, p.M, p.K)
		p.B, _ = makeView(rng, rowMajor, p.Batch, p.K, p.N)
		c := make([]float32, p.Batch*p.M*p.N)
		for _, w := range []int{1, Workers} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d/workers=%d", s[0], s[1], s[2], s[3], w), func(b *testing.B) {
				for range b.N {
					mulBatched(c, p, w)
				}
				b.ReportMetric(p.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// funcOperand is an Operand defined element by element.
type funcOperand func(i, j int) float32

func (f funcOperand) Pack(dst []float32, ld, r0, rows, c0, cols int) {
	for i := range rows {
		for j := range cols {
			dst[i*ld+j] = f(r0+i, c0+j)
		}
	}
}

func TestMulOperandsAccumulates(t *testing.T) {
	for _, s := range [][3]int{{1, 1, 1}, {7, 5, 3}, {200, 40, 600}, {13, 700, 20}} {
		m, n, k := s[0], s[1], s[2]
		a := funcOperand(func(i, j int) float32 { return float32((i*7+j*3)%11) - 5 })
		b := funcOperand(func(i, j int) float32 { return float32((i*5+j*13)%7) - 3 })
		ldc := n + 3
		c := make([]float32, m*ldc)
		for i := range c {
			c[i] = float32(i % 5)
		}
		orig := append([]float32(nil), c...)
		if err := MulOperands(c, ldc, m, n, k, a, b, true); err != nil {
			t.Fatal(err)
		}
		for i := range m {
			for j := range ldc {
				want := float64(orig[i*ldc+j])
				if j < n {
					for p := range k {
						want += float64(a(i, p)) * float64(b(p, j))
					}
				}
				if got := float64(c[i*ldc+j]); got != want { // small integers: exact
					t.Fatalf("%v: C[%d,%d] = %g, want %g", s, i, j, got, want)
				}
			}
		}
	}
	if err := MulOperands(make([]float32, 3), 2, 2, 2, 2, nil, nil, false); err == nil {
		t.Error("short C: no error")
	}
}
