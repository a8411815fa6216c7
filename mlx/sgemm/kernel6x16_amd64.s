#include "textflag.h"

// STEP does one step k: A at byte offset aoff from the row pointers, packed B at byte offset boff from DX.
#define STEP(aoff, boff) \
	VMOVUPS      boff(DX), Y12; \
	VMOVUPS      boff+32(DX), Y13; \
	VBROADCASTSS aoff(SI), Y14; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VBROADCASTSS aoff(SI)(R8*1), Y15; \
	VFMADD231PS  Y12, Y15, Y2; \
	VFMADD231PS  Y13, Y15, Y3; \
	VBROADCASTSS aoff(SI)(R8*2), Y14; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VBROADCASTSS aoff(R11), Y15; \
	VFMADD231PS  Y12, Y15, Y6; \
	VFMADD231PS  Y13, Y15, Y7; \
	VBROADCASTSS aoff(R11)(R8*1), Y14; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VBROADCASTSS aoff(R11)(R8*2), Y15; \
	VFMADD231PS  Y12, Y15, Y10; \
	VFMADD231PS  Y13, Y15, Y11

// func kernel6x16(depth int, a *float32, lda int, b *float32, c *float32, ldc int, accumulate bool)
//
// Accumulators: Y0..Y11 (row r in Y(2r), Y(2r+1)). Per step k: two loads of packed B (Y12, Y13), six broadcasts
// of A[r][k] (Y14, Y15 alternating), twelve FMAs. Rows 0-2 are read through SI, rows 3-5 through R11 = a+3·lda.
TEXT ·kernel6x16(SB), NOSPLIT, $0-49
	MOVQ depth+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DX
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), R9
	MOVBQZX accumulate+48(FP), R10

	LEAQ (SI)(R8*2), R11
	ADDQ R8, R11

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	CMPQ CX, $2
	JLT  tail

loop2:
	STEP(0, 0)
	STEP(4, 64)
	ADDQ $8, SI
	ADDQ $8, R11
	ADDQ $128, DX
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  loop2

tail:
	TESTQ CX, CX
	JZ    store
	STEP(0, 0)

store:
	TESTQ R10, R10
	JZ    write
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VADDPS (DI)(R9*1), Y2, Y2
	VADDPS 32(DI)(R9*1), Y3, Y3
	VADDPS (DI)(R9*2), Y4, Y4
	VADDPS 32(DI)(R9*2), Y5, Y5
	LEAQ   (DI)(R9*2), R12
	ADDQ   R9, R12
	VADDPS (R12), Y6, Y6
	VADDPS 32(R12), Y7, Y7
	VADDPS (R12)(R9*1), Y8, Y8
	VADDPS 32(R12)(R9*1), Y9, Y9
	VADDPS (R12)(R9*2), Y10, Y10
	VADDPS 32(R12)(R9*2), Y11, Y11

write:
	LEAQ    (DI)(R9*2), R12
	ADDQ    R9, R12
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(R9*1)
	VMOVUPS Y3, 32(DI)(R9*1)
	VMOVUPS Y4, (DI)(R9*2)
	VMOVUPS Y5, 32(DI)(R9*2)
	VMOVUPS Y6, (R12)
	VMOVUPS Y7, 32(R12)
	VMOVUPS Y8, (R12)(R9*1)
	VMOVUPS Y9, 32(R12)(R9*1)
	VMOVUPS Y10, (R12)(R9*2)
	VMOVUPS Y11, 32(R12)(R9*2)
	VZEROUPPER
	RET
