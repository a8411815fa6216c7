#include "textflag.h"

// VV(name, INSTR): func name(dst, a, b *float32, n int) sets dst[i] = a[i] INSTR b[i]; n is a multiple of 32.
#define VV(name, INSTR) \
TEXT name(SB), NOSPLIT, $0-32; \
	MOVQ dst+0(FP), DI; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DX; \
	MOVQ n+24(FP), CX; \
	SHRQ $5, CX; \
	JZ   2(PC); \
	JMP  3(PC); \
	VZEROUPPER; \
	RET; \
	VMOVUPS (SI), Y0; \
	VMOVUPS 32(SI), Y1; \
	VMOVUPS 64(SI), Y2; \
	VMOVUPS 96(SI), Y3; \
	INSTR   (DX), Y0, Y0; \
	INSTR   32(DX), Y1, Y1; \
	INSTR   64(DX), Y2, Y2; \
	INSTR   96(DX), Y3, Y3; \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y1, 32(DI); \
	VMOVUPS Y2, 64(DI); \
	VMOVUPS Y3, 96(DI); \
	ADDQ    $128, SI; \
	ADDQ    $128, DX; \
	ADDQ    $128, DI; \
	DECQ    CX; \
	JNZ     -16(PC); \
	VZEROUPPER; \
	RET

VV(·addVV, VADDPS)
VV(·subVV, VSUBPS)
VV(·mulVV, VMULPS)
VV(·divVV, VDIVPS)
