package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/locoedit/locoedit/train"
)

// torchTiming is one PyTorch measurement (scripts/gpu/torch_bench.py).
type torchTiming struct {
	What      string  `json:"what"`
	Batch     int     `json:"batch"`
	FirstS    float64 `json:"first_s"`
	MedianMS  float64 `json:"median_ms"`
	MinMS     float64 `json:"min_ms"`
	PeakMemMB float64 `json:"peak_mem_mb"`
	Method    string  `json:"method,omitempty"`
	Error     string  `json:"error,omitempty"`
}

type torchResult struct {
	Framework string        `json:"framework"`
	Device    string        `json:"device"`
	TF32      bool          `json:"tf32"`
	Timings   []torchTiming `json:"timings"`
	Edit      []editRun     `json:"edit"`
	EditPeak  float64       `json:"edit_peak_mem_mb"`
	EpsCheck  *struct {
		MaxAbsDiff float64 `json:"max_abs_diff"`
		MaxAbsEps  float64 `json:"max_abs_eps"`
	} `json:"eps_check"`
	Notes []string `json:"notes"`
}

type stepStatus struct {
	Name, Status, Note string
	Seconds            float64
	PeakMemMiB         float64 // nvidia-smi, above the step's first sample; 0 when not sampled
}

// report gathers everything a run left in its work folder.
type report struct {
	Env          map[string]any `json:"env"`
	Steps        []stepStatus   `json:"steps"`
	GoldenStrict *goldenResult  `json:"golden_strict"`
	GoldenTF32   *goldenResult  `json:"golden_tf32"`
	Train        *train.Summary `json:"train"`
	BenchOurs    *benchResult   `json:"bench_ours"`
	BenchTorch   *torchResult   `json:"bench_torch"`
	TLOCO        *tlocoResult   `json:"tloco"`
}

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	work := fs.String("work", "", "the run's work folder")
	out := fs.String("out", "", "write the Markdown report here")
	js := fs.String("json", "", "write all results here as one JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *work == "" {
		return fmt.Errorf("--work is required")
	}
	r := &report{}
	load := func(name string, v any) error {
		_, err := readJSON(filepath.Join(*work, name), v)
		return err
	}
	var gs, gt goldenResult
	var tr train.Summary
	var bo benchResult
	var bt torchResult
	var tl tlocoResult
	for name, v := range map[string]any{"env.json": &r.Env, "golden-strict.json": &gs, "golden-tf32.json": &gt,
		"train/" + train.TrainingFile: &tr, "bench-ours.json": &bo, "bench-torch.json": &bt, "tloco.json": &tl} {
		if err := load(name, v); err != nil {
			return err
		}
	}
	if gs.Mode != "" || len(gs.Checks) > 0 || gs.Error != "" {
		r.GoldenStrict = &gs
	}
	if gt.Mode != "" || len(gt.Checks) > 0 || gt.Error != "" {
		r.GoldenTF32 = &gt
	}
	if tr.Config != "" {
		r.Train = &tr
	}
	if bo.Backend != "" {
		r.BenchOurs = &bo
	}
	if bt.Framework != "" {
		r.BenchTorch = &bt
	}
	if tl.Backend != "" {
		r.TLOCO = &tl
	}
	var err error
	if r.Steps, err = readSteps(*work); err != nil {
		return err
	}
	md := r.markdown()
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	fmt.Print(md)
	return writeJSON(*js, r)
}

// readSteps reads steps.tsv (name, status, seconds, note) and the nvidia-smi samples mem-<name>.txt.
func readSteps(work string) ([]stepStatus, error) {
	f, err := os.Open(filepath.Join(work, "steps.tsv"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []stepStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.SplitN(sc.Text(), "\t", 4)
		if len(p) < 3 {
			continue
		}
		s := stepStatus{Name: p[0], Status: p[1]}
		s.Seconds, _ = strconv.ParseFloat(p[2], 64)
		if len(p) == 4 {
			s.Note = p[3]
		}
		s.PeakMemMiB = peakMem(filepath.Join(work, "mem-"+s.Name+".txt"))
		out = append(out, s)
	}
	return out, sc.Err()
}

// peakMem is the largest nvidia-smi memory.used sample above the first one (MiB), or 0.
func peakMem(path string) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var first, peak float64
	n := 0
	for _, line := range strings.Fields(string(data)) {
		v, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
		if err != nil {
			continue
		}
		if n == 0 {
			first = v
		}
		peak = max(peak, v)
		n++
	}
	if n == 0 {
		return 0
	}
	return peak - first
}

// na formats a value, or "—" when it is missing.
func na(v float64, format string) string {
	if v == 0 || math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf(format, v)
}

func (r *report) step(name string) stepStatus {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return stepStatus{Name: name, Status: "not run"}
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# GPU run report\n")
	keys := []string{"date", "mode", "machine", "gpu", "plugin", "python_packages", "python", "cuda_data_dir", "xla_flags_strict", "xla_flags_default", "build", "notes"}
	for _, k := range keys {
		if v, ok := r.Env[k]; ok && fmt.Sprint(v) != "" {
			w("- %s: %v", k, v)
		}
	}
	if r.BenchOurs != nil {
		w("- backend: %s", r.BenchOurs.Description)
	} else if r.GoldenStrict != nil {
		w("- backend: %s", r.GoldenStrict.Description)
	}
	w("\n## Steps\n")
	w("| step | status | seconds | peak GPU memory (nvidia-smi, MiB) | note |")
	w("|---|---|---|---|---|")
	for _, name := range []string{"env", "golden-strict", "golden-tf32", "train", "bench-ours", "bench-torch", "tloco"} {
		s := r.step(name)
		w("| %s | %s | %s | %s | %s |", s.Name, s.Status, na(s.Seconds, "%.0f"), na(s.PeakMemMiB, "%.0f"), s.Note)
	}

	w("\n## Golden checks: tiny UNet (1.0 M parameters, 32²) against diffusers\n")
	w("Max |error| against diffusers v0.29 (PyTorch, float32, CPU); tolerance 1e-4·max(1, max|ref|).\n")
	w("| check | TF32 off: max abs err | TF32 allowed: max abs err | tolerance | result (off / allowed) |")
	w("|---|---|---|---|---|")
	names := []string{"eps", "x0_pred", "eps_batch2", "jvp_x0", "vjp_x0", "jvp_eps"}
	find := func(g *goldenResult, name string) *goldenCheck {
		if g == nil {
			return nil
		}
		for i := range g.Checks {
			if g.Checks[i].Name == name {
				return &g.Checks[i]
			}
		}
		return nil
	}
	for _, n := range names {
		s, t := find(r.GoldenStrict, n), find(r.GoldenTF32, n)
		cell := func(c *goldenCheck) (string, string) {
			if c == nil {
				return "—", "—"
			}
			return fmt.Sprintf("%.2g", c.MaxAbsErr), map[bool]string{true: "ok", false: "FAIL"}[c.OK]
		}
		se, so := cell(s)
		te, to := cell(t)
		tol := "—"
		if s != nil {
			tol = fmt.Sprintf("%.2g", s.Tol)
		} else if t != nil {
			tol = fmt.Sprintf("%.2g", t.Tol)
		}
		w("| %s | %s | %s | %s | %s / %s |", n, se, te, tol, so, to)
	}
	for _, g := range []*goldenResult{r.GoldenStrict, r.GoldenTF32} {
		if g != nil && g.Error != "" {
			w("\nerror (%s): %s", g.Mode, g.Error)
		}
	}

	cfg := "google/ddpm-ema-celebahq-256 architecture"
	if r.BenchOurs != nil {
		cfg = fmt.Sprintf("%s (%d parameters, %v, random weights)", r.BenchOurs.Config, r.BenchOurs.Params, r.BenchOurs.Sample)
	}
	w("\n## Timings: %s\n", cfg)
	torchName := "PyTorch"
	if r.BenchTorch != nil {
		torchName = fmt.Sprintf("%s (%s, TF32 %v)", r.BenchTorch.Framework, r.BenchTorch.Device, r.BenchTorch.TF32)
	}
	w("GoMLX: median of the timed runs after a first call that compiles the graph; results copied to the host. %s: diffusers UNet2DModel, eager, classic attention, median after warm-up. Both at the precision settings of the default mode (TF32 allowed on the GPU).\n", torchName)
	w("| what | batch | GoMLX median ms | GoMLX first call s | PyTorch median ms | GoMLX ÷ PyTorch | GoMLX process GPU MiB | PyTorch peak MiB |")
	w("|---|---|---|---|---|---|---|---|")
	for _, what := range []string{"forward", "vjp", "jvp"} {
		for _, bsz := range []int{1, 8} {
			var ours timing
			var tt torchTiming
			if r.BenchOurs != nil {
				for _, x := range r.BenchOurs.Timings {
					if x.What == what && (x.Batch == bsz || (bsz == 8 && x.Batch > 1)) {
						ours = x
					}
				}
			}
			if r.BenchTorch != nil {
				for _, x := range r.BenchTorch.Timings {
					if x.What == what && (x.Batch == bsz || (bsz == 8 && x.Batch > 1)) {
						tt = x
					}
				}
			}
			shown := bsz
			if ours.Batch != 0 {
				shown = ours.Batch
			}
			ratio := "—"
			if ours.MedianMS > 0 && tt.MedianMS > 0 {
				ratio = fmt.Sprintf("%.2f", ours.MedianMS/tt.MedianMS)
			}
			label := map[string]string{"forward": "forward ε", "vjp": "VJP (∂ε/∂x)ᵀu", "jvp": "JVP (∂ε/∂x)v"}[what]
			w("| %s | %d | %s | %s | %s | %s | %s | %s |", label, shown, na(ours.MedianMS, "%.1f"), na(ours.FirstS, "%.1f"), na(tt.MedianMS, "%.1f"), ratio, na(ours.GPUMemMiB, "%.0f"), na(tt.PeakMemMB, "%.0f"))
		}
	}
	editCell := func(runs []editRun, i int) string {
		if i < len(runs) {
			return fmt.Sprintf("%.2f", runs[i].TotalS)
		}
		return "—"
	}
	var oursEdit, torchEdit []editRun
	if r.BenchOurs != nil {
		oursEdit = r.BenchOurs.Edit
	}
	if r.BenchTorch != nil {
		torchEdit = r.BenchTorch.Edit
	}
	last := func(runs []editRun) int { return max(0, len(runs)-1) }
	ratio := "—"
	if len(oursEdit) > 0 && len(torchEdit) > 0 {
		ratio = fmt.Sprintf("%.2f", oursEdit[last(oursEdit)].TotalS/torchEdit[last(torchEdit)].TotalS)
	}
	oursEditMem := 0.0
	if len(oursEdit) > 0 {
		oursEditMem = oursEdit[last(oursEdit)].GPUMemMiB
	}
	w("| whole LOCO edit, s (last run; first: %s) | 1 | %s | — | %s | %s | %s | %s |", editCell(oursEdit, 0), editCell(oursEdit, last(oursEdit)), editCell(torchEdit, last(torchEdit)), ratio, na(oursEditMem, "%.0f"), na(func() float64 {
		if r.BenchTorch != nil {
			return r.BenchTorch.EditPeak
		}
		return 0
	}(), "%.0f"))
	if r.BenchOurs != nil && r.BenchOurs.EditWork != nil {
		ew := r.BenchOurs.EditWork
		var subs []string
		for _, s := range ew.Subspaces {
			subs = append(subs, fmt.Sprintf("%s (rank %d): %d iterations, %d Jacobian products", s.Name, s.Rank, s.Iterations, s.Products))
		}
		w("\nEdit work (both sides): %d inversion and %d denoising passes at batch 1; subspaces in lockstep: %s; %d decoding passes at batch %d (grid of %d points).",
			ew.InversionEvals, ew.DenoiseEvals, strings.Join(subs, "; "), ew.StripEvals, ew.StripImages, ew.GridSteps)
		for _, side := range []struct {
			name string
			runs []editRun
		}{{"GoMLX", oursEdit}, {"PyTorch", torchEdit}} {
			if len(side.runs) == 0 {
				continue
			}
			var parts []string
			for _, st := range []string{"inversion", "denoise to the edit time", "edit direction", "edit strip"} {
				parts = append(parts, fmt.Sprintf("%s %.2f", st, side.runs[last(side.runs)].Stages[st]))
			}
			w("%s stages of the last edit (s): %s.", side.name, strings.Join(parts, ", "))
		}
	}
	if r.BenchOurs != nil {
		w("\nGoMLX process peak RSS %.0f MB. GoMLX GPU memory is the process's use as nvidia-smi reports it after each measurement (XLA's allocator keeps what it grew to, so the column is cumulative; with preallocation on it shows the preallocated pool). PyTorch's is torch.cuda.max_memory_allocated per measurement.", r.BenchOurs.RSSPeakMB)
		for _, s := range r.BenchOurs.Skipped {
			w("- skipped (time): %s", s)
		}
		if r.BenchOurs.EditError != "" {
			w("- edit error: %s", r.BenchOurs.EditError)
		}
	}
	if r.BenchTorch != nil {
		if c := r.BenchTorch.EpsCheck; c != nil {
			w("\nSame weights, same input: max |ε_GoMLX − ε_PyTorch| = %.3g (max |ε| %.3g).", c.MaxAbsDiff, c.MaxAbsEps)
		}
		for _, n := range r.BenchTorch.Notes {
			w("- %s", n)
		}
	}

	w("\n## Training\n")
	w("| config | parameters | data | steps | batch | lr | images/s | first step s | final loss | wall s | stopped |")
	w("|---|---|---|---|---|---|---|---|---|---|---|")
	if t := r.Train; t != nil {
		w("| %s | %d | %s | %d → %d | %d | %g | %.0f | %.1f | %.4f | %.0f | %s |", t.Config, t.Params, t.Data, t.StartStep, t.Steps, t.Batch, t.LR, t.ImagesPerS, t.FirstStepS, t.FinalLoss, t.WallS, t.Stopped)
	} else {
		w("| — | — | — | — | — | — | — | — | — | — | — |")
	}

	w("\n## T-LOCO: decoded PMP of a text-to-image pipeline with random weights\n")
	w("| configs | parameters | image (latent) | guidance | operation | vectors | first s | median ms | GPU MiB | error |")
	w("|---|---|---|---|---|---|---|---|---|---|")
	if t := r.TLOCO; t != nil {
		for _, tm := range t.Timings {
			w("| %s, %s | %d | %v (%v) | %g | %s | %d | %.2f | %.1f | %s | %s |", t.UNetConfig, t.VAEConfig, t.Params, t.Image, t.Latent, t.Guidance,
				tm.What, tm.Batch, tm.FirstS, tm.MedianMS, na(tm.GPUMemMiB, "%.0f"), tm.Error)
		}
		w("\nPeak GPU memory of the step: %s MiB (nvidia-smi); peak RSS %.0f MB.", na(r.step("tloco").PeakMemMiB, "%.0f"), t.RSSPeakMB)
	} else {
		w("| — | — | — | — | — | — | — | — | — | — |")
	}
	return b.String()
}
