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

// editFlags are the strip settings.
type editFlags struct {
	editT    float64
	scale    float64
	numSteps int
	visNum   int
	noBoost  bool
	steps    int
	seed     uint64
	allPairs bool
}

func (e *editFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&e.editT, "edit-t", 0.6, "edit time as a fraction of 1000 (grid index argmin|t−1000·edit_t|)")
	fs.Float64Var(&e.scale, "scale", 0.5, "strength step (the authors' x_space_guidance_scale)")
	fs.IntVar(&e.numSteps, "num-steps", 16, "strength steps: λ = j·scale, j ≤ num-steps")
	fs.IntVar(&e.visNum, "vis-num", 2, "strengths shown per sign")
	fs.BoolVar(&e.noBoost, "no-boost", false, "deterministic decoding (no η = 1 steps below t = 201.8)")
	fs.IntVar(&e.steps, "steps", 100, "DDIM grid size N")
	fs.Uint64Var(&e.seed, "edit-seed", 0, "seed of the boosted (stochastic) decoding")
	fs.BoolVar(&e.allPairs, "all-pairs", false, "corrected inversion (all pairs); default: the authors' loop")
}

func (e *editFlags) options() loco.EditOptions {
	return loco.EditOptions{Scale: e.scale, NumSteps: e.numSteps, VisNum: e.visNum, Boost: !e.noBoost, Steps: e.steps, Seed: e.seed}
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
func writeStrip(dir string, p *loco.Pipeline, rep *loco.EditReport) error {
	s := p.SampleShape()
	var imgs []*imageio.Image
	for i := range rep.Strip.Lambdas {
		img, err := imageio.FromCHW(rep.Strip.Image(i), s[0], s[1], s[2])
		if err != nil {
			return err
		}
		imgs = append(imgs, img)
	}
	strip, err := imageio.Strip(imgs, 2)
	if err != nil {
		return err
	}
	if err := imageio.WritePNG(filepath.Join(dir, "strip.png"), strip); err != nil {
		return err
	}
	n := len(rep.Strip.Lambdas)
	shape := []int{n, s[0], s[1], s[2]}
	t := map[string]*safetensors.Tensor{
		"x0_strip":  safetensors.FromFloat32(shape, rep.Strip.X0),
		"xt_strip":  safetensors.FromFloat32(shape, rep.Strip.Xt),
		"lambdas":   safetensors.FromFloat64([]int{n}, rep.Strip.Lambdas),
		"xT":        safetensors.FromFloat32(append([]int{1}, s...), rep.XT),
		"xt":        safetensors.FromFloat32(append([]int{1}, s...), rep.Xt),
		"direction": safetensors.FromFloat32(append([]int{1}, s...), rep.V),
	}
	meta := map[string]string{"model": p.Model.Name(), "t": fmt.Sprint(rep.T), "edit_index": strconv.Itoa(rep.Index)}
	return safetensors.Write(filepath.Join(dir, "strip.safetensors"), t, meta)
}

func runEdit(args []string) error {
	var c commonFlags
	var df directionFlags
	var imf imageFlags
	var ef editFlags
	fs := flag.NewFlagSet("edit", flag.ContinueOnError)
	c.register(fs, false)
	df.register(fs)
	imf.register(fs, true)
	ef.register(fs)
	pc := fs.Int("pc", 0, "which direction of the rank-r subspace to edit along")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts, err := df.options()
	if err != nil {
		return err
	}
	if err := prepareOutDir(c.out, c.force); err != nil {
		return err
	}
	p, err := c.pipeline()
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
	rep, err := p.RunEdit(loco.EditJob{Image: x0, Mask: mask, EditT: ef.editT, Direction: opts, PC: *pc,
		Invert: loco.InvertOptions{AllPairs: ef.allPairs}, Edit: ef.options(), Progress: progress(c.quiet)})
	if err != nil {
		return err
	}
	if err := writeStrip(c.out, p, rep); err != nil {
		return err
	}
	saved := loco.NewSavedDirection(p, rep.Direction, rep.Index, mask, opts.Output, ef.scale)
	if err := saved.Save(filepath.Join(c.out, "direction.safetensors")); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "edit at t = %.2f (index %d), λ = %v, %d subspace iterations; wrote %s/strip.png, strip.safetensors, direction.safetensors (%s)\n",
		rep.T, rep.Index, rep.Strip.Lambdas, rep.Direction.Modify.Iterations, c.out, rep.Total().Round(1e6))
	return nil
}

func runApply(args []string) error {
	var c commonFlags
	var imf imageFlags
	var ef editFlags
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	c.register(fs, false)
	imf.register(fs, false)
	ef.register(fs)
	dirs := fs.String("direction", "", "saved direction(s): path, or path:λ,path:λ for a signed composition")
	pc := fs.Int("pc", 0, "which stored direction to use")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dirs == "" {
		return errors.New("--direction is required (a direction.safetensors written by loco edit)")
	}
	if err := prepareOutDir(c.out, c.force); err != nil {
		return err
	}
	p, err := c.pipeline()
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
	job := loco.EditJob{Image: x0, EditT: ef.editT, Invert: loco.InvertOptions{AllPairs: ef.allPairs}, Edit: ef.options(), Progress: progress(c.quiet)}
	if len(combos) == 1 && combos[0].Lambda == 0 {
		job.Saved = combos[0].Direction // a strip along one direction
		rep, err := p.RunEdit(job)
		if err != nil {
			return err
		}
		return writeStrip(c.out, p, rep)
	}
	// Composition: [original, +first, +first+second, …].
	job.Saved = combos[0].Direction
	job.Edit.NumSteps, job.Edit.VisNum = 1, 1
	rep, err := p.RunEdit(job)
	if err != nil {
		return err
	}
	images := [][]loco.Combination{nil}
	for i := range combos {
		images = append(images, combos[:i+1])
	}
	res, err := p.EditWith(rep.Xt, rep.Index, job.Edit, images...)
	if err != nil {
		return err
	}
	rep.Strip = res
	return writeStrip(c.out, p, rep)
}
