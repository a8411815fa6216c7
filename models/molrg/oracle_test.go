package molrg

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

func mustOracle(t testing.TB, d int, ranks []int, seed uint64) *Model {
	t.Helper()
	m, err := NewOracle(d, ranks, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestOracleBasesAreOrthonormalAndMutuallyOrthogonal(t *testing.T) {
	m, err := NewOracleShape(1, 8, 8, []int{2, 3, 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.SampleShape(); len(got) != 3 || got[0] != 1 || got[1] != 8 || got[2] != 8 {
		t.Errorf("SampleShape = %v, want [1 8 8]", got)
	}
	var all [][]float64
	for k, r := range []int{2, 3, 4} {
		b := m.Basis(k)
		if len(b) != r || len(b[0]) != 64 {
			t.Fatalf("Basis(%d) has %d vectors of length %d, want %d of 64", k, len(b), len(b[0]), r)
		}
		all = append(all, b...)
	}
	worst := 0.0
	for i := range all {
		for j := range all {
			want := 0.0
			if i == j {
				want = 1
			}
			worst = max(worst, math.Abs(dot(all[i], all[j])-want))
		}
	}
	if worst > 1e-6 {
		t.Errorf("planted bases: |MᵀM − I| = %.3g", worst)
	}
	other, _ := NewOracleShape(1, 8, 8, []int{2, 3, 4}, 2)
	if dot(other.Basis(0)[0], m.Basis(0)[0]) == 1 {
		t.Error("different seeds give the same basis")
	}
	for _, bad := range [][]int{nil, {0, 2}, {40, 30}} {
		if _, err := NewOracle(64, bad, 1); err == nil {
			t.Errorf("NewOracle(64, %v): no error", bad)
		}
	}
	if m.Basis(3) != nil || m.Basis(-1) != nil {
		t.Error("Basis out of range is not nil")
	}
}

// specMean is docs/method.md §12's posterior mean √ā Σ_k w_k M_kM_kᵀx with w = softmax_k(ā/(2(1−ā))‖M_kᵀx‖² + ½ r_k log(1−ā))
// (the last term, the log-determinant, is common to all k when the ranks are equal, as in the spec).
func specMean(m *Model, x []float64, ab float64) []float64 {
	k := m.NumClasses()
	logits := make([]float64, k)
	proj := make([][]float64, k)
	for j := range k {
		proj[j] = make([]float64, len(x))
		for _, u := range m.Basis(j) {
			c := dot(u, x)
			logits[j] += ab / (2 * (1 - ab)) * c * c
			for i := range x {
				proj[j][i] += c * u[i]
			}
		}
		logits[j] += 0.5 * float64(len(m.Basis(j))) * math.Log(1-ab)
	}
	w := softmax(logits)
	out := make([]float64, len(x))
	for j := range k {
		for i := range x {
			out[i] += math.Sqrt(ab) * w[j] * proj[j][i]
		}
	}
	return out
}

// oraclePoint is x_t = √ā·M_k a + √(1−ā)·ε.
func oraclePoint(rng *rand.Rand, m *Model, k int, ab float64) []float64 {
	d := len(m.Basis(0)[0])
	x := make([]float64, d)
	for _, u := range m.Basis(k) {
		a := rng.NormFloat64()
		for i := range x {
			x[i] += a * u[i]
		}
	}
	for i := range x {
		x[i] = math.Sqrt(ab)*x[i] + math.Sqrt(1-ab)*rng.NormFloat64()
	}
	return x
}

func TestOracleMatchesSpecFormula(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, ranks := range [][]int{{4, 4, 4}, {2, 3, 5}} {
		m := mustOracle(t, 64, ranks, 3)
		for _, tt := range []float32{0, 200, 600, 900, 999} {
			ab := float64(m.Schedule().AlphaBar32(tt))
			var flat []float64
			var ts []float32
			var want [][]float64
			for k := range ranks {
				x := oraclePoint(rng, m, k, ab)
				flat = append(flat, x...)
				ts = append(ts, tt)
				want = append(want, specMean(m, x, ab))
			}
			got64 := predict64(t, m, flat, ts)
			got32, err := predictValues(t, m, num.Float32s(flat), ts)
			if err != nil {
				t.Fatal(err)
			}
			for n, w := range want {
				e64 := maxAbsDiff(got64[n*64:(n+1)*64], w)
				e32 := maxAbsDiff(num.Float64s(got32[n*64:(n+1)*64]), w)
				if e64 > 1e-6 || e32 > 1e-4 {
					t.Errorf("ranks %v t=%v point %d: graph (float64 / float32) differs from docs/method.md §12 by %.3g / %.3g", ranks, tt, n, e64, e32)
				}
			}
		}
	}
}

// orthoComplementResidual returns ‖(I − QQᵀ)A‖_F / ‖A‖_F with Q the orthonormal columns of the bases.
func orthoComplementResidual(a *mat.Dense, bases [][]float64) float64 {
	d, _ := a.Dims()
	q := mat.NewDense(d, len(bases), nil)
	for j, u := range bases {
		for i := range d {
			q.Set(i, j, u[i])
		}
	}
	var qta, proj, res mat.Dense
	qta.Mul(q.T(), a)
	proj.Mul(q, &qta)
	res.Sub(a, &proj)
	return mat.Norm(&res, 2) / mat.Norm(a, 2)
}

func TestOracleJacobianRankAndSubspaces(t *testing.T) {
	ranks := []int{2, 3, 4}
	sum := 9
	m := mustOracle(t, 64, ranks, 5)
	var union [][]float64
	for k := range ranks {
		union = append(union, m.Basis(k)...)
	}
	rng := rand.New(rand.NewPCG(23, 24))
	// At high noise every component keeps weight, so the rank is exactly Σr_k and the column space is the whole
	// union; at low noise the component of x wins and the rank is its r_k (here component 1, r = 3).
	for _, c := range []struct {
		tt   float32
		want int
	}{{900, sum}, {500, sum}, {50, ranks[1]}} {
		tt := c.tt
		ab := float64(m.Schedule().AlphaBar32(tt))
		x := oraclePoint(rng, m, 1, ab)
		j := jacobian(t, m, x, tt)
		var svd mat.SVD
		if !svd.Factorize(j, mat.SVDThin) {
			t.Fatal("SVD failed")
		}
		sv := svd.Values(nil)
		rank := 0
		for _, s := range sv {
			if s > 1e-6*sv[0] {
				rank++
			}
		}
		if rank != c.want {
			t.Errorf("t=%v: numerical rank of the Jacobian is %d, want %d (Σr_k = %d; singular values %.3g)", tt, rank, c.want, sum, sv[:sum+1])
		}
		if e := orthoComplementResidual(j, union); e > 1e-6 {
			t.Errorf("t=%v: %.3g of the Jacobian lies outside the union of the planted subspaces", tt, e)
		}
		var asym mat.Dense
		asym.Sub(j, j.T())
		if e := mat.Norm(&asym, 2) / mat.Norm(j, 2); e > 1e-6 {
			t.Errorf("t=%v: ‖J − Jᵀ‖/‖J‖ = %.3g, the oracle's Jacobian is symmetric", tt, e)
		}
	}
}

func TestOracleName(t *testing.T) {
	m := mustOracle(t, 16, []int{1, 2}, 9)
	if !strings.HasPrefix(m.Name(), "molrg-oracle-1x1x16-r1_2-seed9") {
		t.Errorf("oracle name %q", m.Name())
	}
}
