package loco_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

func TestDefaultEditJob(t *testing.T) {
	job := loco.DefaultEditJob()
	if err := job.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(job.Lambdas, []float64{-8, -4, 0, 4, 8}) || job.LambdaStep != 0.5 || !job.AllPairs || job.Boost ||
		job.Steps != 0 || job.Direction.Rank != 1 || job.Direction.NullRank != 5 || job.EditT != 0 {
		t.Errorf("DefaultEditJob = %+v", job)
	}
	for _, c := range []struct {
		change func(*loco.EditJob)
		want   string
	}{
		{func(j *loco.EditJob) { j.EditT = 1.5 }, "edit time 1.5"},
		{func(j *loco.EditJob) { j.EditT = math.NaN() }, "edit time NaN"},
		{func(j *loco.EditJob) { j.Steps = 1 }, "grid size 1"},
		{func(j *loco.EditJob) { j.Direction.Rank = 0 }, "edit rank 0"},
		{func(j *loco.EditJob) { j.PC = 1 }, "direction index 1"},
		{func(j *loco.EditJob) { j.Direction.NullRank = -1 }, "null-space rank -1"},
		{func(j *loco.EditJob) { j.Lambdas = []float64{math.Inf(1)} }, "strength +Inf"},
		{func(j *loco.EditJob) { j.LambdaStep = -1 }, "strength step -1"},
		{func(j *loco.EditJob) { j.Direction.Guided, j.Direction.Rank, j.PC = true, 2, 0 }, "text-supervised direction has rank 1"},
	} {
		j := loco.DefaultEditJob()
		c.change(&j)
		if err := j.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate: error %v, want one mentioning %q", err, c.want)
		}
	}
}

// TestEditPipelineOnTheOracle runs the job's stages on the theory oracle: the model's edit time, the reference,
// locality, a given direction, composition, and the saved direction.
func TestEditPipelineOnTheOracle(t *testing.T) {
	p, _ := oracle(t)
	if p.EditT(0) != 0.5 || p.EditT(0.7) != 0.7 {
		t.Errorf("EditT(0) = %g (the MoLRG suggests 0.5), EditT(0.7) = %g", p.EditT(0), p.EditT(0.7))
	}
	x0, err := p.Sample(p.Noise(3), 0, -1, loco.SampleOptions{Steps: 20})
	if err != nil {
		t.Fatal(err)
	}
	mask := make([]float32, 64)
	for i := range 32 {
		mask[i] = 1
	}
	job := loco.DefaultEditJob()
	job.Steps, job.Lambdas = 20, []float64{-2, 0, 2}
	res, err := p.RunEdit(x0, mask, job)
	if err != nil {
		t.Fatal(err)
	}
	pt := res.Point
	g, _ := p.Grid(20, false)
	if pt.EditT != 0.5 || pt.Index != g.EditIndex(0.5) || pt.T != g.Timesteps[pt.Index] || pt.Steps != 20 {
		t.Errorf("point at edit time %g, index %d, t %g, grid %d", pt.EditT, pt.Index, pt.T, pt.Steps)
	}
	var names []string
	for _, s := range res.Stages {
		names = append(names, s.Name)
	}
	if want := []string{loco.StageInversion, loco.StageDenoise, loco.StageDirection, loco.StageDecode}; !slices.Equal(names, want) {
		t.Errorf("stages %v, want %v", names, want)
	}
	if !slices.Equal(res.Reference, res.Image(1)) || !math.IsNaN(res.Locality[1]) || math.IsNaN(res.MeanLocality) || len(res.X0) != 3*64 {
		t.Errorf("reference or locality wrong: locality %v", res.Locality)
	}
	// Edited latents are x_t ± 2v, built by the authors' accumulation (4 steps of 0.5·v).
	for i, l := range res.Lambdas {
		for j, v := range res.V {
			if d := math.Abs(float64(res.Xt[i*64+j]) - (float64(pt.Xt[j]) + l*float64(v))); d > 1e-5 {
				t.Fatalf("edited latent %d differs from x_t + λv by %.3g at %d", i, d, j)
			}
		}
	}
	// Rendering the computed direction again reproduces the edit; composing +v and −v returns to the reference.
	again, err := p.Render(pt, res.V, mask, job)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.X0, res.X0) {
		t.Error("Render of the same direction decoded other images")
	}
	comp, err := p.Compose(pt, job, nil, []loco.Combination{{Direction: res.V, Lambda: 2}, {Direction: res.V, Lambda: -2}})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(comp.Image(0), comp.Image(1)); d > 1e-5 || !slices.Equal(comp.Lambdas, []float64{0, 0}) {
		t.Errorf("+2v −2v differs from the unedited image by %.3g (lambdas %v)", d, comp.Lambdas)
	}
	sd := res.Saved(p, mask)
	if sd.Rows() != 1 || sd.NullRank != 5 || sd.Index != pt.Index || !slices.Equal(sd.Row(0), res.V) {
		t.Errorf("saved direction: %d rows, r′ %d, index %d", sd.Rows(), sd.NullRank, sd.Index)
	}
	// The direction is a unit vector, orthogonal to the complement's subspace.
	if n := math.Sqrt(num.Dot(res.V, res.V)); math.Abs(n-1) > 1e-5 {
		t.Errorf("‖v‖ = %g", n)
	}
	if _, err := p.RunEdit(x0, mask[:10], job); err == nil || !strings.Contains(err.Error(), "resize the mask") {
		t.Errorf("a mask of the wrong size: error %v", err)
	}
}

// TestSamplerCallback: every step reaches the callback with the batch the sampler continues from, and an error
// from the callback stops it.
func TestSamplerCallback(t *testing.T) {
	p, _ := oracle(t)
	x := p.Noise(1, 2)
	var steps []loco.StepInfo
	out, err := p.Sample(x, 3, 9, loco.SampleOptions{Steps: 10, Callback: func(s loco.StepInfo) error {
		steps = append(steps, s)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 6 || steps[0].Index != 3 || steps[5].Index != 8 || steps[5].Step != 6 || steps[5].Steps != 6 {
		t.Fatalf("callback saw %d steps", len(steps))
	}
	if !slices.Equal(steps[5].X, out) || len(steps[0].X0) != len(x) || steps[0].Next != steps[1].T {
		t.Error("the last step's X is not the result, or the steps do not chain")
	}
	// Sampling in two segments gives the same batch as in one.
	mid, err := p.Sample(x, 3, 6, loco.SampleOptions{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mid, steps[2].X) {
		t.Error("the callback's X after step 5 differs from sampling to index 6")
	}
	stop := errTest("stop")
	if _, err := p.Sample(x, 0, -1, loco.SampleOptions{Steps: 10, Callback: func(loco.StepInfo) error { return stop }}); err != stop {
		t.Errorf("callback error %v, want it returned", err)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}
