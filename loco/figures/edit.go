package figures

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/loco/metrics"
)

// Spec is one LOCO-Edit setting: where the edit happens (EditT), how the direction is found, and which
// strengths are rendered.
type Spec struct {
	// EditT is the edit time as a fraction of the 1000 training steps (the paper: 0.5–0.7).
	EditT float64
	// Rank r of the edit subspace (0: PC+1), NullRank r′ of the complement's subspace that the direction is
	// projected off (0: no null-space projection), and PC the singular vector edited along (0 = top).
	Rank, NullRank, PC int
	// Output is the function whose Jacobian is used: x̂0 (LOCO-Edit) or ε (the ∂ε/∂x variant of Table 1).
	Output loco.Output
	// NoMask takes the direction from the Jacobian of the whole image instead of the masked one (the ∂ε/∂x
	// column of Table 1 was computed this way); the mask is still used to measure locality.
	NoMask bool
	// Random replaces the edit basis by Gaussian noise (the random-direction baseline; still projected and
	// normalised).
	Random bool
	// Lambdas are the strengths rendered; 0 is the unedited reconstruction.
	Lambdas []float64
	// Boost decodes with the authors' performance boosting (η = 1 below t = 201.8, seeded by Seed); the
	// default is deterministic DDIM, so locality measures the edit and not sampling noise.
	Boost bool
	Seed  uint64
	// Iteration tunes the subspace iteration (zero: loco's defaults).
	Iteration loco.SubspaceOptions
}

// DefaultSpec is the setting the notebooks start from: t = 0.5 (where edits of fashion-molrg-32 are most
// local), r = 1, r′ = 5 (the paper's r′), λ ∈ {−8, −4, 0, 4, 8} (the authors' CelebA strip).
func DefaultSpec() Spec {
	return Spec{EditT: 0.5, Rank: 1, NullRank: 5, Lambdas: []float64{-8, -4, 0, 4, 8}}
}

// rank is the edit rank actually computed.
func (sp Spec) rank() int { return max(sp.Rank, sp.PC+1, 1) }

// options returns the loco direction options of the spec.
func (sp Spec) options() loco.DirectionOptions {
	return loco.DirectionOptions{Output: sp.Output, Rank: sp.rank(), NullRank: sp.NullRank, Iteration: sp.Iteration, Random: sp.Random}
}

// Describe is a short description of the spec, e.g. "x0, t=0.5, r′=5".
func (sp Spec) Describe() string {
	parts := []string{sp.Output.String()}
	if sp.Random {
		parts = append(parts, "random")
	}
	if sp.NoMask {
		parts = append(parts, "no mask")
	}
	parts = append(parts, "t="+strconv.FormatFloat(sp.EditT, 'g', 3, 64))
	if sp.NullRank > 0 {
		parts = append(parts, fmt.Sprintf("r′=%d", sp.NullRank))
	} else {
		parts = append(parts, "no projection")
	}
	if sp.PC > 0 {
		parts = append(parts, fmt.Sprintf("pc %d", sp.PC))
	}
	return strings.Join(parts, ", ")
}

// Outcome is one edit: the direction, the decoded image of every strength and how local each change is.
type Outcome struct {
	Spec  Spec
	Point *Point
	// Mask is the edit region (1×H×W or C×H×W).
	Mask *imageio.Mask
	// Direction is the computed subspace (nil when the direction was given, e.g. transferred); V is the unit
	// direction edited along.
	Direction *loco.Direction
	V         []float32
	// Lambdas and Images: the decoded image of each strength (C·H·W values each). Reference is the unedited
	// (λ = 0) decoding, which every change is measured against.
	Lambdas   []float64
	Images    [][]float32
	Reference []float32
	// Locality is, per strength, the share of the change's energy inside the mask (metrics.Locality; NaN
	// for λ = 0), and MeanLocality its mean over λ ≠ 0.
	Locality     []float64
	MeanLocality float64
	// LearnTime is the time spent on the direction (subspace iterations) and EditTime on decoding the edits.
	LearnTime, EditTime time.Duration
}

// Edit runs LOCO-Edit on x0: inversion (cached), denoising to spec.EditT, the direction for the mask, and
// the decoded strip with its locality.
func (s *Session) Edit(x0 []float32, mask *imageio.Mask, spec Spec) (*Outcome, error) {
	pt, err := s.Prepare(x0, spec.EditT)
	if err != nil {
		return nil, err
	}
	return s.EditPoint(pt, mask, spec)
}

// EditPoint is Edit for an image already brought to its edit time (spec.EditT is not used).
func (s *Session) EditPoint(pt *Point, mask *imageio.Mask, spec Spec) (*Outcome, error) {
	d, learn, err := s.direction(pt, mask, spec)
	if err != nil {
		return nil, err
	}
	o, err := s.Apply(pt, d.Row(spec.PC), mask, spec)
	if err != nil {
		return nil, err
	}
	o.Direction, o.LearnTime = d, learn
	return o, nil
}

// direction computes the spec's direction at pt.
func (s *Session) direction(pt *Point, mask *imageio.Mask, spec Spec) (*loco.Direction, time.Duration, error) {
	m, _, err := s.maskValues(mask)
	if err != nil {
		return nil, 0, err
	}
	if spec.NoMask {
		for i := range m {
			m[i] = 1
		}
		spec.NullRank = 0 // the complement is empty
	}
	start := time.Now()
	d, err := s.Pipeline.EditDirection(pt.Xt, pt.T, m, spec.options())
	if err != nil {
		return nil, 0, fmt.Errorf("edit direction (%s): %w", spec.Describe(), err)
	}
	return d, time.Since(start), nil
}

// Apply edits the prepared image along a given unit direction v (computed here or transferred from another
// image or time) with spec.Lambdas, decodes the edits and measures their locality in the mask. With no
// strengths nothing is decoded (Reference and Images stay empty).
func (s *Session) Apply(pt *Point, v []float32, mask *imageio.Mask, spec Spec) (*Outcome, error) {
	_, in, err := s.maskValues(mask)
	if err != nil {
		return nil, err
	}
	if len(v) != s.Dim() {
		return nil, fmt.Errorf("direction has %d values, want %d (C,H,W = %d,%d,%d): it comes from a model of another shape", len(v), s.Dim(), s.C, s.H, s.W)
	}
	o := &Outcome{Spec: spec, Point: pt, Mask: mask, V: v, Lambdas: spec.Lambdas, MeanLocality: math.NaN()}
	if len(spec.Lambdas) == 0 {
		return o, nil // a direction only: nothing to decode
	}
	// The unedited latent goes first, then one latent per strength; all are decoded as one batch.
	var batch []float32
	batch = append(batch, pt.Xt...)
	for _, l := range spec.Lambdas {
		e, err := loco.ApplyDirections(pt.Xt, loco.Combination{Direction: v, Lambda: l})
		if err != nil {
			return nil, err
		}
		batch = append(batch, e...)
	}
	start := time.Now()
	x0, err := s.Decode(batch, pt.Index, spec.Boost, spec.Seed)
	if err != nil {
		return nil, fmt.Errorf("decoding the edits: %w", err)
	}
	o.EditTime = time.Since(start)
	d := s.Dim()
	o.Reference = x0[:d]
	var sum float64
	var n int
	for i, l := range spec.Lambdas {
		img := x0[(i+1)*d : (i+2)*d]
		o.Images = append(o.Images, img)
		loc := math.NaN()
		if l != 0 {
			if loc, err = metrics.Locality(o.Reference, img, in); err != nil && !errors.Is(err, metrics.ErrNoChange) {
				return nil, err
			}
			if !math.IsNaN(loc) {
				sum += loc
				n++
			}
		}
		o.Locality = append(o.Locality, loc)
	}
	if n > 0 {
		o.MeanLocality = sum / float64(n)
	}
	return o, nil
}

// Change returns image i minus the unedited reference: the edit's effect on the clean image.
func (o *Outcome) Change(i int) []float32 {
	out := make([]float32, len(o.Reference))
	for j := range out {
		out[j] = o.Images[i][j] - o.Reference[j]
	}
	return out
}

// Strongest returns the index of the largest positive strength (or, if none, the largest |λ|).
func (o *Outcome) Strongest() int {
	best := -1
	for i, l := range o.Lambdas {
		if l > 0 && (best < 0 || l > o.Lambdas[best]) {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	for i, l := range o.Lambdas {
		if best < 0 || math.Abs(l) > math.Abs(o.Lambdas[best]) {
			best = i
		}
	}
	return best
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
	cells := make([]Cell, len(o.Images))
	for i, img := range o.Images {
		pic, err := imageio.FromCHW(img, c, h, w)
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

// shape recovers C, H, W from the mask and the direction's size.
func (o *Outcome) shape() (c, h, w int) {
	h, w = o.Mask.H, o.Mask.W
	return len(o.V) / (h * w), h, w
}

// DirectionCells renders the direction twice: on a white background (imageio.DirectionImage, dark where
// |v| is large) and signed (imageio.DirectionSignedImage, red positive, blue negative).
func (o *Outcome) DirectionCells() ([]Cell, error) {
	c, h, w := o.shape()
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
	m, _, err := s.maskValues(o.Mask)
	if err != nil {
		return nil, err
	}
	if o.Direction != nil {
		sd := loco.NewSavedDirection(s.Pipeline, o.Direction, o.Point.Index, m, o.Spec.Output, 1)
		sd.V = append([]float32(nil), o.V...) // only the direction edited along
		sd.Rank = 1
		return sd, nil
	}
	return &loco.SavedDirection{V: append([]float32(nil), o.V...), Shape: []int{s.C, s.H, s.W}, Model: s.Model.Name(),
		T: o.Point.T, Index: o.Point.Index, Rank: 1, NullRank: o.Spec.NullRank, Output: o.Spec.Output.String(),
		MaskSummary: loco.MaskSummary(m, []int{s.C, s.H, s.W}), Scale: 1}, nil
}

// Transfer applies a saved direction (row pc) to another image x0 at spec.EditT: the image is inverted and
// denoised to that time and edited with spec.Lambdas, without computing any Jacobian.
func (s *Session) Transfer(sd *loco.SavedDirection, pc int, x0 []float32, mask *imageio.Mask, spec Spec) (*Outcome, error) {
	if err := sd.CheckFits(s.Pipeline); err != nil {
		return nil, err
	}
	if pc < 0 || pc >= sd.Rows() {
		return nil, fmt.Errorf("direction %d does not exist: the saved direction has %d row(s)", pc, sd.Rows())
	}
	pt, err := s.Prepare(x0, spec.EditT)
	if err != nil {
		return nil, err
	}
	return s.Apply(pt, sd.Row(pc), mask, spec)
}

// Compose decodes one image per entry of images, each a signed combination of directions added to the
// prepared x_t (an empty entry is the unedited image): composition of edits.
func (s *Session) Compose(pt *Point, seed uint64, images ...[]loco.Combination) ([][]float32, error) {
	var batch []float32
	for _, combos := range images {
		e, err := loco.ApplyDirections(pt.Xt, combos...)
		if err != nil {
			return nil, err
		}
		batch = append(batch, e...)
	}
	x0, err := s.Decode(batch, pt.Index, false, seed)
	if err != nil {
		return nil, fmt.Errorf("decoding the composition: %w", err)
	}
	out := make([][]float32, len(images))
	for i := range out {
		out[i] = x0[i*s.Dim() : (i+1)*s.Dim()]
	}
	return out, nil
}
