package molrg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/loco"
)

// The optional loco capabilities of a MoLRG.
var (
	_ loco.ClassConditional  = (*Model)(nil)
	_ loco.ExampleSource     = (*Model)(nil)
	_ loco.EditTimeSuggester = (*Model)(nil)
)

// ForClass implements loco.ClassConditional: the component k alone (WithClass).
func (m *Model) ForClass(k int) (loco.Denoiser, error) { return m.WithClass(k) }

// SuggestedEditT implements loco.EditTimeSuggester: on fashion-molrg-32 edits are local and still visible around
// t = 0.5 (locality 0.95 with projection; 0.81 at 0.65, 0.99 at 0.2 where the edits are barely visible).
func (m *Model) SuggestedEditT() float64 { return 0.5 }

// Examples implements loco.ExampleSource for a model fitted to Fashion-MNIST (as fashion-molrg-32 is): the
// images of class k of the test split, in its order, read from fashionmnist.Dir() (Debian's
// dataset-fashion-mnist). For other models, or without the data set, it is an error.
func (m *Model) Examples(class, n int) ([]loco.Example, error) {
	cfg := m.params.Config
	if !strings.HasPrefix(cfg.Dataset, "Fashion-MNIST") {
		return nil, fmt.Errorf("MoLRG %q was not fitted to Fashion-MNIST (data set %q): it has no examples to give", m.Name(), cfg.Dataset)
	}
	if shape := m.SampleShape(); !slices.Equal(shape, []int{1, fashionmnist.Size, fashionmnist.Size}) {
		return nil, fmt.Errorf("MoLRG %q works at %v, not at Fashion-MNIST's 1×%d×%d", m.Name(), shape, fashionmnist.Size, fashionmnist.Size)
	}
	if class < 0 || class >= len(fashionmnist.ClassNames) {
		return nil, fmt.Errorf("Fashion-MNIST has no class %d (use 0–%d)", class, len(fashionmnist.ClassNames)-1)
	}
	images, labels, err := fashionmnist.ReadSplit(fashionmnist.Dir(), "t10k")
	if err != nil {
		return nil, err
	}
	var out []loco.Example
	for i, l := range labels {
		if l != class {
			continue
		}
		out = append(out, loco.Example{Name: fmt.Sprintf("%s (test #%d)", fashionmnist.ClassNames[class], i), Image: images[i]})
		if len(out) == n {
			break
		}
	}
	return out, nil
}
