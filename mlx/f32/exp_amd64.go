package f32

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func logisticAVX2(dst, src *float32, n int)

// expSlice sets d[i] = e^s[i].
func expSlice(d, s []float32) {
	s = s[:len(d)]
	if n := len(d) &^ 7; hasAVX2 && n > 0 {
		expAVX2(&d[0], &s[0], n)
		d, s = d[n:], s[n:]
	}
	for i, v := range s {
		d[i] = exp32(v)
	}
}

// logisticSlice sets d[i] = 1/(1+e^−s[i]).
func logisticSlice(d, s []float32) {
	s = s[:len(d)]
	if n := len(d) &^ 7; hasAVX2 && n > 0 {
		logisticAVX2(&d[0], &s[0], n)
		d, s = d[n:], s[n:]
	}
	for i, v := range s {
		d[i] = logistic32(v)
	}
}

//go:noescape
func winoInputAVX2(o0, o1, o2, o3, d0, d1, d2, d3 *float32, n int)

//go:noescape
func winoOutputAVX2(o0, o1, m0, m1, m2, m3 *float32, n int)
