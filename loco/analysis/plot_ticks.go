package analysis

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// linearTicks is gonum's DefaultTicks with labels that show each labelled tick's value, all with the same number
// of decimals: gonum formats some ranges with too few decimals (ticks 0.95, 1, 1.05, 1.1 labelled
// "0.95", "1", "1.1", "1.1").
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	decimals := 0
	for _, t := range ticks {
		if t.Label == "" {
			continue
		}
		if a := math.Abs(t.Value); a >= 1e6 || (a > 0 && a < 1e-4) {
			return ticks // gonum's exponent notation is fine there
		}
		s := strconv.FormatFloat(tidy(t.Value), 'f', -1, 64)
		if _, frac, ok := strings.Cut(s, "."); ok {
			decimals = max(decimals, len(frac))
		}
	}
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(tidy(t.Value), 'f', decimals, 64)
		}
	}
	return ticks
}

// tidy rounds v to 10 significant digits, removing the binary noise of tick arithmetic (1.0500000000000003).
func tidy(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 10, 64), 64)
	if err != nil {
		return v
	}
	return r
}
