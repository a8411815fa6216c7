package figures

import (
	"testing"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

// TestTextEditFromNoise runs unsupervised and text-supervised T-LOCO on the tiny Stable Diffusion pipeline
// through a Session: images are the decoded 3×32×32 ones, directions latents of 4×8×8, and both edits change the
// masked region more than the rest.
func TestTextEditFromNoise(t *testing.T) {
	mask, err := imageio.MaskRect(1, 32, 32, 6, 9, 18, 25)
	if err != nil {
		t.Fatal(err)
	}
	job := loco.DefaultEditJob()
	job.Steps = 20
	for _, edit := range []string{"", "a photo of a man wearing glasses"} {
		s, err := OpenText(TinyPipeline(false), loco.Conditioning{Prompt: "a photo of a man", EditPrompt: edit})
		if err != nil {
			t.Fatal(err)
		}
		if s.C != 3 || s.H != 32 || s.W != 32 || s.Pipeline.Dim() != 4*8*8 {
			t.Fatalf("session images %d×%d×%d, latents of %d values", s.C, s.H, s.W, s.Pipeline.Dim())
		}
		o, err := s.EditFromNoise(305, mask, job)
		if err != nil {
			t.Fatal(err)
		}
		if o.Job.Direction.Guided != (edit != "") {
			t.Errorf("edit prompt %q: guided direction %v", edit, o.Job.Direction.Guided)
		}
		row := o.Row("edit")
		if len(row.Cells) != 5 || row.Cells[0].Image == nil || row.Cells[0].Image.W != 32 {
			t.Fatalf("edit prompt %q: row %+v", edit, row.Label)
		}
		if !(o.MeanLocality > 0.5) {
			t.Errorf("edit prompt %q: locality %.3f", edit, o.MeanLocality)
		}
		if _, err := o.DirectionCells(); err == nil {
			t.Error("a latent direction was drawn as an image")
		}
	}
}
