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
