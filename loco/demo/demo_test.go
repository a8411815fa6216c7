package demo

import (
	"testing"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/models/molrg"
)

// TestLocalityNeedsProjection checks the paper's claim on the embedded model: with null-space projection the
// edit stays in the mask (locality ≥ 0.9), without it clearly less.
func TestLocalityNeedsProjection(t *testing.T) {
	m, err := molrg.LoadEmbedded(molrg.EmbeddedName)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imageio.LoadImage("../../cmd/loco/testimages/fashion-0.png", 1, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	mask, err := imageio.MaskRect(1, 32, 32, 0, 0, 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(p, Config{Image: img.Pix, ImageName: "T-shirt", Mask: mask.Float32(), MaskName: "upper half",
		Job: loco.DefaultEditJob(), Seeds: 1, Quick: true, Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("locality %.3f with projection, %.3f without; reconstruction SSIM %.4f", res.Projected.MeanLocal, res.Unprojected.MeanLocal, res.SSIM)
	if res.Projected.MeanLocal < 0.9 {
		t.Errorf("locality with projection %.3f < 0.9", res.Projected.MeanLocal)
	}
	if res.Unprojected.MeanLocal > res.Projected.MeanLocal-0.05 {
		t.Errorf("locality without projection %.3f is not clearly lower than with it (%.3f)", res.Unprojected.MeanLocal, res.Projected.MeanLocal)
	}
	if res.SSIM < 0.9 {
		t.Errorf("invert → regenerate SSIM %.4f < 0.9", res.SSIM)
	}
}
