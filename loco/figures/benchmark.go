package figures

import (
	"fmt"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/nbutil"
)

// BenchmarkCase is one image edited in one region.
type BenchmarkCase struct {
	Image   Target
	Region  string
	Outcome *Outcome
}

// Benchmark edits every image in every named region (Session.Region) with spec, one row per pair (the
// paper's Fig. 5 layout: [−λ, original, +λ] when spec.Lambdas is {−λ, 0, λ}).
func (s *Session) Benchmark(images []Target, regions []string, spec Spec) ([]BenchmarkCase, error) {
	var bar interface{ Add(int) error }
	if s.Progress {
		bar = nbutil.Progress(len(images)*len(regions), "image × region")
	}
	var out []BenchmarkCase
	for _, img := range images {
		for _, r := range regions {
			m, err := s.Region(r)
			if err != nil {
				return nil, err
			}
			o, err := s.Edit(img.Image, m, spec)
			if err != nil {
				return nil, fmt.Errorf("%s, %s region: %w", img.Name, r, err)
			}
			out = append(out, BenchmarkCase{Image: img, Region: r, Outcome: o})
			if bar != nil {
				_ = bar.Add(1)
			}
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
	t := NewTable("image", "region", "mask share", "mean locality ↑", "locality per λ")
	for _, c := range cases {
		t.AddRow(c.Image.Name, c.Region, F3(c.Outcome.Mask.Fraction()), "**"+F3(c.Outcome.MeanLocality)+"**", c.Outcome.LocalitySummary())
	}
	return t.Markdown()
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
// paper's Fig. 8). Cases need no strengths: a Benchmark with spec.Lambdas empty computes only directions.
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
	t := NewTable("image", "region", "‖v‖² inside the mask", "σ1 (masked Jacobian)", "σ1 (complement, r′ space)")
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
	return t.Markdown()
}

// TestTargets loads the embedded test images of the given Fashion-MNIST classes as named targets.
func (s *Session) TestTargets(classes ...int) ([]Target, error) {
	out := make([]Target, len(classes))
	for i, k := range classes {
		x, err := s.LoadImage(TestImagePath(k))
		if err != nil {
			return nil, err
		}
		out[i] = Target{Name: ClassName(k), Image: x}
	}
	return out, nil
}

// OtherTargets returns n further garments of a Fashion-MNIST class: the next occurrences of the class in the
// test split after the one TestImagePath shows, when the data set is installed (Debian's
// dataset-fashion-mnist, in fashionmnist.DefaultDir), or else images drawn from the model
// (GeneratedTargets with seed 1). Their names say which.
func (s *Session) OtherTargets(class, n int) ([]Target, error) {
	images, labels, err := fashionmnist.ReadSplit(fashionmnist.DefaultDir, "t10k")
	if err != nil {
		return s.GeneratedTargets(class, n, 1)
	}
	var out []Target
	seen := 0
	for i, l := range labels {
		if l != class {
			continue
		}
		seen++
		if seen == 1 {
			continue // the embedded test image
		}
		x, err := s.fit(images[i], 1, fashionmnist.Size, fashionmnist.Size)
		if err != nil {
			return nil, err
		}
		out = append(out, Target{Name: fmt.Sprintf("%s (test #%d)", ClassName(class), i), Image: x})
		if len(out) == n {
			break
		}
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
		out[i] = Target{Name: fmt.Sprintf("%s #%d (generated)", ClassName(class), i+1), Image: x}
	}
	return out, nil
}
