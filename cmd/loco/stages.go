package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/loco"
)

func init() {
	register("eps", "noise prediction ε and x̂0: IN x [B,C,H,W], t [1]|[B] → OUT eps, x0", runEps)
	register("jvp", "exact Jacobian products: IN x, t, v and/or u → OUT jvp_x0 (J·v), vjp_x0 (Jᵀ·u), jvp_eps, vjp_eps", runJVP)
	register("invert", "DDIM inversion: IN x0 → OUT xT", runInvert)
	register("sample", "DDIM sampling: IN x → OUT x, over grid indices [--from-index, --to-index)", runSample)
	register("direction", "edit direction (Algorithm 1): IN x, t, mask [C,H,W] → OUT vT_modify, s_modify, vT_null, s_null, direction", runDirection)
}

func progress(quiet bool) io.Writer {
	if quiet {
		return nil
	}
	return os.Stderr
}

// tensorCommand parses the flags of a command that reads tensors from --in and checks everything it can
// before the model is loaded — the flags (and, through check, the command's own options), the output path,
// the input file and its tensors' dtypes — then loads the model.
func tensorCommand(fs *flag.FlagSet, c *commonFlags, args []string, check func() error, required []string, optional ...string) (*loco.Pipeline, *inputs, error) {
	if err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, nil, err
		}
	}
	if err := c.check(true); err != nil {
		return nil, nil, err
	}
	in, err := openInputs(c.in)
	if err != nil {
		return nil, nil, err
	}
	if err := in.expect(required, optional...); err != nil {
		return nil, nil, err
	}
	p, err := c.pipeline()
	if err != nil {
		return nil, nil, err
	}
	return p, in, nil
}

// batchInputs reads x [B,C,H,W] and t [1]|[B].
func batchInputs(p *loco.Pipeline, in *inputs) (x, t []float32, b int, err error) {
	if x, b, err = in.images("x", p); err != nil {
		return nil, nil, 0, err
	}
	t, err = in.times(b, p)
	return x, t, b, err
}

func runEps(args []string) error {
	if isConditionalUNet(args) {
		return runCondEps(args)
	}
	var c commonFlags
	fs := flag.NewFlagSet("eps", flag.ContinueOnError)
	c.register(fs, true)
	guidance := fs.Float64("guidance", 1, "text-to-image pipelines: classifier-free guidance scale (1: none; with text_null as the negative prompt's hidden states, else the empty prompt's)")
	p, in, err := tensorCommand(fs, &c, args, nil, []string{"x", "t"}, "text", "text_null", "cond")
	if err != nil {
		return err
	}
	if _, ok := p.Model.(loco.Conditioner); ok {
		return runTextEps(p.Model, in, &c, *guidance)
	} else if *guidance != 1 {
		return fmt.Errorf("--guidance applies to text-to-image pipelines; %s is not one", p.Model.Name())
	}
	x, t, b, err := batchInputs(p, in)
	if err != nil {
		return err
	}
	eps, x0, err := p.Predict(x, t)
	if err != nil {
		return err
	}
	out := outputs{}
	out.images("eps", eps, b, p.SampleShape())
	out.images("x0", x0, b, p.SampleShape())
	return out.write(c.out, map[string]string{"model": p.Model.Name()})
}

func runJVP(args []string) error {
	if isConditionalUNet(args) {
		return runCondJVP(args)
	}
	var c commonFlags
	fs := flag.NewFlagSet("jvp", flag.ContinueOnError)
	c.register(fs, true)
	guidance := fs.Float64("guidance", 1, "text-to-image pipelines: classifier-free guidance scale (1: none; with text_null as the negative prompt's hidden states, else the empty prompt's)")
	p, in, err := tensorCommand(fs, &c, args, nil, []string{"x", "t"}, "v", "u", "text", "text_null", "cond")
	if err != nil {
		return err
	}
	if _, ok := p.Model.(loco.Conditioner); ok {
		return runTextJVP(p.Model, in, &c, *guidance)
	} else if *guidance != 1 {
		return fmt.Errorf("--guidance applies to text-to-image pipelines; %s is not one", p.Model.Name())
	}
	if !in.has("v") && !in.has("u") {
		return fmt.Errorf("%s holds neither v (for J·v) nor u (for Jᵀ·u)", c.in)
	}
	x, t, b, err := batchInputs(p, in)
	if err != nil {
		return err
	}
	d := p.Dim()
	out := outputs{}
	for _, name := range []string{"v", "u"} {
		if !in.has(name) {
			continue
		}
		vec, vb, err := in.images(name, p)
		if err != nil {
			return err
		}
		if vb != b {
			return fmt.Errorf("%s has %d samples but x has %d", name, vb, b)
		}
		var first, second []float32
		for i := range b {
			ti := t[min(i, len(t)-1)]
			xi, vi := x[i*d:(i+1)*d], vec[i*d:(i+1)*d]
			if name == "v" {
				a, err := p.JVP(loco.OutputX0, xi, ti, vi, nil)
				if err != nil {
					return err
				}
				e, err := p.JVP(loco.OutputEps, xi, ti, vi, nil)
				if err != nil {
					return err
				}
				first, second = append(first, a...), append(second, e...)
			} else {
				a, err := p.VJP(loco.OutputX0, xi, ti, vi, nil)
				if err != nil {
					return err
				}
				e, err := p.VJP(loco.OutputEps, xi, ti, vi, nil)
				if err != nil {
					return err
				}
				first, second = append(first, a...), append(second, e...)
			}
		}
		if name == "v" {
			out.images("jvp_x0", first, b, p.SampleShape())
			out.images("jvp_eps", second, b, p.SampleShape())
		} else {
			out.images("vjp_x0", first, b, p.SampleShape())
			out.images("vjp_eps", second, b, p.SampleShape())
		}
	}
	return out.write(c.out, map[string]string{"model": p.Model.Name()})
}

func runInvert(args []string) error {
	var c commonFlags
	fs := flag.NewFlagSet("invert", flag.ContinueOnError)
	c.register(fs, true)
	def := loco.DefaultEditJob()
	var opts loco.InvertOptions
	fs.IntVar(&opts.Steps, "steps", def.Steps, "grid size N (N−1 transitions)")
	fs.BoolVar(&opts.AllPairs, "all-pairs", def.AllPairs, "run every inversion pair (ending at t_max); --all-pairs=false reproduces the authors' loop, which stops one pair early")
	p, in, err := tensorCommand(fs, &c, args, func() error { return opts.Validate() }, []string{"x0"})
	if err != nil {
		return err
	}
	x0, b, err := in.images("x0", p)
	if err != nil {
		return err
	}
	opts.Callback = loco.ProgressBar(progress(c.quiet), "DDIM inversion")
	xT, err := p.Invert(x0, opts)
	if err != nil {
		return err
	}
	out := outputs{}
	out.images("xT", xT, b, p.SampleShape())
	return out.write(c.out, map[string]string{"model": p.Model.Name(), "steps": strconv.Itoa(opts.Steps), "all_pairs": strconv.FormatBool(opts.AllPairs)})
}

func runSample(args []string) error {
	var c commonFlags
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	c.register(fs, true)
	var opts loco.SampleOptions
	fs.IntVar(&opts.Steps, "steps", loco.DefaultSteps, "grid size N")
	from := fs.Int("from-index", 0, "first grid index (0: x is x_T at t_max)")
	to := fs.Int("to-index", -1, "stop before this grid index (-1: run to t = 0)")
	fs.Float64Var(&opts.Eta, "eta", 0, "DDIM η in [0, 1]")
	fs.BoolVar(&opts.Boost, "boost", false, "performance boosting: η = 1 for t ≤ 201.8")
	fs.Uint64Var(&opts.Seed, "seed", 0, "seed of the noise of stochastic steps")
	check := func() error {
		if err := opts.Validate(); err != nil {
			return err
		}
		_, err := opts.Range(*from, *to)
		return err
	}
	p, in, err := tensorCommand(fs, &c, args, check, []string{"x"})
	if err != nil {
		return err
	}
	x, b, err := in.images("x", p)
	if err != nil {
		return err
	}
	opts.Callback = loco.ProgressBar(progress(c.quiet), "DDIM")
	y, err := p.Sample(x, *from, *to, opts)
	if err != nil {
		return err
	}
	out := outputs{}
	out.images("x", y, b, p.SampleShape())
	return out.write(c.out, map[string]string{"model": p.Model.Name()})
}

// directionFlags are the subspace settings shared by direction, edit and demo.
type directionFlags struct {
	rank, nullRank, maxIter, minIter int
	stop, method, output             string
	tol                              float64
	seed                             uint64
}

func (d *directionFlags) register(fs *flag.FlagSet) {
	def := loco.DefaultEditJob().Direction
	fs.IntVar(&d.rank, "rank", def.Rank, "edit subspace rank r (directions on the mask)")
	fs.IntVar(&d.nullRank, "null-rank", def.NullRank, "null-space rank r′ on the complement (0: no projection)")
	fs.IntVar(&d.maxIter, "max-iter", def.Iteration.MaxIter, "maximum subspace iterations (0: the method's default; the authors use 50)")
	fs.IntVar(&d.minIter, "min-iter", def.Iteration.MinIter, "minimum subspace iterations (0: the stop rule's default)")
	fs.StringVar(&d.stop, "stop", def.Iteration.Stop.String(), "stop rule: subspace (converged subspace) or faithful (the authors' test, power method)")
	fs.StringVar(&d.method, "method", def.Iteration.Method.String(), "subspace method: krylov (block Lanczos with Rayleigh–Ritz) or power (the authors')")
	fs.StringVar(&d.output, "output", def.Output.String(), "Jacobian of x0 (LOCO-Edit) or eps (the ∂ε/∂x variant)")
	fs.Float64Var(&d.tol, "tol", def.Iteration.Tol, "stop-rule tolerance (0: default)")
	fs.Uint64Var(&d.seed, "seed", def.Iteration.Seed, "seed of the random start bases")
}

// options returns the direction options; the error reports the flags that do not parse (the values are
// checked by loco.DirectionOptions.Validate).
func (d *directionFlags) options() (loco.DirectionOptions, error) {
	stop, err1 := loco.ParseStopRule(d.stop)
	method, err2 := loco.ParseMethod(d.method)
	out, err3 := loco.ParseOutput(d.output)
	if err1 != nil {
		err1 = fmt.Errorf("--stop: %w", err1)
	}
	if err2 != nil {
		err2 = fmt.Errorf("--method: %w", err2)
	}
	if err3 != nil {
		err3 = fmt.Errorf("--output: %w", err3)
	}
	opts := loco.DirectionOptions{Output: out, Rank: d.rank, NullRank: d.nullRank,
		Iteration: loco.SubspaceOptions{Method: method, Stop: stop, MaxIter: d.maxIter, MinIter: d.minIter, Tol: d.tol, Seed: d.seed}}
	return opts, errors.Join(err1, err2, err3)
}

func runDirection(args []string) error {
	var c commonFlags
	var df directionFlags
	fs := flag.NewFlagSet("direction", flag.ContinueOnError)
	c.register(fs, true)
	df.register(fs)
	var opts loco.DirectionOptions
	check := func() error {
		var err error
		opts, err = df.options()
		return errors.Join(err, opts.Validate())
	}
	p, in, err := tensorCommand(fs, &c, args, check, []string{"x", "t", "mask"}, "vinit_modify", "vinit_null")
	if err != nil {
		return err
	}
	x, b, err := in.images("x", p)
	if err != nil {
		return err
	}
	if b != 1 {
		return fmt.Errorf("x holds %d samples: direction works on one", b)
	}
	t, err := in.times(1, p)
	if err != nil {
		return err
	}
	mask, _, err := in.images("mask", p)
	if err != nil {
		return fmt.Errorf("%w (a mask is [C,H,W], nonzero inside)", err)
	}
	if in.has("vinit_modify") {
		if opts.InitModify, _, err = in.rows("vinit_modify", p.Dim()); err != nil {
			return err
		}
	}
	if in.has("vinit_null") {
		if opts.InitNull, _, err = in.rows("vinit_null", p.Dim()); err != nil {
			return err
		}
	}
	job := loco.DefaultEditJob()
	job.Direction = opts
	if err := p.CheckJob(job, mask); err != nil {
		return err
	}
	if !c.quiet {
		opts.Iteration.Progress = func(iter int, change float64) {
			fmt.Fprintf(os.Stderr, "\rsubspace iteration %d (change %.3g)", iter, change)
		}
	}
	dir, err := p.EditDirection(x, t[0], mask, opts)
	if !c.quiet {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	d := p.Dim()
	out := outputs{
		"vT_modify":         safetensors.FromFloat32([]int{opts.Rank, d}, dir.Modify.V),
		"s_modify":          safetensors.FromFloat64([]int{opts.Rank}, dir.Modify.S),
		"direction":         safetensors.FromFloat32([]int{opts.Rank, d}, dir.V),
		"iterations_modify": safetensors.FromInt64([]int{1}, []int64{int64(dir.Modify.Iterations)}),
	}
	if dir.Null != nil {
		out["vT_null"] = safetensors.FromFloat32([]int{opts.NullRank, d}, dir.Null.V)
		out["s_null"] = safetensors.FromFloat64([]int{opts.NullRank}, dir.Null.S)
		out["iterations_null"] = safetensors.FromInt64([]int{1}, []int64{int64(dir.Null.Iterations)})
	}
	if !c.quiet {
		fmt.Fprintf(os.Stderr, "s_modify %.5g after %d iterations (%d Jacobian products)\n", dir.Modify.S, dir.Modify.Iterations, dir.Modify.Evaluations)
	}
	return out.write(c.out, map[string]string{"model": p.Model.Name(), "stop": df.stop})
}
