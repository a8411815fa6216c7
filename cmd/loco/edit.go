package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/outdir"
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
	maxPixels                   int64
	withMask                    bool
}

func (f *imageFlags) register(fs *flag.FlagSet, withMask bool) {
	f.withMask = withMask
	fs.StringVar(&f.image, "image", "", "input image (PNG or JPEG), resized to the model")
	fs.StringVar(&f.tensor, "x0", "", "input image as safetensors (tensor x0 [1,C,H,W] in [-1,1]) instead of --image")
	fs.BoolVar(&f.convert, "convert", true, "convert colour images to greyscale for 1-channel models")
	fs.BoolVar(&f.crop, "crop", true, "centre-crop images of another aspect ratio (masks drawn on the image are cropped the same way)")
	fs.Int64Var(&f.maxPixels, "max-image-pixels", imageio.DefaultMaxPixels, "refuse pictures (images, masks, label maps) declaring more pixels, from their header")
	if !withMask {
		return
	}
	fs.StringVar(&f.mask, "mask", "", "mask image drawn on the image (any nonzero pixel is inside): the image's size or aspect ratio (cropped and resized as the image is), or the model's")
	fs.StringVar(&f.rect, "mask-rect", "", "rectangular mask y0,x0,y1,x1 in model pixels (end exclusive)")
	fs.StringVar(&f.ellipse, "mask-ellipse", "", "elliptic mask cy,cx,ry,rx in model pixels")
	fs.StringVar(&f.region, "mask-region", "", "mask shortcut: upper, lower, left, right (half of the image), centre, ellipse or full")
	fs.StringVar(&f.labels, "mask-labels", "", "CelebAMask-HQ style label map (class index per pixel) drawn on the image, with --classes")
	fs.StringVar(&f.classes, "classes", "", "comma-separated classes of --mask-labels (e.g. l_eye,r_eye)")
}

// masksGiven counts the mask flags set.
func (f *imageFlags) masksGiven() int {
	n := 0
	for _, v := range []string{f.mask, f.rect, f.ellipse, f.region, f.labels} {
		if v != "" {
			n++
		}
	}
	return n
}

// check checks the image and mask flags before any model or file is read, and applies the pixel limit.
func (f *imageFlags) check(needImage bool) error {
	if f.maxPixels < 1 {
		return fmt.Errorf("--max-image-pixels %d: it must be at least 1", f.maxPixels)
	}
	imageio.SetMaxPixels(f.maxPixels)
	switch {
	case f.image != "" && f.tensor != "":
		return errors.New("give --image or --x0, not both")
	case needImage && f.image == "" && f.tensor == "":
		return errors.New("give an input image with --image (PNG/JPEG) or --x0 (safetensors), or (loco edit) --seed to start from noise")
	}
	if !f.withMask {
		return nil
	}
	if f.masksGiven() != 1 {
		return errors.New("give exactly one mask: --mask, --mask-rect, --mask-ellipse, --mask-region or --mask-labels")
	}
	if f.classes != "" && f.labels == "" {
		return errors.New("--classes selects classes of a label map: give the map with --mask-labels")
	}
	var err error
	switch {
	case f.rect != "":
		_, err = parseMaskRect(f.rect)
	case f.ellipse != "":
		_, err = parseMaskEllipse(f.ellipse)
	case f.region != "":
		if _, err = imageio.MaskRegion(f.region, 2, 2); err != nil {
			err = fmt.Errorf("--mask-region: %w", err)
		}
	case f.labels != "":
		if f.classes == "" {
			return fmt.Errorf("--mask-labels needs --classes (one or more of %s)", strings.Join(imageio.CelebAMaskHQClasses, ", "))
		}
		if _, err = imageio.ClassIndices(imageio.CelebAMaskHQClasses, strings.Split(f.classes, ",")...); err != nil {
			err = fmt.Errorf("--classes: %w", err)
		}
	}
	return err
}

// given reports whether an input image was given.
func (f *imageFlags) given() bool { return f.image != "" || f.tensor != "" }

// load returns the image as one image of the pipeline's output shape (the decoded image of a latent model), with
// its framing (how masks drawn on it reach the model's grid).
func (f *imageFlags) load(p *loco.Pipeline) ([]float32, imageio.Framing, error) {
	s := p.OutputShape()
	if f.image != "" {
		var opts []imageio.DecodeOption
		if f.convert {
			opts = append(opts, imageio.Convert)
		}
		if f.crop {
			opts = append(opts, imageio.CenterCrop)
		}
		img, framing, err := imageio.LoadImageFramed(f.image, s[0], s[1], s[2], opts...)
		if err != nil {
			return nil, framing, err
		}
		return img.Pix, framing, nil
	}
	in, err := openInputs(f.tensor)
	if err != nil {
		return nil, imageio.Framing{}, err
	}
	x, b, err := in.outputImages("x0", p)
	if err != nil {
		return nil, imageio.Framing{}, err
	}
	if b != 1 {
		return nil, imageio.Framing{}, fmt.Errorf("%s holds %d images: give one", f.tensor, b)
	}
	return x, imageio.ModelFraming(s[1], s[2]), nil
}

// loadMask returns the mask (1 inside) as C·H·W values: a mask picture or label map goes through the image's
// framing, so that it selects the same content as on the image; rectangles, ellipses and regions are in model
// pixels.
func (f *imageFlags) loadMask(p *loco.Pipeline, framing imageio.Framing) ([]float32, error) {
	s := p.OutputShape()
	c, h, w := s[0], s[1], s[2]
	var m *imageio.Mask
	var err error
	switch {
	case f.mask != "":
		m, err = framing.ReadMask(f.mask, imageio.MaskNearest)
	case f.rect != "":
		var r [4]int
		if r, err = parseMaskRect(f.rect); err == nil {
			if r[0] >= h || r[1] >= w {
				return nil, fmt.Errorf("--mask-rect %s starts outside the model's %d×%d frame (rows 0–%d, columns 0–%d)", f.rect, h, w, h-1, w-1)
			}
			m, err = imageio.MaskRect(1, h, w, r[0], r[1], r[2], r[3])
		}
	case f.ellipse != "":
		var e [4]float64
		if e, err = parseMaskEllipse(f.ellipse); err == nil {
			m, err = imageio.MaskEllipse(1, h, w, e[0], e[1], e[2], e[3])
		}
	case f.region != "":
		if m, err = imageio.MaskRegion(f.region, h, w); err != nil {
			err = fmt.Errorf("--mask-region: %w", err)
		}
	case f.labels != "":
		var lm *imageio.LabelMap
		if lm, err = imageio.ReadLabelMap(f.labels); err == nil {
			m, err = framing.LabelMask(lm, strings.Split(f.classes, ",")...)
		}
	default:
		return nil, errors.New("give exactly one mask: --mask, --mask-rect, --mask-ellipse, --mask-region or --mask-labels")
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
		return nil, fmt.Errorf("%w; the mask given (%s) selects nothing of the %d×%d image the model sees", imageio.ErrEmptyMask, maskName(*f), h, w)
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
	fs.BoolFunc("no-boost", "deterministic decoding, the default (the same as --boost=false)", func(v string) error {
		b, err := strconv.ParseBool(v)
		j.boost = !b
		return err
	})
	fs.IntVar(&j.steps, "steps", def.Steps, "DDIM grid size N")
	fs.Uint64Var(&j.seed, "edit-seed", def.Seed, "seed of the boosted (stochastic) decoding")
	fs.BoolVar(&j.allPairs, "all-pairs", def.AllPairs, "run every DDIM inversion pair (ending at t_max); --all-pairs=false reproduces the authors' loop, which stops one pair early")
}

// job builds the edit job.
func (j *jobFlags) job() (loco.EditJob, error) {
	job := loco.DefaultEditJob()
	var errs []error
	if j.dir != nil {
		d, err := j.dir.options()
		errs = append(errs, err)
		job.Direction = d
	}
	job.EditT, job.Boost, job.Steps, job.Seed, job.AllPairs = j.editT, j.boost, j.steps, j.seed, j.allPairs
	if lambdas, err := j.strip.Lambdas(); err != nil {
		errs = append(errs, err) // the job is checked without strengths: the strip's error names the flags
		job.Lambdas, job.LambdaStep = nil, 0
	} else {
		job.Lambdas, job.LambdaStep = lambdas, j.strip.Scale
	}
	errs = append(errs, job.Validate())
	return job, errors.Join(errs...)
}

// writeStrip writes the strip PNG (the authors' layout, 2-px padding) and its tensors.
func writeStrip(dir string, p *loco.Pipeline, res *loco.EditResult) error {
	s, z := p.OutputShape(), p.SampleShape()
	n := len(res.Lambdas)
	strip, err := imageio.StripOf(res.X0, n, s, 2)
	if err != nil {
		return err
	}
	if err := imageio.WritePNG(filepath.Join(dir, "strip.png"), strip); err != nil {
		return err
	}
	one := append([]int{1}, z...)
	t := map[string]*safetensors.Tensor{
		"x0_strip":  safetensors.FromFloat32(append([]int{n}, s...), res.X0),
		"xt_strip":  safetensors.FromFloat32(append([]int{n}, z...), res.Xt),
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
	fs        *flag.FlagSet
	c         commonFlags
	jf        jobFlags
	image     imageFlags
	needImage bool
	// seedStarts: --seed without an image starts from noise (loco edit), so no image is needed then.
	seedStarts bool
	claim      *outdir.Claim
}

// newJobCommand registers the flags of command name; withDirection adds the direction and mask flags (commands
// that compute a direction), defaultOut is the --out default; needImage requires --image or --x0.
func newJobCommand(name string, withDirection, needImage bool, defaultOut string) *jobCommand {
	j := &jobCommand{fs: flag.NewFlagSet(name, flag.ContinueOnError), c: commonFlags{defaultOut: defaultOut, text: &textFlags{}}, needImage: needImage}
	j.c.register(j.fs, false)
	j.c.text.register(j.fs)
	j.jf.register(j.fs, withDirection)
	j.image.register(j.fs, withDirection)
	return j
}

// start parses the flags, builds the job, lets adjust (if set) complete it or refuse the flags, and checks
// everything that needs no model (the job, the image and mask flags, the limits); then it claims the output
// folder and loads the model. Pair it with finish.
func (j *jobCommand) start(args []string, adjust func(*loco.EditJob) error) (*loco.Pipeline, loco.EditJob, error) {
	c := &j.c
	if err := parse(j.fs, args); err != nil {
		return nil, loco.EditJob{}, err
	}
	if err := c.setLimits(); err != nil {
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
	if err := j.image.check(j.needImage && !(j.seedStarts && flagGiven(j.fs, "seed"))); err != nil {
		return nil, job, err
	}
	if j.claim, err = outdir.New(c.out, c.force); err != nil {
		return nil, job, err
	}
	p, err := c.pipeline()
	job.Progress = progress(c.quiet)
	return p, job, err
}

// finish gives up the output folder: a failed run removes the folder it created if nothing was written there.
func (j *jobCommand) finish(err *error) {
	if j.claim != nil {
		j.claim.Release(*err != nil)
	}
}

func runEdit(args []string) (err error) {
	cmd := newJobCommand("edit", true, true, "")
	cmd.seedStarts = true
	defer cmd.finish(&err)
	c, imf := &cmd.c, &cmd.image
	pc := cmd.fs.Int("pc", 0, "which direction of the rank-r subspace to edit along")
	p, job, err := cmd.start(args, func(j *loco.EditJob) error {
		j.PC = *pc
		j.Direction.Guided = cmd.c.text.editPrompt != ""
		return nil
	})
	if err != nil {
		return err
	}
	fromNoise := !imf.given() // then --seed was given (start checked it)
	var x0 []float32
	framing := imageio.ModelFraming(p.OutputShape()[1], p.OutputShape()[2])
	if !fromNoise {
		if x0, framing, err = imf.load(p); err != nil {
			return err
		}
	}
	mask, err := imf.loadMask(p, framing)
	if err != nil {
		return err
	}
	var res *loco.EditResult
	if fromNoise {
		res, err = p.RunEditFromNoise(job.Direction.Iteration.Seed, mask, job)
	} else {
		res, err = p.RunEdit(x0, mask, job)
	}
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
		if job.Direction.NullRank > 0 && res.Direction.Null == nil {
			fmt.Fprintln(os.Stderr, "the mask covers the whole image: no null-space projection (nothing outside the mask to keep)")
		}
		how := fmt.Sprintf("%d subspace iterations", res.Direction.Modify.Iterations)
		if job.Direction.Guided {
			how = "text-supervised direction"
		}
		fmt.Fprintf(os.Stderr, "edit at t = %.2f (index %d), λ = %v, %s, locality %.3f; wrote %s/strip.png, strip.safetensors, direction.safetensors (%s)\n",
			res.Point.T, res.Point.Index, res.Lambdas, how, res.MeanLocality, c.out, res.Total().Round(1e6))
	}
	return nil
}

func runApply(args []string) (err error) {
	cmd := newJobCommand("apply", false, true, "")
	defer cmd.finish(&err)
	c, imf := &cmd.c, &cmd.image
	dirs := cmd.fs.String("direction", "", "saved direction(s): path, or path:λ,path:λ for a signed composition")
	pc := cmd.fs.Int("pc", 0, "which stored direction to use")
	var specs []directionSpec
	p, job, err := cmd.start(args, func(*loco.EditJob) (err error) {
		if *pc < 0 {
			return fmt.Errorf("--pc %d: it must be 0 (the top direction) or more", *pc)
		}
		specs, err = parseDirections(*dirs)
		return err
	})
	if err != nil {
		return err
	}
	var combos []loco.Combination
	for _, spec := range specs {
		sd, err := loco.LoadDirection(spec.Path)
		if err != nil {
			return err
		}
		if err := sd.CheckFits(p); err != nil {
			return err
		}
		if *pc >= sd.Rows() {
			return fmt.Errorf("%s stores %d directions; --pc %d is out of range", spec.Path, sd.Rows(), *pc)
		}
		combos = append(combos, loco.Combination{Direction: sd.Row(*pc), Lambda: spec.Lambda})
	}
	x0, _, err := imf.load(p)
	if err != nil {
		return err
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

// flagGiven reports whether the flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
