package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/internal/outdir"
	"github.com/locoedit/locoedit/models/molrg"
)

func init() {
	register("fit", "refit the embedded mixture of low-rank Gaussians to Fashion-MNIST (apt install dataset-fashion-mnist)", runFit)
}

func runFit(args []string) (err error) {
	fs := flag.NewFlagSet("fit", flag.ContinueOnError)
	data := fs.String("data", fashionmnist.DefaultDir, "folder with the Fashion-MNIST idx files")
	rank := fs.Int("rank", molrg.FashionRank, "principal directions per class")
	out := fs.String("out", "", "output model folder (config.json + model.safetensors)")
	force := fs.Bool("force", false, "overwrite an existing model folder")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required (e.g. --out my-molrg; the embedded copy is models/molrg/%s)", molrg.EmbeddedName)
	}
	if _, err := os.Stat(*data); err != nil {
		return fmt.Errorf("Fashion-MNIST not found at %s: install it with `apt-get install dataset-fashion-mnist`, or pass --data", *data)
	}
	claim, err := outdir.New(*out, *force)
	if err != nil {
		return err
	}
	defer func() { claim.Release(err != nil) }()
	start := time.Now()
	p, err := molrg.FitFashionMNIST(*data, *rank)
	if err != nil {
		return err
	}
	if err := p.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fitted %d classes at rank %d in %.0f s; wrote %s\n", p.Config.NumClasses, *rank, time.Since(start).Seconds(), *out)
	return nil
}
