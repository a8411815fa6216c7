package figures

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/models/molrg"
	"github.com/locoedit/locoedit/nbutil"
)

// DefaultModel is the model the notebooks use when no other is set: the embedded Fashion-MNIST mixture of
// low-rank Gaussians (1×32×32), which runs everywhere without a GPU or a download.
const DefaultModel = molrg.EmbeddedName

// Session is a loaded model with its pipeline and the DDIM settings every figure shares. It caches the
// DDIM inversion of each image, so sweeps over edit settings invert an image once.
type Session struct {
	// Model is the denoiser and Pipeline runs it.
	Model    loco.Denoiser
	Pipeline *loco.Pipeline
	// C, H, W are the model's sample shape.
	C, H, W int
	// Steps is the DDIM grid size N used for inversion, sampling and decoding (default 100, the authors').
	Steps int
	// AllPairs runs every DDIM inversion pair, ending at t_max where generation starts (default true).
	// False reproduces the authors' loop, which stops one pair early; on fashion-molrg-32 that makes some
	// garments (e.g. the test shirt) regenerate as another class.
	AllPairs bool
	// Progress shows progress bars for long loops (on by default inside a notebook).
	Progress bool

	mu       sync.Mutex
	inverted map[uint64][]float32
	points   map[pointKey]*Point
}

// pointKey identifies a prepared point: the image (with the inversion settings) and the edit time.
type pointKey struct {
	image uint64
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
	sh := p.SampleShape()
	return &Session{Model: m, Pipeline: p, C: sh[0], H: sh[1], W: sh[2], Steps: 100, AllPairs: true,
		Progress: nbutil.IsNotebook(), inverted: map[uint64][]float32{}, points: map[pointKey]*Point{}}, nil
}

// Dim is C·H·W, the number of values of one image.
func (s *Session) Dim() int { return s.C * s.H * s.W }

// LoadImage reads an image file (PNG or JPEG) as one model input: converted to the model's channels and
// centre-cropped and resized to its size.
func (s *Session) LoadImage(path string) ([]float32, error) {
	img, err := imageio.LoadImage(path, s.C, s.H, s.W, imageio.Convert, imageio.CenterCrop)
	if err != nil {
		return nil, err
	}
	return img.Pix, nil
}

// fit converts a c×h×w image in [−1, 1] to the model's shape: grey is replicated to RGB (RGB to grey takes
// the luminance) and the size is resampled with imageio.Resize.
func (s *Session) fit(pix []float32, c, h, w int) ([]float32, error) {
	img, err := imageio.FromCHW(pix, c, h, w)
	if err != nil {
		return nil, err
	}
	if c != s.C {
		pic, err := imageio.ToImage(img)
		if err != nil {
			return nil, err
		}
		if img, err = imageio.DecodeImage(pic, s.C, imageio.Convert); err != nil {
			return nil, err
		}
	}
	if h != s.H || w != s.W {
		if img, err = imageio.Resize(img, s.H, s.W); err != nil {
			return nil, err
		}
	}
	return img.Pix, nil
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
	rel := filepath.Join("cmd", "loco", "testimages", fmt.Sprintf("fashion-%d.png", class))
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

// ClassName names a Fashion-MNIST class (0–9), or returns "class k".
func ClassName(class int) string {
	if class >= 0 && class < len(fashionmnist.ClassNames) {
		return fashionmnist.ClassNames[class]
	}
	return fmt.Sprintf("class %d", class)
}

// Picture wraps one image of the model's shape (C·H·W values) for a figure.
func (s *Session) Picture(x []float32) (*imageio.Image, error) {
	if len(x) != s.Dim() {
		return nil, fmt.Errorf("image has %d values, want %d (C,H,W = %d,%d,%d)", len(x), s.Dim(), s.C, s.H, s.W)
	}
	return imageio.FromCHW(x, s.C, s.H, s.W)
}

// Generate draws a new image with seeded deterministic DDIM. For a class-conditional mixture (the embedded
// fashion-molrg-32) class ≥ 0 draws a garment of that class; otherwise the model's own distribution is
// sampled and class is ignored.
func (s *Session) Generate(class int, seed uint64) ([]float32, error) {
	xT := molrg.GaussianNoise(s.Dim(), seed)
	if m, ok := s.Model.(*molrg.Model); ok && class >= 0 {
		mk, err := m.WithClass(class)
		if err != nil {
			return nil, err
		}
		return mk.SampleDDIM(xT, s.Steps)
	}
	return s.Pipeline.Sample(xT, 0, -1, loco.SampleOptions{Steps: s.Steps})
}

// imageKey hashes an image's values and the inversion settings.
func (s *Session) imageKey(x []float32) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%v/", s.Steps, s.AllPairs)
	var b [4]byte
	for _, v := range x {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	return h.Sum64()
}

// Point is an image brought to an edit time: its DDIM inversion x_T and the latent x_t at the grid index
// nearest to EditT (the authors' rule, loco.Grid.EditIndex).
type Point struct {
	X0, XT, Xt []float32
	EditT      float64
	Index      int
	T          float32
}

// Prepare inverts x0 and denoises x_T to the edit time editT (a fraction of the 1000 training steps; the
// paper uses 0.5–0.7). Both are cached per image and edit time: the returned Point is shared, do not modify
// its slices.
func (s *Session) Prepare(x0 []float32, editT float64) (*Point, error) {
	if len(x0) != s.Dim() {
		return nil, fmt.Errorf("image has %d values, want %d (C,H,W = %d,%d,%d): load it with Session.LoadImage", len(x0), s.Dim(), s.C, s.H, s.W)
	}
	if editT <= 0 || editT > 1 {
		return nil, fmt.Errorf("edit time %g is outside (0, 1]: it is a fraction of the 1000 training steps (the paper uses 0.5–0.7)", editT)
	}
	key := pointKey{s.imageKey(x0), editT}
	s.mu.Lock()
	pt, ok := s.points[key]
	s.mu.Unlock()
	if ok {
		return pt, nil
	}
	g, err := s.Pipeline.Grid(s.Steps, false)
	if err != nil {
		return nil, err
	}
	xT, err := s.invert(x0, key.image)
	if err != nil {
		return nil, err
	}
	idx := g.EditIndex(editT)
	xt, err := s.Pipeline.Sample(xT, 0, idx, loco.SampleOptions{Steps: s.Steps})
	if err != nil {
		return nil, fmt.Errorf("denoising to the edit time %g: %w", editT, err)
	}
	pt = &Point{X0: x0, XT: xT, Xt: xt, EditT: editT, Index: idx, T: g.Timesteps[idx]}
	s.mu.Lock()
	s.points[key] = pt
	s.mu.Unlock()
	return pt, nil
}

// invert returns the DDIM inversion of x0 (whose imageKey is key), computing it once per image.
func (s *Session) invert(x0 []float32, key uint64) ([]float32, error) {
	s.mu.Lock()
	xT, ok := s.inverted[key]
	s.mu.Unlock()
	if ok {
		return xT, nil
	}
	xT, err := s.Pipeline.Invert(x0, loco.InvertOptions{Steps: s.Steps, AllPairs: s.AllPairs})
	if err != nil {
		return nil, fmt.Errorf("inverting the image: %w", err)
	}
	s.mu.Lock()
	s.inverted[key] = xT
	s.mu.Unlock()
	return xT, nil
}

// Decode denoises latents (a batch of images at grid index index, n·C·H·W values) to t = 0 with the
// session's grid; boost turns on the authors' performance boosting (stochastic, seeded).
func (s *Session) Decode(xt []float32, index int, boost bool, seed uint64) ([]float32, error) {
	return s.Pipeline.Denoise(xt, index, loco.EditOptions{Steps: s.Steps, Boost: boost, Seed: seed})
}
