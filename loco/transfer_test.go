package loco

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// directionFile encodes a direction file with the given tensor and metadata.
func directionFile(t testing.TB, dir *safetensors.Tensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, map[string]*safetensors.Tensor{"direction": dir}, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeBytes(data []byte) (*SavedDirection, error) {
	f, err := safetensors.Parse(data)
	if err != nil {
		return nil, err
	}
	return decodeDirection(f)
}

func TestDirectionRoundTrip(t *testing.T) {
	sd := &SavedDirection{V: []float32{1, 0, 0, 0, 0, 1, 0, 0}, Shape: []int{1, 2, 2}, Model: "m", T: 600, Index: 40, Rank: 2,
		NullRank: 5, Output: "pmp", MaskSummary: "x", Scale: -0.5, Extra: map[string]string{"k": "v"}}
	path := filepath.Join(t.TempDir(), "d.safetensors")
	if err := sd.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadDirection(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.V, sd.V) || !slices.Equal(back.Shape, sd.Shape) || back.T != 600 || back.Index != 40 || back.Rank != 2 ||
		back.NullRank != 5 || back.Scale != -0.5 || back.Extra["k"] != "v" || back.Rows() != 2 || back.Model != "m" {
		t.Errorf("round trip: %+v", back)
	}
	// A bare [rank, d] tensor with a shape entry, and no other metadata.
	bare, err := decodeBytes(directionFile(t, safetensors.FromFloat32([]int{1, 4}, []float32{0, 1, 0, 0}), map[string]string{"shape": "[1 2 2]"}))
	if err != nil || !slices.Equal(bare.Shape, []int{1, 2, 2}) || bare.T != 0 {
		t.Errorf("bare direction: %+v, %v", bare, err)
	}
}

// Damaged or foreign direction files are refused with the problem and the fix named, never half-read.
func TestDirectionFileErrors(t *testing.T) {
	unit := safetensors.FromFloat32([]int{1, 1, 2, 2}, []float32{1, 0, 0, 0})
	for _, c := range []struct {
		name string
		dir  *safetensors.Tensor
		meta map[string]string
		want string
	}{
		{"integer tensor", &safetensors.Tensor{DType: safetensors.I32, Shape: []int{1, 1, 2, 2}, Data: make([]byte, 16)}, nil, "I32"},
		{"NaN value", safetensors.FromFloat32([]int{2, 1, 1, 2}, []float32{1, 0, 0, float32(math.NaN())}), nil, "direction 1 holds NaN at value 1"},
		{"Inf value", safetensors.FromFloat32([]int{1, 1, 1, 2}, []float32{float32(math.Inf(1)), 0}), nil, "+Inf"},
		{"zero rank", safetensors.FromFloat32([]int{0, 1, 2, 2}, nil), nil, "holds no direction"},
		{"zero size", safetensors.FromFloat32([]int{1, 1, 0, 2}, nil), nil, "holds no direction"},
		{"3-d tensor", safetensors.FromFloat32([]int{1, 2, 2}, make([]float32, 4)), nil, "want [rank, C, H, W]"},
		{"flat without shape", safetensors.FromFloat32([]int{1, 4}, make([]float32, 4)), nil, `no "shape"`},
		{"flat, wrong shape", safetensors.FromFloat32([]int{1, 4}, make([]float32, 4)), map[string]string{"shape": "[1 3 2]"}, "has 6 values"},
		{"shape disagrees", unit, map[string]string{"shape": "[3 2 2]"}, "inconsistent"},
		{"shape garbage", unit, map[string]string{"shape": "[1 -2 2]"}, "three positive sizes"},
		{"shape overflow", unit, map[string]string{"shape": "[2147483648 2147483648 2147483648]"}, "too many values"},
		{"t NaN", unit, map[string]string{"t": "NaN"}, `metadata "t" = "NaN"`},
		{"t negative", unit, map[string]string{"t": "-3"}, "finite number"},
		{"scale Inf", unit, map[string]string{"scale": "+Inf"}, `metadata "scale"`},
		{"rank text", unit, map[string]string{"rank": "two"}, `metadata "rank" = "two": want a non-negative integer`},
		{"index negative", unit, map[string]string{"edit_index": "-1"}, `metadata "edit_index"`},
	} {
		_, err := decodeBytes(directionFile(t, c.dir, c.meta))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := decodeBytes(directionFile(t, unit, map[string]string{"t": "600"})); err != nil {
		t.Errorf("valid file refused: %v", err)
	}
	path := filepath.Join(t.TempDir(), "nan.safetensors")
	if err := safetensors.Write(path, map[string]*safetensors.Tensor{"direction": unit}, map[string]string{"t": "NaN"}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDirection(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "save the direction again") {
		t.Errorf("LoadDirection: error %v does not name the file and the fix", err)
	}
}

// FuzzDecodeDirection checks that a direction file is either refused or fully usable: every row readable, the
// shape consistent with the values, every value finite. Seeds are in testdata/fuzz/FuzzDecodeDirection.
func FuzzDecodeDirection(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeBytes(data)
		if err != nil {
			return
		}
		d := s.Shape[0] * s.Shape[1] * s.Shape[2]
		if len(s.Shape) != 3 || d < 1 || s.Rows() < 1 || s.Rows()*d != len(s.V) || len(s.Row(s.Rows()-1)) != d {
			t.Fatalf("accepted direction of shape %v with %d values", s.Shape, len(s.V))
		}
		for _, v := range s.V {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatal("accepted a non-finite value")
			}
		}
		if math.IsNaN(float64(s.T)) || math.IsNaN(s.Scale) || s.Index < 0 || s.Rank < 0 || s.NullRank < 0 {
			t.Fatalf("accepted metadata %+v", s)
		}
	})
}
