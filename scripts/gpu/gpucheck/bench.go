package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/train"
)

// timing is one timed operation at one batch size.
type timing struct {
	What     string    `json:"what"` // forward, vjp, jvp
	Batch    int       `json:"batch"`
	FirstS   float64   `json:"first_s"` // first call: graph compilation and one run
	MedianMS float64   `json:"median_ms"`
	MinMS    float64   `json:"min_ms"`
	Runs     []float64 `json:"runs_ms"`
	// GPUMemMiB is the process's GPU memory after the measurement (nvidia-smi; 0 without a GPU).
	GPUMemMiB float64 `json:"gpu_mem_mib"`
	Error     string  `json:"error,omitempty"`
}

// editWork is the network work of one whole edit, for the PyTorch side to repeat.
type editWork struct {
	GridSteps      int `json:"grid_steps"`
	InversionEvals int `json:"inversion_evals"` // forward passes at batch 1
	DenoiseEvals   int `json:"denoise_evals"`   // forward passes at batch 1 down to the edit time
	EditIndex      int `json:"edit_index"`
	// Subspace problems run in lockstep: per problem its iterations and Jacobian vector products (each one JVP
	// and one VJP).
	Subspaces   []subspaceWork `json:"subspaces"`
	StripImages int            `json:"strip_images"` // decoded at once, one batch
	StripEvals  int            `json:"strip_evals"`  // forward passes at batch StripImages
}

type subspaceWork struct {
	Name       string `json:"name"`
	Rank       int    `json:"rank"`
	Iterations int    `json:"iterations"`
	Products   int    `json:"products"` // vector products J·v (each with its Jᵀ·u)
}

type editRun struct {
	TotalS    float64            `json:"total_s"`
	Stages    map[string]float64 `json:"stages_s"`
	GPUMemMiB float64            `json:"gpu_mem_mib,omitempty"`
}

type benchResult struct {
	Backend     string    `json:"backend"`
	Description string    `json:"description"`
	Config      string    `json:"config"`
	Params      int       `json:"params"`
	Sample      []int     `json:"sample"`
	Timings     []timing  `json:"timings"`
	Edit        []editRun `json:"edit,omitempty"`
	EditWork    *editWork `json:"edit_work,omitempty"`
	EditError   string    `json:"edit_error,omitempty"`
	Skipped     []string  `json:"skipped,omitempty"`
	RSSPeakMB   float64   `json:"rss_peak_mb"`
	Date        string    `json:"date"`
	EpsFile     string    `json:"eps_file,omitempty"`
	ModelFolder string    `json:"model_folder,omitempty"`
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	config := fs.String("config", "", "UNet2DModel config.json (random weights) or a train preset name")
	seed := fs.Uint64("weights-seed", 1, "seed of the random weights")
	batches := fs.String("batch", "1,8", "batch sizes")
	what := fs.String("what", "forward,vjp,jvp", "operations to time")
	repeat := fs.Int("repeat", 5, "timed runs per operation after the first (compiling) one")
	edit := fs.Int("edit", 1, "whole LOCO edits to time (the first includes compiling its graphs; 0: none)")
	gridSteps := fs.Int("grid-steps", 100, "DDIM grid size N of the edit")
	maxIter := fs.Int("max-iter", 0, "subspace iterations cap of the edit (0: the default)")
	saveModel := fs.String("save-model", "", "write the model as a diffusers folder here (for the PyTorch side)")
	epsOut := fs.String("eps-out", "", "write x, t and ε of the first forward input here (safetensors)")
	timeLimit := fs.Duration("time-limit", 0, "skip what would start after this much time")
	out := fs.String("json", "", "write results here (after every measurement)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	cfg, err := train.ResolveConfig(*config)
	if err != nil {
		return err
	}
	var bs []int
	for _, s := range strings.Split(*batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b < 1 {
			return fmt.Errorf("--batch %q: want positive integers separated by commas", *batches)
		}
		bs = append(bs, b)
	}
	res := benchResult{Config: *config, Sample: []int{cfg.InChannels, cfg.SampleSize, cfg.SampleSize}, Date: time.Now().UTC().Format(time.RFC3339)}
	if res.Backend, res.Description, err = backendInfo(); err != nil {
		return err
	}
	if res.Params, err = cfg.NumParams(); err != nil {
		return err
	}
	unet, err := diffusers.NewRandomUNet2D(cfg, *seed)
	if err != nil {
		return err
	}
	save := func() error {
		res.RSSPeakMB = rssPeakMB()
		return writeJSON(*out, res)
	}
	if *saveModel != "" {
		if err := train.WriteModelFolder(*saveModel, unet, diffusers.DefaultSchedulerConfig(), map[string]string{"format": "pt"}); err != nil {
			return err
		}
		res.ModelFolder = *saveModel
	}
	sched, err := loco.NewSchedule(loco.BetaLinear, 1e-4, 0.02, 1000)
	if err != nil {
		return err
	}
	p, err := loco.NewPipeline(&loco.UNetDenoiser{UNet: unet, ModelID: *config, Sched: sched, PredType: loco.PredictEpsilon})
	if err != nil {
		return err
	}
	d := p.Dim()
	rng := rand.New(rand.NewPCG(*seed, 2))
	randn := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	late := func(name string) bool {
		if *timeLimit > 0 && time.Since(start) > *timeLimit {
			res.Skipped = append(res.Skipped, name)
			return true
		}
		return false
	}
	const t = float32(500)
	for _, w := range strings.Split(*what, ",") {
		for _, b := range bs {
			name := fmt.Sprintf("%s/%d", w, b)
			if late(name) {
				continue
			}
			x1 := randn(d)
			var run func() error
			switch w {
			case "forward":
				x := randn(b * d)
				ts := []float32{t}
				run = func() error { _, _, err := p.Predict(x, ts); return err }
				if *epsOut != "" && b == bs[0] {
					eps, _, err := p.Predict(x, ts)
					if err != nil {
						return err
					}
					if err := safetensors.Write(*epsOut, map[string]*safetensors.Tensor{
						"x": safetensors.FromFloat32([]int{b, res.Sample[0], res.Sample[1], res.Sample[2]}, x),
						"t": safetensors.FromFloat32([]int{1}, ts), "eps": safetensors.FromFloat32([]int{b, res.Sample[0], res.Sample[1], res.Sample[2]}, eps),
					}, nil); err != nil {
						return err
					}
					res.EpsFile = *epsOut
				}
			case "vjp":
				us := randn(b * d)
				run = func() error { _, err := p.VJP(loco.OutputEps, x1, t, us, nil); return err }
			case "jvp":
				vs := randn(b * d)
				run = func() error { _, err := p.JVP(loco.OutputEps, x1, t, vs, nil); return err }
			default:
				return fmt.Errorf("--what %q: use forward, vjp, jvp", w)
			}
			tm := measure(w, b, *repeat, run)
			tm.GPUMemMiB = gpuMemMiB()
			res.Timings = append(res.Timings, tm)
			fmt.Printf("%-8s batch %d: first %.2f s, median %.2f ms %s\n", w, b, tm.FirstS, tm.MedianMS, tm.Error)
			if err := save(); err != nil {
				return err
			}
		}
	}
	for i := range *edit {
		if late(fmt.Sprintf("edit %d", i+1)) {
			break
		}
		r, work, err := timeEdit(p, cfg, *gridSteps, *maxIter, randn)
		if err != nil {
			res.EditError = err.Error()
			fmt.Printf("edit: %v\n", err)
			break
		}
		r.GPUMemMiB = gpuMemMiB()
		res.Edit, res.EditWork = append(res.Edit, r), work
		fmt.Printf("edit %d: %.2f s %v\n", i+1, r.TotalS, r.Stages)
		if err := save(); err != nil {
			return err
		}
	}
	return save()
}

// measure times run once (compiling) and then repeat times.
func measure(what string, batch, repeat int, run func() error) timing {
	tm := timing{What: what, Batch: batch}
	t0 := time.Now()
	if err := run(); err != nil {
		tm.Error = err.Error()
		return tm
	}
	tm.FirstS = time.Since(t0).Seconds()
	for range repeat {
		t0 := time.Now()
		if err := run(); err != nil {
			tm.Error = err.Error()
			break
		}
		tm.Runs = append(tm.Runs, float64(time.Since(t0).Microseconds())/1000)
	}
	if len(tm.Runs) > 0 {
		s := slices.Clone(tm.Runs)
		slices.Sort(s)
		tm.MedianMS, tm.MinMS = s[len(s)/2], s[0]
	}
	return tm
}

// timeEdit runs one whole LOCO edit with the authors' CelebA-HQ workload (edit time 0.6, their inversion loop,
// rank 1 on the mask, null-space rank 5, the default Krylov subspaces, their strip of 5 strengths with boosted
// decoding) on a smooth random image with a centred square mask.
func timeEdit(p *loco.Pipeline, cfg *diffusers.UNet2DConfig, gridSteps, maxIter int, randn func(int) []float32) (editRun, *editWork, error) {
	c, s := cfg.InChannels, cfg.SampleSize
	img, mask := make([]float32, c*s*s), make([]float32, c*s*s)
	freq := randn(4)
	for ch := range c {
		for y := range s {
			for x := range s {
				i := (ch*s+y)*s + x
				fy, fx := float64(y)/float64(s), float64(x)/float64(s)
				img[i] = float32(0.8 * math.Sin(3*fy*float64(freq[0])+2*fx*float64(freq[1])+float64(ch)))
				if y >= s/4 && y < 3*s/4 && x >= s/4 && x < 3*s/4 {
					mask[i] = 1
				}
			}
		}
	}
	job := loco.DefaultEditJob()
	job.EditT, job.Steps, job.AllPairs, job.Boost = 0.6, gridSteps, false, true
	job.Direction.Iteration.MaxIter = maxIter
	rep, err := p.RunEdit(img, mask, job)
	if err != nil {
		return editRun{}, nil, err
	}
	r := editRun{TotalS: rep.Total().Seconds(), Stages: map[string]float64{}}
	for _, st := range rep.Stages {
		r.Stages[st.Name] = st.Duration.Seconds()
	}
	g, err := p.Grid(gridSteps, false)
	if err != nil {
		return r, nil, err
	}
	w := &editWork{GridSteps: gridSteps, InversionEvals: g.Len() - 1, DenoiseEvals: rep.Point.Index, EditIndex: rep.Point.Index,
		StripImages: len(rep.Lambdas), StripEvals: g.Len() - rep.Point.Index}
	for _, sub := range []struct {
		name string
		s    *loco.Subspace
	}{{"mask", rep.Direction.Modify}, {"complement", rep.Direction.Null}} {
		if sub.s != nil {
			w.Subspaces = append(w.Subspaces, subspaceWork{Name: sub.name, Rank: sub.s.Rank, Iterations: sub.s.Iterations, Products: sub.s.Evaluations / 2})
		}
	}
	return r, w, nil
}

// gpuMemMiB is this process's GPU memory in MiB as nvidia-smi reports it, or 0 without nvidia-smi.
func gpuMemMiB() float64 {
	out, err := exec.Command("nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits").Output()
	if err != nil {
		return 0
	}
	pid := strconv.Itoa(os.Getpid())
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) == 2 && strings.TrimSpace(f[0]) == pid {
			v, _ := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
			return v
		}
	}
	return 0
}

// rssPeakMB is the process's peak resident memory (VmHWM) in MB, or 0 where /proc is missing.
func rssPeakMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
