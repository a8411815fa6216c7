package loco

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/internal/num"
)

// denseJacobian returns a rows×cols matrix U·diag(sv)·Vᵀ with random orthonormal U and V.
func denseJacobian(rows, cols int, sv []float64, seed uint64) *mat.Dense {
	u := RandomOrthonormal(len(sv), rows, seed)
	v := RandomOrthonormal(len(sv), cols, seed+7)
	j := mat.NewDense(rows, cols, nil)
	for i, s := range sv {
		var o mat.Dense
		o.Outer(s, u.RowView(i), v.RowView(i))
		j.Add(j, &o)
	}
	return j
}

// denseJTJ returns U = J·V and JᵀJ·V for the rows of V.
func denseJTJ(j *mat.Dense) JTJFunc {
	_, cols := j.Dims()
	return func(v []float32) ([]float32, []float32, error) {
		vm := mat.NewDense(len(v)/cols, cols, num.Float64s(v))
		var u, w mat.Dense
		u.Mul(vm, j.T())
		w.Mul(&u, j)
		return num.Float32s(u.RawMatrix().Data), num.Float32s(w.RawMatrix().Data), nil
	}
}

// exactSVD returns the top-k singular values and right singular vectors (rows, float32) of j.
func exactSVD(t testing.TB, j mat.Matrix, k int) ([]float64, []float32) {
	t.Helper()
	var svd mat.SVD
	if !svd.Factorize(j, mat.SVDThin) {
		t.Fatal("reference SVD failed")
	}
	var v mat.Dense
	svd.VTo(&v)
	_, cols := j.Dims()
	rows := make([]float32, 0, k*cols)
	for i := range k {
		for r := range cols {
			rows = append(rows, float32(v.At(r, i)))
		}
	}
	return svd.Values(nil)[:k], rows
}

// minCos is the cosine of the largest principal angle between two sets of orthonormal rows.
func minCos(t testing.TB, a, b []float32, dim int) float64 {
	t.Helper()
	c, err := PrincipalCosines(a, b, dim)
	if err != nil {
		t.Fatal(err)
	}
	return c[len(c)-1]
}

// trueResiduals recomputes ‖JᵀJ v_i − s_i² v_i‖/s_i² from the matrix.
func trueResiduals(j *mat.Dense, sub *Subspace) []float64 {
	_, w, _ := denseJTJ(j)(sub.V)
	out := make([]float64, sub.Rank)
	for i := range sub.Rank {
		s2 := sub.S[i] * sub.S[i]
		var r float64
		for t := range sub.Dim {
			d := float64(w[i*sub.Dim+t]) - s2*float64(sub.V[i*sub.Dim+t])
			r += d * d
		}
		out[i] = math.Sqrt(r) / s2
	}
	return out
}

// geometric returns n values from top falling by the factor ratio.
func geometric(n int, top, ratio float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = top * math.Pow(ratio, float64(i))
	}
	return out
}

// flatSpectrum mimics the golden model: singular values close together (gaps of about 1%) over a long tail.
func flatSpectrum(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 7 - 2.5*math.Sqrt(float64(i)/float64(n))
	}
	return out
}

func TestSubspaceMatchesSVD(t *testing.T) {
	const rows, cols = 90, 240
	for _, c := range []struct {
		name string
		sv   []float64
		opts SubspaceOptions
		// accuracy wanted: relative singular-value error and 1 − cos of the largest principal angle
		sErr, angErr float64
	}{
		{"steep/krylov/rank1", geometric(rows, 10, 0.8), SubspaceOptions{Rank: 1, Tol: 1e-5}, 1e-6, 1e-6},
		{"steep/krylov/rank5", geometric(rows, 10, 0.8), SubspaceOptions{Rank: 5, Tol: 1e-5}, 1e-6, 1e-6},
		{"steep/block/rank5", geometric(rows, 10, 0.8), SubspaceOptions{Rank: 5, BlockSize: 5, Tol: 1e-5}, 1e-6, 1e-6},
		{"steep/power/rank5", geometric(rows, 10, 0.8), SubspaceOptions{Rank: 5, Method: MethodPower, Tol: 1e-6, MaxIter: 500}, 1e-6, 1e-6},
		{"flat/krylov/rank1", flatSpectrum(rows), SubspaceOptions{Rank: 1, Tol: 1e-5}, 1e-6, 1e-5},
		{"flat/krylov/rank5", flatSpectrum(rows), SubspaceOptions{Rank: 5, Tol: 1e-5}, 1e-6, 1e-5},
		{"flat/block+oversample/rank5", flatSpectrum(rows), SubspaceOptions{Rank: 5, BlockSize: 8, Oversample: 3, Tol: 1e-5}, 1e-6, 1e-5},
		{"flat/restart/rank5", flatSpectrum(rows), SubspaceOptions{Rank: 5, MaxBasis: 16, Tol: 1e-5}, 1e-6, 1e-5},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := denseJacobian(rows, cols, c.sv, 11)
			sub, err := SubspaceIteration(cols, denseJTJ(j), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			k := c.opts.Rank
			s, v := exactSVD(t, j, k)
			if !sub.Converged {
				t.Errorf("did not converge in %d iterations (change %.3g)", sub.Iterations, sub.Change)
			}
			for i := range k {
				if e := math.Abs(sub.S[i]-s[i]) / s[i]; e > c.sErr {
					t.Errorf("s[%d] = %.8f, exact %.8f (relative error %.2g)", i, sub.S[i], s[i], e)
				}
			}
			if e := 1 - minCos(t, sub.V, v, cols); e > c.angErr {
				t.Errorf("1 − cos of the largest principal angle with the exact subspace = %.3g, want ≤ %.0g", e, c.angErr)
			}
			for i, r := range trueResiduals(j, sub) {
				if math.Abs(r-sub.Residuals[i]) > 1e-6+1e-3*r {
					t.Errorf("reported residual %d = %.3g, recomputed %.3g", i, sub.Residuals[i], r)
				}
				if sub.Method == MethodKrylov && sub.Residuals[i] > c.opts.Tol {
					t.Errorf("converged with residual %d = %.3g above Tol %.0g", i, sub.Residuals[i], c.opts.Tol)
				}
			}
			// Orthonormal rows and U = J·V for Krylov.
			if e := 1 - minCos(t, sub.V, sub.V, cols); e > 1e-6 {
				t.Errorf("rows not orthonormal: 1 − cos = %.3g", e)
			}
			if sub.Method == MethodKrylov {
				u, _, _ := denseJTJ(j)(sub.V)
				if d := maxAbsDiff32(u, sub.U); d > 1e-5*maxAbs32(u) {
					t.Errorf("U differs from J·V by %.3g", d)
				}
			}
			t.Logf("%d iterations, %d evaluations, s %.5f", sub.Iterations, sub.Evaluations, sub.S)
		})
	}
}

// evaluationsTo runs a method until the top-k subspace has cosine ≥ target with the exact one (largest principal
// angle) and returns the products used (-1: never within the iteration limit).
func evaluationsTo(t *testing.T, j *mat.Dense, exact []float32, target float64, opts SubspaceOptions) int {
	t.Helper()
	_, cols := j.Dims()
	opts.Tol = 1e-12 // run until the target, not the stop rule
	it, err := newSubspaceIterator(cols, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := denseJTJ(j)
	for !it.finished() {
		u, w, _ := f(it.block())
		if err := it.step(u, w); err != nil {
			t.Fatal(err)
		}
		if r := it.result(); r.V != nil && r.S[opts.Rank-1] > 0 && minCos(t, r.V, exact, cols) >= target {
			return r.Evaluations
		}
	}
	return -1
}

func TestKrylovNeedsFewerEvaluations(t *testing.T) {
	const rows, cols = 144, 1024
	j := denseJacobian(rows, cols, flatSpectrum(rows), 5)
	for _, c := range []struct {
		rank   int
		target float64
	}{{1, 0.999}, {5, 0.99}} {
		_, exact := exactSVD(t, j, c.rank)
		power := evaluationsTo(t, j, exact, c.target, SubspaceOptions{Rank: c.rank, Method: MethodPower, MaxIter: 3000, Seed: 3})
		krylov := evaluationsTo(t, j, exact, c.target, SubspaceOptions{Rank: c.rank, Seed: 3})
		t.Logf("rank %d, cos ≥ %g: power %d evaluations, Krylov %d", c.rank, c.target, power, krylov)
		if power < 0 || krylov < 0 {
			t.Fatalf("a method did not reach the target (power %d, Krylov %d)", power, krylov)
		}
		if 4*krylov > power {
			t.Errorf("Krylov used %d evaluations, power %d: want at most a quarter", krylov, power)
		}
	}
}

// TestPowerFaithfulSignFlips reproduces the authors' sign problem: the basis converges, but the SVD flips the
// signs of some vectors every iteration, so the faithful (entry-wise) test never passes and the method runs
// MaxIter, while the subspace rule stops early.
func TestPowerFaithfulSignFlips(t *testing.T) {
	const rows, cols = 40, 100
	j := denseJacobian(rows, cols, geometric(8, 10, 0.5), 3)
	_, exact := exactSVD(t, j, 3)

	flips := 0
	var prev []float32
	opts := SubspaceOptions{Rank: 3, Stop: StopFaithful, Seed: 1}
	it, err := newSubspaceIterator(cols, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := denseJTJ(j)
	for !it.finished() {
		u, w, _ := f(it.block())
		if err := it.step(u, w); err != nil {
			t.Fatal(err)
		}
		r := it.result()
		if prev != nil && r.Iterations > 40 {
			for i := range 3 {
				if num.Cosine(prev[i*cols:(i+1)*cols], r.Row(i)) < -0.999 {
					flips++
				}
			}
		}
		prev = r.V
	}
	faithful := it.result()
	if faithful.Iterations != 50 || faithful.Converged {
		t.Errorf("faithful stop: %d iterations, converged %v; want all 50 (signs flip)", faithful.Iterations, faithful.Converged)
	}
	if flips < 9 {
		t.Errorf("only %d sign flips in the last 9 iterations: the sign-flip situation was not reproduced", flips)
	}
	if e := 1 - minCos(t, faithful.V, exact, cols); e > 1e-6 {
		t.Errorf("faithful basis is not converged: 1 − cos = %.3g", e)
	}
	if faithful.Change < 0.1 {
		t.Errorf("faithful change %.3g: a sign flip should change some entry a lot", faithful.Change)
	}

	sub, err := SubspaceIteration(cols, denseJTJ(j), SubspaceOptions{Rank: 3, Method: MethodPower, Seed: 1, Tol: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	if !sub.Converged || sub.Iterations >= 30 {
		t.Errorf("subspace stop: %d iterations, converged %v; want an early stop", sub.Iterations, sub.Converged)
	}
	if e := 1 - minCos(t, sub.V, exact, cols); e > 1e-6 {
		t.Errorf("subspace-stop basis: 1 − cos = %.3g", e)
	}
	t.Logf("faithful: %d iterations (%d flips in the last 9); subspace stop: %d iterations", faithful.Iterations, flips, sub.Iterations)

	// Without flips (rank 1 here) the faithful test passes after MinIter+2 iterations, like the authors' loop.
	one, err := SubspaceIteration(cols, denseJTJ(j), SubspaceOptions{Rank: 1, Stop: StopFaithful, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !one.Converged || one.Iterations != 12 {
		t.Errorf("rank-1 faithful: %d iterations, converged %v; want 12, converged", one.Iterations, one.Converged)
	}
}

func TestKrylovRankDeficient(t *testing.T) {
	// J has rank 2; ask for 4 vectors: two exact pairs and two of singular value 0.
	j := denseJacobian(30, 50, []float64{3, 2}, 9)
	for _, bs := range []int{1, 4} {
		sub, err := SubspaceIteration(50, denseJTJ(j), SubspaceOptions{Rank: 4, BlockSize: bs, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Converged {
			t.Errorf("block %d: not converged after %d iterations (change %.3g)", bs, sub.Iterations, sub.Change)
		}
		want := []float64{3, 2, 0, 0}
		for i, w := range want {
			if math.Abs(sub.S[i]-w) > 1e-5 || math.IsNaN(sub.Residuals[i]) {
				t.Errorf("block %d: s[%d] = %.6g (residual %.3g), want %g", bs, i, sub.S[i], sub.Residuals[i], w)
			}
		}
		if e := 1 - minCos(t, sub.V, sub.V, 50); e > 1e-6 {
			t.Errorf("block %d: rows not orthonormal (1 − cos %.3g)", bs, e)
		}
	}
	// A space smaller than the basis: d = 4, k = 3; the Krylov space is exhausted.
	small := denseJacobian(4, 4, []float64{4, 3, 2, 1}, 1)
	sub, err := SubspaceIteration(4, denseJTJ(small), SubspaceOptions{Rank: 3, BlockSize: 2, Tol: 1e-6})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{4, 3, 2} {
		if math.Abs(sub.S[i]-w) > 1e-5 {
			t.Errorf("d=4: s[%d] = %.6g, want %g", i, sub.S[i], w)
		}
	}
}

func TestKrylovStartBasis(t *testing.T) {
	j := denseJacobian(60, 120, flatSpectrum(60), 4)
	_, exact := exactSVD(t, j, 3)
	// Started on the exact subspace, one block of three (or three Lanczos steps) finds it.
	for _, c := range []struct{ block, iters int }{{3, 1}, {1, 3}} {
		sub, err := SubspaceIteration(120, denseJTJ(j), SubspaceOptions{Rank: 3, BlockSize: c.block, Init: exact})
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Converged || sub.Iterations != c.iters || sub.Evaluations != 6 {
			t.Errorf("block %d: %d iterations, %d evaluations, converged %v; want %d, 6, true", c.block, sub.Iterations, sub.Evaluations, sub.Converged, c.iters)
		}
	}
	// A start basis that is not orthonormal is orthonormalised.
	scaled := make([]float32, len(exact))
	for i, x := range exact {
		scaled[i] = 3 * x
	}
	sub, err := SubspaceIteration(120, denseJTJ(j), SubspaceOptions{Rank: 3, BlockSize: 3, Init: scaled})
	if err != nil {
		t.Fatal(err)
	}
	if !sub.Converged || sub.Iterations != 1 {
		t.Errorf("scaled start: %d iterations, converged %v", sub.Iterations, sub.Converged)
	}
}

// maskedBatch evaluates per-row masked products of a square J like Pipeline.JTJ: u = mask ⊙ (J v), w = Jᵀ u.
func maskedBatch(j *mat.Dense, calls *[]int) BatchJTJFunc {
	_, d := j.Dims()
	return func(vs, masks []float32) ([]float32, []float32, error) {
		n := len(vs) / d
		*calls = append(*calls, n)
		vm := mat.NewDense(n, d, num.Float64s(vs))
		var u mat.Dense
		u.Mul(vm, j.T())
		for r := range n {
			for c := range d {
				u.Set(r, c, u.At(r, c)*float64(masks[r*d+c]))
			}
		}
		var w mat.Dense
		w.Mul(&u, j)
		return num.Float32s(u.RawMatrix().Data), num.Float32s(w.RawMatrix().Data), nil
	}
}

func maskRows(j *mat.Dense, mask []float32) *mat.Dense {
	r, c := j.Dims()
	out := mat.NewDense(r, c, nil)
	for i := range r {
		if mask[i] != 0 {
			out.SetRow(i, j.RawRowView(i))
		}
	}
	return out
}

func TestSubspacesLockstep(t *testing.T) {
	const d = 200
	j := denseJacobian(d, d, flatSpectrum(d), 8)
	inside := make([]float32, d)
	outside := make([]float32, d)
	for i := range d {
		if i < 40 {
			inside[i] = 1
		} else {
			outside[i] = 1
		}
	}
	problems := []SubspaceProblem{
		{Mask: inside, SubspaceOptions: SubspaceOptions{Rank: 1, Tol: 1e-5}},
		{Mask: outside, SubspaceOptions: SubspaceOptions{Rank: 5, Tol: 1e-5, Seed: 1}},
		{Mask: nil, SubspaceOptions: SubspaceOptions{Rank: 2, Method: MethodPower, Tol: 1e-6, MaxIter: 400}},
	}
	var calls []int
	subs, err := subspacesLockstep(d, []int{1, 1, d}, problems, maskedBatch(j, &calls))
	if err != nil {
		t.Fatal(err)
	}
	maxIter := 0
	for i, pr := range problems {
		ref := j
		if pr.Mask != nil {
			ref = maskRows(j, pr.Mask)
		}
		s, v := exactSVD(t, ref, pr.Rank)
		sub := subs[i]
		maxIter = max(maxIter, sub.Iterations)
		if !sub.Converged {
			t.Errorf("problem %d (%v) did not converge", i, sub.Method)
		}
		if e := 1 - minCos(t, sub.V, v, d); e > 1e-4 {
			t.Errorf("problem %d (%v): 1 − cos with the exact subspace = %.3g", i, sub.Method, e)
		}
		if e := math.Abs(sub.S[0]-s[0]) / s[0]; e > 1e-5 {
			t.Errorf("problem %d: s[0] = %.6f, exact %.6f", i, sub.S[0], s[0])
		}
		t.Logf("problem %d (%v, rank %d): %d iterations, %d evaluations", i, sub.Method, pr.Rank, sub.Iterations, sub.Evaluations)
	}
	if len(calls) != maxIter {
		t.Errorf("%d batched calls for %d iterations: the problems did not run in lockstep", len(calls), maxIter)
	}
	if want := 1 + 1 + 2; calls[0] != want {
		t.Errorf("first batch has %d vectors, want %d (one Lanczos vector each for Krylov, the power basis)", calls[0], want)
	}

	for _, c := range []struct {
		name string
		pr   SubspaceProblem
		want string
	}{
		{"mask size", SubspaceProblem{Mask: inside[:10], SubspaceOptions: SubspaceOptions{Rank: 1}}, "mask has 10 values"},
		{"empty mask", SubspaceProblem{Mask: make([]float32, d), SubspaceOptions: SubspaceOptions{Rank: 1}}, "mask is empty"},
		{"rank over mask", SubspaceProblem{Mask: inside, SubspaceOptions: SubspaceOptions{Rank: 41}}, "larger than the 40 masked values"},
		{"rank zero", SubspaceProblem{SubspaceOptions: SubspaceOptions{}}, "rank must be positive"},
		{"init size", SubspaceProblem{SubspaceOptions: SubspaceOptions{Rank: 2, Init: make([]float32, d)}}, "start basis has 200 values"},
		{"method", SubspaceProblem{SubspaceOptions: SubspaceOptions{Rank: 2, Method: 7}}, "unknown subspace method"},
	} {
		_, err := subspacesLockstep(d, []int{1, 1, d}, []SubspaceProblem{c.pr}, maskedBatch(j, new([]int)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestParseMethod(t *testing.T) {
	for in, want := range map[string]Method{"": MethodKrylov, "krylov": MethodKrylov, "power": MethodPower} {
		if got, err := ParseMethod(in); err != nil || got != want {
			t.Errorf("ParseMethod(%q) = %v, %v; want %v", in, got, err, want)
		}
		if want.String() != in && in != "" {
			t.Errorf("%v.String() = %q, want %q", want, want.String(), in)
		}
	}
	if _, err := ParseMethod("lanczos"); err == nil {
		t.Error("ParseMethod(lanczos) succeeded")
	}
	// The faithful stop implies the power method.
	if o := (SubspaceOptions{Rank: 1, Stop: StopFaithful}).withDefaults(); o.Method != MethodPower || o.MaxIter != 50 || o.MinIter != 10 || o.Tol != 1e-4 {
		t.Errorf("faithful defaults: %+v", o)
	}
	if o := (SubspaceOptions{Rank: 5}).withDefaults(); o.Method != MethodKrylov || o.BlockSize != 1 || o.MaxIter != 250 || o.Tol != DefaultKrylovTol {
		t.Errorf("Krylov defaults: %+v", o)
	}
}
