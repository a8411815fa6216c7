package loco

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Settings are checked in two layers, both before any heavy work. Validate methods (EditJob, Strip,
// DirectionOptions, SubspaceOptions, SampleOptions, InvertOptions) check a setting on its own: finite numbers in
// range, counts that make sense together. Pipeline.CheckJob, CheckSamples and CheckTimes check settings and
// inputs against a model: ranks against the dimension and the mask, shapes, timesteps inside the schedule. The
// command line calls the same methods, and renames each OptionError to its flag.

// Bounds of the settings, so that no setting can ask for unbounded time or memory by mistake.
const (
	// MaxSteps bounds the DDIM grid size (the paper uses 100; the models have 1000 training steps).
	MaxSteps = 10_000
	// MaxStripSteps bounds Strip.NumSteps, and so the float32 additions the authors' accumulation of a strength
	// makes (|λ|/LambdaStep).
	MaxStripSteps = 10_000
	// MaxStrengths bounds the strengths decoded at once (one batch: 2·VisNum + 1 images for a Strip).
	MaxStrengths = 65
	// MaxStrength bounds |λ|: directions are unit vectors and x_t has a norm of about √d, so strengths past a few
	// hundred only add noise, and very large ones overflow float32.
	MaxStrength = 1e4
)

// An OptionError is a setting out of range, found by a Validate or Check method before any work. Option is the
// setting as the library spells it — the field path from the value checked, such as "EditT",
// "Direction.Rank" or "Iteration.Tol" — so that a front end can name its own spelling instead (the command
// line renames Option to its flag; see OptionErrors).
type OptionError struct {
	// What names the setting in words ("edit time"), Value is its value.
	What  string
	Value any
	// Option is the field path of the setting.
	Option string
	// Want says what is allowed and, where it helps, what to do.
	Want string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("%s %v (%s): %s", e.What, e.Value, e.Option, e.Want)
}

// OptionErrors returns every OptionError in err's tree (errors wrapped with %w or joined by errors.Join), in
// order.
func OptionErrors(err error) []*OptionError {
	var out []*OptionError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *OptionError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// problems collects OptionErrors under a field-path prefix.
type problems struct {
	prefix string
	errs   *[]error
}

func newProblems() problems { return problems{errs: new([]error)} }

// in returns the collector for the fields of a nested value.
func (p problems) in(field string) problems {
	return problems{prefix: p.prefix + field + ".", errs: p.errs}
}

func (p problems) add(what, option string, value any, want string, args ...any) {
	*p.errs = append(*p.errs, &OptionError{What: what, Value: value, Option: p.prefix + option, Want: fmt.Sprintf(want, args...)})
}

func (p problems) err() error { return errors.Join(*p.errs...) }

// finite reports whether x is neither NaN nor ±Inf.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// gridSteps checks a DDIM grid size (0: DefaultSteps).
func (p problems) gridSteps(option string, n int) {
	if n != 0 && (n < 2 || n > MaxSteps) {
		p.add("grid size", option, n, "it must be between 2 and %d, or 0 for the default %d (the paper's)", MaxSteps, DefaultSteps)
	}
}

// Validate checks the strip's settings (see Strengths): a finite non-zero step, 1 to MaxStripSteps steps,
// 1 to NumSteps strengths shown per sign, and strengths of at most MaxStrength.
func (s Strip) Validate() error {
	p := newProblems()
	s.check(p)
	return p.err()
}

func (s Strip) check(p problems) {
	if !finite(s.Scale) || s.Scale == 0 {
		p.add("strength step", "Scale", s.Scale, "it must be a finite non-zero number (the authors use 0.5–2)")
	}
	if s.NumSteps < 1 || s.NumSteps > MaxStripSteps {
		p.add("strength steps", "NumSteps", s.NumSteps, "it must be between 1 and %d (the strongest edit is NumSteps·Scale; the authors use 16)", MaxStripSteps)
	} else if finite(s.Scale) && math.Abs(s.Scale)*float64(s.NumSteps) > MaxStrength {
		p.add("strongest strength", "NumSteps", s.NumSteps, "NumSteps·Scale = %g is above %g: lower the scale or the steps", math.Abs(s.Scale)*float64(s.NumSteps), MaxStrength)
	}
	if s.VisNum < 1 || s.VisNum > (MaxStrengths-1)/2 || (s.NumSteps >= 1 && s.VisNum > s.NumSteps) {
		p.add("strengths shown per sign", "VisNum", s.VisNum, "it must be between 1 and the number of steps (%d), at most %d (the authors show 2)",
			s.NumSteps, (MaxStrengths-1)/2)
	}
}

// Validate checks the job's settings before any heavy work and names each problem and the fix; the model and
// the mask are checked by Pipeline.CheckJob.
func (j EditJob) Validate() error {
	p := newProblems()
	j.check(p)
	return p.err()
}

func (j EditJob) check(p problems) {
	if !(j.EditT >= 0 && j.EditT <= 1) {
		p.add("edit time", "EditT", j.EditT, "it must lie in (0, 1]: it is a fraction of the 1000 training steps (the authors use 0.5–0.7; 0 picks the model's default)")
	}
	p.gridSteps("Steps", j.Steps)
	j.Direction.check(p.in("Direction"))
	if j.Direction.Rank >= 1 && (j.PC < 0 || j.PC >= j.Direction.Rank) {
		p.add("direction index", "PC", j.PC, "it is outside the edit rank %d: raise the rank or lower the index (0 is the top direction)", j.Direction.Rank)
	}
	if !(j.LambdaStep >= 0) || math.IsInf(j.LambdaStep, 0) {
		p.add("strength step", "LambdaStep", j.LambdaStep, "it must be a finite number ≥ 0 (0 adds λ·v at once)")
	}
	if len(j.Lambdas) > MaxStrengths {
		p.add("number of strengths", "Lambdas", len(j.Lambdas), "at most %d are decoded at once (one batch): split the strip", MaxStrengths)
	}
	for _, l := range j.Lambdas {
		switch {
		case !strength(p, "Lambdas", l):
		case j.LambdaStep > 0 && finite(j.LambdaStep) && math.Abs(l)/j.LambdaStep > MaxStripSteps:
			p.add("strength", "Lambdas", l, "it is %.3g steps of %g (LambdaStep): at most %d; raise LambdaStep, or set it to 0 to add λ·v at once",
				math.Abs(l)/j.LambdaStep, j.LambdaStep, MaxStripSteps)
		}
	}
}

// strength checks a strength λ: finite, |λ| ≤ MaxStrength.
func strength(p problems, option string, l float64) bool {
	switch {
	case !finite(l):
		p.add("strength", option, l, "it is not a finite number")
	case math.Abs(l) > MaxStrength:
		p.add("strength", option, l, "|λ| must be at most %g (directions are unit vectors; the authors use up to 8)", float64(MaxStrength))
	default:
		return true
	}
	return false
}

// Validate checks a combination's strength (finite, |λ| ≤ MaxStrength) and its direction's values (finite).
func (c Combination) Validate() error {
	p := newProblems()
	strength(p, "Lambda", c.Lambda)
	for i, v := range c.Direction {
		if !finite(float64(v)) {
			return fmt.Errorf("direction holds %v at value %d: directions must be finite", v, i)
		}
	}
	return p.err()
}

// Validate checks the direction options on their own; Pipeline.CheckJob checks the ranks against the model and
// the mask.
func (d DirectionOptions) Validate() error {
	p := newProblems()
	d.check(p)
	return p.err()
}

func (d DirectionOptions) check(p problems) {
	if d.Output != OutputX0 && d.Output != OutputEps {
		p.add("output", "Output", int(d.Output), "use OutputX0 or OutputEps")
	}
	if d.Rank < 1 {
		p.add("edit rank", "Rank", d.Rank, "it must be at least 1 (the paper uses 1–5)")
	}
	if d.NullRank < 0 {
		p.add("null-space rank", "NullRank", d.NullRank, "it must be 0 (no projection) or more (the paper uses 5)")
	}
	if d.Guided && (d.Rank != 1 || d.Output != OutputX0) {
		p.add("text-supervised direction", "Guided", d.Guided, "a text-supervised direction has rank 1 and uses the PMP x̂0 (got rank %d, output %s): drop the rank or the edit prompt", d.Rank, d.Output)
	}
	d.Iteration.check(p.in("Iteration"), false)
}

// Validate checks the subspace iteration settings on their own (the rank is checked against the dimension when
// the iteration starts).
func (o SubspaceOptions) Validate() error {
	p := newProblems()
	o.check(p, true)
	return p.err()
}

func (o SubspaceOptions) check(p problems, withRank bool) {
	if withRank && o.Rank < 1 {
		p.add("subspace rank", "Rank", o.Rank, "it must be at least 1")
	}
	if o.Method != MethodKrylov && o.Method != MethodPower {
		p.add("subspace method", "Method", int(o.Method), "use MethodKrylov or MethodPower")
	}
	if o.Stop != StopSubspace && o.Stop != StopFaithful {
		p.add("stop rule", "Stop", int(o.Stop), "use StopSubspace or StopFaithful")
	}
	if o.MaxIter < 0 {
		p.add("maximum iterations", "MaxIter", o.MaxIter, "it must be ≥ 0 (0: the method's default; the authors use 50)")
	}
	if o.MinIter < 0 {
		p.add("minimum iterations", "MinIter", o.MinIter, "it must be ≥ 0 (0: the stop rule's default)")
	} else if o.MaxIter > 0 && o.MinIter > o.MaxIter {
		p.add("minimum iterations", "MinIter", o.MinIter, "it is above the maximum %d: lower it or raise the maximum", o.MaxIter)
	}
	if !(o.Tol >= 0) || math.IsInf(o.Tol, 0) {
		p.add("tolerance", "Tol", o.Tol, "it must be a finite number ≥ 0 (0: the stop rule's default)")
	}
	if o.BlockSize < 0 {
		p.add("block size", "BlockSize", o.BlockSize, "it must be ≥ 0 (0: the default)")
	}
	if o.MaxBasis < 0 {
		p.add("basis cap", "MaxBasis", o.MaxBasis, "it must be ≥ 0 (0: the default)")
	}
}

// Validate checks the sampling settings: the grid size and a DDIM η in [0, 1].
func (o SampleOptions) Validate() error {
	p := newProblems()
	p.gridSteps("Steps", o.Steps)
	if !(o.Eta >= 0 && o.Eta <= 1) {
		p.add("DDIM η", "Eta", o.Eta, "it must lie in [0, 1] (0: deterministic DDIM, 1: DDPM-like)")
	}
	return p.err()
}

// Range checks the grid indices [from, to) of a Sample call against the grid size (to < 0: to the end) and
// returns to resolved. It needs no model: the LOCO-Edit grid has Steps − 1 steps whatever the schedule (a model
// with a grid of its own, GridProvider, is checked by Pipeline.Sample).
func (o SampleOptions) Range(from, to int) (int, error) {
	steps := o.Steps
	if steps == 0 {
		steps = DefaultSteps
	}
	return stepRange(from, to, steps-1, fmt.Sprintf("%d points", steps))
}

// stepRange checks the indices [from, to) against a grid (described by size) of n steps (to < 0: to the end) and
// returns to resolved.
func stepRange(from, to, n int, size string) (int, error) {
	if to < 0 {
		to = n
	}
	if from < 0 || from > to || to > n {
		return 0, fmt.Errorf("sampling indices [%d, %d) are outside the grid: a grid of %s has steps 0 to %d; "+
			"give 0 ≤ from ≤ to ≤ %d (from 0 starts at x_T)", from, to, size, n-1, n)
	}
	return to, nil
}

// Validate checks the inversion settings: the grid size.
func (o InvertOptions) Validate() error {
	p := newProblems()
	p.gridSteps("Steps", o.Steps)
	return p.err()
}

// CheckJob checks a job against the model and, when mask is not nil, the mask a direction is computed for: the
// job's settings (EditJob.Validate), the mask's size and values, the ranks against the masked values and the
// dimension, and the start bases' sizes. RunEdit and EditPoint call it first; callers that load inputs
// themselves can call it before any heavy work. A mask that covers everything has no complement: the
// null-space projection is then skipped (see EditDirection).
func (p *Pipeline) CheckJob(job EditJob, mask []float32) error {
	if err := p.check(mask, job); err != nil || mask == nil {
		return err
	}
	d := job.Direction
	q := newProblems().in("Direction")
	inside := 0
	for i, m := range mask {
		if !finite(float64(m)) {
			return fmt.Errorf("mask value %d is %v: a mask holds 1 inside and 0 outside", i, m)
		}
		if m != 0 {
			inside++
		}
	}
	if job.NoMask {
		inside = len(mask)
	}
	if inside == 0 {
		return ErrEmptyMask
	}
	outside := len(mask) - inside
	if d.Rank > inside || d.Rank > p.dim {
		q.add("edit rank", "Rank", d.Rank, "it is larger than the %d masked values (dimension %d): lower the rank or enlarge the mask", inside, p.dim)
	}
	if !job.NoMask && outside > 0 && (d.NullRank > outside || d.NullRank > p.dim) {
		q.add("null-space rank", "NullRank", d.NullRank, "it is larger than the %d values outside the mask (dimension %d): lower it, or 0 for no projection", outside, p.dim)
	}
	if d.InitModify != nil && len(d.InitModify) != d.Rank*p.dim {
		q.add("start basis size", "InitModify", len(d.InitModify), "want rank %d × dimension %d values", d.Rank, p.dim)
	}
	if d.InitNull != nil && len(d.InitNull) != d.NullRank*p.dim {
		q.add("start basis size", "InitNull", len(d.InitNull), "want null-space rank %d × dimension %d values", d.NullRank, p.dim)
	}
	return q.err()
}

// CheckSamples checks a tensor of samples given by its shape and values before it reaches the model: [B,C,H,W]
// with the model's sample shape and B ≥ 1, or [C,H,W] (one sample), every value finite. It returns B.
func (p *Pipeline) CheckSamples(name string, shape []int, data []float32) (int, error) {
	return p.checkBatch(name, shape, data, p.shape)
}

// CheckImages is CheckSamples for images of the output's shape (OutputShape: a latent model's decoded images).
func (p *Pipeline) CheckImages(name string, shape []int, data []float32) (int, error) {
	return p.checkBatch(name, shape, data, p.out)
}

func (p *Pipeline) checkBatch(name string, shape []int, data []float32, want []int) (int, error) {
	b, d := 0, want[0]*want[1]*want[2]
	switch {
	case len(shape) == 4 && slices.Equal(shape[1:], want):
		b = shape[0]
	case len(shape) == 3 && slices.Equal(shape, want):
		b = 1
	default:
		return 0, fmt.Errorf("%s has shape %v, the model %s wants [B,%d,%d,%d] (NCHW), or [%[4]d,%[5]d,%[6]d] for one sample", name, shape, p.Model.Name(), want[0], want[1], want[2])
	}
	if b < 1 {
		return 0, fmt.Errorf("%s has shape %v: a batch of %d samples; give at least one", name, shape, b)
	}
	if len(data) != b*d {
		return 0, fmt.Errorf("%s has %d values for shape %v", name, len(data), shape)
	}
	for i, v := range data {
		if !finite(float64(v)) {
			return 0, fmt.Errorf("%s holds %v at value %d of sample %d: inputs must be finite numbers", name, v, i%d, i/d)
		}
	}
	return b, nil
}

// CheckTimes checks timesteps before they reach the model: each finite and inside the model's schedule [0, T)
// (T = the number of training steps, 1000 for the paper's models; t counts them, 0 is the clean image).
func (p *Pipeline) CheckTimes(ts []float32) error {
	n := p.Model.Schedule().NumTrainSteps()
	for i, t := range ts {
		if !(t >= 0 && float64(t) < float64(n)) {
			return fmt.Errorf("timestep t[%d] = %g is outside the model's schedule [0, %d): t counts training steps (0 is the clean image, %d pure noise)",
				i, t, n, n-1)
		}
	}
	return nil
}
