package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

func init() {
	register("edit", "image + mask → edit strip PNG and tensors (inversion, direction, editing end to end)", runEdit)
	register("apply", "apply saved directions (composed with signed strengths) to another image or timestep", runApply)
}

// imageFlags select the input image and the mask.
type imageFlags struct {
	image, tensor               string
	mask, rect, ellipse, region string
	labels, classes             string
	convert, crop               bool
}

func (f *imageFlags) register(fs *flag.FlagSet, withMask bool) {
	fs.StringVar(&f.image, "image", "", "input image (PNG or JPEG), resized to the model")
	fs.StringVar(&f.tensor, "x0", "", "input image as safetensors (tensor x0 [1,C,H,W] in [-1,1]) instead of --image")
	fs.BoolVar(&f.convert, "convert", true, "convert colour images to greyscale for 1-channel models")
	fs.BoolVar(&f.crop, "crop", true, "centre-crop images of another aspect ratio")
	if !withMask {
		return
	}
	fs.StringVar(&f.mask, "mask", "", "mask image: any nonzero pixel is inside (nearest-neighbour resize)")
	fs.StringVar(&f.rect, "mask-rect", "", "rectangular mask y0,x0,y1,x1 in model pixels (end exclusive)")
	fs.StringVar(&f.ellipse, "mask-ellipse", "", "elliptic mask cy,cx,ry,rx in model pixels")
	fs.StringVar(&f.region, "mask-region", "", "mask shortcut: upper, lower, left, right (half of the image), centre, ellipse or full")
	fs.StringVar(&f.labels, "mask-labels", "", "CelebAMask-HQ style label map (class index per pixel), with --classes")
	fs.StringVar(&f.classes, "classes", "", "comma-separated classes of --mask-labels (e.g. l_eye,r_eye)")
}

// load returns the image as one sample of the pipeline's shape.
func (f *imageFlags) load(p *loco.Pipeline) ([]float32, error) {
	s := p.SampleShape()
	switch {
	case f.image != "" && f.tensor != "":
		return nil, errors.New("give --image or --x0, not both")
	case f.image != "":
		var opts []imageio.DecodeOption
		if f.convert {
			opts = append(opts, imageio.Convert)
		}
		if f.crop {
			opts = append(opts, imageio.CenterCrop)
		}
		img, err := imageio.LoadImage(f.image, s[0], s[1], s[2], opts...)
		if err != nil {
			return nil, err
		}
		return img.Pix, nil
	case f.tensor != "":
		in, err := openInputs(f.tensor)
		if err != nil {
			return nil, err
		}
		x, b, err := in.images("x0", p)
		if err != nil {
			return nil, err
		}
		if b != 1 {
			return nil, fmt.Errorf("%s holds %d images: give one", f.tensor, b)
		}
		return x, nil
	}
	return nil, errors.New("give an input image with --image (PNG/JPEG) or --x0 (safetensors)")
}

func parseFloats(s string, n int, what string) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("%s %q: want %d comma-separated numbers", what, s, n)
	}
	out := make([]float64, n)
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, s, err)
		}
		out[i] = v
	}
	return out, nil
}

// loadMask returns the mask (1 inside) as C·H·W values.
func (f *imageFlags) loadMask(p *loco.Pipeline) ([]float32, error) {
	s := p.SampleShape()
	c, h, w := s[0], s[1], s[2]
	var m *imageio.Mask
	var err error
	given := 0
	for _, v := range []string{f.mask, f.rect, f.ellipse, f.region, f.labels} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return nil, errors.New("give exactly one mask: --mask, --mask-rect, --mask-ellipse, --mask-region or --mask-labels")
	}
	switch {
	case f.mask != "":
		m, err = imageio.MaskFromPNG(f.mask, h, w)
	case f.rect != "":
		var v []float64
		if v, err = parseFloats(f.rect, 4, "--mask-rect"); err == nil {
			m, err = imageio.MaskRect(1, h, w, int(v[0]), int(v[1]), int(v[2]), int(v[3]))
		}
	case f.ellipse != "":
		var v []float64
		if v, err = parseFloats(f.ellipse, 4, "--mask-ellipse"); err == nil {
			m, err = imageio.MaskEllipse(1, h, w, v[0], v[1], v[2], v[3])
		}
	case f.region != "":
		if m, err = imageio.MaskRegion(f.region, h, w); err != nil {
			err = fmt.Errorf("--mask-region: %w", err)
		}
	case f.labels != "":
		if f.classes == "" {
			return nil, fmt.Errorf("--mask-labels needs --classes (one or more of %s)", strings.Join(imageio.CelebAMaskHQClasses, ", "))
		}
		var lm *imageio.LabelMap
		if lm, err = imageio.ReadLabelMap(f.labels); err == nil {
			m, err = imageio.MaskFromLabelMap(lm, h, w, strings.Split(f.classes, ",")...)
		}
	}
	if err != nil {
		return nil, err
	}
	if m.C == 1 && c > 1 {
		if m, err = m.Expand(c); err != nil {
			return nil, err
		}
	}
	if err := m.Validate(c, h, w); err != nil {
		return nil, err
	}
	if m.Count() == 0 {
		return nil, imageio.ErrEmptyMask
	}
	return m.Float32(), nil
}

// jobFlags are the settings of an edit job (loco.EditJob), with loco.DefaultEditJob's defaults.
type jobFlags struct {
	dir      *directionFlags // nil for commands that do not compute a direction
	editT    float64
	strip    loco.Strip
	boost    bool
	steps    int
	seed     uint64
	allPairs bool
}

// register adds the job's flags to fs; withDirection adds the direction flags too (commands that compute one).
func (j *jobFlags) register(fs *flag.FlagSet, withDirection bool) {
	def := loco.DefaultEditJob()
	if withDirection {
		j.dir = &directionFlags{}
		j.dir.register(fs)
	}
	fs.Float64Var(&j.editT, "edit-t", def.EditT, fmt.Sprintf("edit time as a fraction of 1000 (grid index argmin|t−1000·edit_t|); 0: the model's own (0.5 for fashion-molrg-32, else the authors' %g)", loco.DefaultEditT))
	fs.Float64Var(&j.strip.Scale, "scale", loco.DefaultStrip.Scale, "strength step (the authors' x_space_guidance_scale)")
	fs.IntVar(&j.strip.NumSteps, "num-steps", loco.DefaultStrip.NumSteps, "strength steps: λ = j·scale, j ≤ num-steps")
	fs.IntVar(&j.strip.VisNum, "vis-num", loco.DefaultStrip.VisNum, "strengths shown per sign")
	fs.BoolVar(&j.boost, "boost", def.Boost, "decode with the authors' performance boosting (η = 1 below t = 201.8, stochastic, seeded by --edit-seed); default deterministic, so locality measures the edit")
	fs.BoolFunc("no-boost", "deterministic decoding (the same as --boost=false)", func(string) error {
		j.boost = false
		return nil
	})
	fs.IntVar(&j.steps, "steps", def.Steps, "DDIM grid size N")
	fs.Uint64Var(&j.seed, "edit-seed", def.Seed, "seed of the boosted (stochastic) decoding")
	fs.BoolVar(&j.allPairs, "all-pairs", def.AllPairs, "run every DDIM inversion pair (ending at t_max); --all-pairs=false reproduces the authors' loop, which stops one pair early")
}

// job builds the edit job.
func (j *jobFlags) job() (loco.EditJob, error) {
	job := loco.DefaultEditJob()
	if j.dir != nil {
		d, err := j.dir.options()
		if err != nil {
			return job, err
		}
		job.Direction = d
	}
	lambdas, err := j.strip.Lambdas()
	if err != nil {
		return job, err
	}
	job.EditT, job.Lambdas, job.LambdaStep = j.editT, lambdas, j.strip.Scale
	job.Boost, job.Steps, job.Seed, job.AllPairs = j.boost, j.steps, j.seed, j.allPairs
	return job, job.Validate()
}

// prepareOutDir creates dir, refusing to reuse a non-empty one without --force.
func prepareOutDir(dir string, force bool) error {
	if dir == "" {
		return errors.New("--out (an output folder) is required")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating output folder: %w", err)
		}
	case err != nil:
		return fmt.Errorf("output folder %s: %w", dir, err)
	case len(entries) > 0 && !force:
		return fmt.Errorf("output folder %s is not empty: pass --force to overwrite its files, or choose another --out", dir)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// writeStrip writes the strip PNG (the authors' layout, 2-px padding) and its tensors.
func writeStrip(dir string, p *loco.Pipeline, res *loco.EditResult) error {
	s := p.SampleShape()
	n := len(res.Lambdas)
	strip, err := imageio.StripOf(res.X0, n, s, 2)
	if err != nil {
		return err
	}
	if err := imageio.WritePNG(filepath.Join(dir, "strip.png"), strip); err != nil {
		return err
	}
	one := append([]int{1}, s...)
	t := map[string]*safetensors.Tensor{
		"x0_strip":  safetensors.FromFloat32(append([]int{n}, s...), res.X0),
		"xt_strip":  safetensors.FromFloat32(append([]int{n}, s...), res.Xt),
		"lambdas":   safetensors.FromFloat64([]int{n}, res.Lambdas),
		"xT":        safetensors.FromFloat32(one, res.Point.Inverted),
		"xt":        safetensors.FromFloat32(one, res.Point.Xt),
		"direction": safetensors.FromFloat32(one, res.V),
	}
	meta := map[string]string{"model": p.Model.Name(), "t": fmt.Sprint(res.Point.T), "edit_index": strconv.Itoa(res.Point.Index)}
	return safetensors.Write(filepath.Join(dir, "strip.safetensors"), t, meta)
}

// jobCommand holds the flags of the commands that run an edit job on an image (edit, apply, demo).
type jobCommand struct {
	fs    *flag.FlagSet
	c     commonFlags
	jf    jobFlags
	image imageFlags
}

// newJobCommand registers the flags of command name; withDirection adds the direction and mask flags (commands
// that compute a direction), defaultOut is the --out default.
func newJobCommand(name string, withDirection bool, defaultOut string) *jobCommand {
	j := &jobCommand{fs: flag.NewFlagSet(name, flag.ContinueOnError), c: commonFlags{defaultOut: defaultOut}}
	j.c.register(j.fs, false)
	j.jf.register(j.fs, withDirection)
	j.image.register(j.fs, withDirection)
	return j
}

// start parses the flags, builds the job, lets adjust (if set) complete it or refuse the flags, checks it,
// prepares the output folder and loads the model.
func (j *jobCommand) start(args []string, adjust func(*loco.EditJob) error) (*loco.Pipeline, loco.EditJob, error) {
	c := &j.c
	if err := parse(j.fs, args); err != nil {
		return nil, loco.EditJob{}, err
	}
	job, err := j.jf.job()
	if err != nil {
		return nil, job, err
	}
	if adjust != nil {
		if err := adjust(&job); err != nil {
			return nil, job, err
		}
		if err := job.Validate(); err != nil {
			return nil, job, err
		}
	}
	if err := prepareOutDir(c.out, c.force); err != nil {
		return nil, job, err
	}
	p, err := c.pipeline()
	job.Progress = progress(c.quiet)
	return p, job, err
}

func runEdit(args []string) error {
	cmd := newJobCommand("edit", true, "")
	c, imf := &cmd.c, &cmd.image
	pc := cmd.fs.Int("pc", 0, "which direction of the rank-r subspace to edit along")
	p, job, err := cmd.start(args, func(j *loco.EditJob) error {
		j.PC = *pc
		return nil
	})
	if err != nil {
		return err
	}
	x0, err := imf.load(p)
	if err != nil {
		return err
	}
	mask, err := imf.loadMask(p)
	if err != nil {
		return err
	}
	res, err := p.RunEdit(x0, mask, job)
	if err != nil {
		return err
	}
	if err := writeStrip(c.out, p, res); err != nil {
		return err
	}
	if err := res.Saved(p, mask).Save(filepath.Join(c.out, "direction.safetensors")); err != nil {
		return err
	}
	if !c.quiet {
		fmt.Fprintf(os.Stderr, "edit at t = %.2f (index %d), λ = %v, %d subspace iterations, locality %.3f; wrote %s/strip.png, strip.safetensors, direction.safetensors (%s)\n",
			res.Point.T, res.Point.Index, res.Lambdas, res.Direction.Modify.Iterations, res.MeanLocality, c.out, res.Total().Round(1e6))
	}
	return nil
}

func runApply(args []string) error {
	cmd := newJobCommand("apply", false, "")
	c, imf := &cmd.c, &cmd.image
	dirs := cmd.fs.String("direction", "", "saved direction(s): path, or path:λ,path:λ for a signed composition")
	pc := cmd.fs.Int("pc", 0, "which stored direction to use")
	p, job, err := cmd.start(args, func(*loco.EditJob) error {
		if *dirs == "" {
			return errors.New("--direction is required (a direction.safetensors written by loco edit)")
		}
		return nil
	})
	if err != nil {
		return err
	}
	x0, err := imf.load(p)
	if err != nil {
		return err
	}
	var combos []loco.Combination
	for _, spec := range strings.Split(*dirs, ",") {
		path, lam, hasLambda := strings.Cut(spec, ":")
		sd, err := loco.LoadDirection(path)
		if err != nil {
			return err
		}
		if err := sd.CheckFits(p); err != nil {
			return err
		}
		if *pc >= sd.Rows() {
			return fmt.Errorf("%s stores %d directions; --pc %d is out of range", path, sd.Rows(), *pc)
		}
		l := 0.0
		if hasLambda {
			if l, err = strconv.ParseFloat(lam, 64); err != nil {
				return fmt.Errorf("strength in %q: %w", spec, err)
			}
		}
		combos = append(combos, loco.Combination{Direction: sd.Row(*pc), Lambda: l})
	}
	pt, err := p.Prepare(x0, job)
	if err != nil {
		return err
	}
	if len(combos) == 1 && combos[0].Lambda == 0 {
		res, err := p.Render(pt, combos[0].Direction, nil, job) // a strip along one direction
		if err != nil {
			return err
		}
		return writeStrip(c.out, p, res)
	}
	// Composition: [original, +first, +first+second, …].
	images := [][]loco.Combination{nil}
	for i := range combos {
		images = append(images, combos[:i+1])
	}
	res, err := p.Compose(pt, job, images...)
	if err != nil {
		return err
	}
	res.V = combos[0].Direction
	return writeStrip(c.out, p, res)
}
