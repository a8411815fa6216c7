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
	var c commonFlags
	fs := flag.NewFlagSet("samples", flag.ContinueOnError)
	c.register(fs, false)
	rows := fs.Int("rows", 2, "rows of samples (class-conditional models add a row of samples of the whole model)")
	seed := fs.Uint64("seed", 0, "seed of the first x_T")
	scale := fs.Int("scale", 3, "magnification of every sample (nearest neighbour)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.check(false); err != nil {
		return err
	}
	start := time.Now()
	s, err := figures.Open(c.model)
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
