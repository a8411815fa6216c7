package figures

import (
	"fmt"
	"strconv"

	"github.com/locoedit/locoedit/internal/markdown"
	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

// Setting is a named edit setting of a sweep.
type Setting struct {
	Name string
	Job  loco.EditJob
}

// EditTimeSettings varies the edit time of base (the paper's Fig. 7a).
func EditTimeSettings(base loco.EditJob, ts ...float64) []Setting {
	out := make([]Setting, len(ts))
	for i, t := range ts {
		job := base
		job.EditT = t
		out[i] = Setting{Name: "t = " + strconv.FormatFloat(t, 'g', 3, 64), Job: job}
	}
	return out
}

// NullRankSettings varies the null-space rank r′ of base; 0 is no projection (the paper's Fig. 7b).
func NullRankSettings(base loco.EditJob, ranks ...int) []Setting {
	out := make([]Setting, len(ranks))
	for i, r := range ranks {
		job := base
		job.Direction.NullRank = r
		name := fmt.Sprintf("r′ = %d", r)
		if r == 0 {
			name = "no projection"
		}
		out[i] = Setting{Name: name, Job: job}
	}
	return out
}

// Sweep edits x0 with every setting (one inversion, shared) and returns the outcomes in order. It shows a
// progress bar when the session's Progress is set.
func (s *Session) Sweep(x0 []float32, mask *imageio.Mask, settings []Setting) ([]*Outcome, error) {
	bar := s.bar(len(settings), "settings")
	out := make([]*Outcome, len(settings))
	for i, st := range settings {
		o, err := s.Edit(x0, mask, st.Job)
		if err != nil {
			return nil, fmt.Errorf("setting %q: %w", st.Name, err)
		}
		out[i] = o
		progress.Add(bar, 1)
	}
	return out, nil
}

// SweepFigure lays the sweep out with one row per setting, labelled with its name and mean locality, and
// the strengths as column headers. The first column shows the image with the mask.
func (s *Session) SweepFigure(title string, settings []Setting, outcomes []*Outcome) (*Figure, error) {
	if len(settings) != len(outcomes) || len(outcomes) == 0 {
		return nil, fmt.Errorf("sweep figure: %d settings for %d outcomes", len(settings), len(outcomes))
	}
	f := NewFigure(title)
	f.Columns = []string{"mask"}
	for _, l := range outcomes[0].Lambdas {
		f.Columns = append(f.Columns, FormatLambda(l))
	}
	for i, o := range outcomes {
		ov, err := s.Overlay(o.Point.Image, o.Mask)
		if err != nil {
			return nil, err
		}
		cells, err := o.Cells()
		if err != nil {
			return nil, err
		}
		for j := range cells {
			cells[j].Caption = ""
		}
		label := fmt.Sprintf("%s\nlocality %s", settings[i].Name, F3(o.MeanLocality))
		f.AddRow(label, append([]Cell{{Image: ov}}, cells...)...)
	}
	return f, nil
}

// SweepTable is the Markdown table of a sweep: per setting, the edit time used, the mean locality and the
// locality of every strength, and the time spent on the direction.
func SweepTable(settings []Setting, outcomes []*Outcome) string {
	t := markdown.NewTable("setting", "t (grid)", "mean locality ↑", "locality per λ", "direction time")
	for i, o := range outcomes {
		t.AddRow(settings[i].Name, fmt.Sprintf("%.1f", o.Point.T), "**"+F3(o.MeanLocality)+"**", o.LocalitySummary(), Seconds(o.Stage(loco.StageDirection)))
	}
	return t.String()
}

// StrengthTable is the Markdown table of one strip: locality and the size of the change (root-mean-square
// of the change inside and outside the mask) per strength.
func StrengthTable(o *Outcome) (string, error) {
	_, in, err := maskFlags(o)
	if err != nil {
		return "", err
	}
	t := markdown.NewTable("λ", "locality ↑", "RMS change inside", "RMS change outside")
	for i, l := range o.Lambdas {
		inside, outside := rmsSplit(o.Change(i), in)
		t.AddRow(formatSigned(l), F3(o.Locality[i]), F3(inside), F3(outside))
	}
	return t.String(), nil
}

// maskFlags expands the outcome's mask to the image's channels.
func maskFlags(o *Outcome) (*imageio.Mask, []bool, error) {
	c, _, _ := o.shape()
	m, err := o.Mask.Expand(c)
	if err != nil {
		return nil, nil, err
	}
	return m, m.In, nil
}
