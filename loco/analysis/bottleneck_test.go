package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

var (
	tinyBottleneckOnce sync.Once
	tinyBottleneckVal  *Bottleneck
	tinyBottleneckErr  error
)

func tinyBottleneck(t *testing.T) *Bottleneck {
	t.Helper()
	p := tinyPipeline(t)
	tinyBottleneckOnce.Do(func() { tinyBottleneckVal, tinyBottleneckErr = NewBottleneck(p) })
	if tinyBottleneckErr != nil {
		t.Fatal(tinyBottleneckErr)
	}
	return tinyBottleneckVal
}

// TestBottleneckSplitsTheUNet: h of the tiny UNet (block_out_channels 32, 64: one downsampling) is 64×16×16, and
// decoding x's own h with x's skips gives the model's ε and x̂0.
func TestBottleneckSplitsTheUNet(t *testing.T) {
	b := tinyBottleneck(t)
	if got := b.HShape(); !slices.Equal(got, []int{64, 16, 16}) || b.HDim() != 64*16*16 {
		t.Fatalf("h shape %v (%d values), want [64 16 16]", got, b.HDim())
	}
	p := b.Pipeline
	x := p.Noise(1, 2)
	const tt = 500
	h, err := b.H(x, tt)
	if err != nil {
		t.Fatal(err)
	}
	eps, x0, err := p.Predict(x, []float32{tt})
	if err != nil {
		t.Fatal(err)
	}
	d, m := p.Dim(), b.HDim()
	for i := range 2 {
		e, z, err := b.Decode(x[i*d:(i+1)*d], tt, h[i*m:(i+1)*m])
		if err != nil {
			t.Fatal(err)
		}
		if re, rz := num.RelErr(e, eps[i*d:(i+1)*d]), num.RelErr(z, x0[i*d:(i+1)*d]); re > 1e-5 || rz > 1e-5 {
			t.Errorf("sample %d: Decode(x, H(x)) differs from the model: ε rel. error %.2g, x̂0 %.2g", i, re, rz)
		}
	}
	if r, c := b.Dims(DhDx); r != m || c != d {
		t.Errorf("Dims(∂h/∂x) = %d×%d, want %d×%d", r, c, m, d)
	}
	if r, c := b.Dims(Dx0Dh); r != d || c != m {
		t.Errorf("Dims(∂x̂0/∂h) = %d×%d, want %d×%d", r, c, d, m)
	}
}

// TestBottleneckProducts checks the exact products of the tiny UNet's bottleneck Jacobians against central finite
// differences of H and Decode, the adjoint identity ⟨u, Jv⟩ = ⟨Jᵀu, v⟩, JᵀJ = Jᵀ(J·), and ∂x̂0/∂h = −√(1−ᾱ)/√ᾱ·∂ε/∂h.
func TestBottleneckProducts(t *testing.T) {
	b := tinyBottleneck(t)
	p := b.Pipeline
	d, m := p.Dim(), b.HDim()
	const tt = 600
	x := p.Noise(7)
	rng := rand.New(rand.NewPCG(3, 4))
	v := num.Gaussian(rng, 2*d) // two directions in x-space
	w := num.Gaussian(rng, 2*m) // two in h-space
	const delta = 1e-2

	// ∂h/∂x: (h(x+δv) − h(x−δv))/2δ.
	moved := make([]float32, 0, 4*d)
	for k := range 2 {
		for _, s := range []float32{delta, -delta} {
			for a := range d {
				moved = append(moved, x[a]+s*v[k*d+a])
			}
		}
	}
	hm, err := b.H(moved, tt)
	if err != nil {
		t.Fatal(err)
	}
	jv, err := b.JVP(DhDx, x, tt, v)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		fd := make([]float32, m)
		for a := range m {
			fd[a] = (hm[(2*k)*m+a] - hm[(2*k+1)*m+a]) / (2 * delta)
		}
		if e := num.RelErr(jv[k*m:(k+1)*m], fd); e > 2e-3 {
			t.Errorf("∂h/∂x·v_%d: relative difference %.3g from central differences", k, e)
		}
	}

	// ∂ε/∂h and ∂x̂0/∂h: decode h(x) ± δw with x's skips.
	h, err := b.H(x, tt)
	if err != nil {
		t.Fatal(err)
	}
	hs := make([]float32, 0, 4*m)
	for k := range 2 {
		for _, s := range []float32{delta, -delta} {
			for a := range m {
				hs = append(hs, h[a]+s*w[k*m+a])
			}
		}
	}
	eps, _, err := b.Decode(x, tt, hs)
	if err != nil {
		t.Fatal(err)
	}
	jw, err := b.JVP(DepsDh, x, tt, w)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		fd := make([]float32, d)
		for a := range d {
			fd[a] = (eps[(2*k)*d+a] - eps[(2*k+1)*d+a]) / (2 * delta)
		}
		if e := num.RelErr(jw[k*d:(k+1)*d], fd); e > 2e-3 {
			t.Errorf("∂ε/∂h·w_%d: relative difference %.3g from central differences", k, e)
		}
	}
	jx0, err := b.JVP(Dx0Dh, x, tt, w)
	if err != nil {
		t.Fatal(err)
	}
	ab := float64(p.Model.Schedule().AlphaBar32(tt))
	scaled := make([]float32, len(jw))
	for i, e := range jw {
		scaled[i] = float32(-math.Sqrt(1-ab) / math.Sqrt(ab) * float64(e))
	}
	if e := num.RelErr(jx0, scaled); e > 1e-5 {
		t.Errorf("∂x̂0/∂h·w differs from −√(1−ᾱ)/√ᾱ·∂ε/∂h·w by %.3g (relative)", e)
	}

	// Adjoints and JᵀJ for the two bottleneck maps.
	for _, c := range []struct {
		j       Jacobian
		in, out int
	}{{DhDx, d, m}, {DepsDh, m, d}} {
		vin := num.Gaussian(rng, 2*c.in)
		uout := num.Gaussian(rng, 2*c.out)
		jv, err := b.JVP(c.j, x, tt, vin)
		if err != nil {
			t.Fatal(err)
		}
		ju, err := b.VJP(c.j, x, tt, uout)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 2 {
			lhs := num.Dot(uout[k*c.out:(k+1)*c.out], jv[k*c.out:(k+1)*c.out])
			rhs := num.Dot(ju[k*c.in:(k+1)*c.in], vin[k*c.in:(k+1)*c.in])
			if math.Abs(lhs-rhs) > 1e-4*math.Abs(lhs)+1e-3 {
				t.Errorf("%s: ⟨u, Jv⟩ = %.7g but ⟨Jᵀu, v⟩ = %.7g", c.j, lhs, rhs)
			}
		}
		ju2, jtj, err := b.JTJ(c.j, x, tt, vin)
		if err != nil {
			t.Fatal(err)
		}
		if e := num.RelErr(ju2, jv); e > 1e-5 {
			t.Errorf("%s: the J·v of JTJ differs from JVP by %.3g (relative)", c.j, e)
		}
		two, err := b.VJP(c.j, x, tt, jv)
		if err != nil {
			t.Fatal(err)
		}
		if e := num.RelErr(jtj, two); e > 1e-4 {
			t.Errorf("%s: JᵀJ·v differs from Jᵀ(J·v) by %.3g (relative)", c.j, e)
		}
	}
}

// TestBottleneckLinearityAndRank runs the measurement paths end to end on the tiny UNet with minimal settings.
func TestBottleneckLinearityAndRank(t *testing.T) {
	b := tinyBottleneck(t)
	p := b.Pipeline
	x := p.Noise(5)
	lin, err := b.Linearity(x, 700, []float64{0, 0.5}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lin[0].NormRatio-1) > 1e-12 || math.Abs(lin[0].Cosine-1) > 1e-12 {
		t.Errorf("λ = 0: norm ratio %g and cosine %g, want 1 (to rounding of the float64 dot products)", lin[0].NormRatio, lin[0].Cosine)
	}
	if math.Abs(lin[1].NormRatio-1) > 1e-3 || 1-lin[1].Cosine > 1e-3 || lin[1].Samples != 2 {
		t.Errorf("λ = 0.5: %+v, want h linear to 1e-3 over such a small step", lin[1])
	}

	curves0, err := HAndX0Linearity(p, x, 700, []float64{0, 0.5}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(curves0) != 2 || curves0[0].Label != "h_t(x_t)" || !slices.Equal(curves0[0].Points, lin) || curves0[1].Label != "x̂0,t(x_t)" {
		t.Errorf("HAndX0Linearity = %+v, want h's points %+v then x̂0's", curves0, lin)
	}
	if md := LinearityCurvesMarkdown(curves0...); !strings.Contains(md, "| h_t(x_t) | ") || !strings.Contains(md, " λ = 0.5 |") || strings.Contains(md, "λ = 0 ") {
		t.Errorf("LinearityCurvesMarkdown:\n%s", md)
	}

	opts := RankOptions{Mode: ModeEstimate, K: 2, Steps: 10, Batch: 4,
		Estimate: EstimateOptions{Oversample: 2, PowerIters: -1, Probes: 4}}
	curves, err := JacobianRanksAlongTrajectories(p, []uint64{1}, []int{4}, []Jacobian{Dx0Dh, DhDx, DepsDh}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(curves) != 3 || curves[0].Label != "∂x̂0/∂h" || curves[1].Label != "∂h/∂x" || len(curves[2].Points) != 1 {
		t.Fatalf("curves %+v, want ∂x̂0/∂h, ∂h/∂x, ∂ε/∂h with one point each", curves)
	}
	g, err := p.Grid(10, false)
	if err != nil {
		t.Fatal(err)
	}
	x0h, eh := curves[0].Points[0], curves[2].Points[0]
	ab := float64(p.Model.Schedule().AlphaBar32(g.Timesteps[4]))
	if x0h.Timestep != g.Timesteps[4] || x0h.Exact || eh.FrobNorm <= 0 ||
		math.Abs(x0h.FrobNorm-eh.FrobNorm*math.Sqrt(1-ab)/math.Sqrt(ab)) > 1e-9*x0h.FrobNorm || x0h.RankRatio != eh.RankRatio {
		t.Errorf("∂x̂0/∂h point %+v is not ∂ε/∂h's %+v scaled by √(1−ᾱ)/√ᾱ", x0h, eh)
	}
	for _, c := range curves {
		pt := c.Points[0]
		if pt.RankRatio <= 0 || pt.RankRatio > 1 || pt.RankRatioLow > pt.RankRatio || pt.RankRatioHigh < pt.RankRatio {
			t.Errorf("%s: rank ratio %g in [%g, %g]", c.Label, pt.RankRatio, pt.RankRatioLow, pt.RankRatioHigh)
		}
	}
}

// TestBottleneckNeedsAUNet: the MoLRG models have no bottleneck, and the error says what to use instead.
func TestBottleneckNeedsAUNet(t *testing.T) {
	p := oraclePipeline(t, 16, []int{2}, 1)
	if HasBottleneck(p.Model) {
		t.Error("HasBottleneck(oracle) = true")
	}
	if !HasBottleneck(tinyPipeline(t).Model) {
		t.Error("HasBottleneck(tiny UNet) = false")
	}
	if _, err := NewBottleneck(p); err == nil || !strings.Contains(err.Error(), "OutputEps") {
		t.Errorf("NewBottleneck(oracle) = %v, want an error pointing to ∂ε/∂x and ∂x̂0/∂x", err)
	}
	b := tinyBottleneck(t)
	if _, err := b.JVP(Jacobian(9), make([]float32, p.Dim()), 10, nil); err == nil {
		t.Error("JVP of an unknown Jacobian did not fail")
	}
	if _, err := b.JVP(DhDx, make([]float32, 5), 10, make([]float32, b.Pipeline.Dim())); err == nil {
		t.Error("JVP at a point of the wrong size did not fail")
	}
	if _, err := b.H(make([]float32, b.Pipeline.Dim()), 1000); err == nil {
		t.Error("H at t = 1000 (outside the schedule) did not fail")
	}
}

// matrixMap is a dense matrix as a linearMap.
func matrixMap(a *mat.Dense) linearMap {
	r, c := a.Dims()
	apply := func(m mat.Matrix, in, out int) func([]float32) ([]float32, error) {
		return func(vs []float32) ([]float32, error) {
			k := len(vs) / in
			var y mat.Dense
			y.Mul(mat.NewDense(k, in, num.Float64s(vs)), m.T())
			return num.Float32s(y.RawMatrix().Data), nil
		}
	}
	jvp, vjp := apply(a, c, r), apply(a.T(), r, c)
	jtj := func(vs []float32) ([]float32, []float32, error) {
		u, _ := jvp(vs)
		w, _ := vjp(u)
		return u, w, nil
	}
	return linearMap{name: "A", rows: r, cols: c, jvp: jvp, vjp: vjp, jtj: jtj}
}

// TestRectangularSpectra: the exact Gram spectrum and the estimate of tall and wide matrices with a known spectrum.
func TestRectangularSpectra(t *testing.T) {
	const small, big = 40, 96
	s := make([]float64, small)
	for i := range s {
		s[i] = math.Pow(0.7, float64(i))
	}
	sq := spectrumMatrix(s, 9) // small×small with singular values s
	rng := rand.New(rand.NewPCG(1, 1))
	q := randomOrthogonal(big, rng).Slice(0, big, 0, small) // big×small, orthonormal columns
	var tall mat.Dense
	tall.Mul(q, sq)
	tall = *f32Matrix(&tall)
	wide := mat.DenseCopyOf(tall.T())
	want := NumericalRank(s, 0)
	for _, a := range []*mat.Dense{&tall, wide} {
		m := matrixMap(a)
		exact, err := gramSpectrum(m, 16, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(exact) != small {
			t.Fatalf("%d×%d: %d singular values, want %d", m.rows, m.cols, len(exact), small)
		}
		if diff, _ := maxAbsDiff(exact[:12], s[:12]); diff > 1e-5 {
			t.Errorf("%d×%d: Gram singular values %.6g, want %.6g", m.rows, m.cols, exact[:12], s[:12])
		}
		est, err := estimateMap(m, 16, EstimateOptions{Seed: 3}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if est.Dim != small || est.Rank != want || !est.Resolved || math.Abs(est.FrobeniusNorm()-FrobeniusNorm(s)) > 1e-4 {
			t.Errorf("%d×%d: estimate rank %d (dim %d, resolved %v), ‖A‖_F %.6g; want rank %d of %d, ‖A‖_F %.6g",
				m.rows, m.cols, est.Rank, est.Dim, est.Resolved, est.FrobeniusNorm(), want, small, FrobeniusNorm(s))
		}
	}
}

// TestWholeNetworkJacobiansWithoutBottleneck: on a model without a bottleneck the default Jacobians are ∂ε/∂x and
// ∂x̂0/∂x, the latter matching RankAlongTrajectories exactly; h-space ones are refused.
func TestWholeNetworkJacobiansWithoutBottleneck(t *testing.T) {
	p := oraclePipeline(t, 64, []int{3, 3}, 5)
	seeds, indices := []uint64{1, 2}, []int{0, 5}
	opts := RankOptions{Steps: 10}
	curves, err := JacobianRanksAlongTrajectories(p, seeds, indices, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(curves) != 2 || curves[0].Label != "∂ε/∂x" || curves[1].Label != "∂x̂0/∂x" {
		t.Fatalf("got curves %v, want ∂ε/∂x and ∂x̂0/∂x", curves)
	}
	want, err := RankAlongTrajectories(p, seeds, indices, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, pt := range curves[1].Points {
		w := want[i]
		if !pt.Exact || pt.RankRatio != w.RankRatio || math.Abs(pt.FrobNorm-w.FrobNorm) > 1e-12*w.FrobNorm || !slices.Equal(pt.Ranks, w.Ranks) {
			t.Errorf("index %d: ∂x̂0/∂x point %+v, RankAlongTrajectories gives %+v", pt.Index, pt, w)
		}
		// ε = (x − √ᾱ·x̂0)/√(1−ᾱ): its Jacobian is nearly the identity when x̂0's is small.
		if e := curves[0].Points[i]; e.RankRatio < 0.5 {
			t.Errorf("index %d: ∂ε/∂x rank ratio %g, want close to full rank", e.Index, e.RankRatio)
		}
	}
	if _, err := JacobianRanksAlongTrajectories(p, seeds, indices, []Jacobian{DhDx}, opts); err == nil || !strings.Contains(err.Error(), "has no bottleneck") {
		t.Errorf("∂h/∂x of the oracle: error %v, want one saying it has no bottleneck", err)
	}
}

func TestSummaryHelpers(t *testing.T) {
	pts := []RankPoint{{Index: 0, RankRatio: 0.5}, {Index: 10, RankRatio: 0.01}, {Index: 20, RankRatio: 0.01}, {Index: 30, RankRatio: 0.2}}
	if low := LowestRank(pts); low.Index != 10 {
		t.Errorf("LowestRank = index %d, want 10", low.Index)
	}
	if low := LowestRank(nil); low.Index != 0 || low.RankRatio != 0 {
		t.Errorf("LowestRank(nil) = %+v, want the zero point", low)
	}
	md := Table{Header: []string{"lambda", "cosine"}, Rows: [][]float64{{0, 1}, {40, 0.987654321}}}.Markdown()
	want := "| lambda | cosine |\n|---|---|\n| 0 | 1 |\n| 40 | 0.9877 |\n"
	if md != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", md, want)
	}
	rt := RankCurvesTable(RankCurve{Label: "A", Points: pts[:2]}, RankCurve{Label: "B", Points: []RankPoint{{T: 0.5, RankRatio: 0.3, FrobNorm: 2}, {T: 0.1, RankRatio: 0.4, FrobNorm: 3}}})
	if !slices.Equal(rt.Header, []string{"t", "A rank", "A ‖J‖_F", "B rank", "B ‖J‖_F"}) || len(rt.Rows) != 2 || !slices.Equal(rt.Rows[1], []float64{0, 0.01, 0, 0.4, 3}) {
		t.Errorf("RankCurvesTable = %+v", rt)
	}
	sel := Table{Header: []string{"a", "b", "c"}, Rows: [][]float64{{1, 2, 3}}}.Select("c", "x", "a")
	if !slices.Equal(sel.Header, []string{"c", "a"}) || !slices.Equal(sel.Rows[0], []float64{3, 1}) {
		t.Errorf("Select(c, x, a) = %+v, want columns c, a = 3, 1", sel)
	}
	p := oraclePipeline(t, 64, []int{3}, 2)
	xs, tt, err := TrajectoryPoints(p, []uint64{1, 2}, 4, TrajectoryOptions{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Grid(10, false)
	if err != nil {
		t.Fatal(err)
	}
	want4, err := p.Sample(p.Noise(1, 2), 0, 4, loco.SampleOptions{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	if tt != g.Timesteps[4] || !slices.Equal(xs, want4) {
		t.Errorf("TrajectoryPoints: t = %g (want %g), points equal to DDIM's: %v", tt, g.Timesteps[4], slices.Equal(xs, want4))
	}
	curves, err := LinearityAlongTrajectories(p, loco.OutputX0, []uint64{1, 2}, []int{6, 4}, []float64{0, 20}, 3, TrajectoryOptions{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := Linearity(p, loco.OutputX0, xs, tt, []float64{0, 20}, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	label := fmt.Sprintf("t = %.2f", NormalizedTime(p, tt))
	if len(curves) != 2 || curves[0].Label != label || !slices.Equal(curves[0].Points, direct) {
		t.Errorf("LinearityAlongTrajectories first curve %+v, want %q with Linearity's %+v", curves, label, direct)
	}
}

// TestLinearTicksLabelEveryValue: gonum labels 1.05 as "1.1" on this range; linearTicks does not.
func TestLinearTicksLabelEveryValue(t *testing.T) {
	var labels []string
	for _, tk := range (linearTicks{}).Ticks(0.94, 1.11) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if !slices.Equal(labels, []string{"0.95", "1.00", "1.05", "1.10"}) {
		t.Errorf("labels %q, want 0.95, 1.00, 1.05, 1.10", labels)
	}
}

// TestPlotConstantLogCurve: a log panel whose points all have one value (e.g. single-seed ranks that coincide)
// is drawn, not refused for a range gonum would widen below 0.
func TestPlotConstantLogCurve(t *testing.T) {
	pts := []RankPoint{{T: 0.2, RankRatio: 0.98, FrobNorm: 2}, {T: 0.8, RankRatio: 0.98, FrobNorm: 3}}
	if err := PlotRankAndNorm(filepath.Join(t.TempDir(), "flat.png"), "flat", RankCurve{Label: "A", Points: pts}); err != nil {
		t.Error(err)
	}
}
