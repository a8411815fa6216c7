package main

import (
	"bytes"
	"embed"
	"fmt"
	"image/png"
	"os"
	"strconv"
	"time"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/demo"
	"github.com/locoedit/locoedit/loco/imageio"
)

//go:embed testimages/*.png
var testImages embed.FS

func init() {
	register("demo", "the main job: edit a test image, compare with/without projection, rank and linearity plots, report", runDemo)
}

func runDemo(args []string) (err error) {
	cmd := newJobCommand("demo", true, false, "loco-demo")
	defer cmd.finish(&err)
	c, imf := &cmd.c, &cmd.image
	class := cmd.fs.Int("class", 0, "embedded Fashion-MNIST test image to edit (class 0–9), when no --image is given")
	seeds := cmd.fs.Int("seeds", 2, "random trajectories for the rank-vs-t analysis")
	quick := cmd.fs.Bool("quick", false, "smaller analyses (for tests)")
	start := time.Now()
	var cfg demo.Config
	p, job, err := cmd.start(args, func(job *loco.EditJob) error {
		if imf.masksGiven() == 0 {
			imf.region = "upper"
		}
		if imf.image == "" && imf.tensor == "" && (*class < 0 || *class > 9) {
			return fmt.Errorf("--class %d: the embedded test images are of classes 0–9 (or give --image)", *class)
		}
		cfg = demo.Config{Job: *job, Seeds: *seeds, Quick: *quick, Out: c.out}
		return cfg.Validate()
	})
	if err != nil {
		return err
	}
	cfg.Job, cfg.Progress = job, progress(c.quiet)
	framing := imageio.ModelFraming(p.OutputShape()[1], p.OutputShape()[2])
	if imf.image != "" || imf.tensor != "" {
		if cfg.Image, framing, err = imf.load(p); err != nil {
			return err
		}
		cfg.ImageName = imf.image + imf.tensor
	} else {
		if cfg.Image, err = embeddedImage(*class, p); err != nil {
			return err
		}
		cfg.ImageName = fmt.Sprintf("Fashion-MNIST test image of class %d (embedded)", *class)
	}
	if cfg.Mask, err = imf.loadMask(p, framing); err != nil {
		return err
	}
	cfg.MaskName = maskName(*imf)
	res, err := demo.Run(p, cfg)
	if err != nil {
		return err
	}
	if !c.quiet {
		fmt.Fprintf(os.Stderr, "\nlocality %.3f with null-space projection, %.3f without; report: %s/report.md (%.0f s)\n",
			res.Projected.MeanLocal, res.Unprojected.MeanLocal, c.out, time.Since(start).Seconds())
	}
	return nil
}

// embeddedImage returns the embedded test image of a class, converted to the model's shape.
func embeddedImage(class int, p *loco.Pipeline) ([]float32, error) {
	data, err := testImages.ReadFile("testimages/fashion-" + strconv.Itoa(class) + ".png")
	if err != nil {
		return nil, fmt.Errorf("no embedded test image for class %d (use 0–9, or --image)", class)
	}
	pic, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	s := p.SampleShape()
	img, err := imageio.DecodeImage(pic, s[0], imageio.Convert)
	if err != nil {
		return nil, err
	}
	if img.H != s[1] || img.W != s[2] {
		if img, err = imageio.Resize(img, s[1], s[2]); err != nil {
			return nil, err
		}
	}
	return img.Pix, nil
}

func maskName(f imageFlags) string {
	switch {
	case f.mask != "":
		return "mask image " + f.mask
	case f.rect != "":
		return "rectangle " + f.rect
	case f.ellipse != "":
		return "ellipse " + f.ellipse
	case f.region == "full" || f.region == "all":
		return "the whole image"
	case f.region == "centre" || f.region == "center" || f.region == "ellipse":
		return f.region + " region"
	case f.region != "":
		return f.region + " half of the image"
	}
	return "classes " + f.classes + " of " + f.labels
}
