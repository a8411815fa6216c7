package train

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/outdir"
	"github.com/locoedit/locoedit/loco"
)

// rectangles returns n c×s×s images of one bright axis-aligned rectangle on a dark background: a data set with
// structure a tiny UNet learns within a hundred steps.
func rectangles(t testing.TB, n, c, s int, seed uint64) *Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	images := make([][]float32, n)
	for i := range images {
		img := make([]float32, c*s*s)
		for j := range img {
			img[j] = -1
		}
		w, h := 3+rng.IntN(s/2), 3+rng.IntN(s/2)
		x0, y0 := rng.IntN(s-w), rng.IntN(s-h)
		for ch := range c {
			for y := y0; y < y0+h; y++ {
				for x := x0; x < x0+w; x++ {
					img[(ch*s+y)*s+x] = 0.8
				}
			}
		}
		images[i] = img
	}
	d, err := NewDataset("rectangles", c, s, s, images)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func tinyOptions(t testing.TB) Options {
	t.Helper()
	cfg, err := ResolveConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions(cfg)
	o.Batch, o.LR, o.Warmup, o.Seed = 8, 3e-3, 10, 1
	return o
}

func newTrainer(t testing.TB, o Options, d *Dataset) *Trainer {
	t.Helper()
	tr, err := NewTrainer(o, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

func steps(t testing.TB, tr *Trainer, n int) []StepResult {
	t.Helper()
	var out []StepResult
	for range n {
		r, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestLossFalls trains the tiny preset on rectangles: the mean loss of the last 10 of 50 steps must be under
// half that of the first 10.
func TestLossFalls(t *testing.T) {
	tr := newTrainer(t, tinyOptions(t), rectangles(t, 256, 1, 16, 1))
	start := time.Now()
	rs := steps(t, tr, 50)
	mean := func(rs []StepResult) float64 {
		var s float64
		for _, r := range rs {
			s += r.Loss
		}
		return s / float64(len(rs))
	}
	first, last := mean(rs[:10]), mean(rs[40:])
	t.Logf("50 steps of batch 8 in %v: mean loss %.4f over the first 10 steps, %.4f over the last 10", time.Since(start).Round(time.Millisecond), first, last)
	if !(last < 0.5*first) {
		t.Errorf("loss did not fall: %.4f → %.4f", first, last)
	}
	if rs[0].LR != 0 || rs[5].LR != 3e-3*5/10 || rs[30].LR != 3e-3 {
		t.Errorf("learning rates %g, %g, %g: want 0, %g, %g (linear warm-up over 10 steps)", rs[0].LR, rs[5].LR, rs[30].LR, 3e-3*5/10, 3e-3)
	}
}

// checkpointTensors reads every variable of a trainer through a checkpoint.
func checkpointTensors(t *testing.T, tr *Trainer) map[string][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), CheckpointFile)
	if err := tr.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, n := range f.Names() {
		x, err := f.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = slices.Clone(x.Data)
	}
	return out
}

// TestResumeIsExact: 6 steps in one go and 3 steps, a checkpoint, a new process-like trainer and 3 more steps
// give bitwise the same losses and the same variables (weights, AdamW moments and counters, EMA).
func TestResumeIsExact(t *testing.T) {
	o := tinyOptions(t)
	o.Batch, o.Flip = 4, true
	data := rectangles(t, 10, 1, 16, 2) // 10 images, batch 4: epochs end inside batches
	whole := newTrainer(t, o, data)
	want := steps(t, whole, 6)

	first := newTrainer(t, o, data)
	steps(t, first, 3)
	ckpt := filepath.Join(t.TempDir(), CheckpointFile)
	if err := first.SaveCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	o2 := o
	o2.Seed = o.Seed // the same run: only the weights' initial values would differ if the checkpoint were ignored
	second := newTrainer(t, o2, data)
	if err := second.LoadCheckpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	if second.StepsDone() != 3 {
		t.Fatalf("resumed at step %d, want 3", second.StepsDone())
	}
	got := steps(t, second, 3)
	for i, r := range got {
		if r != want[3+i] {
			t.Errorf("step %d: resumed %+v, uninterrupted %+v", r.Step, r, want[3+i])
		}
	}
	a, b := checkpointTensors(t, whole), checkpointTensors(t, second)
	if len(a) != len(b) {
		t.Fatalf("%d variables after the uninterrupted run, %d after resuming", len(a), len(b))
	}
	var n int
	for name, x := range a {
		if !slices.Equal(x, b[name]) {
			t.Errorf("variable %s differs after resuming", name)
		}
		if strings.Contains(name, "moment") {
			n++
		}
	}
	if n == 0 || a["/global_step"] == nil {
		t.Errorf("checkpoint lacks the optimizer state (%d moment tensors, global_step %v)", n, a["/global_step"] != nil)
	}
}

// TestEMAFollowsDiffusers: the first EMA update copies the weights (decay 0), the second uses
// 1 − 2^(−3/4), and the decay schedule matches diffusers' EMAModel.get_decay.
func TestEMAFollowsDiffusers(t *testing.T) {
	o := tinyOptions(t)
	for n, want := range map[int64]float64{1: 0, 2: 1 - math.Pow(2, -0.75), 11: 1 - math.Pow(11, -0.75), 1e9: 0.9999} {
		if got := o.EMADecay(n); math.Abs(got-want) > 1e-15 {
			t.Errorf("EMADecay(%d) = %.17g, want %.17g", n, got, want)
		}
	}
	o.Batch = 2
	tr := newTrainer(t, o, rectangles(t, 8, 1, 16, 3))
	weightsAndEMA := func() (w, e [][]float32) {
		for _, v := range tr.weights() {
			w = append(w, tensors.MustCopyFlatData[float32](v.MustValue()))
			e = append(e, tensors.MustCopyFlatData[float32](tr.emaVariable(v).MustValue()))
		}
		return w, e
	}
	steps(t, tr, 1)
	w1, e1 := weightsAndEMA()
	for i := range w1 {
		if !slices.Equal(w1[i], e1[i]) {
			t.Fatalf("after the first step the EMA of weight %d is not a copy of it", i)
		}
	}
	r := steps(t, tr, 1)[0]
	w2, e2 := weightsAndEMA()
	var worst float64
	for i := range w2 {
		for j := range w2[i] {
			want := float64(w1[i][j]) - (1-r.EMADecay)*float64(w1[i][j]-w2[i][j])
			worst = max(worst, math.Abs(float64(e2[i][j])-want))
		}
	}
	if worst > 1e-6 {
		t.Errorf("second EMA update off by %.3g from s − (1−d)(s − w)", worst)
	}
}

func TestLearningRateSchedules(t *testing.T) {
	o := tinyOptions(t)
	o.LR, o.Warmup, o.Steps = 1, 4, 14
	for s, want := range map[int64]float64{0: 0, 2: 0.5, 4: 1, 13: 1} {
		if got := o.LearningRate(s); got != want {
			t.Errorf("constant: LearningRate(%d) = %g, want %g", s, got, want)
		}
	}
	o.Schedule = "cosine"
	for s, want := range map[int64]float64{2: 0.5, 4: 1, 9: 0.5, 14: 0} {
		if got := o.LearningRate(s); math.Abs(got-want) > 1e-12 {
			t.Errorf("cosine: LearningRate(%d) = %g, want %g", s, got, want)
		}
	}
}

// TestInitialWeightsLikePyTorch: GroupNorm scales 1 and shifts 0, every other tensor uniform in ±1/√fan_in with
// the matching spread, and the draw reproducible.
func TestInitialWeightsLikePyTorch(t *testing.T) {
	cfg, err := ResolveConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	w, err := InitialWeights(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []float32 {
		x, err := w[name].Float32()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, v := range get("down_blocks.0.resnets.0.norm1.weight") {
		if v != 1 {
			t.Fatalf("GroupNorm scale %g, want 1", v)
		}
	}
	for _, v := range get("mid_block.attentions.0.group_norm.bias") {
		if v != 0 {
			t.Fatalf("GroupNorm shift %g, want 0", v)
		}
	}
	// conv1 of the first resnet: 16 in × 3 × 3 → bound 1/12; its bias shares the bound.
	for _, name := range []string{"down_blocks.0.resnets.0.conv1.weight", "down_blocks.0.resnets.0.conv1.bias"} {
		x := get(name)
		bound := 1.0 / 12
		var sq float64
		for _, v := range x {
			if math.Abs(float64(v)) > bound {
				t.Fatalf("%s: %g outside ±%g", name, v, bound)
			}
			sq += float64(v) * float64(v)
		}
		if std, want := math.Sqrt(sq/float64(len(x))), bound/math.Sqrt(3); len(x) > 1000 && math.Abs(std/want-1) > 0.05 {
			t.Errorf("%s: std %.4g, want %.4g (uniform)", name, std, want)
		}
	}
	again, _ := InitialWeights(cfg, 5)
	if !slices.Equal(again["conv_in.weight"].Data, w["conv_in.weight"].Data) {
		t.Error("the same seed drew different weights")
	}
	other, _ := InitialWeights(cfg, 6)
	if slices.Equal(other["conv_in.weight"].Data, w["conv_in.weight"].Data) {
		t.Error("another seed drew the same weights")
	}
}

// TestExportedModelGivesTheSameEps: the written folder loads through loco.LoadModel (as `loco eps --model DIR`
// does) and predicts exactly the ε of the trainer's EMA model.
func TestExportedModelGivesTheSameEps(t *testing.T) {
	o := tinyOptions(t)
	o.Batch = 2
	tr := newTrainer(t, o, rectangles(t, 8, 1, 16, 4))
	steps(t, tr, 3)
	dir := t.TempDir()
	if err := tr.WriteModel(dir); err != nil {
		t.Fatal(err)
	}
	ema, err := tr.EMAModel()
	if err != nil {
		t.Fatal(err)
	}
	m, err := loco.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, 2*p.Dim())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	got, _, err := p.Predict(x, []float32{17, 640})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ema.Eps(tensors.FromFlatDataAndDimensions(x, 2, 1, 16, 16), []float32{17, 640})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, tensors.MustCopyFlatData[float32](want)) {
		t.Error("the exported model's ε differs from the trainer's EMA model")
	}
	// The training weights moved away from the EMA ones, so the export really is the EMA.
	cur, err := tr.Model().Eps(tensors.FromFlatDataAndDimensions(x, 2, 1, 16, 16), []float32{17, 640})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(got, tensors.MustCopyFlatData[float32](cur)) {
		t.Error("the exported model predicts the training weights' ε, not the EMA's")
	}
	var cfg map[string]any
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"_class_name": "UNet2DModel", "add_attention": true, "downsample_type": "conv", "in_channels": 1.0, "sample_size": 16.0} {
		if cfg[k] != want {
			t.Errorf("config.json %s = %v, want %v", k, cfg[k], want)
		}
	}
	sc, err := diffusers.ReadSchedulerConfig(filepath.Join(dir, SchedulerConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if sc.ClassName != "DDPMScheduler" || sc.BetaSchedule != "linear" || sc.BetaStart != 1e-4 || sc.BetaEnd != 0.02 || sc.NumTrainTimesteps != 1000 {
		t.Errorf("scheduler_config.json: %+v", sc)
	}
}

// TestRunWritesOutputsAndResumes runs 4 steps, then resumes the same folder to 6, and checks the outputs.
func TestRunWritesOutputsAndResumes(t *testing.T) {
	o := tinyOptions(t)
	o.Batch, o.Steps = 2, 4
	out := filepath.Join(t.TempDir(), "run")
	ro := RunOptions{Options: o, ConfigName: "tiny", Dataset: rectangles(t, 8, 1, 16, 5), Out: out, LogEvery: 2, SaveEvery: 2, SampleEvery: 2,
		Samples: SampleOptions{Count: 2, PerRow: 2, Steps: 3}}
	sum, err := Run(context.Background(), ro)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 4 || sum.Stopped != "steps" || !(sum.ImagesPerS > 0) {
		t.Errorf("summary %+v", sum)
	}
	for _, f := range []string{ConfigFile, WeightsFile, SchedulerConfigFile, CheckpointFile, LossFile, LossPlotFile, SamplesFile, TrainingFile, filepath.Join(SamplesDir, "step-0000002.png")} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	if _, err := Run(context.Background(), ro); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("a second run into the same folder: err = %v, want a refusal naming --resume", err)
	}
	ro.Steps, ro.Resume = 6, out
	held, err := outdir.New(out, true) // another run writing there
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), ro); !errors.Is(err, outdir.ErrInUse) {
		t.Errorf("a run into a folder another run holds: err = %v, want outdir.ErrInUse", err)
	}
	held.Release(false)
	if sum, err = Run(context.Background(), ro); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, outdir.LockName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file stayed after the run: %v", err)
	}
	if sum.StartStep != 4 || sum.Steps != 6 {
		t.Errorf("resumed run: start %d, end %d; want 4 → 6", sum.StartStep, sum.Steps)
	}
	rows, err := ReadLossLog(filepath.Join(out, LossFile))
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range rows {
		got = append(got, r.Step)
		if !(r.Loss > 0) || !(r.GradNorm > 0) {
			t.Errorf("row %+v", r)
		}
	}
	if !slices.Equal(got, []int64{2, 4, 6}) {
		t.Errorf("loss.csv steps %v, want [2 4 6]", got)
	}
	head, _ := os.ReadFile(filepath.Join(out, LossFile))
	if !strings.HasPrefix(string(head), "step,loss,") {
		t.Errorf("loss.csv header: %q", strings.SplitN(string(head), "\n", 2)[0])
	}
}

func TestTimeLimitStopsAndSaves(t *testing.T) {
	o := tinyOptions(t)
	o.Batch, o.Steps = 2, 1000
	out := t.TempDir()
	sum, err := Run(context.Background(), RunOptions{Options: o, Dataset: rectangles(t, 8, 1, 16, 6), Out: out, LogEvery: 1, TimeLimit: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stopped != "time limit" || sum.Steps != 0 {
		t.Errorf("summary %+v: want a stop by the time limit before any step", sum)
	}
	if _, err := os.Stat(filepath.Join(out, WeightsFile)); err != nil {
		t.Errorf("no model written after the time limit: %v", err)
	}
}

func TestBadInputsAreRefused(t *testing.T) {
	o := tinyOptions(t)
	data := rectangles(t, 4, 1, 16, 7)
	cases := map[string]struct {
		run  func() error
		want string
	}{
		"batch": {func() error { p := o; p.Batch = 0; _, err := NewTrainer(p, data); return err }, "--batch"},
		"lr":    {func() error { p := o; p.LR = math.NaN(); _, err := NewTrainer(p, data); return err }, "--lr"},
		"sched": {func() error { p := o; p.Schedule = "linear"; _, err := NewTrainer(p, data); return err }, "--lr-schedule"},
		"size": {func() error {
			_, err := NewTrainer(o, rectangles(t, 4, 1, 8, 1))
			return err
		}, "1×8×8"},
		"config": {func() error { _, err := ResolveConfig("no-such-preset"); return err }, "fashion-unet-32"},
		"dropout": {func() error {
			path := filepath.Join(t.TempDir(), "config.json")
			os.WriteFile(path, []byte(`{"sample_size": 16, "in_channels": 1, "out_channels": 1, "block_out_channels": [32, 64],
				"down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "dropout": 0.1}`), 0o644)
			_, err := ResolveConfig(path)
			return err
		}, "dropout"},
		"resume-batch": {func() error {
			tr := newTrainer(t, o, data)
			ckpt := filepath.Join(t.TempDir(), CheckpointFile)
			if err := tr.SaveCheckpoint(ckpt); err != nil {
				return err
			}
			p := o
			p.Batch = 3
			return newTrainer(t, p, data).LoadCheckpoint(ckpt)
		}, "--batch 8"},
		"resume-missing": {func() error { _, err := FindCheckpoint(t.TempDir()); return err }, "checkpoint.safetensors"},
		"data":           {func() error { _, err := OpenData(t.TempDir(), 1, 16); return err }, "no PNG or JPEG"},
	}
	for name, c := range cases {
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, c.want)
		}
	}
}

// TestFashionUNet32 checks the preset the GPU run trains: 2–4 M parameters (≤ 16 MB in float32), attention at
// the two lowest resolutions and in the mid block, one greyscale channel at 32².
func TestFashionUNet32(t *testing.T) {
	cfg, err := ResolveConfig("fashion-unet-32")
	if err != nil {
		t.Fatal(err)
	}
	n, err := cfg.NumParams()
	if err != nil {
		t.Fatal(err)
	}
	if n < 2e6 || 4*n > 16e6 {
		t.Errorf("%d parameters: want 2 M or more and at most 16 MB in float32", n)
	}
	if cfg.InChannels != 1 || cfg.OutChannels != 1 || cfg.SampleSize != 32 {
		t.Errorf("config %d→%d channels at %d²", cfg.InChannels, cfg.OutChannels, cfg.SampleSize)
	}
	if !slices.Equal(cfg.DownBlockTypes, []string{"DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"}) ||
		!slices.Equal(cfg.UpBlockTypes, []string{"AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"}) || !*cfg.AddAttention {
		t.Errorf("blocks %v / %v", cfg.DownBlockTypes, cfg.UpBlockTypes)
	}
	t.Logf("fashion-unet-32: %d parameters, %s", n, describeConfig(cfg))
}
