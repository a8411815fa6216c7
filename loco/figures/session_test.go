package figures

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/locoedit/locoedit/loco"
)

var (
	testOnce    sync.Once
	testSession *Session
	testErr     error
)

// job is the default edit job with the edit time set (to 0 for the model's default, 0.5).
func job(editT float64) loco.EditJob {
	j := loco.DefaultEditJob()
	j.EditT = editT
	return j
}

// session returns a shared session on the embedded model (graphs are compiled once for all tests).
func session(t *testing.T) *Session {
	t.Helper()
	testOnce.Do(func() { testSession, testErr = Open(DefaultModel) })
	if testErr != nil {
		t.Fatal(testErr)
	}
	testSession.Progress = false
	return testSession
}

// tshirt returns the embedded T-shirt test image.
func tshirt(t *testing.T, s *Session) []float32 {
	t.Helper()
	x0, err := s.LoadImage(TestImagePath(0))
	if err != nil {
		t.Fatal(err)
	}
	return x0
}

func TestOpenAndPrepare(t *testing.T) {
	s := session(t)
	if s.C != 1 || s.H != 32 || s.W != 32 || s.Dim() != 1024 {
		t.Fatalf("shape %d×%d×%d, want 1×32×32", s.C, s.H, s.W)
	}
	x0 := tshirt(t, s)
	pt, err := s.Prepare(x0, job(0.5))
	if err != nil {
		t.Fatal(err)
	}
	if pt.Index != 49 || math.Abs(float64(pt.T)-504.5) > 0.1 {
		t.Errorf("edit time 0.5 → index %d, t %v; want 49, ≈504.5", pt.Index, pt.T)
	}
	again, err := s.Prepare(slices.Clone(x0), job(0))
	if err != nil || again != pt {
		t.Errorf("Prepare of the same image and time did not reuse the cached point (err %v)", err)
	}
	// Regenerating without an edit gives back the T-shirt (the corrected inversion, AllPairs).
	rec, err := s.Reconstruct(pt)
	if err != nil {
		t.Fatal(err)
	}
	var mse float64
	for i := range rec {
		mse += float64(rec[i]-x0[i]) * float64(rec[i]-x0[i])
	}
	if mse /= float64(len(rec)); mse > 0.01 {
		t.Errorf("invert → regenerate MSE %.4f, want < 0.01", mse)
	}
	if _, err := s.Prepare(x0[:10], job(0.5)); err == nil {
		t.Error("Prepare accepted an image of the wrong size")
	}
	if _, err := s.Prepare(x0, job(1.5)); err == nil {
		t.Error("Prepare accepted edit time 1.5")
	}
}

func TestEditIsLocalWithProjection(t *testing.T) {
	s := session(t)
	x0 := tshirt(t, s)
	mask, err := s.Region("upper")
	if err != nil {
		t.Fatal(err)
	}
	proj, err := s.Edit(x0, mask, loco.DefaultEditJob())
	if err != nil {
		t.Fatal(err)
	}
	plainJob := loco.DefaultEditJob()
	plainJob.Direction.NullRank = 0
	plain, err := s.Edit(x0, mask, plainJob)
	if err != nil {
		t.Fatal(err)
	}
	// Measured: 0.95 with r′ = 5, 0.79 without projection (loco demo reports the same numbers).
	if !(proj.MeanLocality > 0.9) || !(proj.MeanLocality > plain.MeanLocality+0.1) {
		t.Errorf("locality %.3f with projection, %.3f without: want > 0.9 and a gain of > 0.1", proj.MeanLocality, plain.MeanLocality)
	}
	if len(proj.X0) != 5*1024 || !math.IsNaN(proj.Locality[2]) || proj.Direction == nil || proj.Direction.Null == nil {
		t.Errorf("outcome: %d values decoded, locality %v, direction %v", len(proj.X0), proj.Locality, proj.Direction)
	}
	// The λ = 0 image is the reference itself.
	if !slices.Equal(proj.Image(2), proj.Reference) {
		t.Error("the λ = 0 image differs from the unedited reference")
	}
	row := proj.Row("x")
	if len(row.Cells) != 5 || row.Cells[0].Caption != "λ = −8" {
		t.Errorf("row: %d cells, first caption %q", len(row.Cells), row.Cells[0].Caption)
	}
	lin := proj.Linearity()
	for i, c := range lin.Cosine {
		if proj.Lambdas[i] != 0 && !(c > 0.99) {
			t.Errorf("λ = %g: cosine %.3f with the strongest change, want > 0.99 (the edit is linear)", proj.Lambdas[i], c)
		}
	}
}

func TestSaveLoadTransfer(t *testing.T) {
	s := session(t)
	x0 := tshirt(t, s)
	mask, _ := s.Region("upper")
	src, err := s.Edit(x0, mask, loco.DefaultEditJob())
	if err != nil {
		t.Fatal(err)
	}
	sd, err := src.Saved(s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "d.safetensors")
	if err := sd.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := loco.LoadDirection(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Rows() != 1 || back.NullRank != 5 || back.Index != 49 || !slices.Equal(back.V, src.V) {
		t.Errorf("loaded direction: rows %d, r′ %d, index %d", back.Rows(), back.NullRank, back.Index)
	}
	// Transferring the direction back to its own image reproduces the source edit: score 1.
	targets := []Target{{Name: "self", Image: x0}, {Name: "self at 0.6", Image: x0, EditT: 0.6}}
	cases, err := s.TransferAll(back, 0, mask, loco.DefaultEditJob(), targets)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(cases[0].Score-1) > 1e-6 || math.Abs(cases[0].DirectionCos-1) > 1e-6 {
		t.Errorf("self-transfer: score %v, direction cosine %v, want 1", cases[0].Score, cases[0].DirectionCos)
	}
	if cases[1].Transferred.Point.Index == cases[0].Transferred.Point.Index || !(cases[1].Score > 0.5) {
		t.Errorf("transfer to t = 0.6: index %d, score %.3f (want another index and a score > 0.5)",
			cases[1].Transferred.Point.Index, cases[1].Score)
	}
	fig, err := s.TransferFigure("t", cases)
	if err != nil {
		t.Fatal(err)
	}
	if len(fig.Rows) != 2 || len(fig.Rows[0].Cells) != 5 {
		t.Errorf("transfer figure: %d rows of %d cells, want 2 of 5", len(fig.Rows), len(fig.Rows[0].Cells))
	}
	if _, err := s.Transfer(back, 3, x0, mask, loco.DefaultEditJob()); err == nil {
		t.Error("Transfer accepted row 3 of a one-row direction")
	}
}

func TestComposeTerms(t *testing.T) {
	s := session(t)
	x0 := tshirt(t, s)
	pt, err := s.Prepare(x0, job(0.5))
	if err != nil {
		t.Fatal(err)
	}
	dirOnly := loco.DefaultEditJob()
	dirOnly.Lambdas = nil
	up, err := s.EditPoint(pt, must(RegionMask("upper", 32, 32)), dirOnly)
	if err != nil {
		t.Fatal(err)
	}
	if up.X0 != nil || up.Reference != nil || !math.IsNaN(up.MeanLocality) {
		t.Error("an outcome without strengths decoded images")
	}
	lo, err := s.EditPoint(pt, must(RegionMask("lower", 32, 32)), dirOnly)
	if err != nil {
		t.Fatal(err)
	}
	U, L := up.Term("upper"), lo.Term("lower")
	c, err := s.ComposeTerms(pt, nil, []Term{U.With(4)}, []Term{U.With(4), L.With(-4)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Images) != 3 || !math.IsNaN(c.Additivity[0]) || !math.IsNaN(c.Additivity[1]) {
		t.Fatalf("composition: %d images, additivity %v", len(c.Images), c.Additivity)
	}
	// Small strengths: the denoiser is locally linear, so the two edits add up.
	if !(c.Additivity[2] > 0.9) {
		t.Errorf("additivity of +4·upper −4·lower = %.3f, want > 0.9", c.Additivity[2])
	}
	// The unedited entry equals the plain decoding of x_t.
	ref, err := s.Reconstruct(pt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Images[0], ref) {
		t.Error("the empty combination is not the unedited decoding")
	}
	cells, err := c.Cells(s)
	if err != nil || cells[2].Caption != "+4·upper −4·lower\nadditivity "+F3(c.Additivity[2]) {
		t.Errorf("cells: %v, caption %q", err, cells[2].Caption)
	}
	if _, err := s.ComposeTerms(pt, []Term{{Name: "short", V: []float32{1}}}); err == nil {
		t.Error("ComposeTerms accepted a direction of the wrong size")
	}
}

func TestSweepAndMethod(t *testing.T) {
	s := session(t)
	x0 := tshirt(t, s)
	mask, _ := s.Region("upper")
	base := loco.DefaultEditJob()
	base.Lambdas = []float64{-8, 0, 8}
	settings := NullRankSettings(base, 0, 5)
	outs, err := s.Sweep(x0, mask, settings)
	if err != nil {
		t.Fatal(err)
	}
	if !(outs[1].MeanLocality > outs[0].MeanLocality) {
		t.Errorf("r′ = 5 locality %.3f is not above no projection's %.3f", outs[1].MeanLocality, outs[0].MeanLocality)
	}
	fig, err := s.SweepFigure("sweep", settings, outs)
	if err != nil {
		t.Fatal(err)
	}
	if len(fig.Rows) != 2 || len(fig.Columns) != 4 || len(fig.Rows[0].Cells) != 4 {
		t.Errorf("sweep figure: %d rows, %d columns, %d cells", len(fig.Rows), len(fig.Columns), len(fig.Rows[0].Cells))
	}
	if _, err := fig.Render(); err != nil {
		t.Fatal(err)
	}
	table, err := StrengthTable(outs[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := "| 0 | — | 0.000 | 0.000 |"; !containsLine(table, want) {
		t.Errorf("strength table lacks %q:\n%s", want, table)
	}

	mi, err := s.Method(x0, mask, loco.DefaultEditJob(), 8)
	if err != nil {
		t.Fatal(err)
	}
	// The edit time in the paper's units (the model's default, 0.5) and its timestep on the 0–1000 scale.
	if mi.EditT != 0.5 || math.Abs(float64(mi.T)-504.5) > 0.1 {
		t.Errorf("edit time %v, timestep %v; want 0.5 and ≈504.5", mi.EditT, mi.T)
	}
	// The two parts of x̂0 add up to x̂0, and each is zero outside its region.
	for i, v := range mi.X0Hat {
		in, out := v, float32(0) // the upper half is the first 512 values
		if i >= 512 {
			in, out = 0, v
		}
		if mi.Inside[i] != in || mi.Outside[i] != out {
			t.Fatalf("value %d: parts %v and %v of x̂0 = %v, want %v and %v", i, mi.Inside[i], mi.Outside[i], v, in, out)
		}
	}
	if len(mi.SingularValues) != 1 || len(mi.NullSingularValues) != 5 {
		t.Errorf("singular values %v and %v, want 1 and 5", mi.SingularValues, mi.NullSingularValues)
	}
	for i := 1; i < len(mi.NullSingularValues); i++ {
		if mi.NullSingularValues[i] > mi.NullSingularValues[i-1] {
			t.Errorf("null-space singular values %v are not descending", mi.NullSingularValues)
		}
	}
	mf, err := mi.Figure(s, "method")
	if err != nil {
		t.Fatal(err)
	}
	if len(mf.Rows) != 2 || len(mf.Rows[0].Cells) != 5 || len(mf.Rows[1].Cells) != 4 {
		t.Errorf("method figure layout %d rows", len(mf.Rows))
	}
}

func TestTable1Ranking(t *testing.T) {
	s := session(t)
	images, err := s.TestTargets(0, 6)
	if err != nil {
		t.Fatal(err)
	}
	mask, _ := s.Region("upper")
	spec := loco.DefaultEditJob()
	spec.Lambdas = []float64{8}
	scores, err := s.Table1(images, mask, Table1Variants(spec))
	if err != nil {
		t.Fatal(err)
	}
	lc, eps, rnd := scores[0], scores[1], scores[2]
	if lc.Variant != "LOCO" || lc.Images != 2 {
		t.Fatalf("scores[0] = %+v", lc)
	}
	// LOCO is the most local of the three, and its transfer beats the random baseline's.
	if !(lc.Locality > eps.Locality && lc.Locality > rnd.Locality && lc.Transfer > rnd.Transfer) {
		t.Errorf("locality LOCO %.3f, ∂ε/∂x %.3f, random %.3f; transfer LOCO %.3f, random %.3f",
			lc.Locality, eps.Locality, rnd.Locality, lc.Transfer, rnd.Transfer)
	}
	if lc.SSIMReconstruction != eps.SSIMReconstruction || !(lc.SSIMReconstruction > 0.9) {
		t.Errorf("reconstruction SSIM %v / %v, want equal and > 0.9", lc.SSIMReconstruction, eps.SSIMReconstruction)
	}
	if lc.LearnTime <= 0 || lc.TransferTime <= 0 {
		t.Errorf("times %v, %v", lc.LearnTime, lc.TransferTime)
	}
	md := Table1Markdown(scores, "n/a")
	for _, want := range []string{"| metric | LOCO (here) | ∂ε/∂x (here) | random (here) | LOCO (paper) | ∂ε/∂x (paper) |",
		"| SSIM(x0, edit) ↑ | " + F3(lc.SSIM), "| LPIPS ↓ | n/a | n/a | n/a | 0.08 | 0.13 |"} {
		if !containsLine(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if _, err := s.Table1(images[:1], mask, Table1Variants(spec)); err == nil {
		t.Error("Table1 accepted a single image")
	}
}

func TestExplorerRender(t *testing.T) {
	s := session(t)
	x0 := tshirt(t, s)
	mask, _ := s.Region("upper")
	pt, err := s.Prepare(x0, job(0.5))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.NewExplorer(pt, mask, loco.DefaultEditJob())
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Choices) != 4 || ex.Choices[3].Name != "pc 0, no projection" {
		t.Fatalf("choices %v", ex.Choices)
	}
	img, err := ex.Render(1, -5)
	if err != nil {
		t.Fatal(err)
	}
	// Three 192-px pictures (32 px × 6) side by side.
	if b := img.Bounds(); b.Dx() < 3*192 || b.Dy() < 192 {
		t.Errorf("explorer image %v, want three 192-px pictures", b)
	}
	if _, caption, err := ex.render(1, -5); err != nil || !strings.HasPrefix(caption, "λ = −5 · pc 1, projected (r′ = 5) · locality 0.") {
		t.Errorf("caption %q (err %v), want the strength, the direction and the locality", caption, err)
	}
	if _, err := ex.Render(9, 0); err == nil {
		t.Error("Render accepted choice 9")
	}
	// Outside a notebook Interact renders the initial setting and returns at once.
	if err := ex.Interact(ExploreOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestTargetsAndBenchmark(t *testing.T) {
	s := session(t)
	others, err := s.OtherTargets(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(others) != 2 || len(others[0].Image) != 1024 {
		t.Fatalf("OtherTargets: %d images", len(others))
	}
	gen, err := s.GeneratedTargets(7, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if gen[0].Name != "Sneaker #1 (generated)" || slices.Equal(gen[0].Image, others[0].Image) {
		t.Errorf("generated target %q", gen[0].Name)
	}
	imgs, err := s.TestTargets(9)
	if err != nil {
		t.Fatal(err)
	}
	spec := loco.DefaultEditJob()
	spec.Lambdas = nil
	cases, err := s.Benchmark(imgs, []string{"upper", "ellipse"}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[1].Region != "ellipse" || cases[0].Image.Name != "Ankle boot" {
		t.Fatalf("benchmark cases %+v", cases)
	}
	fig, err := s.DirectionFigure("d", cases)
	if err != nil {
		t.Fatal(err)
	}
	if len(fig.Rows) != 2 || len(fig.Rows[0].Cells) != 3 {
		t.Errorf("direction figure %d rows", len(fig.Rows))
	}
	if tab := DirectionTable(cases); !containsLine(tab, "| image | region | ‖v‖² inside the mask | σ1 (masked Jacobian) | σ1 (complement, r′ space) |") {
		t.Errorf("direction table:\n%s", tab)
	}
	if _, err := s.Benchmark(imgs, []string{"nowhere"}, spec); err == nil {
		t.Error("Benchmark accepted an unknown region")
	}
}

// containsLine reports whether s has a line starting with prefix.
func containsLine(s, prefix string) bool {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// must returns v or panics; for test setup only.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
