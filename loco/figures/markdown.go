package figures

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Table is a Markdown table.
type Table struct {
	Header []string
	Rows   [][]string
}

// NewTable returns a table with the given column headers.
func NewTable(header ...string) *Table { return &Table{Header: header} }

// AddRow appends a row (missing cells are left empty) and returns the table.
func (t *Table) AddRow(cells ...string) *Table {
	t.Rows = append(t.Rows, cells)
	return t
}

// Markdown writes the table in GitHub Markdown; "|" inside cells is escaped and newlines become spaces.
func (t *Table) Markdown() string {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for i := range t.Header {
			c := ""
			if i < len(cells) {
				c = strings.ReplaceAll(strings.ReplaceAll(cells[i], "|", `\|`), "\n", " ")
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for range t.Header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

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
