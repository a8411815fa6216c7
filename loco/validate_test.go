package loco_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

// TestValidateNamesTheOption: every setting out of range is refused by its Validate method with an OptionError
// naming the field path, the value and what is allowed, all problems at once.
func TestValidateNamesTheOption(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	job := func(change func(*loco.EditJob)) func() error {
		return func() error {
			j := loco.DefaultEditJob()
			change(&j)
			return j.Validate()
		}
	}
	strip := func(scale float64, steps, vis int) func() error {
		return func() error { return loco.Strip{Scale: scale, NumSteps: steps, VisNum: vis}.Validate() }
	}
	for _, c := range []struct {
		name   string
		err    func() error
		option string
		want   string
	}{
		{"edit time NaN", job(func(j *loco.EditJob) { j.EditT = nan }), "EditT", "edit time NaN (EditT): it must lie in (0, 1]"},
		{"edit time Inf", job(func(j *loco.EditJob) { j.EditT = inf }), "EditT", "edit time +Inf"},
		{"edit time negative", job(func(j *loco.EditJob) { j.EditT = -0.5 }), "EditT", "0 picks the model's default"},
		{"grid 1", job(func(j *loco.EditJob) { j.Steps = 1 }), "Steps", "grid size 1 (Steps): it must be between 2 and 10000"},
		{"grid huge", job(func(j *loco.EditJob) { j.Steps = 1 << 40 }), "Steps", "grid size 1099511627776"},
		{"rank 0", job(func(j *loco.EditJob) { j.Direction.Rank = 0 }), "Direction.Rank", "edit rank 0 (Direction.Rank): it must be at least 1"},
		{"null rank", job(func(j *loco.EditJob) { j.Direction.NullRank = -1 }), "Direction.NullRank", "null-space rank -1"},
		{"tol NaN", job(func(j *loco.EditJob) { j.Direction.Iteration.Tol = nan }), "Direction.Iteration.Tol", "finite number ≥ 0"},
		{"min above max", job(func(j *loco.EditJob) { j.Direction.Iteration.MinIter, j.Direction.Iteration.MaxIter = 9, 3 }), "Direction.Iteration.MinIter", "above the maximum 3"},
		{"max iter", job(func(j *loco.EditJob) { j.Direction.Iteration.MaxIter = -1 }), "Direction.Iteration.MaxIter", "≥ 0"},
		{"method", job(func(j *loco.EditJob) { j.Direction.Iteration.Method = 7 }), "Direction.Iteration.Method", "MethodKrylov"},
		{"pc", job(func(j *loco.EditJob) { j.PC = 1 }), "PC", "direction index 1"},
		{"strength Inf", job(func(j *loco.EditJob) { j.Lambdas = []float64{inf} }), "Lambdas", "strength +Inf"},
		{"strength huge", job(func(j *loco.EditJob) { j.Lambdas = []float64{1e20} }), "Lambdas", "at most 10000"},
		{"strength step tiny", job(func(j *loco.EditJob) { j.LambdaStep, j.Lambdas = 1e-9, []float64{8} }), "Lambdas", "set it to 0"},
		{"strength step", job(func(j *loco.EditJob) { j.LambdaStep = -1 }), "LambdaStep", "strength step -1"},
		{"too many strengths", job(func(j *loco.EditJob) { j.Lambdas = make([]float64, 100) }), "Lambdas", "split the strip"},
		{"scale NaN", strip(nan, 16, 2), "Scale", "strength step NaN (Scale): it must be a finite non-zero number"},
		{"scale Inf", strip(inf, 16, 2), "Scale", "strength step +Inf"},
		{"scale 0", strip(0, 16, 2), "Scale", "non-zero"},
		{"num steps 0", strip(0.5, 0, 2), "NumSteps", "strength steps 0 (NumSteps)"},
		{"num steps huge", strip(0.5, 1<<30, 2), "NumSteps", "between 1 and 10000"},
		{"strongest", strip(100, 1000, 2), "NumSteps", "NumSteps·Scale = 100000"},
		{"vis num", strip(0.5, 16, 0), "VisNum", "strengths shown per sign 0"},
		{"vis num above steps", strip(0.5, 2, 3), "VisNum", "number of steps (2)"},
		{"eta", func() error { return loco.SampleOptions{Eta: 2}.Validate() }, "Eta", "DDIM η 2 (Eta): it must lie in [0, 1]"},
		{"eta NaN", func() error { return loco.SampleOptions{Eta: nan}.Validate() }, "Eta", "DDIM η NaN"},
		{"sample grid", func() error { return loco.SampleOptions{Steps: -3}.Validate() }, "Steps", "grid size -3"},
		{"invert grid", func() error { return loco.InvertOptions{Steps: 1}.Validate() }, "Steps", "grid size 1"},
		{"subspace rank", func() error { return loco.SubspaceOptions{}.Validate() }, "Rank", "subspace rank 0"},
		{"direction rank", func() error { return loco.DirectionOptions{}.Validate() }, "Rank", "edit rank 0 (Rank)"},
	} {
		err := c.err()
		oes := loco.OptionErrors(err)
		if err == nil || !strings.Contains(err.Error(), c.want) || len(oes) == 0 {
			t.Errorf("%s: error %v, want an OptionError mentioning %q", c.name, err, c.want)
			continue
		}
		found := false
		for _, oe := range oes {
			found = found || oe.Option == c.option
		}
		if !found {
			t.Errorf("%s: options %v, want %s among them", c.name, oes, c.option)
		}
	}
	// Several problems are reported together, and OptionErrors finds them through wrapping.
	j := loco.DefaultEditJob()
	j.EditT, j.Direction.Rank, j.Steps = nan, 0, 1
	oes := loco.OptionErrors(fmt.Errorf("context: %w", j.Validate()))
	if len(oes) != 3 || oes[0].Option != "EditT" || oes[1].Option != "Steps" || oes[2].Option != "Direction.Rank" {
		t.Errorf("OptionErrors = %v, want EditT, Steps, Direction.Rank", oes)
	}
	if _, err := (loco.Strip{Scale: nan, NumSteps: 16, VisNum: 2}).Lambdas(); len(loco.OptionErrors(err)) != 1 {
		t.Errorf("Strip.Lambdas with a NaN scale: %v, want one OptionError", err)
	}
	if err := loco.DefaultEditJob().Validate(); err != nil {
		t.Errorf("the default job: %v", err)
	}
}

// TestCheckJobBeforeWork: ranks against the mask and the dimension, empty and non-finite masks and start bases
// of the wrong size are refused before any stage starts (the progress writer stays empty).
func TestCheckJobBeforeWork(t *testing.T) {
	p, _ := oracle(t)
	x0 := p.Noise(7)
	upper := make([]float32, 64)
	for i := range 8 {
		upper[i] = 1 // one row: 8 values inside, 56 outside
	}
	for _, c := range []struct {
		name   string
		change func(*loco.EditJob)
		mask   []float32
		want   string
	}{
		{"rank above the mask", func(j *loco.EditJob) { j.Direction.Rank = 9 }, upper, "edit rank 9 (Direction.Rank): it is larger than the 8 masked values"},
		{"null rank above the complement", func(j *loco.EditJob) { j.Direction.NullRank = 57 }, upper, "null-space rank 57 (Direction.NullRank): it is larger than the 56 values outside"},
		{"empty mask", func(*loco.EditJob) {}, make([]float32, 64), "mask is empty"},
		{"NaN in the mask", func(*loco.EditJob) {}, append([]float32{float32(math.NaN())}, upper[1:]...), "mask value 0 is NaN"},
		{"mask size", func(*loco.EditJob) {}, upper[:10], "resize the mask"},
		{"start basis", func(j *loco.EditJob) { j.Direction.InitModify = make([]float32, 10) }, upper, "start basis size 10 (Direction.InitModify)"},
		{"edit time", func(j *loco.EditJob) { j.EditT = math.NaN() }, upper, "edit time NaN"},
	} {
		var progress bytes.Buffer
		job := loco.DefaultEditJob()
		job.Steps, job.Progress = 10, &progress
		c.change(&job)
		_, err := p.RunEdit(x0, c.mask, job)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if progress.Len() != 0 {
			t.Errorf("%s: refused after work started:\n%s", c.name, progress.String())
		}
	}
	if _, err := p.RunEdit(x0, nil, loco.DefaultEditJob()); err == nil || !strings.Contains(err.Error(), "mask is needed") {
		t.Errorf("no mask: error %v", err)
	}
}

// TestFullMaskSkipsProjection: a mask that selects everything has no complement, so the default null-space
// rank needs no change: the direction is not projected, and the saved direction says so.
func TestFullMaskSkipsProjection(t *testing.T) {
	p, _ := oracle(t)
	full := make([]float32, 64)
	for i := range full {
		full[i] = 1
	}
	job := loco.DefaultEditJob()
	job.Steps, job.Lambdas = 10, []float64{0, 2}
	res, err := p.RunEdit(p.Noise(3), full, job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Direction.Null != nil || res.Saved(p, full).NullRank != 0 {
		t.Errorf("full mask: null-space subspace %v, saved r′ %d; want none", res.Direction.Null, res.Saved(p, full).NullRank)
	}
	if n := math.Sqrt(num.Dot(res.V, res.V)); math.Abs(n-1) > 1e-5 {
		t.Errorf("‖v‖ = %g", n)
	}
}

// TestCheckSamplesAndTimes: tensors given to the model are checked for shape, batch size, finite values and
// timesteps inside the schedule (+Inf and 1e20 used to pass the check by overflowing an int conversion).
func TestCheckSamplesAndTimes(t *testing.T) {
	p, _ := oracle(t)
	x := p.Noise(1)
	for _, ts := range [][]float32{{float32(math.Inf(1))}, {1e20}, {-1}, {float32(math.NaN())}, {1000}} {
		_, _, err := p.Predict(x, ts)
		if err == nil || !strings.Contains(err.Error(), "outside the model's schedule [0, 1000)") {
			t.Errorf("Predict at t = %v: error %v", ts, err)
		}
	}
	if err := p.CheckTimes([]float32{0, 999.5}); err != nil {
		t.Errorf("t in [0, 1000): %v", err)
	}
	nanX := append([]float32(nil), x...)
	nanX[5] = float32(math.NaN())
	for _, c := range []struct {
		shape []int
		data  []float32
		want  string
	}{
		{[]int{0, 1, 8, 8}, nil, "a batch of 0 samples; give at least one"},
		{[]int{1, 3, 8, 8}, x, "wants [B,1,8,8]"},
		{[]int{8, 8}, x, "wants [B,1,8,8]"},
		{[]int{1, 1, 8, 8}, nanX, "holds NaN at value 5 of sample 0"},
	} {
		if _, err := p.CheckSamples("x", c.shape, c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckSamples %v: error %v, want one mentioning %q", c.shape, err, c.want)
		}
	}
	if b, err := p.CheckSamples("x", []int{1, 8, 8}, x); b != 1 || err != nil {
		t.Errorf("one [C,H,W] sample: %d, %v", b, err)
	}
	if _, _, err := p.Predict(nil, []float32{1}); err == nil || !strings.Contains(err.Error(), "no samples") {
		t.Errorf("Predict of an empty batch: %v", err)
	}
}

// TestSaveRefusesNonFinite: a direction whose time or scale is not a finite number is not written (the library
// half of `--scale NaN`), and no file is left.
func TestSaveRefusesNonFinite(t *testing.T) {
	dir := t.TempDir()
	good := func() *loco.SavedDirection {
		return &loco.SavedDirection{V: make([]float32, 4), Shape: []int{1, 2, 2}, T: 500, Scale: 0.5, Rank: 1}
	}
	for _, c := range []struct {
		change func(*loco.SavedDirection)
		want   string
	}{
		{func(s *loco.SavedDirection) { s.Scale = math.NaN() }, "strength step NaN (Scale)"},
		{func(s *loco.SavedDirection) { s.T = float32(math.Inf(1)) }, "time +Inf (T)"},
		{func(s *loco.SavedDirection) { s.T = -1 }, "time -1 (T)"},
		{func(s *loco.SavedDirection) { s.V[2] = float32(math.NaN()) }, "direction 0 holds NaN at value 2"},
		{func(s *loco.SavedDirection) { s.NullRank = -1 }, "count -1 (NullRank)"},
	} {
		s := good()
		c.change(s)
		path := filepath.Join(dir, "d.safetensors")
		if err := s.Save(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Save: error %v, want one mentioning %q", err, c.want)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused direction was written: %v", err)
		}
	}
	if err := good().Save(filepath.Join(dir, "ok.safetensors")); err != nil {
		t.Error(err)
	}
}

// TestModelConfigBounded: a model folder's config.json is read through diffusers.ReadConfigData, so a huge one
// is refused without being read whole.
func TestModelConfigBounded(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4<<20 + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := loco.LoadModel(dir); err == nil || !strings.Contains(err.Error(), "is larger than 4194304 bytes: not a config file") {
		t.Errorf("LoadModel of a folder with a 4 MiB config.json: %v", err)
	}
}

// TestSchedulerConfigFirst: a model folder's scheduler_config.json is checked before any weight is read, so a
// hostile schedule is refused even when the weights are missing.
func TestSchedulerConfigFirst(t *testing.T) {
	dir := t.TempDir()
	unet := `{"_class_name": "UNet2DModel", "block_out_channels": [32, 64], "in_channels": 1, "out_channels": 1, "sample_size": 32}`
	sched := `{"_class_name": "DDPMScheduler", "num_train_timesteps": 100000000}`
	for name, data := range map[string]string{"config.json": unet, "scheduler_config.json": sched} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	_, err := loco.LoadModel(dir)
	if err == nil || !strings.Contains(err.Error(), "loading model "+dir) || !strings.Contains(err.Error(), "num_train_timesteps = 100000000 is out of range") {
		t.Errorf("LoadModel of a folder with a schedule of 10⁸ steps and no weights: %v", err)
	}
}
