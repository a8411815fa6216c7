package loco

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// FormatVersion is written into saved directions.
const FormatVersion = "1"

// SavedDirection is an edit direction stored for transfer to other images or timesteps (spec §4.1 steps 3, 6).
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
	if len(s.Shape) != 3 || len(s.V) == 0 || len(s.V)%(s.Shape[0]*s.Shape[1]*s.Shape[2]) != 0 {
		return fmt.Errorf("saving direction: %d values do not fit shape %v", len(s.V), s.Shape)
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

// LoadDirection reads a direction written by Save (or a bare safetensors file with a "direction" tensor
// [rank, C, H, W] or [rank, C·H·W]).
func LoadDirection(path string) (*SavedDirection, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading direction: %w", err)
	}
	defer f.Close()
	t, err := f.Tensor("direction")
	if err != nil {
		return nil, fmt.Errorf("loading direction %s: %w", path, err)
	}
	v, err := t.Float32()
	if err != nil {
		return nil, fmt.Errorf("loading direction %s: %w", path, err)
	}
	meta := f.Metadata()
	s := &SavedDirection{V: v, Model: meta["model"], Output: meta["output"], MaskSummary: meta["mask"], Extra: map[string]string{}}
	switch len(t.Shape) {
	case 4:
		s.Shape = slices.Clone(t.Shape[1:])
	case 2:
		if s.Shape, err = parseShape(meta["shape"]); err != nil {
			return nil, fmt.Errorf("loading direction %s: tensor is [rank, d] and the metadata has no usable shape: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("loading direction %s: tensor shape %v, want [rank, C, H, W]", path, t.Shape)
	}
	if tt, err := strconv.ParseFloat(meta["t"], 32); err == nil {
		s.T = float32(tt)
	}
	s.Index, _ = strconv.Atoi(meta["edit_index"])
	s.Rank, _ = strconv.Atoi(meta["rank"])
	s.NullRank, _ = strconv.Atoi(meta["null_rank"])
	s.Scale, _ = strconv.ParseFloat(meta["scale"], 64)
	for k, val := range meta {
		if e, ok := strings.CutPrefix(k, "extra."); ok {
			s.Extra[e] = val
		}
	}
	return s, nil
}

func parseShape(s string) ([]int, error) {
	fields := strings.Fields(strings.Trim(s, "[]"))
	if len(fields) != 3 {
		return nil, fmt.Errorf("shape %q", s)
	}
	out := make([]int, 3)
	for i, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
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

// NewSavedDirection packages a computed direction with its provenance.
func NewSavedDirection(p *Pipeline, d *Direction, index int, mask []float32, output Output, scale float64) *SavedDirection {
	nullRank := 0
	if d.Null != nil {
		nullRank = d.Null.Rank
	}
	return &SavedDirection{V: d.V, Shape: slices.Clone(p.SampleShape()), Model: p.Model.Name(), T: d.T, Index: index,
		Rank: d.Rank, NullRank: nullRank, Output: output.String(), MaskSummary: MaskSummary(mask, p.SampleShape()), Scale: scale}
}
