// Package figures builds the pictures and tables of the project's notebooks, one per figure of the
// LOCO-Edit paper (Chen et al., NeurIPS 2024): labelled grids of edit strips with captions, sweeps of the
// edit time, null-space rank and strength with the locality of every setting, transfer and composition of
// directions, the intermediate images of the method diagram, and the Table 1 metrics.
//
// The notebooks stay a few lines per cell; the work is done here, on any loco.Denoiser:
//
//	s, err := figures.Open("fashion-molrg-32")             // or a HuggingFace id on a GPU kernel
//	x0, err := s.LoadImage("../cmd/loco/testimages/fashion-0.png")
//	mask, err := s.Region("upper")
//	out, err := s.Edit(x0, mask, loco.DefaultEditJob())   // invert (cached), direction, strip, locality
//	fig := figures.NewFigure("upper half").Add(out.Row("LOCO"))
//	err = figures.Show(fig)                               // PNG in the notebook
//
// Every figure edits with a loco.EditJob; a Session caches each image's inversion and its point at each edit
// time, so sweeps invert an image once. With the default job edits are decoded deterministically (DDIM η = 0),
// so that locality and transfer scores measure the edit and not sampling noise.
package figures
