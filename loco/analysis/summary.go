package analysis

import (
	"fmt"
	"math"
	"strconv"

	"github.com/locoedit/locoedit/internal/markdown"
	"github.com/locoedit/locoedit/loco"
)

// TrajectoryPoints returns x_t at one grid index of the deterministic DDIM trajectories of the seeds (len(seeds)·d
// values) and the grid time t there: the points where Linearity and Symmetry are measured (e.g. t ≈ 0.7 with
// index = Grid.EditIndex(0.7)).
func TrajectoryPoints(p *loco.Pipeline, seeds []uint64, index int, opts TrajectoryOptions) (xs []float32, t float32, err error) {
	err = Trajectories(p, seeds, []int{index}, opts, func(_ int, tt float32, x []float32) error {
		xs, t = x, tt
		return nil
	})
	return xs, t, err
}

// LowestRank returns the point with the smallest mean rank ratio (the first one on ties), or the zero point when
// there is none.
func LowestRank(points []RankPoint) RankPoint {
	var low RankPoint
	for i, p := range points {
		if i == 0 || p.RankRatio < low.RankRatio {
			low = p
		}
	}
	return low
}

// Markdown renders the table as a Markdown table, numbers with 4 significant digits (integers as they are).
func (t Table) Markdown() string {
	md := markdown.NewTable(t.Header...)
	for _, r := range t.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			if v == float64(int64(v)) && v < 1e9 && v > -1e9 {
				cells[i] = strconv.FormatInt(int64(v), 10)
			} else {
				cells[i] = fmt.Sprintf("%.4g", v)
			}
		}
		md.AddRow(cells...)
	}
	return md.String()
}

// Select returns a table with only the named columns, in the order given (names the table lacks are skipped).
func (t Table) Select(names ...string) Table {
	var out Table
	var idx []int
	for _, n := range names {
		for j, h := range t.Header {
			if h == n {
				out.Header = append(out.Header, n)
				idx = append(idx, j)
				break
			}
		}
	}
	for _, r := range t.Rows {
		row := make([]float64, len(idx))
		for i, j := range idx {
			row[i] = r[j]
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// RankCurvesTable lays out several rank curves measured at the same grid indices side by side (Fig. 12): the
// normalised time t, then for each curve "<label> rank" (the mean rank ratio) and "<label> ‖J‖_F".
func RankCurvesTable(curves ...RankCurve) Table {
	t := Table{Header: []string{"t"}}
	for _, c := range curves {
		t.Header = append(t.Header, c.Label+" rank", c.Label+" ‖J‖_F")
	}
	if len(curves) == 0 {
		return t
	}
	for i, p := range curves[0].Points {
		row := []float64{p.T}
		for _, c := range curves {
			if i >= len(c.Points) {
				row = append(row, math.NaN(), math.NaN())
				continue
			}
			row = append(row, c.Points[i].RankRatio, c.Points[i].FrobNorm)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
