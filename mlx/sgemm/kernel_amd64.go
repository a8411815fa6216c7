package sgemm

import "golang.org/x/sys/cpu"

// useAsm selects the AVX2+FMA micro-kernel where the CPU (and the OS, for the AVX state) supports it.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

var kernelName = map[bool]string{true: "avx2-fma", false: "go"}[useAsm]

// kernel6x16 is the AVX2+FMA micro-kernel: a 6×16 tile of C from depth steps of A (6 rows, lda bytes apart,
// consecutive floats along k) and packed B (16 floats per step); ldc is in bytes. See kernel6x16_amd64.s.
//
//go:noescape
func kernel6x16(depth int, a *float32, lda int, b *float32, c *float32, ldc int, accumulate bool)

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)
