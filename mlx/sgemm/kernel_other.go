//go:build !amd64

package sgemm

const useAsm = false

const kernelName = "go"

func kernel6x16(depth int, a *float32, lda int, b *float32, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly kernel on this architecture")
}

func dotAVX2(x, y *float32, n int) float32 { panic("sgemm: no assembly kernel on this architecture") }

func axpyAVX2(a float32, x, y *float32, n int) {
	panic("sgemm: no assembly kernel on this architecture")
}
