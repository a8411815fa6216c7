package diffusers

import (
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/mlx"
)

const goldenDir = "../../testdata/golden"

// golden reads one reference tensor as float32 with its shape.
func golden(t testing.TB, name string) ([]float32, []int) {
	t.Helper()
	return readGolden(t, filepath.Join(goldenDir, "golden.safetensors"), name)
}

// readGolden returns tensor name of a safetensors file as float32 values and its shape.
func readGolden(t testing.TB, path, name string) ([]float32, []int) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tt, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return data, slices.Clone(tt.Shape)
}

func goldenTensor(t testing.TB, name string) *tensors.Tensor {
	d, s := golden(t, name)
	return tensors.FromFlatDataAndDimensions(d, s...)
}

// relErr is max|a-b| / max|b|.
func relErr(a, b []float32) float64 {
	var d, s float64
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		s = max(s, math.Abs(float64(b[i])))
	}
	return d / max(s, 1e-30)
}

func maxAbsErr(a, b []float32) float64 {
	var d float64
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func loadTiny(t testing.TB, dir string) *UNet2DModel {
	t.Helper()
	m, err := LoadUNet2D(filepath.Join(goldenDir, dir))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTinyUNetMatchesDiffusers(t *testing.T) {
	b, err := mlx.Backend()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"tiny-ddpm-unet", "tiny-ddpm-unet-legacy-attn-names"} {
		m := loadTiny(t, dir)
		var names []string
		var outs []*tensors.Tensor
		err := mlx.Call(func() {
			e := context.MustNewExec(b, m.Context(), func(ctx *context.Context, in []*Node) []*Node {
				eps, acts := m.ForwardWithActivations(ctx, in[0], in[1])
				names = names[:0]
				for n := range acts {
					names = append(names, n)
				}
				sort.Strings(names)
				res := []*Node{eps}
				for _, n := range names {
					res = append(res, acts[n])
				}
				return res
			})
			outs = e.MustExec(goldenTensor(t, "in/xt"), goldenTensor(t, "in/t_float"))
		})
		if err != nil {
			t.Fatal(err)
		}
		eps := tensors.MustCopyFlatData[float32](outs[0])
		want, _ := golden(t, "out/eps_t_float")
		if d := maxAbsErr(eps, want); d > 1e-4 {
			t.Errorf("%s: eps differs from diffusers by %.3g", dir, d)
		}
		gf, err := safetensors.Open(filepath.Join(goldenDir, "golden.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for i, n := range names {
			if !gf.Has("act/" + n) {
				continue
			}
			got := tensors.MustCopyFlatData[float32](outs[i+1])
			ref, shape := golden(t, "act/"+n)
			if !slices.Equal(outs[i+1].Shape().Dimensions, shape) {
				t.Errorf("%s: activation %s has shape %v, diffusers %v", dir, n, outs[i+1].Shape().Dimensions, shape)
				continue
			}
			if e := relErr(got, ref); e > 1e-4 {
				t.Errorf("%s: activation %s differs by %.3g relative to its scale", dir, n, e)
			}
			checked++
		}
		gf.Close()
		if checked != 16 {
			t.Errorf("%s: checked %d activations, golden has 16", dir, checked)
		}
		if dir == "tiny-ddpm-unet" {
			t.Logf("%s: eps max-abs error %.3g; %d activations checked", dir, maxAbsErr(eps, want), checked)
		}
	}
}

func TestGoldenActivationNamesCovered(t *testing.T) {
	f, err := safetensors.Open(filepath.Join(goldenDir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := loadTiny(t, "tiny-ddpm-unet")
	b, _ := mlx.Backend()
	var have map[string]*Node
	err = mlx.Call(func() {
		g := NewGraph(b, "names")
		defer g.Finalize()
		_, have = m.ForwardWithActivations(m.Context(), Parameter(g, "x", goldenTensor(t, "in/xt").Shape()), Parameter(g, "t", goldenTensor(t, "in/t_float").Shape()))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.Names() {
		if name, ok := strings.CutPrefix(n, "act/"); ok {
			if _, found := have[name]; !found {
				t.Errorf("golden activation %s is not produced by ForwardWithActivations", name)
			}
		}
	}
}
