package loco_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/models/molrg"
)

// oracle is the paper's §4 mixture of low-rank Gaussians on 1×8×8 images, ranks 2, 3, 4, with its planted bases.
func oracle(t *testing.T) (*loco.Pipeline, []float32) {
	t.Helper()
	m, err := molrg.NewOracleShape(1, 8, 8, []int{2, 3, 4}, 11)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		t.Fatal(err)
	}
	var union []float32
	for k := range 3 {
		for _, col := range m.Basis(k) {
			for _, v := range col {
				union = append(union, float32(v))
			}
		}
	}
	return p, union
}

func gaussian(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// At high noise the Jacobian of the posterior mean has rank Σr_k = 9 and its row space is the union of the
// planted subspaces (Theorem 1): subspace iteration must recover it.
func TestSubspaceIterationRecoversPlantedSubspaces(t *testing.T) {
	p, union := oracle(t)
	if len(union) != 9*p.Dim() {
		t.Fatalf("planted bases hold %d values, want 9 rows of %d", len(union), p.Dim())
	}
	x := gaussian(p.Dim(), 3)
	subs, err := p.Subspaces(loco.OutputX0, x, 900, []loco.SubspaceProblem{{SubspaceOptions: loco.SubspaceOptions{Rank: 10, Tol: 1e-6, Seed: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	s := subs[0]
	// Rank 9: the tenth singular value vanishes next to the ninth.
	if s.S[9] > 1e-3*s.S[8] {
		t.Errorf("singular values %v: the tenth is not negligible, rank is not Σr_k = 9", s.S)
	}
	cos, err := loco.PrincipalCosines(s.V[:9*p.Dim()], union, p.Dim())
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cos {
		if angle := math.Acos(math.Min(c, 1)); angle > 1e-3 {
			t.Errorf("principal angle %d between the recovered and the planted subspace: %.2g rad", i, angle)
		}
	}
	t.Logf("singular values %.4g; %d Jacobian products", s.S, s.Evaluations)
}

// The projected direction is orthogonal to the complement's top-r′ subspace. (On this oracle the masked and the
// complement Jacobians share one isotropic 9-dimensional row space, so it cannot show locality: the embedded
// Fashion-MNIST model does, see loco/demo's test.)
func TestNullSpaceProjectionIsOrthogonal(t *testing.T) {
	p, _ := oracle(t)
	d := p.Dim()
	x := gaussian(d, 4)
	mask := make([]float32, d)
	for i := range d / 2 {
		mask[i] = 1
	}
	proj, err := p.EditDirection(x, 900, mask, loco.DirectionOptions{Rank: 2, NullRank: 5, Iteration: loco.SubspaceOptions{Tol: 1e-6}})
	if err != nil {
		t.Fatal(err)
	}
	for r := range 2 {
		for i := range 5 {
			if c := math.Abs(num.Cosine(proj.Row(r), proj.Null.Row(i))); c > 1e-4 {
				t.Errorf("projected direction %d has cosine %.2g with null vector %d", r, c, i)
			}
		}
	}
}
