package train

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/internal/outdir"
	"github.com/locoedit/locoedit/internal/progress"
)

// Files of a run's --out folder besides the model (see WriteModel and the constants there).
const (
	SamplesFile  = "samples.png"
	SamplesDir   = "samples"
	TrainingFile = "training.json"
)

// RunOptions configure Run: a training run with its outputs.
type RunOptions struct {
	Options
	// ConfigName names the config in the summary (a preset name or a config.json path).
	ConfigName string
	// Data names the training images (see OpenData); Dataset, if set, is used instead.
	Data    string
	Dataset *Dataset
	// Out is the run folder: the diffusers model folder of the EMA weights plus checkpoint.safetensors,
	// loss.csv, loss.png, samples.png, samples/ and training.json. It must not exist (or be empty) unless Force is
	// set or Resume points into it.
	Out   string
	Force bool
	// Resume is a checkpoint file or a run folder to continue from ("" starts afresh).
	Resume string
	// LogEvery steps a row goes to loss.csv (and the progress bar); SaveEvery steps the checkpoint and the model
	// are written; SampleEvery steps a sample grid goes to samples/ (0: only at the end, for both).
	LogEvery, SaveEvery, SampleEvery int
	Samples                          SampleOptions
	// TimeLimit, if positive, stops the run after that much wall time (compilation included); the run then ends as
	// if Steps were reached: checkpoint, model, samples.
	TimeLimit time.Duration
	// Progress, if set, receives a progress bar and messages.
	Progress io.Writer
}

// Summary describes a finished (or stopped) run; it is also written to training.json.
type Summary struct {
	Config       string  `json:"config"`
	Params       int     `json:"params"`
	Data         string  `json:"data"`
	Images       int     `json:"images"`
	Backend      string  `json:"backend"`
	StartStep    int64   `json:"start_step"`
	Steps        int64   `json:"steps"`
	Batch        int     `json:"batch"`
	LR           float64 `json:"lr"`
	Warmup       int     `json:"warmup"`
	Schedule     string  `json:"lr_schedule"`
	Seed         uint64  `json:"seed"`
	Stopped      string  `json:"stopped"` // "steps", "time limit" or "interrupted"
	FinalLoss    float64 `json:"final_loss"`
	FirstStepS   float64 `json:"first_step_s"` // the first step of this process (graph compilation included)
	TrainS       float64 `json:"train_s"`      // stepping time after the first step
	ImagesPerS   float64 `json:"images_per_s"` // after the first step
	WallS        float64 `json:"wall_s"`       // the whole run, outputs included
	Date         string  `json:"date"`
	ModelFolder  string  `json:"model_folder"`
	SampleGrid   string  `json:"sample_grid"`
	LossLog      string  `json:"loss_log"`
	CheckpointAt string  `json:"checkpoint"`
}

func (o *RunOptions) validate() error {
	if err := o.Options.Validate(); err != nil {
		return err
	}
	switch {
	case o.Out == "":
		return fmt.Errorf("--out is required: the folder to write the model, checkpoint, samples and loss log to")
	case o.LogEvery < 1:
		return fmt.Errorf("--log-every must be ≥ 1, got %d", o.LogEvery)
	case o.SaveEvery < 0 || o.SampleEvery < 0:
		return fmt.Errorf("--save-every and --sample-every must be ≥ 0 (0: only at the end)")
	case o.Samples.Count < 0 || (o.Samples.Count > 0 && o.Samples.Steps < 2):
		return fmt.Errorf("--sample-count must be ≥ 0 and --sample-steps ≥ 2")
	}
	return nil
}

// claimOut claims the run folder (see package outdir: created if needed, locked so that two runs cannot write
// into it at once) and refuses a folder holding other files, unless forced or resuming in place.
func (o *RunOptions) claimOut(checkpoint string) (*outdir.Claim, error) {
	claim, err := outdir.New(o.Out, true) // the lock only: whether other files may be there is decided below
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(o.Out)
	if err != nil {
		claim.Release(true)
		return nil, err
	}
	if len(entries) <= 1 || o.Force { // the lock file is one of them
		return claim, nil
	}
	if checkpoint != "" {
		a, errA := filepath.Abs(filepath.Dir(checkpoint))
		b, errB := filepath.Abs(o.Out)
		if errA == nil && errB == nil && a == b {
			return claim, nil
		}
	}
	claim.Release(true)
	return nil, fmt.Errorf("--out %s exists and is not empty: choose a new folder, pass --force to overwrite it, or --resume %s to continue its run", o.Out, o.Out)
}

// Run trains a model as o says and writes its outputs. It stops early, saving everything, when ctx is cancelled
// (e.g. Ctrl-C) or the time limit is reached.
func Run(ctx context.Context, o RunOptions) (*Summary, error) {
	start := time.Now()
	if err := o.validate(); err != nil {
		return nil, err
	}
	checkpoint := ""
	if o.Resume != "" {
		var err error
		if checkpoint, err = FindCheckpoint(o.Resume); err != nil {
			return nil, err
		}
	}
	claim, err := o.claimOut(checkpoint)
	if err != nil {
		return nil, err
	}
	done := false
	defer func() { claim.Release(!done) }()
	say := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	data := o.Dataset
	if data == nil {
		var err error
		say("reading training images (%s)…", o.Data)
		if data, err = OpenData(o.Data, o.Config.InChannels, o.Config.SampleSize); err != nil {
			return nil, err
		}
	}
	tr, err := NewTrainer(o.Options, data)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	params, err := o.Config.NumParams()
	if err != nil {
		return nil, err
	}
	sum := &Summary{Config: strings.TrimPrefix(o.ConfigName+": ", ": ") + describeConfig(o.Config), Params: params, Data: data.Name, Images: data.Len(), Backend: tr.backend.Name(),
		Batch: o.Batch, LR: o.LR, Warmup: o.Warmup, Schedule: o.Schedule, Seed: o.Seed, Stopped: "steps",
		ModelFolder: o.Out, LossLog: filepath.Join(o.Out, LossFile), CheckpointAt: filepath.Join(o.Out, CheckpointFile)}
	var rows []LossRow
	if checkpoint != "" {
		if err := tr.LoadCheckpoint(checkpoint); err != nil {
			return nil, err
		}
		say("resumed from %s at step %d", checkpoint, tr.StepsDone())
		old, err := ReadLossLog(filepath.Join(filepath.Dir(checkpoint), LossFile))
		if err != nil {
			return nil, err
		}
		for _, r := range old {
			if r.Step <= tr.StepsDone() {
				rows = append(rows, r)
			}
		}
	}
	sum.StartStep = tr.StepsDone()
	say("training %s (%d parameters) on %s (%d images), batch %d, steps %d → %d, backend %s",
		sum.Config, params, data.Name, data.Len(), o.Batch, tr.StepsDone(), o.Steps, sum.Backend)

	save := func() error {
		if err := tr.SaveCheckpoint(filepath.Join(o.Out, CheckpointFile)); err != nil {
			return err
		}
		return tr.WriteModel(o.Out)
	}
	bar := progress.New(o.Progress, int(o.Steps), "training")
	if bar != nil {
		_ = bar.Set64(tr.StepsDone())
	}
	var (
		winLoss, winNorm float64
		winSteps         int
		winStart         = time.Now()
		trainStart       time.Time
		trainSteps       int64
	)
	for tr.StepsDone() < int64(o.Steps) {
		if ctx.Err() != nil {
			sum.Stopped = "interrupted"
			break
		}
		if o.TimeLimit > 0 && time.Since(start) >= o.TimeLimit {
			sum.Stopped = "time limit"
			break
		}
		t0 := time.Now()
		res, err := tr.Step()
		if err != nil {
			return nil, err
		}
		if trainStart.IsZero() {
			sum.FirstStepS = time.Since(t0).Seconds()
			trainStart, winStart = time.Now(), time.Now()
		} else {
			trainSteps++
		}
		winLoss += res.Loss
		winNorm += res.GradNorm
		winSteps++
		if bar != nil {
			_ = bar.Set64(res.Step)
		}
		if res.Step%int64(o.LogEvery) == 0 || res.Step == int64(o.Steps) {
			el := time.Since(winStart).Seconds()
			row := LossRow{Step: res.Step, Loss: winLoss / float64(winSteps), GradNorm: winNorm / float64(winSteps), LR: res.LR,
				Decay: res.EMADecay, ElapsedS: time.Since(start).Seconds()}
			if el > 0 {
				row.ImagesPerS = float64(winSteps*o.Batch) / el
			}
			rows = append(rows, row)
			if err := WriteLossLog(filepath.Join(o.Out, LossFile), rows); err != nil {
				return nil, err
			}
			if bar != nil {
				bar.Describe(fmt.Sprintf("loss %.4f · %.0f img/s", row.Loss, row.ImagesPerS))
			}
			winLoss, winNorm, winSteps, winStart = 0, 0, 0, time.Now()
		}
		if o.SaveEvery > 0 && res.Step%int64(o.SaveEvery) == 0 && res.Step < int64(o.Steps) {
			if err := save(); err != nil {
				return nil, err
			}
		}
		if o.SampleEvery > 0 && o.Samples.Count > 0 && res.Step%int64(o.SampleEvery) == 0 && res.Step < int64(o.Steps) {
			if err := os.MkdirAll(filepath.Join(o.Out, SamplesDir), 0o755); err != nil {
				return nil, err
			}
			if err := tr.WriteSampleGrid(filepath.Join(o.Out, SamplesDir, fmt.Sprintf("step-%07d.png", res.Step)), o.Samples); err != nil {
				return nil, err
			}
		}
	}
	if bar != nil && sum.Stopped != "steps" {
		fmt.Fprintln(o.Progress)
		say("stopped (%s) at step %d", sum.Stopped, tr.StepsDone())
	}
	if trainSteps > 0 {
		sum.TrainS = time.Since(trainStart).Seconds()
		sum.ImagesPerS = float64(trainSteps*int64(o.Batch)) / sum.TrainS
	}
	sum.Steps = tr.StepsDone()
	if len(rows) > 0 {
		sum.FinalLoss = rows[len(rows)-1].Loss
	}
	if err := save(); err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		if err := PlotLoss(filepath.Join(o.Out, LossPlotFile), rows, "training loss, "+sum.Config); err != nil {
			return nil, err
		}
	}
	if o.Samples.Count > 0 {
		say("drawing %d samples (DDIM, %d steps)…", o.Samples.Count, o.Samples.Steps)
		sum.SampleGrid = filepath.Join(o.Out, SamplesFile)
		if err := tr.WriteSampleGrid(sum.SampleGrid, o.Samples); err != nil {
			return nil, err
		}
	}
	sum.WallS = time.Since(start).Seconds()
	sum.Date = time.Now().UTC().Format(time.RFC3339)
	if err := writeJSON(filepath.Join(o.Out, TrainingFile), sum); err != nil {
		return nil, err
	}
	done = true
	return sum, nil
}

// describeConfig is a short description of a config, e.g. "1×32², channels 48/96/96, layers_per_block 2,
// attention at 16², 8²".
func describeConfig(c *diffusers.UNet2DConfig) string {
	ch := make([]string, len(c.BlockOutChannels))
	var attn []string
	for i, n := range c.BlockOutChannels {
		ch[i] = strconv.Itoa(n)
		if c.DownBlockTypes[i] == "AttnDownBlock2D" {
			attn = append(attn, fmt.Sprintf("%d²", c.SampleSize>>i))
		}
	}
	s := fmt.Sprintf("%d×%d², channels %s, layers_per_block %d", c.InChannels, c.SampleSize, strings.Join(ch, "/"), c.LayersPerBlock)
	if len(attn) > 0 {
		s += ", attention at " + strings.Join(attn, ", ")
	}
	return s
}
