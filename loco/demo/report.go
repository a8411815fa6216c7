package demo

import (
	"strconv"

	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/locoedit/locoedit/internal/atomicfile"
	"github.com/locoedit/locoedit/internal/markdown"
)

// writeReport writes report.md into the output folder (atomically).
func writeReport(cfg Config, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# LOCO-Edit run on %s\n\n", r.Model)
	fmt.Fprintf(&b, "Image: %s. Mask: %s. Edit time t = %.2f (grid index %d of the 100-step DDIM grid). Backend: `%s`. Written %s.\n\n",
		cfg.ImageName, cfg.MaskName, r.T, r.Index, backendName(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Direction: top %d right singular vector(s) of the posterior-mean Jacobian restricted to the mask, ", cfg.Job.Direction.Rank)
	fmt.Fprintf(&b, "projected off the top %d of the complement, normalised; strengths λ = %v; decoding %s.\n\n",
		cfg.Job.Direction.NullRank, r.Projected.Lambdas, decoding(cfg))
	edits := markdown.NewTable("", "strip", "locality (mean over λ≠0)", "per λ", "subspace iterations", "Jacobian products")
	for _, s := range []EditSummary{r.Projected, r.Unprojected} {
		edits.AddRow(s.Name, fmt.Sprintf("![](%s)", s.Strip), fmt.Sprintf("**%.3f**", s.MeanLocal), floats(s.Locality),
			strconv.Itoa(s.Iterations), strconv.Itoa(s.Products))
	}
	fmt.Fprintf(&b, "## Edits\n\n%s", edits)
	fmt.Fprintf(&b, "\nLocality is the share of the edit's energy Σ(Δx0)² inside the mask (1 = perfectly local), Δx0 being the "+
		"edited image minus the unedited (λ = 0) one. The direction itself: ![direction](direction.png) (blue/red: sign, "+
		"white: zero). Saved for transfer as `direction.safetensors` (`loco apply --direction …`).\n\n")
	fmt.Fprintf(&b, "Reconstruction (invert → regenerate, λ = 0): max-abs error %.3g, SSIM %.4f.\n\n", r.Reconstruction, r.SSIM)
	if len(r.Analyses) > 0 {
		fmt.Fprintf(&b, "## Analyses\n\n")
		for _, a := range r.Analyses {
			fmt.Fprintf(&b, "### %s\n\n", a.Title)
			if strings.HasSuffix(a.File, ".png") {
				fmt.Fprintf(&b, "![%s](%s)\n\n", a.Title, a.File)
			} else if a.File != "" {
				fmt.Fprintf(&b, "Data: `%s`.\n\n", a.File)
			}
			fmt.Fprintf(&b, "%s\n\n", a.Caption)
		}
	}
	times := markdown.NewTable("stage", "seconds")
	for _, s := range r.Stages {
		times.AddRow(s.Name, fmt.Sprintf("%.1f", s.Duration.Seconds()))
	}
	times.AddRow("**total**", fmt.Sprintf("**%.1f**", r.Total.Seconds()))
	fmt.Fprintf(&b, "## Time\n\n%s", times)
	return atomicfile.WriteBytes(filepath.Join(cfg.Out, "report.md"), []byte(b.String()))
}

func decoding(cfg Config) string {
	if cfg.Job.Boost {
		return "with the authors' performance boosting (η = 1 below t = 201.8)"
	}
	return "deterministic (DDIM η = 0)"
}

func backendName() string {
	if v := os.Getenv("GOMLX_BACKEND"); v != "" {
		return v
	}
	return "go:ops_sequential (default)"
}

func floats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, ", ")
}
