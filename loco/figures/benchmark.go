package figures

import (
	"fmt"

	"github.com/locoedit/locoedit/internal/markdown"
	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
)

// BenchmarkCase is one image edited in one region.
type BenchmarkCase struct {
	Image   Target
	Region  string
	Outcome *Outcome
}

// Benchmark edits every image in every named region (Session.Region) with the job, one row per pair (the
// paper's Fig. 5 layout: [−λ, original, +λ] when job.Lambdas is {−λ, 0, λ}).
func (s *Session) Benchmark(images []Target, regions []string, job loco.EditJob) ([]BenchmarkCase, error) {
	bar := s.bar(len(images)*len(regions), "image × region")
	var out []BenchmarkCase
	for _, img := range images {
		for _, r := range regions {
			m, err := s.Region(r)
			if err != nil {
				return nil, err
			}
			o, err := s.Edit(img.Image, m, job)
			if err != nil {
				return nil, fmt.Errorf("%s, %s region: %w", img.Name, r, err)
			}
			out = append(out, BenchmarkCase{Image: img, Region: r, Outcome: o})
			progress.Add(bar, 1)
		}
	}
	return out, nil
}

// BenchmarkFigure lays the cases out one per row: the image with the mask, then the strip; rows are
// labelled with the image, the region and the locality.
func (s *Session) BenchmarkFigure(title string, cases []BenchmarkCase) (*Figure, error) {
	if len(cases) == 0 {
		return nil, fmt.Errorf("benchmark figure: no cases")
	}
	f := NewFigure(title)
	f.Columns = []string{"mask"}
	for _, l := range cases[0].Outcome.Lambdas {
		name := FormatLambda(l)
		if l == 0 {
			name = "original (λ = 0)"
		}
		f.Columns = append(f.Columns, name)
	}
	for _, c := range cases {
		ov, err := s.Overlay(c.Image.Image, c.Outcome.Mask)
		if err != nil {
			return nil, err
		}
		cells, err := c.Outcome.Cells()
		if err != nil {
			return nil, err
		}
		for j := range cells {
			cells[j].Caption = ""
		}
		f.AddRow(fmt.Sprintf("%s\n%s\nlocality %s", c.Image.Name, c.Region, F3(c.Outcome.MeanLocality)), append([]Cell{{Image: ov}}, cells...)...)
	}
	return f, nil
}

// BenchmarkTable is the Markdown table of the cases' localities.
func BenchmarkTable(cases []BenchmarkCase) string {
	t := markdown.NewTable("image", "region", "mask share", "mean locality ↑", "locality per λ")
	for _, c := range cases {
		t.AddRow(c.Image.Name, c.Region, F3(c.Outcome.Mask.Fraction()), "**"+F3(c.Outcome.MeanLocality)+"**", c.Outcome.LocalitySummary())
	}
	return t.String()
}

// MeanLocality averages the cases' mean localities.
func MeanLocality(cases []BenchmarkCase) float64 {
	v := make([]float64, len(cases))
	for i, c := range cases {
		v[i] = c.Outcome.MeanLocality
	}
	return mean(v)
}

// DirectionFigure shows, per case, the image with the mask and the direction on white and signed (the
// paper's Fig. 8). Cases need no strengths: a Benchmark with job.Lambdas empty computes only directions.
func (s *Session) DirectionFigure(title string, cases []BenchmarkCase) (*Figure, error) {
	if len(cases) == 0 {
		return nil, fmt.Errorf("direction figure: no cases")
	}
	f := NewFigure(title)
	f.Columns = []string{"image + mask", "direction |v|\n(white = 0)", "direction v\n(red +, blue −)"}
	for _, c := range cases {
		ov, err := s.Overlay(c.Image.Image, c.Outcome.Mask)
		if err != nil {
			return nil, err
		}
		dc, err := c.Outcome.DirectionCells()
		if err != nil {
			return nil, err
		}
		for j := range dc {
			dc[j].Caption = ""
		}
		f.AddRow(fmt.Sprintf("%s\n%s", c.Image.Name, c.Region), append([]Cell{{Image: ov}}, dc...)...)
	}
	return f, nil
}

// DirectionTable reports, per case, how much of the direction's energy lies in the mask and its top
// singular value.
func DirectionTable(cases []BenchmarkCase) string {
	t := markdown.NewTable("image", "region", "‖v‖² inside the mask", "σ1 (masked Jacobian)", "σ1 (complement, r′ space)")
	for _, c := range cases {
		_, in, err := maskFlags(c.Outcome)
		inside := "—"
		if err == nil {
			var e float64
			for i, v := range c.Outcome.V {
				if in[i] {
					e += float64(v) * float64(v)
				}
			}
			inside = F3(e)
		}
		s1, n1 := "—", "—"
		if d := c.Outcome.Direction; d != nil {
			if d.Modify != nil && len(d.Modify.S) > 0 {
				s1 = fmt.Sprintf("%.3g", d.Modify.S[0])
			}
			if d.Null != nil && len(d.Null.S) > 0 {
				n1 = fmt.Sprintf("%.3g", d.Null.S[0])
			}
		}
		t.AddRow(c.Image.Name, c.Region, inside, s1, n1)
	}
	return t.String()
}

// TestTargets loads the embedded test images of the given Fashion-MNIST classes as named targets.
func (s *Session) TestTargets(classes ...int) ([]Target, error) {
	out := make([]Target, len(classes))
	for i, k := range classes {
		x, err := s.LoadImage(TestImagePath(k))
		if err != nil {
			return nil, err
		}
		out[i] = Target{Name: s.ClassName(k), Image: x}
	}
	return out, nil
}

// OtherTargets returns n further images of a class: the next examples of the class in the model's data set
// after the first (the one TestImagePath shows), when the model knows its data set (loco.ExampleSource, e.g.
// fashion-molrg-32 with Debian's dataset-fashion-mnist installed), or else images drawn from the model
// (GeneratedTargets with seed 1). Their names say which.
func (s *Session) OtherTargets(class, n int) ([]Target, error) {
	src, ok := s.Model.(loco.ExampleSource)
	if !ok {
		return s.GeneratedTargets(class, n, 1)
	}
	examples, err := src.Examples(class, n+1)
	if err != nil || len(examples) < 2 {
		return s.GeneratedTargets(class, n, 1)
	}
	out := make([]Target, 0, n)
	for _, e := range examples[1:] {
		out = append(out, Target{Name: e.Name, Image: e.Image})
	}
	return out, nil
}

// GeneratedTargets draws n new images of a class (Session.Generate with seeds seed, seed+1, …), named
// "<class> #i (generated)".
func (s *Session) GeneratedTargets(class, n int, seed uint64) ([]Target, error) {
	out := make([]Target, n)
	for i := range n {
		x, err := s.Generate(class, seed+uint64(i))
		if err != nil {
			return nil, err
		}
		out[i] = Target{Name: fmt.Sprintf("%s #%d (generated)", s.ClassName(class), i+1), Image: x}
	}
	return out, nil
}
