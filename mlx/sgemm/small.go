package sgemm

// Products with very few rows or columns (matrix-vector-like): the packed path would copy all of B to use each
// element a few times, and pad the micro-tile. These read B in place, row by row (axpy) or column by column
// (dot products).

// Thresholds below which a product takes the small path.
const (
	smallRows = 8
	smallCols = 4
)

// dot returns Σ x[i]·y[i] (len(y) ≥ len(x)).
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	if n := len(x) &^ 31; useAsm && n > 0 {
		s = dotAVX2(&x[0], &y[0], n)
		x, y = x[n:], y[n:]
	}
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// axpy sets y += a·x.
func axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	if n := len(x) &^ 31; useAsm && n > 0 {
		axpyAVX2(a, &x[0], &y[0], n)
		x, y = x[n:], y[n:]
	}
	for i, v := range x {
		y[i] += a * v
	}
}

// mulSmall computes the m×n product of matrix operands a (m×k) and b (k×n) into c (rows ldc apart); it is meant
// for m < smallRows or n < smallCols.
func mulSmall(c []float32, ldc, m, n, k int, a, b matrix) {
	if m < smallRows && b.v.ColStride == 1 {
		// Rows of C as sums of rows of B: each row of B read once.
		rows := make([][]float32, m)
		for i := range rows {
			rows[i] = c[i*ldc : i*ldc+n]
			clear(rows[i])
		}
		for p := range k {
			brow := b.v.Data[b.off+p*b.v.RowStride:][:n]
			for i, row := range rows {
				if ai := a.v.Data[a.off+i*a.v.RowStride+p*a.v.ColStride]; ai != 0 {
					axpy(ai, brow, row)
				}
			}
		}
		return
	}
	// Dot products of rows of A with columns of B, each copied once into a contiguous buffer when strided.
	arows := contiguousRows(a, m, k)
	bcols := contiguousRows(matrix{View{Data: b.v.Data, RowStride: b.v.ColStride, ColStride: b.v.RowStride}, b.off}, n, k)
	for i := range m {
		out := c[i*ldc : i*ldc+n]
		for j := range n {
			out[j] = dot(arows(i), bcols(j))
		}
	}
}

// contiguousRows returns row i (k elements) of the rows×k operand x, in place when its columns are adjacent, else
// from a copy made once.
func contiguousRows(x matrix, rows, k int) func(i int) []float32 {
	if x.v.ColStride == 1 {
		return func(i int) []float32 { return x.v.Data[x.off+i*x.v.RowStride:][:k] }
	}
	buf := make([]float32, rows*k)
	x.Pack(buf, k, 0, rows, 0, k)
	return func(i int) []float32 { return buf[i*k : (i+1)*k] }
}
