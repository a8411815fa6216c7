package figures

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/locoedit/locoedit/internal/markdown"
	"github.com/locoedit/locoedit/internal/progress"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/loco/metrics"
)

// Variant is one column of Table 1: a named way of finding edit directions.
type Variant struct {
	Name string
	Job  loco.EditJob
}

// Table1Variants returns the three variants this project can run, all with base's edit time and strengths:
// LOCO-Edit (x̂0 Jacobian on the mask, projected off the complement's top r′), the ∂ε/∂x variant (ε
// Jacobian of the whole image, no mask, no projection, as the paper evaluated it; docs/method.md §7.4)
// and the random-direction baseline (Gaussian noise, projected and normalised like LOCO's).
func Table1Variants(base loco.EditJob) []Variant {
	lc := base
	lc.Direction.Output, lc.NoMask, lc.Direction.Random = loco.OutputX0, false, false
	eps := lc
	eps.Direction.Output, eps.NoMask, eps.Direction.NullRank = loco.OutputEps, true, 0
	rnd := lc
	rnd.Direction.Random = true
	return []Variant{{"LOCO", lc}, {"∂ε/∂x", eps}, {"random", rnd}}
}

// Scores are one method's Table 1 numbers, averaged over the images and the strengths.
type Scores struct {
	Variant string
	// SSIM is between the original image and each edit (the paper's definition, so it includes the
	// inversion's reconstruction error); SSIMEdit is between the unedited decoding and each edit (the edit
	// alone); SSIMReconstruction is SSIM(x0, unedited decoding).
	SSIM, SSIMEdit, SSIMReconstruction float64
	// MSEInside and MSEOutside are the masked MSE between each edit and the unedited decoding, inside and
	// outside the mask (outside = leakage).
	MSEInside, MSEOutside float64
	// LPIPS is the mean LPIPS between the original image and each edit, when LPIPS weights are available
	// (metrics.LPIPSAvailable), else NaN.
	LPIPS float64
	// Locality is the mean share of the change's energy inside the mask.
	Locality float64
	// Transfer is the mean transfer score: image i's direction applied to image i+1, compared with image
	// i+1's own direction (|cosine| of the changes inside the mask).
	Transfer float64
	// LearnTime is the mean time to compute one direction; TransferTime the mean time to edit a new image
	// with a saved direction (its DDIM inversion, denoising to the edit time and decoding one edit), over the
	// first MaxTimedTransfers transfers.
	LearnTime, TransferTime time.Duration
	// Images is the number of images averaged over.
	Images int
}

// MaxTimedTransfers is how many transfers per variant Table1 times from scratch (each repeats a DDIM
// inversion, so timing all of them would double the table's cost).
const MaxTimedTransfers = 3

// Table1 runs every variant on every image (at least two, for transfer) with the region mask and returns
// one Scores per variant.
func (s *Session) Table1(images []Target, mask *imageio.Mask, variants []Variant) ([]Scores, error) {
	if len(images) < 2 {
		return nil, fmt.Errorf("table 1 needs at least 2 images (directions are transferred from each image to the next), got %d", len(images))
	}
	m, err := s.maskValues(mask)
	if err != nil {
		return nil, err
	}
	in := flags(m)
	bar := s.bar(len(variants)*len(images), "variant × image")
	withLPIPS := metrics.LPIPSAvailable()
	out := make([]Scores, len(variants))
	for mi, m := range variants {
		sc := Scores{Variant: m.Name, Images: len(images)}
		outs := make([]*Outcome, len(images))
		var ssim, ssimEdit, ssimRec, mseIn, mseOut, local, transfer, lp []float64
		var learn, transferTime time.Duration
		for i, img := range images {
			job := m.Job
			job.Direction.Iteration.Seed += uint64(i) // a different random start (and random direction) per image
			o, err := s.Edit(img.Image, mask, job)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", m.Name, img.Name, err)
			}
			outs[i] = o
			learn += o.Stage(loco.StageDirection)
			r, err := metrics.SSIM(img.Image, o.Reference, s.C, s.H, s.W, 2)
			if err != nil {
				return nil, err
			}
			ssimRec = append(ssimRec, r)
			for j, l := range o.Lambdas {
				if l == 0 {
					continue
				}
				v, err := metrics.SSIM(img.Image, o.Image(j), s.C, s.H, s.W, 2)
				if err != nil {
					return nil, err
				}
				e, err := metrics.SSIM(o.Reference, o.Image(j), s.C, s.H, s.W, 2)
				if err != nil {
					return nil, err
				}
				ssimEdit = append(ssimEdit, e)
				a, b, err := metrics.MaskedMSE(o.Reference, o.Image(j), in)
				if err != nil {
					return nil, err
				}
				ssim, mseIn, mseOut, local = append(ssim, v), append(mseIn, a), append(mseOut, b), append(local, o.Locality[j])
				if withLPIPS {
					d, err := metrics.LPIPS(img.Image, o.Image(j), s.C, s.H, s.W)
					if err != nil {
						return nil, err
					}
					lp = append(lp, d)
				}
			}
			progress.Add(bar, 1)
		}
		for i, src := range outs {
			j := (i + 1) % len(outs)
			sd, err := src.Saved(s)
			if err != nil {
				return nil, err
			}
			tr, err := s.Transfer(sd, src.Job.PC, images[j].Image, mask, m.Job)
			if err != nil {
				return nil, fmt.Errorf("%s: transfer %s → %s: %w", m.Name, images[i].Name, images[j].Name, err)
			}
			score, err := TransferScore(tr, outs[j])
			if err != nil {
				return nil, err
			}
			transfer = append(transfer, score)
			if i < MaxTimedTransfers {
				d, err := s.timeTransfer(src.V, images[j].Image, m.Job)
				if err != nil {
					return nil, err
				}
				transferTime += d
			}
		}
		n := time.Duration(len(images))
		timed := time.Duration(min(len(images), MaxTimedTransfers))
		sc.SSIM, sc.SSIMEdit, sc.SSIMReconstruction, sc.MSEInside, sc.MSEOutside = mean(ssim), mean(ssimEdit), mean(ssimRec), mean(mseIn), mean(mseOut)
		sc.Locality, sc.Transfer, sc.LPIPS = mean(local), mean(transfer), mean(lp)
		sc.LearnTime, sc.TransferTime = learn/n, transferTime/timed
		out[mi] = sc
	}
	return out, nil
}

// timeTransfer measures one transfer edit from scratch (no cached inversion): invert x0, denoise to the edit
// time and decode x_t + λ·v for the job's largest strength.
func (s *Session) timeTransfer(v, x0 []float32, job loco.EditJob) (time.Duration, error) {
	if len(job.Lambdas) == 0 {
		return 0, errors.New("the job has no strengths")
	}
	_, hi := extremes(job.Lambdas)
	job.Lambdas = job.Lambdas[hi : hi+1]
	job.Progress = nil
	start := time.Now()
	pt, err := s.Pipeline.Prepare(x0, job)
	if err != nil {
		return 0, err
	}
	if _, err := s.Pipeline.Compose(pt, job, []loco.Combination{{Direction: v, Lambda: job.Lambdas[0]}}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// Paper Table 1 values (docs/method.md §10) for LOCO and the ∂ε/∂x variant.
var (
	paperLOCO = map[string]string{"ssim": "0.71", "lpips": "0.08", "success": "0.80", "transfer": "0.91 (human success rate)",
		"transfer time": "2 s", "learn time": "79 s", "images": "1"}
	paperEps = map[string]string{"ssim": "0.66", "lpips": "0.13", "success": "0.37", "transfer": "0.24 (human success rate)",
		"transfer time": "2 s", "learn time": "44 s", "images": "1"}
)

// Table1Markdown writes the scores as a Markdown table with the paper's Table 1 numbers for LOCO and ∂ε/∂x
// beside them. lpipsNote is what to write in the LPIPS row for variants without an LPIPS score (no weights).
func Table1Markdown(scores []Scores, lpipsNote string) string {
	header := []string{"metric"}
	for _, sc := range scores {
		header = append(header, sc.Variant+" (here)")
	}
	header = append(header, "LOCO (paper)", "∂ε/∂x (paper)")
	t := markdown.NewTable(header...)
	row := func(name, paperKey string, ours func(Scores) string) {
		cells := []string{name}
		for _, sc := range scores {
			cells = append(cells, ours(sc))
		}
		p1, p2 := "—", "—"
		if paperKey != "" {
			p1, p2 = paperLOCO[paperKey], paperEps[paperKey]
		}
		t.AddRow(append(cells, p1, p2)...)
	}
	row("SSIM(x0, edit) ↑", "ssim", func(s Scores) string { return F3(s.SSIM) })
	row("SSIM(unedited decoding, edit) ↑", "", func(s Scores) string { return F3(s.SSIMEdit) })
	row("SSIM(x0, unedited decoding)", "", func(s Scores) string { return F3(s.SSIMReconstruction) })
	row("LPIPS ↓", "lpips", func(s Scores) string {
		if math.IsNaN(s.LPIPS) {
			return lpipsNote
		}
		return F3(s.LPIPS)
	})
	row("local edit success rate ↑ (human raters)", "success", func(Scores) string { return "—" })
	row("locality ↑ (share of the change inside the mask)", "", func(s Scores) string { return "**" + F3(s.Locality) + "**" })
	row("masked MSE inside the mask", "", func(s Scores) string { return Sci(s.MSEInside) })
	row("masked MSE outside the mask ↓", "", func(s Scores) string { return Sci(s.MSEOutside) })
	row("transfer score ↑ (here: |cos| of the changes)", "transfer", func(s Scores) string { return F3(s.Transfer) })
	row("transfer edit time ↓", "transfer time", func(s Scores) string { return Seconds(s.TransferTime) })
	row("learning time ↓ (one direction)", "learn time", func(s Scores) string { return Seconds(s.LearnTime) })
	row("#images for learning", "images", func(Scores) string { return "1" })
	return t.String()
}
