#include "textflag.h"

// Constants, each repeated in all 8 lanes so that they can be memory operands of 256-bit instructions.
#define CONST8(name, bits) \
	DATA name<>+0(SB)/4, bits; DATA name<>+4(SB)/4, bits; DATA name<>+8(SB)/4, bits; DATA name<>+12(SB)/4, bits; \
	DATA name<>+16(SB)/4, bits; DATA name<>+20(SB)/4, bits; DATA name<>+24(SB)/4, bits; DATA name<>+28(SB)/4, bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

CONST8(log2e, $0x3fb8aa3b)
CONST8(half, $0x3f000000)
CONST8(one, $0x3f800000)
CONST8(ln2hi, $0x3f318000)
CONST8(ln2lo, $0xb95e8083)
CONST8(p0, $0x39506967)
CONST8(p1, $0x3ab743ce)
CONST8(p2, $0x3c088908)
CONST8(p3, $0x3d2aa9c1)
CONST8(p4, $0x3e2aaaaa)
CONST8(p5, $0x3f000000)
CONST8(maxarg, $0x42b17218)
CONST8(minarg, $0xc2cff1b4)
CONST8(inf, $0x7f800000)
CONST8(bias, $127)
CONST8(signbit, $0x80000000)

// EXP8 sets Y1 = e^Y0 for 8 floats (Cody–Waite reduction, Cephes' expf polynomial, 2^n applied in two halves so
// that denormal and near-overflow results come out right; +Inf above ln(MaxFloat32), 0 below the denormals).
// Clobbers Y2–Y6.
#define EXP8 \
	VMULPS       log2e<>(SB), Y0, Y2; \
	VADDPS       half<>(SB), Y2, Y2; \
	VROUNDPS     $1, Y2, Y2; \
	VMOVAPS      Y0, Y3; \
	VFNMADD231PS ln2hi<>(SB), Y2, Y3; \
	VFNMADD231PS ln2lo<>(SB), Y2, Y3; \
	VMOVUPS      p0<>(SB), Y1; \
	VFMADD213PS  p1<>(SB), Y3, Y1; \
	VFMADD213PS  p2<>(SB), Y3, Y1; \
	VFMADD213PS  p3<>(SB), Y3, Y1; \
	VFMADD213PS  p4<>(SB), Y3, Y1; \
	VFMADD213PS  p5<>(SB), Y3, Y1; \
	VMULPS       Y3, Y3, Y4; \
	VFMADD213PS  Y3, Y4, Y1; \
	VADDPS       one<>(SB), Y1, Y1; \
	VCVTPS2DQ    Y2, Y2; \
	VPSRAD       $1, Y2, Y4; \
	VPSUBD       Y4, Y2, Y2; \
	VPADDD       bias<>(SB), Y4, Y4; \
	VPSLLD       $23, Y4, Y4; \
	VPADDD       bias<>(SB), Y2, Y2; \
	VPSLLD       $23, Y2, Y2; \
	VMULPS       Y4, Y1, Y1; \
	VMULPS       Y2, Y1, Y1; \
	VCMPPS       $0x1e, maxarg<>(SB), Y0, Y5; \
	VBLENDVPS    Y5, inf<>(SB), Y1, Y1; \
	VCMPPS       $0x11, minarg<>(SB), Y0, Y6; \
	VANDNPS      Y1, Y6, Y1

// func expAVX2(dst, src *float32, n int)
// n is a multiple of 8.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   expdone
exploop:
	VMOVUPS (SI), Y0
	EXP8
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     exploop
expdone:
	VZEROUPPER
	RET

// func logisticAVX2(dst, src *float32, n int)
// 1/(1+e^−x) from e = e^−|x|: 1/(1+e) where x ≥ 0, e/(1+e) where x < 0. n is a multiple of 8.
TEXT ·logisticAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   logdone
logloop:
	VMOVUPS (SI), Y7
	VORPS   signbit<>(SB), Y7, Y0
	EXP8
	VADDPS  one<>(SB), Y1, Y2
	VMOVUPS one<>(SB), Y3
	VDIVPS  Y2, Y3, Y3
	VMULPS  Y3, Y1, Y4
	VBLENDVPS Y7, Y4, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     logloop
logdone:
	VZEROUPPER
	RET
