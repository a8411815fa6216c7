package figures

import (
	"errors"
	"fmt"
	"math"

	"github.com/locoedit/locoedit/internal/markdown"
	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/loco/metrics"
)

// Target is a named image (to edit, or to transfer a direction to).
type Target struct {
	Name  string
	Image []float32
	// EditT, if set, is the edit time a transferred direction is applied at (default: the source's).
	EditT float64
}

// TransferCase is a direction transferred to one target, next to the target's own direction.
type TransferCase struct {
	Target Target
	// Transferred is the target edited along the saved direction; Own along the direction computed on the
	// target itself (same mask, settings and edit time).
	Transferred, Own *Outcome
	// Score is |metrics.TransferScore| of the two changes at the strongest positive strength, inside the mask:
	// 1 when the transferred direction makes the same change as the target's own. Singular vectors have no
	// sign, so the absolute value is taken.
	Score float64
	// DirectionCos is |cos| between the saved and the target's own direction (in x_t space).
	DirectionCos float64
}

// TransferStudy transfers the source outcome's direction to every target (see TransferAll).
func (s *Session) TransferStudy(src *Outcome, targets []Target) ([]TransferCase, error) {
	sd, err := src.Saved(s)
	if err != nil {
		return nil, err
	}
	return s.TransferAll(sd, src.Job.PC, src.Mask, src.Job, targets)
}

// TransferAll applies row pc of a saved direction to every target at the target's edit time (job.EditT
// when the target has none) with the job's strengths, computes the target's own direction with the same mask
// and settings, and compares the two edits.
func (s *Session) TransferAll(sd *loco.SavedDirection, pc int, mask *imageio.Mask, job loco.EditJob, targets []Target) ([]TransferCase, error) {
	bar := s.bar(len(targets), "targets")
	out := make([]TransferCase, len(targets))
	for i, tg := range targets {
		jt := job
		if tg.EditT != 0 {
			jt.EditT = tg.EditT
		}
		tr, err := s.Transfer(sd, pc, tg.Image, mask, jt)
		if err != nil {
			return nil, fmt.Errorf("transfer to %s: %w", tg.Name, err)
		}
		own, err := s.EditPoint(tr.Point, mask, jt)
		if err != nil {
			return nil, fmt.Errorf("own direction of %s: %w", tg.Name, err)
		}
		score, err := TransferScore(tr, own)
		if err != nil {
			return nil, fmt.Errorf("transfer score of %s: %w", tg.Name, err)
		}
		out[i] = TransferCase{Target: tg, Transferred: tr, Own: own, Score: score, DirectionCos: math.Abs(num.Cosine(sd.Row(pc), own.V))}
		progress.Add(bar, 1)
	}
	return out, nil
}

// TransferScore is |metrics.TransferScore| between the changes of two outcomes of the same image at their
// strongest positive strength, inside the first one's mask. It is NaN (no error) when either change is zero.
func TransferScore(transferred, own *Outcome) (float64, error) {
	_, in, err := maskFlags(transferred)
	if err != nil {
		return 0, err
	}
	v, err := metrics.TransferScore(transferred.Change(transferred.Strongest()), own.Change(own.Strongest()), in)
	if errors.Is(err, metrics.ErrNoChange) {
		return math.NaN(), nil
	}
	if err != nil {
		return 0, err
	}
	return math.Abs(v), nil
}

// TransferFigure shows, per case, the target with the mask, the transferred edit at the smallest and the
// largest strength and the target's own edit at both; rows are labelled with the target and its score.
func (s *Session) TransferFigure(title string, cases []TransferCase) (*Figure, error) {
	if len(cases) == 0 {
		return nil, fmt.Errorf("transfer figure: no cases")
	}
	lambdas := cases[0].Transferred.Lambdas
	if len(lambdas) == 0 {
		return nil, fmt.Errorf("transfer figure: the edits have no strengths")
	}
	lo, hi := extremes(lambdas)
	f := NewFigure(title)
	f.Columns = []string{"image + mask", "transferred\n" + FormatLambda(lambdas[lo]), "transferred\n" + FormatLambda(lambdas[hi]),
		"own direction\n" + FormatLambda(lambdas[lo]), "own direction\n" + FormatLambda(lambdas[hi])}
	for _, c := range cases {
		ov, err := s.Overlay(c.Target.Image, c.Transferred.Mask)
		if err != nil {
			return nil, err
		}
		cells := []Cell{{Image: ov}}
		for _, pick := range []struct {
			o *Outcome
			i int
		}{{c.Transferred, lo}, {c.Transferred, hi}, {c.Own, lo}, {c.Own, hi}} {
			pic, err := s.Picture(pick.o.Image(pick.i))
			if err != nil {
				return nil, err
			}
			cells = append(cells, Cell{Image: pic})
		}
		label := fmt.Sprintf("%s\nt = %.2g, score %s", c.Target.Name, c.Transferred.Point.EditT, F3(c.Score))
		f.AddRow(label, cells...)
	}
	return f, nil
}

// TransferTable is the Markdown table of a transfer study.
func TransferTable(cases []TransferCase) string {
	t := markdown.NewTable("target", "edit t", "transfer score ↑", "|cos(v_src, v_own)|", "locality (transferred)", "locality (own)")
	for _, c := range cases {
		t.AddRow(c.Target.Name, fmt.Sprintf("%.2g", c.Transferred.Point.EditT), "**"+F3(c.Score)+"**", F3(c.DirectionCos), F3(c.Transferred.MeanLocality), F3(c.Own.MeanLocality))
	}
	return t.String()
}

// MeanScore is the mean transfer score of the cases (NaN scores are skipped).
func MeanScore(cases []TransferCase) float64 {
	v := make([]float64, len(cases))
	for i, c := range cases {
		v[i] = c.Score
	}
	return mean(v)
}

// extremes returns the indices of the smallest and the largest strength.
func extremes(l []float64) (lo, hi int) {
	for i, v := range l {
		if v < l[lo] {
			lo = i
		}
		if v > l[hi] {
			hi = i
		}
	}
	return lo, hi
}
