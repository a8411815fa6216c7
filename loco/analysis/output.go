package analysis

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/atomicfile"
)

// Table is a result as named numeric columns: Rows[i][j] is the value of column Header[j] in row i.
type Table struct {
	Header []string
	Rows   [][]float64
}

// Column returns the values of the named column, or nil when there is none.
func (t Table) Column(name string) []float64 {
	for j, h := range t.Header {
		if h == name {
			col := make([]float64, len(t.Rows))
			for i, r := range t.Rows {
				col[i] = r[j]
			}
			return col
		}
	}
	return nil
}

// WriteCSV writes the table to path (see WriteCSV).
func (t Table) WriteCSV(path string) error { return WriteCSV(path, t.Header, t.Rows) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// RankTable lays out rank points, one row per grid index.
func RankTable(points []RankPoint) Table {
	t := Table{Header: []string{"index", "timestep", "t", "rank_ratio", "rank_ratio_std", "rank_ratio_low", "rank_ratio_high", "frob_norm", "frob_std", "exact", "resolved"}}
	for _, p := range points {
		t.Rows = append(t.Rows, []float64{float64(p.Index), decimal32(p.Timestep), p.T, p.RankRatio, p.Std, p.RankRatioLow, p.RankRatioHigh, p.FrobNorm, p.FrobStd, b2f(p.Exact), b2f(p.Resolved)})
	}
	return t
}

// LinearityTable lays out linearity points, one row per λ.
func LinearityTable(points []LinearityPoint) Table {
	t := Table{Header: []string{"lambda", "norm_ratio", "norm_ratio_std", "cosine", "cosine_std", "samples"}}
	for _, p := range points {
		t.Rows = append(t.Rows, []float64{p.Lambda, p.NormRatio, p.NormStd, p.Cosine, p.CosineStd, float64(p.Samples)})
	}
	return t
}

// SymmetryTable lays out symmetry points, one row per grid index.
func SymmetryTable(points []SymmetryPoint) Table {
	t := Table{Header: []string{"index", "timestep", "t", "asymmetry", "asymmetry_std", "asymmetry_stderr", "frob_norm", "frob_std", "exact"}}
	for _, p := range points {
		t.Rows = append(t.Rows, []float64{float64(p.Index), decimal32(p.Timestep), p.T, p.Asymmetry, p.AsymmetryStd, p.StdErr, p.FrobNorm, p.FrobStd, b2f(p.Exact)})
	}
	return t
}

// SpectrumTable lays out singular values (rank 1, 2, … and σ) as a table, e.g. to store a spectrum.
func SpectrumTable(singularValues []float64) Table {
	t := Table{Header: []string{"i", "sigma"}}
	for i, s := range singularValues {
		t.Rows = append(t.Rows, []float64{float64(i + 1), s})
	}
	return t
}

// WriteCSV writes a header line and the rows (numbers in Go's shortest round-tripping form) to path atomically:
// the data goes to a temporary file in the same directory that is then renamed over path.
func WriteCSV(path string, header []string, rows [][]float64) error {
	for i, r := range rows {
		if len(r) != len(header) {
			return fmt.Errorf("writing %s: row %d has %d values for %d columns", path, i, len(r), len(header))
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		rec := make([]string, len(header))
		for _, r := range rows {
			for j, v := range r {
				rec[j] = strconv.FormatFloat(v, 'g', -1, 64)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// WriteSafetensors writes tables to path in safetensors format (atomically): column c of table name becomes the
// float64 vector "name/c". metadata (may be nil) is stored in the header.
func WriteSafetensors(path string, tables map[string]Table, metadata map[string]string) error {
	ts := map[string]*safetensors.Tensor{}
	for name, t := range tables {
		for _, h := range t.Header {
			col := t.Column(h)
			ts[name+"/"+h] = safetensors.FromFloat64([]int{len(col)}, col)
		}
	}
	if err := safetensors.Write(path, ts, metadata); err != nil {
		return fmt.Errorf("writing analysis data: %w", err)
	}
	return nil
}
