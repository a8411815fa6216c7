package analysis

import (
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// plotDir is where the plot tests write their PNGs: $LOCO_ANALYSIS_PLOTS if set (to look at them), else a
// temporary folder.
func plotDir(t *testing.T) string {
	if d := os.Getenv("LOCO_ANALYSIS_PLOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func sampleResults() ([]RankPoint, []LinearityPoint, []SymmetryPoint) {
	var rank []RankPoint
	var sym []SymmetryPoint
	for i, tt := range []float32{999, 888.1, 777.2, 666, 555.4, 444.5, 333.6, 222.7, 111.8, 10.09} {
		r := 0.5 / (1 + 40*float64(tt/1000)*(1-float64(tt/1000))*float64(tt/1000)*4)
		rank = append(rank, RankPoint{Index: 11 * i, Timestep: tt, T: float64(tt) / 1000, RankRatio: r, Std: r / 5, RankRatioLow: r, RankRatioHigh: r, FrobNorm: 10 - float64(tt)/100, FrobStd: 0.3, Ranks: []int{1, 2}, Exact: true, Resolved: true})
		sym = append(sym, SymmetryPoint{Index: 11 * i, Timestep: tt, T: float64(tt) / 1000, Asymmetry: 0.1 + float64(tt)/5000, AsymmetryStd: 0.01, StdErr: 0.02, FrobNorm: 1 + float64(tt)/100, FrobStd: 0.5})
	}
	var lin []LinearityPoint
	for _, l := range DefaultLambdas {
		lin = append(lin, LinearityPoint{Lambda: l, NormRatio: 1 - l*l/40000, NormStd: l / 4000, Cosine: 1 - l*l/80000, CosineStd: l / 8000, Samples: 15})
	}
	return rank, lin, sym
}

func TestWriteCSVAndSafetensors(t *testing.T) {
	dir := t.TempDir()
	rank, lin, sym := sampleResults()
	path := filepath.Join(dir, "rank.csv")
	if err := RankTable(rank).WriteCSV(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(rank) || recs[0][3] != "rank_ratio" || recs[2][1] != "888.1" || recs[2][0] != "11" {
		t.Errorf("CSV: header %v, row 1 %v", recs[0], recs[2])
	}
	if err := WriteCSV(path, []string{"a", "b"}, [][]float64{{1}}); err == nil || !strings.Contains(err.Error(), "row 0") {
		t.Errorf("a short row gave %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the folder holds %d entries, want only rank.csv (no temporary files)", len(ents))
	}

	st := filepath.Join(dir, "analysis.safetensors")
	tables := map[string]Table{"rank": RankTable(rank), "linearity": LinearityTable(lin), "symmetry": SymmetryTable(sym), "spectrum": SpectrumTable([]float64{3, 2, 1})}
	if err := WriteSafetensors(st, tables, map[string]string{"model": "test"}); err != nil {
		t.Fatal(err)
	}
	sf, err := safetensors.ReadFile(st)
	if err != nil {
		t.Fatal(err)
	}
	for name, tab := range tables {
		for _, h := range tab.Header {
			tt, err := sf.Tensor(name + "/" + h)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.Float64()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tab.Column(h)) {
				t.Errorf("%s/%s: read %v, wrote %v", name, h, got, tab.Column(h))
			}
		}
	}
	if sf.Metadata()["model"] != "test" {
		t.Errorf("metadata %v", sf.Metadata())
	}
	if got := LinearityTable(lin).Column("cosine"); len(got) != 5 || got[0] != 1 {
		t.Errorf("cosine column %v", got)
	}
}

func TestPlots(t *testing.T) {
	dir := plotDir(t)
	rank, lin, sym := sampleResults()
	rank2 := slices.Clone(rank)
	for i := range rank2 {
		rank2[i].RankRatio *= 2
		rank2[i].FrobNorm *= 3
	}
	plots := []struct {
		name           string
		panels, height int
		draw           func(path string) error
	}{
		{"rank.png", 1, 590, func(p string) error { return PlotRankVsT(rank, p) }},
		{"rank_curves.png", 1, 628, func(p string) error {
			return PlotRankCurves(p, "Rank ratio: two models", RankCurve{"model A", rank}, RankCurve{"model B", rank2})
		}},
		{"rank_norm.png", 2, 628, func(p string) error {
			return PlotRankAndNorm(p, "Jacobians of x̂0 and ε", RankCurve{"∂x̂0/∂x", rank}, RankCurve{"∂ε/∂x", rank2})
		}},
		{"linearity.png", 2, 590, func(p string) error { return PlotLinearity(lin, p) }},
		{"symmetry.png", 2, 590, func(p string) error { return PlotSymmetry(sym, p) }},
	}
	for _, c := range plots {
		path := filepath.Join(dir, c.name)
		if err := c.draw(path); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// 5 × 3.6 inch panels at 150 dpi under a 24 pt title and, with labelled curves, an 18 pt legend row.
		if b := img.Bounds(); b.Dx() != 750*c.panels || b.Dy() != c.height {
			t.Errorf("%s is %d×%d pixels, want %d×%d", c.name, b.Dx(), b.Dy(), 750*c.panels, c.height)
		}
	}
	bad := slices.Clone(rank)
	bad[0].RankRatio = 0
	if err := PlotRankVsT(bad, filepath.Join(dir, "bad.png")); err == nil {
		t.Error("a zero rank ratio was drawn on a log scale")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.png")); err == nil {
		t.Error("a failed plot left a file")
	}
}
