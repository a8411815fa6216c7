package figures

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// F3 formats a number with 3 decimals; NaN is "—".
func F3(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strings.Replace(fmt.Sprintf("%.3f", v), "-", "−", 1)
}

// Sci formats a small number in scientific notation with 2 significant digits; NaN is "—".
func Sci(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strings.Replace(fmt.Sprintf("%.2g", v), "-", "−", -1)
}

// Seconds formats a duration in seconds with adaptive precision.
func Seconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 10:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.2f s", s)
}

// LocalitySummary formats the locality of every strength except λ = 0, e.g. "−8: 0.952, 8: 0.951".
func (o *Outcome) LocalitySummary() string {
	var parts []string
	for i, l := range o.Lambdas {
		if l == 0 {
			continue
		}
		parts = append(parts, formatSigned(l)+": "+F3(o.Locality[i]))
	}
	return strings.Join(parts, ", ")
}
