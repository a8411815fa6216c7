package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/locoedit/locoedit/train"
)

func init() {
	register("train", "train a diffusers UNet2DModel (DDPM ε objective) → OUT: diffusers model folder, loss.csv, samples", runTrain)
	c := commands["train"]
	c.ownSignals = true // Ctrl-C saves the run and stops (see runTrain)
	commands["train"] = c
}

func runTrain(args []string) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	config := fs.String("config", "fashion-unet-32", "UNet2DModel config: a preset ("+strings.Join(train.PresetNames(), ", ")+") or a config.json path")
	data := fs.String("data", train.FashionMNIST, "training images: fashion-mnist, a folder of idx files, or a folder of PNG/JPEG images (centre-cropped and resized)")
	out := fs.String("out", "", "run folder: diffusers model folder (EMA weights) + checkpoint, loss.csv, loss.png, samples")
	resume := fs.String("resume", "", "continue from this checkpoint file or run folder (usually the same as --out)")
	force := fs.Bool("force", false, "write into a non-empty --out folder")
	steps := fs.Int("steps", 1000, "total optimisation steps (a resumed run continues up to this number)")
	batch := fs.Int("batch", 16, "images per step")
	lr := fs.Float64("lr", 1e-4, "peak learning rate (AdamW)")
	warmup := fs.Int("warmup", 500, "linear learning-rate warm-up steps")
	schedule := fs.String("lr-schedule", "constant", "learning rate after the warm-up: constant or cosine (to 0 at --steps)")
	weightDecay := fs.Float64("weight-decay", 1e-6, "AdamW decoupled weight decay")
	gradClip := fs.Float64("grad-clip", 1, "maximum global gradient norm (0: no clipping)")
	emaMax := fs.Float64("ema-max-decay", 0.9999, "maximum EMA decay (diffusers EMAModel with warm-up)")
	emaPower := fs.Float64("ema-power", 0.75, "EMA warm-up power: decay 1 − (1 + step)^−power")
	seed := fs.Uint64("seed", 0, "seed of the initial weights, data order, noise, timesteps and flips")
	flip := fs.Bool("flip", false, "random horizontal flips")
	logEvery := fs.Int("log-every", 10, "steps per row of loss.csv")
	saveEvery := fs.Int("save-every", 1000, "steps between checkpoints and model exports (0: only at the end)")
	sampleEvery := fs.Int("sample-every", 0, "steps between sample grids in OUT/samples (0: only the final samples.png)")
	sampleCount := fs.Int("sample-count", 16, "images per sample grid (0: none)")
	sampleSteps := fs.Int("sample-steps", 50, "DDIM grid points for the samples")
	timeLimit := fs.Duration("time-limit", 0, "stop after this much wall time (e.g. 4m30s) and save as if --steps were reached")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required: the folder to write the model, checkpoint, samples and loss log to")
	}
	cfg, err := train.ResolveConfig(*config)
	if err != nil {
		return err
	}
	o := train.DefaultOptions(cfg)
	o.Steps, o.Batch, o.LR, o.Warmup, o.Schedule = *steps, *batch, *lr, *warmup, *schedule
	o.WeightDecay, o.GradClip, o.EMAMaxDecay, o.EMAPower = *weightDecay, *gradClip, *emaMax, *emaPower
	o.Seed, o.Flip = *seed, *flip
	samples := train.DefaultSampleOptions()
	samples.Count, samples.Steps = *sampleCount, *sampleSteps
	ro := train.RunOptions{Options: o, ConfigName: *config, Data: *data, Out: *out, Force: *force, Resume: *resume,
		LogEvery: *logEvery, SaveEvery: *saveEvery, SampleEvery: *sampleEvery, Samples: samples, TimeLimit: *timeLimit,
		Progress: progress(*quiet)}
	// Ctrl-C and SIGTERM (sent by `timeout`) stop the run after the current step, saving everything.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := train.Run(ctx, ro)
	if err != nil {
		return err
	}
	fmt.Printf("trained %s: steps %d → %d (%s), final loss %.4g, %.1f images/s (first step %.1f s), model in %s\n",
		sum.Config, sum.StartStep, sum.Steps, sum.Stopped, sum.FinalLoss, sum.ImagesPerS, sum.FirstStepS, sum.ModelFolder)
	return nil
}
