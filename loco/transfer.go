package loco

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// FormatVersion is written into saved directions.
const FormatVersion = "1"

// SavedDirection is an edit direction stored for transfer to other images or timesteps (docs/method.md §7.3).
type SavedDirection struct {
	// V holds the unit directions as rows (rank × C·H·W).
	V []float32
	// Shape is the model's sample shape [C,H,W].
	Shape []int
	// Model, T, Index, Rank, NullRank, Output, MaskSummary and Scale describe how it was computed.
	Model       string
	T           float32
	Index       int
	Rank        int
	NullRank    int
	Output      string
	MaskSummary string
	Scale       float64
	Extra       map[string]string
}

// Row returns direction i.
func (s *SavedDirection) Row(i int) []float32 {
	d := s.Shape[0] * s.Shape[1] * s.Shape[2]
	return s.V[i*d : (i+1)*d]
}

// Rows is the number of directions stored.
func (s *SavedDirection) Rows() int { return len(s.V) / (s.Shape[0] * s.Shape[1] * s.Shape[2]) }

// MaskSummary describes a mask for metadata: how many values are inside and the bounding box of the inside.
func MaskSummary(mask []float32, shape []int) string {
	c, h, w := shape[0], shape[1], shape[2]
	n := 0
	y0, x0, y1, x1 := h, w, -1, -1
	for ci := range c {
		for y := range h {
			for x := range w {
				if mask[(ci*h+y)*w+x] != 0 {
					n++
					y0, x0, y1, x1 = min(y0, y), min(x0, x), max(y1, y), max(x1, x)
				}
			}
		}
	}
	if n == 0 {
		return "empty"
	}
	return fmt.Sprintf("%d of %d values inside, rows %d–%d, cols %d–%d", n, len(mask), y0, y1, x0, x1)
}

// Save writes the direction as safetensors ("direction" [rank, C, H, W] float32 plus metadata), atomically.
func (s *SavedDirection) Save(path string) error {
	if len(s.Shape) != 3 || s.Shape[0] < 1 || s.Shape[1] < 1 || s.Shape[2] < 1 || len(s.V) == 0 ||
		len(s.V)%(s.Shape[0]*s.Shape[1]*s.Shape[2]) != 0 {
		return fmt.Errorf("saving direction: %d values do not fit shape %v", len(s.V), s.Shape)
	}
	if err := s.checkValues(); err != nil {
		return fmt.Errorf("saving direction %s: %w", path, err)
	}
	meta := map[string]string{
		"format": "loco-direction", "version": FormatVersion, "model": s.Model,
		"t": strconv.FormatFloat(float64(s.T), 'g', -1, 32), "edit_index": strconv.Itoa(s.Index),
		"rank": strconv.Itoa(s.Rank), "null_rank": strconv.Itoa(s.NullRank), "output": s.Output,
		"mask": s.MaskSummary, "scale": strconv.FormatFloat(s.Scale, 'g', -1, 64),
		"shape": fmt.Sprint(s.Shape),
	}
	for k, v := range s.Extra {
		meta["extra."+k] = v
	}
	shape := append([]int{s.Rows()}, s.Shape...)
	t := map[string]*safetensors.Tensor{"direction": safetensors.FromFloat32(shape, s.V)}
	if err := safetensors.Write(path, t, meta); err != nil {
		return fmt.Errorf("saving direction: %w", err)
	}
	return nil
}

// checkValues refuses what LoadDirection would refuse: values that are not finite, a negative or non-finite
// time, a non-finite scale, negative counts.
func (s *SavedDirection) checkValues() error {
	d := s.Shape[0] * s.Shape[1] * s.Shape[2]
	for i, v := range s.V {
		if !finite(float64(v)) {
			return fmt.Errorf("direction %d holds %v at value %d: directions must be finite", i/d, v, i%d)
		}
	}
	p := newProblems()
	if !(s.T >= 0) || math.IsInf(float64(s.T), 0) {
		p.add("time", "T", s.T, "it must be a finite timestep ≥ 0")
	}
	if !finite(s.Scale) {
		p.add("strength step", "Scale", s.Scale, "it must be a finite number")
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"Index", s.Index}, {"Rank", s.Rank}, {"NullRank", s.NullRank}} {
		if c.n < 0 {
			p.add("count", c.name, c.n, "it must be ≥ 0")
		}
	}
	return p.err()
}

// LoadDirection reads a direction written by Save (or a bare safetensors file with a float "direction" tensor
// [rank, C, H, W], or [rank, C·H·W] with a "shape" metadata entry). The tensor must be finite; metadata keys
// are optional, but a key that is present must hold a valid value.
func LoadDirection(path string) (*SavedDirection, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading direction: %w", err)
	}
	defer f.Close()
	s, err := decodeDirection(f)
	if err != nil {
		return nil, fmt.Errorf("loading direction %s: %w", path, err)
	}
	return s, nil
}

// decodeDirection reads and checks the direction tensor and the metadata of a direction file.
func decodeDirection(f *safetensors.File) (*SavedDirection, error) {
	t, err := f.Tensor("direction")
	if err != nil {
		return nil, err
	}
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("the direction tensor is %s: directions are floating point (F32), this is not a direction file", t.DType)
	}
	meta := f.Metadata()
	s := &SavedDirection{Model: meta["model"], Output: meta["output"], MaskSummary: meta["mask"], Extra: map[string]string{}}
	var metaShape []int
	if v, ok := meta["shape"]; ok {
		if metaShape, err = parseShape(v); err != nil {
			return nil, err
		}
	}
	switch len(t.Shape) {
	case 4:
		s.Shape = slices.Clone(t.Shape[1:])
		if metaShape != nil && !slices.Equal(metaShape, s.Shape) {
			return nil, fmt.Errorf("the direction tensor is %v but the metadata says shape %v: the file is inconsistent", t.Shape, metaShape)
		}
	case 2:
		if metaShape == nil {
			return nil, fmt.Errorf("the direction tensor is [rank, d] = %v and the metadata has no \"shape\" [C H W]: save it as [rank, C, H, W]", t.Shape)
		}
		if d := metaShape[0] * metaShape[1] * metaShape[2]; d != t.Shape[1] {
			return nil, fmt.Errorf("the direction tensor is [rank, d] = %v but the metadata shape %v has %d values", t.Shape, metaShape, d)
		}
		s.Shape = metaShape
	default:
		return nil, fmt.Errorf("the direction tensor has shape %v, want [rank, C, H, W]", t.Shape)
	}
	if t.Shape[0] < 1 || slices.Contains(s.Shape, 0) {
		return nil, fmt.Errorf("the direction tensor has shape %v: it holds no direction", t.Shape)
	}
	if s.V, err = t.Float32(); err != nil {
		return nil, err
	}
	d := len(s.V) / t.Shape[0]
	for i, v := range s.V {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("direction %d holds %v at value %d: the file is damaged, compute the direction again", i/d, v, i%d)
		}
	}
	m := metadata{entries: meta}
	s.T = float32(m.number("t", 0, math.MaxFloat32))
	s.Index, s.Rank, s.NullRank = m.count("edit_index"), m.count("rank"), m.count("null_rank")
	s.Scale = m.number("scale", -math.MaxFloat64, math.MaxFloat64)
	if m.err != nil {
		return nil, m.err
	}
	for k, val := range meta {
		if e, ok := strings.CutPrefix(k, "extra."); ok {
			s.Extra[e] = val
		}
	}
	return s, nil
}

// metadata reads optional numeric entries of a direction file's metadata, keeping the first error.
type metadata struct {
	entries map[string]string
	err     error
}

// number returns entry key as a finite number in [lo, hi] (0 when absent).
func (m *metadata) number(key string, lo, hi float64) float64 {
	v, ok := m.entries[key]
	if !ok {
		return 0
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(x) || x < lo || x > hi {
		m.fail(key, v, fmt.Sprintf("want a finite number in [%g, %g]", lo, hi))
		return 0
	}
	return x
}

// count returns entry key as a non-negative integer (0 when absent).
func (m *metadata) count(key string) int {
	v, ok := m.entries[key]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		m.fail(key, v, "want a non-negative integer")
		return 0
	}
	return n
}

func (m *metadata) fail(key, value, want string) {
	if m.err == nil {
		m.err = fmt.Errorf("metadata %q = %q: %s (remove the entry, or save the direction again)", key, value, want)
	}
}

// parseShape parses the "shape" metadata entry, "[C H W]" with positive sizes of at most 2³¹ values in all.
func parseShape(s string) ([]int, error) {
	fields := strings.Fields(strings.Trim(strings.TrimSpace(s), "[]"))
	if len(fields) != 3 {
		return nil, fmt.Errorf("metadata \"shape\" = %q: want [C H W]", s)
	}
	out := make([]int, 3)
	size := int64(1)
	for i, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 || v > 1<<31 {
			return nil, fmt.Errorf("metadata \"shape\" = %q: want three positive sizes [C H W]", s)
		}
		if size *= int64(v); size > 1<<31 {
			return nil, fmt.Errorf("metadata \"shape\" = %q: too many values", s)
		}
		out[i] = v
	}
	return out, nil
}

// CheckFits returns an error when the direction was computed for samples of another shape than the pipeline's.
func (s *SavedDirection) CheckFits(p *Pipeline) error {
	if !slices.Equal(s.Shape, p.SampleShape()) {
		return fmt.Errorf("direction was computed for samples of shape %v (model %q) but model %q works at %v: transfer needs a model of the same shape",
			s.Shape, s.Model, p.Model.Name(), p.SampleShape())
	}
	return nil
}

// Saved packages the result's direction with its provenance, for transfer: every row of a computed direction
// (so another row can be chosen later), or the given direction it was edited along. mask is the edit's mask
// (nil: none).
func (r *EditResult) Saved(p *Pipeline, mask []float32) *SavedDirection {
	sd := &SavedDirection{V: r.V, Shape: slices.Clone(p.SampleShape()), Model: p.Model.Name(), T: r.Point.T, Index: r.Point.Index,
		Rank: 1, NullRank: r.Job.Direction.NullRank, Output: r.Job.Direction.Output.String(), MaskSummary: "none", Scale: r.Job.LambdaStep}
	if d := r.Direction; d != nil {
		sd.V, sd.Rank, sd.NullRank = d.V, d.Rank, 0
		if d.Null != nil {
			sd.NullRank = d.Null.Rank
		}
	}
	if mask != nil {
		sd.MaskSummary = MaskSummary(mask, p.OutputShape())
	}
	return sd
}
