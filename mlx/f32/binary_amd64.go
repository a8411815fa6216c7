package f32

//go:noescape
func addVV(dst, a, b *float32, n int)

//go:noescape
func subVV(dst, a, b *float32, n int)

//go:noescape
func mulVV(dst, a, b *float32, n int)

//go:noescape
func divVV(dst, a, b *float32, n int)

// binaryVectorsAsm handles the first multiple of 32 elements with AVX and returns how many it did.
func binaryVectorsAsm(op BinaryOp, d, a, b []float32) int {
	n := len(d) &^ 31
	if !hasAVX2 || n == 0 {
		return 0
	}
	a, b = a[:n], b[:n]
	switch op {
	case Add:
		addVV(&d[0], &a[0], &b[0], n)
	case Sub:
		subVV(&d[0], &a[0], &b[0], n)
	case Mul:
		mulVV(&d[0], &a[0], &b[0], n)
	case Div:
		divVV(&d[0], &a[0], &b[0], n)
	default:
		return 0
	}
	return n
}
