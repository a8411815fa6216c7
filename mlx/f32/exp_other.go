//go:build !amd64

package f32

const hasAVX2 = false

func expSlice(d, s []float32) {
	for i, v := range s[:len(d)] {
		d[i] = exp32(v)
	}
}

func logisticSlice(d, s []float32) {
	for i, v := range s[:len(d)] {
		d[i] = logistic32(v)
	}
}

func binaryVectorsAsm(op BinaryOp, d, a, b []float32) int { return 0 }

func winoInputAVX2(o0, o1, o2, o3, d0, d1, d2, d3 *float32, n int) { panic("no AVX2") }

func winoOutputAVX2(o0, o1, m0, m1, m2, m3 *float32, n int) { panic("no AVX2") }
