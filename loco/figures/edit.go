package figures

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

// Outcome is one edit (loco.EditResult: the direction, the decoded image of every strength, the locality of
// each change, the times spent) with the mask it was made for.
type Outcome struct {
	*loco.EditResult
	// Mask is the edit region (1×H×W or C×H×W).
	Mask *imageio.Mask
}

// describe is a short description of a job, e.g. "x0, t=0.5, r′=5".
func describe(job loco.EditJob, editT float64) string {
	parts := []string{job.Direction.Output.String()}
	if job.Direction.Random {
		parts = append(parts, "random")
	}
	if job.NoMask {
		parts = append(parts, "no mask")
	}
	parts = append(parts, "t="+strconv.FormatFloat(editT, 'g', 3, 64))
	if job.Direction.NullRank > 0 {
		parts = append(parts, fmt.Sprintf("r′=%d", job.Direction.NullRank))
	} else {
		parts = append(parts, "no projection")
	}
	if job.PC > 0 {
		parts = append(parts, fmt.Sprintf("pc %d", job.PC))
	}
	return strings.Join(parts, ", ")
}

// Edit runs LOCO-Edit on x0 with the job: inversion (cached), denoising to the edit time, the direction for the
// mask, and the decoded strengths with their locality.
func (s *Session) Edit(x0 []float32, mask *imageio.Mask, job loco.EditJob) (*Outcome, error) {
	pt, err := s.Prepare(x0, job)
	if err != nil {
		return nil, err
	}
	return s.EditPoint(pt, mask, job)
}

// EditPoint is Edit for an image already brought to its edit time (job.EditT is not used).
func (s *Session) EditPoint(pt *loco.Point, mask *imageio.Mask, job loco.EditJob) (*Outcome, error) {
	m, err := s.maskValues(mask)
	if err != nil {
		return nil, err
	}
	res, err := s.Pipeline.EditPoint(pt, m, job)
	if err != nil {
		return nil, fmt.Errorf("edit (%s): %w", describe(job, pt.EditT), err)
	}
	return &Outcome{EditResult: res, Mask: mask}, nil
}

// Apply edits the prepared image along a given unit direction v (computed here or transferred from another
// image or time) with the job's strengths, decodes the edits and measures their locality in the mask.
func (s *Session) Apply(pt *loco.Point, v []float32, mask *imageio.Mask, job loco.EditJob) (*Outcome, error) {
	m, err := s.maskValues(mask)
	if err != nil {
		return nil, err
	}
	res, err := s.Pipeline.Render(pt, v, m, job)
	if err != nil {
		return nil, err
	}
	return &Outcome{EditResult: res, Mask: mask}, nil
}

// FormatLambda writes a strength as "λ = −8" (with a true minus sign).
func FormatLambda(l float64) string {
	return "λ = " + formatSigned(l)
}

// formatSigned writes a number with a true minus sign and at most 3 significant digits.
func formatSigned(v float64) string {
	s := strconv.FormatFloat(v, 'g', 3, 64)
	return strings.Replace(s, "-", "−", 1)
}

// Cells returns the decoded images as figure cells captioned with their strength.
func (o *Outcome) Cells() ([]Cell, error) {
	c, h, w := o.shape()
	cells := make([]Cell, len(o.Lambdas))
	for i := range o.Lambdas {
		pic, err := imageio.FromCHW(o.Image(i), c, h, w)
		if err != nil {
			return nil, err
		}
		cells[i] = Cell{Image: pic, Caption: FormatLambda(o.Lambdas[i])}
	}
	return cells, nil
}

// Row returns the strip as a figure row with the given label; an error leaves the row empty but labelled
// with the error.
func (o *Outcome) Row(label string) Row {
	cells, err := o.Cells()
	if err != nil {
		return Row{Label: label + "\n(" + err.Error() + ")"}
	}
	return Row{Label: label, Cells: cells}
}

// shape recovers the images' C, H, W from the mask and the decoded images (the direction's when none was
// decoded).
func (o *Outcome) shape() (c, h, w int) {
	h, w = o.Mask.H, o.Mask.W
	if len(o.Lambdas) > 0 && len(o.X0) > 0 {
		return len(o.X0) / len(o.Lambdas) / (h * w), h, w
	}
	return len(o.V) / (h * w), h, w
}

// DirectionCells renders the direction twice: on a white background (imageio.DirectionImage, dark where
// |v| is large) and signed (imageio.DirectionSignedImage, red positive, blue negative).
func (o *Outcome) DirectionCells() ([]Cell, error) {
	c, h, w := o.shape()
	if len(o.V) != c*h*w {
		return nil, fmt.Errorf("the direction has %d values, not an image's %d×%d×%d: it lives in a latent space", len(o.V), c, h, w)
	}
	white, err := imageio.DirectionImage(o.V, c, h, w)
	if err != nil {
		return nil, err
	}
	signed, err := imageio.DirectionSignedImage(o.V, c, h, w)
	if err != nil {
		return nil, err
	}
	return []Cell{{Image: white, Caption: "|v| on white"}, {Image: signed, Caption: "v signed"}}, nil
}

// Saved packages the outcome's direction for transfer (loco.SavedDirection, written with Save).
func (o *Outcome) Saved(s *Session) (*loco.SavedDirection, error) {
	m, err := s.maskValues(o.Mask)
	if err != nil {
		return nil, err
	}
	return o.EditResult.Saved(s.Pipeline, m), nil
}

// Transfer applies a saved direction (row pc) to another image x0 at the job's edit time: the image is inverted
// and denoised to that time and edited with the job's strengths, without computing any Jacobian.
func (s *Session) Transfer(sd *loco.SavedDirection, pc int, x0 []float32, mask *imageio.Mask, job loco.EditJob) (*Outcome, error) {
	if err := sd.CheckFits(s.Pipeline); err != nil {
		return nil, err
	}
	if pc < 0 || pc >= sd.Rows() {
		return nil, fmt.Errorf("direction %d does not exist: the saved direction has %d row(s)", pc, sd.Rows())
	}
	pt, err := s.Prepare(x0, job)
	if err != nil {
		return nil, err
	}
	return s.Apply(pt, sd.Row(pc), mask, job)
}

// Compose decodes one image per entry of images, each a signed combination of directions added to the
// prepared x_t (an empty entry is the unedited image): composition of edits, decoded deterministically.
func (s *Session) Compose(pt *loco.Point, images ...[]loco.Combination) ([][]float32, error) {
	res, err := s.Pipeline.Compose(pt, loco.DefaultEditJob(), images...)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(images))
	for i := range out {
		out[i] = res.Image(i)
	}
	return out, nil
}
