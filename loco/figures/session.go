package figures

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/models/molrg"
	"github.com/locoedit/locoedit/nbutil"
)

// DefaultModel is the model the notebooks use when no other is set: the embedded Fashion-MNIST mixture of
// low-rank Gaussians (1×32×32), which runs everywhere without a GPU or a download.
const DefaultModel = molrg.EmbeddedName

// Session is a loaded model with its pipeline, and a cache of inversions in front of loco's edit pipeline: every
// figure edits with a loco.EditJob (start from loco.DefaultEditJob), and an image is inverted and brought to an
// edit time once, however many settings a sweep tries on it.
type Session struct {
	// Model is the denoiser and Pipeline runs it.
	Model    loco.Denoiser
	Pipeline *loco.Pipeline
	// C, H, W are the shape of the model's images (its sample shape, or a latent model's decoded image shape).
	C, H, W int
	// Progress shows progress bars for long loops (on by default inside a notebook).
	Progress bool

	mu       sync.Mutex
	inverted map[inversionKey][]float32
	points   map[pointKey]*loco.Point
	classes  map[int]*loco.Pipeline
}

// inversionKey identifies an inversion: the image and the inversion settings.
type inversionKey struct {
	image    uint64
	steps    int
	allPairs bool
}

// pointKey identifies a prepared point: the inversion and the (resolved) edit time.
type pointKey struct {
	inversionKey
	editT float64
}

// Open loads a model by name (an embedded name such as DefaultModel, a diffusers folder or a HuggingFace id,
// see loco.LoadModel) and prepares its pipeline.
func Open(model string) (*Session, error) {
	m, err := loco.LoadModel(model)
	if err != nil {
		return nil, err
	}
	return NewSession(m)
}

// NewSession wraps an already loaded denoiser.
func NewSession(m loco.Denoiser) (*Session, error) {
	p, err := loco.NewPipeline(m)
	if err != nil {
		return nil, fmt.Errorf("preparing model %s: %w", m.Name(), err)
	}
	sh := p.OutputShape() // images: the decoded ones of a latent model
	return &Session{Model: m, Pipeline: p, C: sh[0], H: sh[1], W: sh[2], Progress: nbutil.IsNotebook(),
		inverted: map[inversionKey][]float32{}, points: map[pointKey]*loco.Point{}, classes: map[int]*loco.Pipeline{}}, nil
}

// Dim is C·H·W, the number of values of one image.
func (s *Session) Dim() int { return s.C * s.H * s.W }

// LoadImage reads an image file (PNG or JPEG) as one model input: converted to the model's channels and
// centre-cropped and resized to its size.
func (s *Session) LoadImage(path string) ([]float32, error) {
	x, _, err := s.LoadImageFramed(path)
	return x, err
}

// LoadImageFramed is LoadImage that also returns the framing applied (the centred crop and the resize), so
// that a mask or label map drawn on the same picture selects the same content at the model's size:
// framing.ReadMask(path, imageio.MaskNearest) or framing.LabelMask(labels, classes...).
func (s *Session) LoadImageFramed(path string) ([]float32, imageio.Framing, error) {
	img, framing, err := imageio.LoadImageFramed(path, s.C, s.H, s.W, imageio.Convert, imageio.CenterCrop)
	if err != nil {
		return nil, framing, err
	}
	return img.Pix, framing, nil
}

// LoadImages reads several image files with LoadImage.
func (s *Session) LoadImages(paths ...string) ([][]float32, error) {
	out := make([][]float32, len(paths))
	for i, p := range paths {
		var err error
		if out[i], err = s.LoadImage(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestImagePath is the path of the project's Fashion-MNIST test image of a class (0–9), the images
// `loco demo` embeds: cmd/loco/testimages/fashion-<class>.png, found from the working directory or one of its
// parents (notebooks run in notebooks/, so it is usually ../cmd/loco/testimages/…).
func TestImagePath(class int) string {
	return repoPath(filepath.Join("cmd", "loco", "testimages", fmt.Sprintf("fashion-%d.png", class)))
}

// repoPath finds rel, a path relative to the repository root, from the current folder or one above it.
func repoPath(rel string) string {
	dir := "."
	for range 6 {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		dir = filepath.Join(dir, "..")
	}
	return filepath.Join("..", rel)
}

// ClassName names class k of the model (loco.ClassConditional), or returns "class k".
func (s *Session) ClassName(k int) string {
	if cc, ok := s.Model.(loco.ClassConditional); ok {
		if names := cc.ClassNames(); k >= 0 && k < len(names) && names[k] != "" {
			return names[k]
		}
	}
	return fmt.Sprintf("class %d", k)
}

// Picture wraps one image of the model's shape (C·H·W values) for a figure.
func (s *Session) Picture(x []float32) (*imageio.Image, error) {
	if len(x) != s.Dim() {
		return nil, fmt.Errorf("image has %d values, want %d (C,H,W = %d,%d,%d)", len(x), s.Dim(), s.C, s.H, s.W)
	}
	return imageio.FromCHW(x, s.C, s.H, s.W)
}

// Generate draws a new image with the model's sampler (deterministic DDIM, or a latent consistency model's own)
// from the x_T of seed (loco.Pipeline.Noise), decoded for a latent model. For a
// class-conditional model (loco.ClassConditional, e.g. fashion-molrg-32) class ≥ 0 draws an image of that class;
// otherwise the model's own distribution is sampled and class is ignored.
func (s *Session) Generate(class int, seed uint64) ([]float32, error) {
	p, err := s.classPipeline(class)
	if err != nil {
		return nil, err
	}
	x, err := p.Sample(s.Pipeline.Noise(seed), 0, -1, loco.SampleOptions{})
	if err != nil {
		return nil, err
	}
	return p.Images(x) // decoded for a latent model
}

// classPipeline is the pipeline of the model restricted to class (the session's own for class < 0 or a model
// without classes), built once per class.
func (s *Session) classPipeline(class int) (*loco.Pipeline, error) {
	cc, ok := s.Model.(loco.ClassConditional)
	if !ok || class < 0 {
		return s.Pipeline, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.classes[class]; ok {
		return p, nil
	}
	m, err := cc.ForClass(class)
	if err != nil {
		return nil, err
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		return nil, err
	}
	s.classes[class] = p
	return p, nil
}

// imageKey hashes an image's values.
func imageKey(x []float32) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, v := range x {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	return h.Sum64()
}

// Prepare inverts x0 and brings it to the job's edit time (loco.Pipeline.Prepare), caching the inversion per
// image and inversion settings and the point per edit time. The returned Point is shared: do not modify its
// slices.
func (s *Session) Prepare(x0 []float32, job loco.EditJob) (*loco.Point, error) {
	if len(x0) != s.Dim() {
		return nil, fmt.Errorf("image has %d values, want %d (C,H,W = %d,%d,%d): load it with Session.LoadImage", len(x0), s.Dim(), s.C, s.H, s.W)
	}
	if err := job.Validate(); err != nil {
		return nil, err
	}
	inv := inversionKey{imageKey(x0), job.Steps, job.AllPairs}
	key := pointKey{inv, s.Pipeline.EditT(job.EditT)}
	s.mu.Lock()
	pt, ok := s.points[key]
	xT, inverted := s.inverted[inv]
	s.mu.Unlock()
	if ok {
		return pt, nil
	}
	if !inverted {
		var err error
		if xT, err = s.Pipeline.Invert(x0, loco.InvertOptions{Steps: job.Steps, AllPairs: job.AllPairs}); err != nil {
			return nil, fmt.Errorf("inverting the image: %w", err)
		}
	}
	pt, err := s.Pipeline.PrepareInverted(x0, xT, job)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.inverted[inv] = xT
	s.points[key] = pt
	s.mu.Unlock()
	return pt, nil
}

// Reconstruct decodes a prepared point without any edit (deterministic DDIM from its x_t): the image the edits
// are compared with.
func (s *Session) Reconstruct(pt *loco.Point) ([]float32, error) {
	return s.Pipeline.Decode(pt, pt.Xt, loco.DefaultEditJob())
}

// bar returns a progress bar for n steps when the session shows progress (nil, which progress.Add accepts,
// otherwise).
func (s *Session) bar(n int, desc string) *progressbar.ProgressBar {
	if !s.Progress {
		return nil
	}
	return nbutil.Progress(n, desc)
}
