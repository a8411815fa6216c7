package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/mlx"
)

// emaScope is the context scope under which the EMA copy of every weight lives ("/ema/down_blocks/0/…").
const emaScope = "/ema"

// Trainer trains a diffusers UNet2DModel on the DDPM ε objective: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε with t uniform over
// the training timesteps, loss ‖ε_θ(x_t, t) − ε‖² averaged over every value of the batch (diffusers'
// train_unconditional.py), one AdamW step with warm-up and global gradient-norm clipping per batch, then the EMA
// update. The weights, the AdamW moments, the step counters and the EMA all live in one GoMLX context, updated
// by one compiled graph per step.
//
// Every random draw of step s (its images, their flips, the noise and the timesteps) is a function of the seed
// and s alone, so a run resumed from a checkpoint continues exactly as if it had never stopped.
type Trainer struct {
	opts    Options
	data    *Dataset
	model   *diffusers.UNet2DModel // its context holds every training variable
	ema     *diffusers.UNet2DModel // the EMA weights as a model (refreshed by EMAModel)
	sched   *loco.Schedule
	backend backends.Backend
	exec    *context.Exec
	step    int64 // steps done
	batches *prefetcher
}

// NewTrainer initialises the model for opts.Config from opts.Seed (InitialWeights) and prepares training on
// data, on the shared backend (mlx.Backend, from $GOMLX_BACKEND).
func NewTrainer(opts Options, data *Dataset) (*Trainer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg := opts.Config
	if data == nil || data.Len() == 0 {
		return nil, fmt.Errorf("training needs images: the data set is empty")
	}
	if data.C != cfg.InChannels || data.H != cfg.SampleSize || data.W != cfg.SampleSize {
		return nil, fmt.Errorf("training images are %d×%d×%d but the model takes %d×%d×%d", data.C, data.H, data.W, cfg.InChannels, cfg.SampleSize, cfg.SampleSize)
	}
	if cfg.OutChannels != cfg.InChannels {
		return nil, fmt.Errorf("config has in_channels %d and out_channels %d: ε-prediction needs them equal", cfg.InChannels, cfg.OutChannels)
	}
	sc := opts.Scheduler
	sched, err := loco.NewSchedule(loco.BetaSchedule(sc.BetaSchedule), sc.BetaStart, sc.BetaEnd, sc.NumTrainTimesteps)
	if err != nil {
		return nil, err
	}
	backend, err := mlx.Backend()
	if err != nil {
		return nil, err
	}
	init, err := InitialWeights(cfg, opts.Seed)
	if err != nil {
		return nil, err
	}
	model, err := diffusers.NewUNet2D(cfg, stateDict(init))
	if err != nil {
		return nil, err
	}
	ema, err := diffusers.NewUNet2D(cfg, stateDict(init))
	if err != nil {
		return nil, err
	}
	tr := &Trainer{opts: opts, data: data, model: model, ema: ema, sched: sched, backend: backend}
	err = mlx.Call(func() {
		ctx := model.Context()
		for _, v := range tr.weights() {
			value, err := v.Value()
			if err != nil {
				panic(err)
			}
			clone, err := value.LocalClone()
			if err != nil {
				panic(err)
			}
			ctx.InAbsPath(emaScope+v.Scope()).VariableWithValue(v.Name(), clone).SetTrainable(false)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("setting up the EMA weights: %w", err)
	}
	return tr, nil
}

// Options returns the run's hyperparameters.
func (tr *Trainer) Options() Options { return tr.opts }

// StepsDone is the number of optimisation steps taken (including those of a loaded checkpoint).
func (tr *Trainer) StepsDone() int64 { return tr.step }

// Model is the model holding the current (non-averaged) training weights.
func (tr *Trainer) Model() *diffusers.UNet2DModel { return tr.model }

// weights lists the model's trainable variables in the context's (deterministic) order.
func (tr *Trainer) weights() []*context.Variable {
	var out []*context.Variable
	for v := range tr.model.Context().IterVariables() {
		if v.Trainable {
			out = append(out, v)
		}
	}
	return out
}

// emaVariable is the EMA copy of weight v.
func (tr *Trainer) emaVariable(v *context.Variable) *context.Variable {
	return tr.model.Context().GetVariableByScopeAndName(emaScope+v.Scope(), v.Name())
}

// EMAModel returns the model with the EMA weights (the one to export and sample from), brought up to date.
func (tr *Trainer) EMAModel() (*diffusers.UNet2DModel, error) {
	err := mlx.Call(func() {
		dst := tr.ema.Context()
		for _, v := range tr.weights() {
			value, err := tr.emaVariable(v).Value()
			if err != nil {
				panic(err)
			}
			clone, err := value.LocalClone()
			if err != nil {
				panic(err)
			}
			if err := dst.GetVariableByScopeAndName(v.Scope(), v.Name()).SetValue(clone); err != nil {
				panic(err)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("reading the EMA weights: %w", err)
	}
	return tr.ema, nil
}

// batch is everything step s needs from the host.
type batch struct {
	step           int64
	x0, noise      []float32 // B·C·H·W
	t, sqrtAB, s1a []float32 // per sample: timestep, √ᾱ_t, √(1−ᾱ_t)
}

// makeBatch draws batch s: the data order comes from smp (consulted in step order), everything else from a
// generator seeded by (seed, s).
func (tr *Trainer) makeBatch(s int64, smp *sampler) *batch {
	b, d := tr.opts.Batch, tr.data.Dim()
	rng := rand.New(rand.NewPCG(tr.opts.Seed, 0x57e9<<40|uint64(s)))
	out := &batch{step: s, x0: make([]float32, b*d), noise: make([]float32, b*d),
		t: make([]float32, b), sqrtAB: make([]float32, b), s1a: make([]float32, b)}
	n := tr.sched.NumTrainSteps()
	for i := range b {
		ti := rng.IntN(n)
		ab := tr.sched.AlphaBar32(float32(ti))
		out.t[i] = float32(ti)
		out.sqrtAB[i] = float32(math.Sqrt(float64(ab)))
		out.s1a[i] = float32(math.Sqrt(float64(1 - ab)))
		img := tr.data.Image(smp.index(s*int64(b) + int64(i)))
		dst := out.x0[i*d : (i+1)*d]
		if tr.opts.Flip && rng.IntN(2) == 1 {
			flipInto(dst, img, tr.data.W)
		} else {
			copy(dst, img)
		}
	}
	for i := range out.noise {
		out.noise[i] = float32(rng.NormFloat64())
	}
	return out
}

// flipInto writes src mirrored left–right (rows of width w) into dst.
func flipInto(dst, src []float32, w int) {
	for r := 0; r < len(src); r += w {
		for x := range w {
			dst[r+x] = src[r+w-1-x]
		}
	}
}

// prefetcher makes the batches of consecutive steps in the background, one step ahead of training.
type prefetcher struct {
	next chan *batch
	stop chan struct{}
}

func (tr *Trainer) startBatches(from int64) *prefetcher {
	p := &prefetcher{next: make(chan *batch, 2), stop: make(chan struct{})}
	smp := newSampler(tr.data.Len(), tr.opts.Seed)
	go func() {
		for s := from; ; s++ {
			b := tr.makeBatch(s, smp)
			select {
			case p.next <- b:
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// Close stops the background batch maker.
func (tr *Trainer) Close() {
	if tr.batches != nil {
		close(tr.batches.stop)
		tr.batches = nil
	}
}

// StepResult is what one optimisation step reports.
type StepResult struct {
	Step     int64   // 1-based number of the step just taken
	Loss     float64 // mean squared ε error of the batch (before the update)
	GradNorm float64 // global L2 norm of the gradient before clipping
	LR       float64 // learning rate used
	EMADecay float64 // EMA decay used
}

// Step takes one optimisation step.
func (tr *Trainer) Step() (StepResult, error) {
	if tr.batches == nil {
		tr.batches = tr.startBatches(tr.step)
	}
	if tr.exec == nil {
		if err := tr.compile(); err != nil {
			return StepResult{}, err
		}
	}
	b := <-tr.batches.next
	if b.step != tr.step {
		return StepResult{}, fmt.Errorf("internal error: batch of step %d at step %d", b.step, tr.step)
	}
	res := StepResult{Step: tr.step + 1, LR: tr.opts.LearningRate(tr.step), EMADecay: tr.opts.EMADecay(tr.step + 1)}
	c, hw := tr.opts.Config.InChannels, tr.opts.Config.SampleSize
	n := tr.opts.Batch
	args := []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(b.x0, n, c, hw, hw),
		tensors.FromFlatDataAndDimensions(b.noise, n, c, hw, hw),
		tensors.FromFlatDataAndDimensions(b.t, n),
		tensors.FromFlatDataAndDimensions(b.sqrtAB, n),
		tensors.FromFlatDataAndDimensions(b.s1a, n),
		tensors.FromScalar(float32(res.LR)),
		tensors.FromScalar(float32(res.EMADecay)),
	}
	var outs []*tensors.Tensor
	err := mlx.Call(func() {
		in := make([]any, len(args))
		for i, a := range args {
			in[i] = a
		}
		var err error
		if outs, err = tr.exec.Exec(in...); err != nil {
			panic(err)
		}
		res.Loss = float64(tensors.ToScalar[float32](outs[0]))
		res.GradNorm = float64(tensors.ToScalar[float32](outs[1]))
	})
	for _, t := range append(args, outs...) {
		t.FinalizeAll()
	}
	if err != nil {
		return res, fmt.Errorf("training step %d: %w", res.Step, err)
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) || math.IsNaN(res.GradNorm) {
		return res, fmt.Errorf("training step %d: the loss is %g (gradient norm %g): training diverged; lower --lr or keep --grad-clip on", res.Step, res.Loss, res.GradNorm)
	}
	tr.step++
	return res, nil
}

// gradientOptimizer is an optimizer that applies given gradients (GoMLX's Adam does), so the gradient can be
// clipped first.
type gradientOptimizer interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
}

// compile builds the step graph's executor (compiled on the first call).
func (tr *Trainer) compile() error {
	o := tr.opts
	opt, ok := optimizers.Adam().Betas(o.Beta1, o.Beta2).Epsilon(o.Epsilon).WeightDecay(o.WeightDecay).LearningRate(o.LR).Done().(gradientOptimizer)
	if !ok {
		return fmt.Errorf("GoMLX's Adam optimizer does not take precomputed gradients")
	}
	weights := tr.weights()
	err := mlx.Call(func() {
		var err error
		tr.exec, err = context.NewExec(tr.backend, tr.model.Context(), func(ctx *context.Context, in []*Node) []*Node {
			return tr.stepGraph(ctx, opt, weights, in)
		})
		if err != nil {
			panic(err)
		}
	})
	if err != nil {
		return fmt.Errorf("building the training step: %w", err)
	}
	return nil
}

// stepGraph is one training step: in = x0, noise, t, √ᾱ, √(1−ᾱ), learning rate, EMA decay. It returns the loss
// and the gradient norm; the variables (weights, AdamW state, EMA) are updated in place.
func (tr *Trainer) stepGraph(ctx *context.Context, opt gradientOptimizer, weights []*context.Variable, in []*Node) []*Node {
	x0, noise, t, sa, s1a, lr, decay := in[0], in[1], in[2], in[3], in[4], in[5], in[6]
	dims := x0.Shape().Dimensions
	perSample := func(v *Node) *Node { return BroadcastToDims(Reshape(v, dims[0], 1, 1, 1), dims...) }
	xt := Add(Mul(perSample(sa), x0), Mul(perSample(s1a), noise))
	eps := tr.model.Forward(ctx, xt, t)
	loss := ReduceAllMean(Square(Sub(eps, noise)))

	grads := ctx.BuildTrainableVariablesGradientsGraph(loss)
	if len(grads) != len(weights) {
		panic(fmt.Errorf("%d gradients for %d weights", len(grads), len(weights)))
	}
	var sq *Node
	for _, g := range grads {
		s := ReduceAllSum(Square(g))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	norm := Sqrt(sq)
	if tr.opts.GradClip > 0 {
		// torch.nn.utils.clip_grad_norm_: scale by min(1, max_norm/(norm + 1e-6)).
		coef := MinScalar(Div(Scalar(loss.Graph(), dtypes.Float32, tr.opts.GradClip), AddScalar(norm, 1e-6)), 1.0)
		for i := range grads {
			grads[i] = Mul(grads[i], coef)
		}
	}
	optimizers.LearningRateVar(ctx, dtypes.Float32, tr.opts.LR).SetValueGraph(lr)
	opt.UpdateGraphWithGradients(ctx, grads, dtypes.Float32)

	// EMAModel.step: s ← s − (1 − decay)·(s − w), with w the updated weight.
	oneMinus := OneMinus(decay)
	for _, v := range weights {
		e := tr.emaVariable(v)
		ev := e.ValueGraph(loss.Graph())
		e.SetValueGraph(Sub(ev, Mul(oneMinus, Sub(ev, v.ValueGraph(loss.Graph())))))
	}
	return []*Node{loss, norm}
}

// variableName is the checkpoint name of a context variable ("/down_blocks/0/resnets/0/conv1/weight").
func variableName(v *context.Variable) string {
	return strings.TrimSuffix(v.Scope(), "/") + "/" + v.Name()
}
