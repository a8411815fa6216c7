package loco

import (
	"math"
	"testing"
	"time"

	"github.com/locoedit/locoedit/internal/num"
)

// BenchmarkAuthorsEdit times the work the authors' code does for one edit on the golden tiny model (their code on
// the same workload: scripts/authors-edit-bench.py; both measured in docs/benchmarks.md): inversion of in/x0,
// forward DDIM to index 40, the direction
// (rank 1 on the mask, rank 5 on the complement, from their stored start bases) and the deterministic decode of
// [original, edited]. Run with: go test -run XXX -bench AuthorsEdit -benchtime 1x ./loco
func BenchmarkAuthorsEdit(b *testing.B) {
	p := tinyPipeline(b)
	mask := goldenMask(b)
	exact := goldenVec(b, "jac/masked_x0_right_sv")[:p.Dim()]
	for range b.N {
		stages := map[string]time.Duration{}
		t0 := time.Now()
		xT, err := p.Invert(goldenVec(b, "in/x0"), InvertOptions{})
		if err != nil {
			b.Fatal(err)
		}
		stages["invert"] = time.Since(t0)
		t0 = time.Now()
		xt, err := p.Sample(xT, 0, 40, SampleOptions{})
		if err != nil {
			b.Fatal(err)
		}
		stages["forward"] = time.Since(t0)
		g, _ := p.Grid(100, false)
		t0 = time.Now()
		dir, err := p.EditDirection(xt, g.Timesteps[40], mask, DirectionOptions{Rank: 1, NullRank: 5,
			InitModify: goldenVec(b, "loco/vinit_modify"), InitNull: goldenVec(b, "loco/vinit_null")})
		if err != nil {
			b.Fatal(err)
		}
		stages["direction"] = time.Since(t0)
		t0 = time.Now()
		if _, err := p.Compose(&Point{Xt: xt, Index: 40}, DefaultEditJob(), nil, []Combination{{Direction: dir.Row(0), Lambda: 8}}); err != nil {
			b.Fatal(err)
		}
		stages["decode"] = time.Since(t0)
		for k, v := range stages {
			b.ReportMetric(v.Seconds(), k+"-s")
		}
		b.ReportMetric(float64(dir.Modify.Evaluations+dir.Null.Evaluations), "jacobian-products")
		b.ReportMetric(math.Abs(num.Cosine(dir.Modify.Row(0), exact)), "cos-vs-exact")
	}
}
