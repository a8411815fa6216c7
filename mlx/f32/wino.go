package f32

// WinogradInput sets o0 = d0 − d2, o1 = d1 + d2, o2 = d2 − d1, o3 = d1 − d3 element-wise (the rows or columns
// of Bᵀ·d for Winograd's F(2×2, 3×3)); all slices have the length of o0.
func WinogradInput(o0, o1, o2, o3, d0, d1, d2, d3 []float32) {
	n := len(o0)
	o1, o2, o3, d0, d1, d2, d3 = o1[:n], o2[:n], o3[:n], d0[:n], d1[:n], d2[:n], d3[:n]
	if v := n &^ 7; hasAVX2 && v > 0 {
		winoInputAVX2(&o0[0], &o1[0], &o2[0], &o3[0], &d0[0], &d1[0], &d2[0], &d3[0], v)
		o0, o1, o2, o3, d0, d1, d2, d3 = o0[v:], o1[v:], o2[v:], o3[v:], d0[v:], d1[v:], d2[v:], d3[v:]
	}
	for i := range o0 {
		a, b, c, d := d0[i], d1[i], d2[i], d3[i]
		o0[i], o1[i], o2[i], o3[i] = a-c, b+c, c-b, b-d
	}
}

// WinogradOutput sets o0 = m0 + m1 + m2, o1 = m1 − m2 − m3 element-wise (Aᵀ·m for Winograd's F(2×2, 3×3)).
func WinogradOutput(o0, o1, m0, m1, m2, m3 []float32) {
	n := len(o0)
	o1, m0, m1, m2, m3 = o1[:n], m0[:n], m1[:n], m2[:n], m3[:n]
	if v := n &^ 7; hasAVX2 && v > 0 {
		winoOutputAVX2(&o0[0], &o1[0], &m0[0], &m1[0], &m2[0], &m3[0], v)
		o0, o1, m0, m1, m2, m3 = o0[v:], o1[v:], m0[v:], m1[v:], m2[v:], m3[v:]
	}
	for i := range o0 {
		o0[i] = m0[i] + m1[i] + m2[i]
		o1[i] = m1[i] - m2[i] - m3[i]
	}
}
