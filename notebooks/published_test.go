//go:build unix

package notebooks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// publishedDir holds the executed copies for readers (scripts/publish-notebooks.sh).
var publishedDir = filepath.Join(repoRoot, "docs", "notebooks")

type nbCell struct {
	CellType string            `json:"cell_type"`
	Source   any               `json:"source"`
	Outputs  []json.RawMessage `json:"outputs"`
}

func readCells(t *testing.T, path string) []nbCell {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []nbCell `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nb.Cells
}

func sourceText(src any) string {
	switch s := src.(type) {
	case string:
		return s
	case []any:
		var b strings.Builder
		for _, line := range s {
			str, _ := line.(string)
			b.WriteString(str)
		}
		return b.String()
	}
	return ""
}

// TestPublishedNotebooks checks docs/notebooks/ against notebooks/: every notebook but the tool-chain check has an
// executed copy, the copy holds the notebook's current cells (after its header) with outputs, and no copy is left
// of a notebook that is gone. A notebook edited without publishing it again fails here.
func TestPublishedNotebooks(t *testing.T) {
	sources, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range sources {
		if src == "00-smoke.ipynb" {
			continue
		}
		t.Run(strings.TrimSuffix(src, ".ipynb"), func(t *testing.T) {
			copyPath := filepath.Join(publishedDir, src)
			if _, err := os.Stat(copyPath); err != nil {
				t.Fatalf("no executed copy of %s in docs/notebooks/: run scripts/publish-notebooks.sh notebooks/%s", src, src)
			}
			want, got := readCells(t, src), readCells(t, copyPath)
			if len(got) == 0 || got[0].CellType != "markdown" ||
				!strings.Contains(sourceText(got[0].Source), "(../../notebooks/"+src+")") {
				t.Fatalf("%s: the first cell is not the header linking to notebooks/%s", copyPath, src)
			}
			got = got[1:]
			if len(got) != len(want) {
				t.Fatalf("%s has %d cells after its header, notebooks/%s has %d: run scripts/publish-notebooks.sh "+
					"notebooks/%s", copyPath, len(got), src, len(want), src)
			}
			outputs := 0
			for i := range want {
				if got[i].CellType != want[i].CellType || sourceText(got[i].Source) != sourceText(want[i].Source) {
					t.Fatalf("cell %d of %s differs from notebooks/%s (stale copy): run scripts/publish-notebooks.sh "+
						"notebooks/%s", i, copyPath, src, src)
				}
				outputs += len(got[i].Outputs)
			}
			if outputs == 0 {
				t.Errorf("%s has no outputs", copyPath)
			}
		})
	}
	copies, err := filepath.Glob(filepath.Join(publishedDir, "*.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range copies {
		if !slices.Contains(sources, filepath.Base(c)) {
			t.Errorf("%s has no notebook in notebooks/ (remove it, or run scripts/publish-notebooks.sh)", c)
		}
	}
}
