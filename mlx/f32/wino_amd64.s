#include "textflag.h"

// func winoInputAVX2(o0, o1, o2, o3, d0, d1, d2, d3 *float32, n int)
// o0 = d0 − d2, o1 = d1 + d2, o2 = d2 − d1, o3 = d1 − d3; n is a multiple of 8.
TEXT ·winoInputAVX2(SB), NOSPLIT, $0-72
	MOVQ o0+0(FP), R8
	MOVQ o1+8(FP), R9
	MOVQ o2+16(FP), R10
	MOVQ o3+24(FP), R11
	MOVQ d0+32(FP), AX
	MOVQ d1+40(FP), BX
	MOVQ d2+48(FP), DX
	MOVQ d3+56(FP), SI
	MOVQ n+64(FP), CX
	XORQ DI, DI
	SHRQ $3, CX
	JZ   indone
inloop:
	VMOVUPS (AX)(DI*1), Y0
	VMOVUPS (BX)(DI*1), Y1
	VMOVUPS (DX)(DI*1), Y2
	VMOVUPS (SI)(DI*1), Y3
	VSUBPS  Y2, Y0, Y4
	VADDPS  Y2, Y1, Y5
	VSUBPS  Y1, Y2, Y6
	VSUBPS  Y3, Y1, Y7
	VMOVUPS Y4, (R8)(DI*1)
	VMOVUPS Y5, (R9)(DI*1)
	VMOVUPS Y6, (R10)(DI*1)
	VMOVUPS Y7, (R11)(DI*1)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     inloop
indone:
	VZEROUPPER
	RET

// func winoOutputAVX2(o0, o1, m0, m1, m2, m3 *float32, n int)
// o0 = m0 + m1 + m2, o1 = m1 − m2 − m3; n is a multiple of 8.
TEXT ·winoOutputAVX2(SB), NOSPLIT, $0-56
	MOVQ o0+0(FP), R8
	MOVQ o1+8(FP), R9
	MOVQ m0+16(FP), AX
	MOVQ m1+24(FP), BX
	MOVQ m2+32(FP), DX
	MOVQ m3+40(FP), SI
	MOVQ n+48(FP), CX
	XORQ DI, DI
	SHRQ $3, CX
	JZ   outdone
outloop:
	VMOVUPS (AX)(DI*1), Y0
	VMOVUPS (BX)(DI*1), Y1
	VMOVUPS (DX)(DI*1), Y2
	VMOVUPS (SI)(DI*1), Y3
	VADDPS  Y1, Y0, Y4
	VADDPS  Y2, Y4, Y4
	VSUBPS  Y2, Y1, Y5
	VSUBPS  Y3, Y5, Y5
	VMOVUPS Y4, (R8)(DI*1)
	VMOVUPS Y5, (R9)(DI*1)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     outloop
outdone:
	VZEROUPPER
	RET
