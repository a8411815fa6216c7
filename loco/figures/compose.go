package figures

import (
	"fmt"
	"math"
	"strings"

	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
)

// Term is one signed direction of a composition: λ·v, named for captions.
type Term struct {
	Name   string
	V      []float32
	Lambda float64
}

// With returns the term with strength lambda.
func (t Term) With(lambda float64) Term {
	t.Lambda = lambda
	return t
}

// Term returns the outcome's direction as a composition term named name (strength 0: set it with With).
func (o *Outcome) Term(name string) Term { return Term{Name: name, V: o.V} }

// Composition is a row of composed edits of one image.
type Composition struct {
	// Combos are the combinations rendered (an empty one is the unedited image) and Images their decodings.
	Combos [][]Term
	Images [][]float32
	// Additivity is, for each combination of two or more terms, the cosine between its change and the sum of
	// the changes its terms make alone (1: the edits compose linearly); NaN for the others.
	Additivity []float64
}

// ComposeTerms decodes each combination of signed directions added to the prepared x_t, and measures how
// additive the combined edits are.
func (s *Session) ComposeTerms(pt *loco.Point, combos ...[]Term) (*Composition, error) {
	for _, c := range combos {
		for _, t := range c {
			if len(t.V) != s.Pipeline.Dim() {
				return nil, fmt.Errorf("direction %q has %d values, want %d", t.Name, len(t.V), s.Pipeline.Dim())
			}
		}
	}
	// Decode the unedited image, every combination, and every term on its own (for additivity).
	var batch [][]loco.Combination
	batch = append(batch, nil)
	for _, c := range combos {
		batch = append(batch, combination(c))
	}
	type key struct {
		v      *float32
		lambda float64
	}
	single := map[key]int{}
	for _, c := range combos {
		if len(c) < 2 {
			continue
		}
		for _, t := range c {
			k := key{&t.V[0], t.Lambda}
			if _, ok := single[k]; !ok {
				single[k] = len(batch)
				batch = append(batch, combination([]Term{t}))
			}
		}
	}
	imgs, err := s.Compose(pt, batch...)
	if err != nil {
		return nil, err
	}
	ref := imgs[0]
	out := &Composition{Combos: combos, Images: imgs[1 : 1+len(combos)]}
	for i, c := range combos {
		add := math.NaN()
		if len(c) >= 2 {
			sum := make([]float32, len(ref))
			for _, t := range c {
				alone := imgs[single[key{&t.V[0], t.Lambda}]]
				for j := range sum {
					sum[j] += alone[j] - ref[j]
				}
			}
			both := make([]float32, len(ref))
			for j := range both {
				both[j] = out.Images[i][j] - ref[j]
			}
			add = num.Cosine(both, sum)
		}
		out.Additivity = append(out.Additivity, add)
	}
	return out, nil
}

// combination converts terms to loco combinations.
func combination(terms []Term) []loco.Combination {
	out := make([]loco.Combination, len(terms))
	for i, t := range terms {
		out[i] = loco.Combination{Direction: t.V, Lambda: t.Lambda}
	}
	return out
}

// Caption describes a combination, e.g. "+8·upper −8·lower", or "unedited".
func Caption(terms []Term) string {
	if len(terms) == 0 {
		return "unedited"
	}
	parts := make([]string, len(terms))
	for i, t := range terms {
		sign := "+"
		if t.Lambda < 0 {
			sign = "−"
		}
		parts[i] = fmt.Sprintf("%s%s·%s", sign, formatSigned(math.Abs(t.Lambda)), t.Name)
	}
	return strings.Join(parts, " ")
}

// Cells returns the composed images captioned with their combination (and additivity for composites).
func (c *Composition) Cells(s *Session) ([]Cell, error) {
	cells := make([]Cell, len(c.Images))
	for i, img := range c.Images {
		pic, err := s.Picture(img)
		if err != nil {
			return nil, err
		}
		caption := Caption(c.Combos[i])
		if !math.IsNaN(c.Additivity[i]) {
			caption += "\nadditivity " + F3(c.Additivity[i])
		}
		cells[i] = Cell{Image: pic, Caption: caption}
	}
	return cells, nil
}
