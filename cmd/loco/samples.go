package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/locoedit/locoedit/loco/figures"
	"github.com/locoedit/locoedit/loco/imageio"
)

func init() {
	register("samples", "a PNG grid of new DDIM samples (one column per class for class-conditional models)", runSamples)
}

func runSamples(args []string) error {
	c := commonFlags{text: &textFlags{}}
	fs := flag.NewFlagSet("samples", flag.ContinueOnError)
	c.register(fs, false)
	c.text.register(fs)
	rows := fs.Int("rows", 2, "rows of samples (class-conditional models add a row of samples of the whole model)")
	seed := fs.Uint64("seed", 0, "seed of the first x_T (row r, column c: seed + 1000·c + r; loco edit --seed starts from the same noise)")
	scale := fs.Int("scale", 3, "magnification of every sample (nearest neighbour)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.check(false); err != nil {
		return err
	}
	start := time.Now()
	p, err := c.pipeline()
	if err != nil {
		return err
	}
	s, err := figures.NewSession(p.Model)
	if err != nil {
		return err
	}
	img, err := s.SampleGrid(*rows, *seed, *scale)
	if err != nil {
		return err
	}
	if err := imageio.WritePNG(c.out, img); err != nil {
		return err
	}
	if !c.quiet {
		fmt.Fprintf(os.Stderr, "wrote %s (%.0f s)\n", c.out, time.Since(start).Seconds())
	}
	return nil
}
