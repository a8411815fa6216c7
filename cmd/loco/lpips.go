package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/loco/metrics"
	"github.com/locoedit/locoedit/models/lpips"
)

func init() {
	register("lpips", "LPIPS distance (AlexNet) of images to a reference: loco lpips --lpips-weights DIR REF.png IMG.png…", runLPIPS)
}

// lpipsFlag registers --lpips-weights, which points metrics.LPIPS at a weights folder.
func lpipsFlag(fs *flag.FlagSet) *string {
	return fs.String("lpips-weights", "", "folder with torchvision's alexnet-owt-7be5be79.pth and LPIPS's alex.pth (default: $"+lpips.WeightsEnv+")")
}

// runLPIPS prints the LPIPS distance of each image to the reference (resized to the reference's size).
func runLPIPS(args []string) error {
	fs := flag.NewFlagSet("lpips", flag.ContinueOnError)
	weights := lpipsFlag(fs)
	maxPixels := fs.Int64("max-image-pixels", imageio.DefaultMaxPixels, "refuse pictures declaring more pixels, from their header")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *maxPixels < 1 {
		return fmt.Errorf("--max-image-pixels %d: it must be at least 1", *maxPixels)
	}
	imageio.SetMaxPixels(*maxPixels)
	if *weights != "" {
		lpips.SetWeightsDir(*weights)
	}
	paths := fs.Args()
	if len(paths) < 2 {
		return usageError{errors.New("give a reference image and at least one image to compare: loco lpips REF.png IMG.png…")}
	}
	ref, err := imageio.ReadImage(paths[0], 3)
	if err != nil {
		return err
	}
	for _, p := range paths[1:] {
		img, err := imageio.LoadImage(p, 3, ref.H, ref.W)
		if err != nil {
			return err
		}
		d, err := metrics.LPIPS(ref.Pix, img.Pix, 3, ref.H, ref.W)
		if err != nil {
			return err
		}
		fmt.Printf("%s\t%.6f\n", p, d)
	}
	return nil
}
