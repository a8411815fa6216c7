package diffusers

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// celebaConfigPath is the config.json published with google/ddpm-ema-celebahq-256 (a diffusers 0.0.4-era file:
// it has no downsample_type, upsample_type, add_attention, attn_norm_num_groups, resnet_time_scale_shift,
// class_embed_type or dropout, so diffusers' defaults apply).
var celebaConfigPath = filepath.Join("testdata", "ddpm-ema-celebahq-256", "config.json")

// celebaNumParams is the parameter count of google/ddpm-ema-celebahq-256 (113.67 M).
const celebaNumParams = 113_673_219

func readCelebaConfig(t testing.TB) *UNet2DConfig {
	t.Helper()
	cfg, err := ReadUNet2DConfig(celebaConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCelebAHQConfig(t *testing.T) {
	cfg := readCelebaConfig(t)
	checks := []struct {
		field     string
		got, want any
	}{
		{"sample_size", cfg.SampleSize, 256},
		{"in_channels", cfg.InChannels, 3},
		{"out_channels", cfg.OutChannels, 3},
		{"block_out_channels", cfg.BlockOutChannels, []int{128, 128, 256, 256, 512, 512}},
		{"layers_per_block", cfg.LayersPerBlock, 2},
		{"down_block_types", cfg.DownBlockTypes, []string{"DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"}},
		{"up_block_types", cfg.UpBlockTypes, []string{"UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"}},
		{"norm_num_groups", cfg.NormNumGroups, 32},
		{"norm_eps", cfg.NormEps, 1e-6},
		{"act_fn", cfg.ActFn, "silu"},
		{"downsample_padding", cfg.DownsamplePadding, 0},
		{"flip_sin_to_cos", cfg.FlipSinToCos, false},
		{"freq_shift", cfg.FreqShift, 1.0},
		{"center_input_sample", cfg.CenterInputSample, false},
		{"time_embedding_type", cfg.TimeEmbeddingType, "positional"},
		{"mid_block_scale_factor", cfg.MidBlockScaleFactor, 1.0},
		{"attention_head_dim is null", cfg.AttentionHeadDim == nil, true},
		// Absent from this legacy file: diffusers' defaults.
		{"downsample_type (default)", cfg.DownsampleType, "conv"},
		{"upsample_type (default)", cfg.UpsampleType, "conv"},
		{"resnet_time_scale_shift (default)", cfg.ResnetTimeScaleShift, "default"},
		{"add_attention (default: nil = true)", cfg.AddAttention == nil, true},
	}
	for _, c := range checks {
		if !equalAny(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	n, err := cfg.NumParams()
	if err != nil {
		t.Fatal(err)
	}
	if n != celebaNumParams {
		t.Errorf("NumParams = %d, want %d (google/ddpm-ema-celebahq-256)", n, celebaNumParams)
	}
	specs, err := cfg.ParamSpecs()
	if err != nil {
		t.Fatal(err)
	}
	// Attention at 16² (down block 4, the mid block, up block 1), one head over 512 channels.
	want := map[string][]int{
		"conv_in.weight":                               {128, 3, 3, 3},
		"time_embedding.linear_1.weight":               {512, 128},
		"down_blocks.4.attentions.1.to_q.weight":       {512, 512},
		"down_blocks.4.downsamplers.0.conv.weight":     {512, 512, 3, 3},
		"mid_block.attentions.0.group_norm.weight":     {512},
		"up_blocks.1.attentions.2.to_out.0.weight":     {512, 512},
		"up_blocks.0.resnets.0.conv_shortcut.weight":   {512, 1024, 1, 1},
		"up_blocks.5.resnets.2.conv1.weight":           {128, 256, 3, 3},
		"conv_out.weight":                              {3, 128, 3, 3},
		"up_blocks.4.upsamplers.0.conv.bias":           {128},
		"down_blocks.0.resnets.1.time_emb_proj.bias":   {128},
		"down_blocks.5.resnets.0.conv1.weight":         {512, 512, 3, 3},
		"down_blocks.2.resnets.0.conv_shortcut.bias":   {256},
		"up_blocks.2.resnets.2.conv_shortcut.weight":   {256, 512, 1, 1},
		"down_blocks.4.attentions.0.group_norm.bias":   {512},
		"down_blocks.5.resnets.1.norm2.weight":         {512},
		"mid_block.resnets.1.conv2.weight":             {512, 512, 3, 3},
		"up_blocks.1.attentions.0.to_k.bias":           {512},
		"time_embedding.linear_2.bias":                 {512},
		"down_blocks.4.resnets.0.conv_shortcut.weight": {512, 256, 1, 1},
	}
	found := 0
	attentions := 0
	for _, s := range specs {
		if w, ok := want[s.Name]; ok {
			found++
			if !slices.Equal(s.Shape, w) {
				t.Errorf("%s has shape %v, want %v", s.Name, s.Shape, w)
			}
		}
		if strings.HasSuffix(s.Name, ".to_q.weight") {
			attentions++
		}
		if strings.HasPrefix(s.Name, "down_blocks.5.downsamplers") {
			t.Errorf("the last down block has no downsampler, got %s", s.Name)
		}
	}
	if found != len(want) {
		t.Errorf("found %d of %d expected weights", found, len(want))
	}
	if attentions != 2+1+3 {
		t.Errorf("%d attention layers, want 6 (2 down, 1 mid, 3 up)", attentions)
	}
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []int:
		return slices.Equal(a, b.([]int))
	case []string:
		return slices.Equal(a, b.([]string))
	}
	return a == b
}

// TestCelebAHQArchitectureRuns builds the celebahq-256 architecture with random weights (113.67 M parameters;
// they do not depend on the sample size) and runs it at 32² (the smallest size six levels allow), batch 2.
// With LOCO_SLOW=1 it also runs the native 256² (about two minutes and 8 GB on two cores).
func TestCelebAHQArchitectureRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 113 M-parameter model")
	}
	cfg := readCelebaConfig(t)
	sizes := []int{32}
	if os.Getenv("LOCO_SLOW") != "" {
		sizes = append(sizes, cfg.SampleSize)
	}
	m, err := NewRandomUNet2D(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range sizes {
		batch := 2
		if size == cfg.SampleSize {
			batch = 1
		}
		x := make([]float32, batch*3*size*size)
		for i := range x {
			x[i] = float32(math.Sin(float64(i) * 0.37))
		}
		eps, err := m.Eps(tensors.FromFlatDataAndDimensions(x, batch, 3, size, size), []float32{999})
		if err != nil {
			t.Fatal(err)
		}
		if got := eps.Shape().Dimensions; !slices.Equal(got, []int{batch, 3, size, size}) {
			t.Fatalf("%d²: output shape %v, want [%d 3 %d %d]", size, got, batch, size, size)
		}
		data := tensors.MustCopyFlatData[float32](eps)
		var sumSq float64
		for i, v := range data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%d²: output[%d] = %v", size, i, v)
			}
			sumSq += float64(v) * float64(v)
		}
		rms := math.Sqrt(sumSq / float64(len(data)))
		if rms < 1e-3 || rms > 1e3 {
			t.Errorf("%d²: output RMS %.3g is implausible for random weights", size, rms)
		}
		// The two samples are identical inputs only if x repeats: it does not, so the rows must differ.
		if batch == 2 && maxAbsErr(data[:len(data)/2], data[len(data)/2:]) == 0 {
			t.Errorf("%d²: the two samples of the batch gave identical outputs", size)
		}
		t.Logf("%d²: output RMS %.3g", size, rms)
	}
}

// TestUNetConfigErrors checks that bad configurations are rejected with errors that name the field and say what
// is supported.
func TestUNetConfigErrors(t *testing.T) {
	base, err := os.ReadFile(celebaConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		s := string(base)
		if !strings.Contains(s, old) {
			t.Fatalf("config has no %q", old)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
	for _, c := range []struct {
		name string
		json []byte
		want []string // substrings of the error
	}{
		{"unknown down block", replace(`"AttnDownBlock2D"`, `"CrossAttnDownBlock2D"`),
			[]string{"down_block_types[4]", `"CrossAttnDownBlock2D"`, "DownBlock2D, AttnDownBlock2D"}},
		{"unknown up block", replace(`"AttnUpBlock2D"`, `"SkipUpBlock2D"`),
			[]string{"up_block_types[1]", `"SkipUpBlock2D"`, "UpBlock2D, AttnUpBlock2D"}},
		{"corrupt JSON", base[:len(base)/2], []string{"parsing UNet2DModel config.json"}},
		{"wrong JSON type", replace(`"sample_size": 256`, `"sample_size": "256"`), []string{"parsing UNet2DModel config.json", "sample_size"}},
		{"not a UNet2DModel", replace(`"UNet2DModel"`, `"UNet2DConditionModel"`), []string{"_class_name", "UNet2DConditionModel"}},
		{"block count mismatch", replace(`"UpBlock2D",
    "AttnUpBlock2D"`, `"AttnUpBlock2D"`), []string{"6 block_out_channels", "5 up_block_types"}},
		{"fourier time embedding", replace(`"positional"`, `"fourier"`), []string{"time_embedding_type", `"fourier"`, "positional"}},
		{"groups do not divide channels", replace(`"norm_num_groups": 32`, `"norm_num_groups": 48`), []string{"norm_num_groups", "48"}},
		{"activation", replace(`"silu"`, `"gelu"`), []string{"act_fn", `"gelu"`, "silu"}},
	} {
		cfg, err := ParseUNet2DConfig(c.json)
		if err == nil {
			t.Errorf("%s: accepted (%+v)", c.name, cfg)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if _, err := ReadUNet2DConfig(filepath.Join(t.TempDir(), "config.json")); err == nil || !strings.Contains(err.Error(), "reading UNet config") {
		t.Errorf("missing file: got %v", err)
	}
}

// TestCelebAHQAttentionMatchesEinsum checks the attention block's rewritten formulation (score scale folded into
// the query weights, softmax normalised after the product with v, explicit DotGenerals) against the textbook
// Einsum form, with one head and with several.
func TestAttentionMatchesEinsum(t *testing.T) {
	b, err := mlx.Backend()
	if err != nil {
		t.Fatal(err)
	}
	for _, headDim := range []int{0, 8} {
		c := 32
		m, err := NewRandomUNet2D(tinyAttnConfig(t, c, headDim), 3)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 2*4*4*c)
		for i := range x {
			x[i] = float32(math.Cos(float64(i) * 0.11))
		}
		var got, want []float32
		err = mlx.Call(func() {
			e := context.MustNewExec(b, m.Context(), func(ctx *context.Context, x *Node) []*Node {
				p := params{Builder: statedict.NewBuilder(ctx, x.Graph())}.in("mid_block.attentions.0")
				o := blockOpts{groups: 8, attnGroups: 8, eps: 1e-6, headDim: headDim, outputScale: 1}
				return []*Node{attentionBlock(p, x, o), einsumAttention(p, x, o)}
			})
			defer e.Finalize()
			outs := e.MustExec(tensors.FromFlatDataAndDimensions(x, 2, 4, 4, c))
			got, want = tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsErr(got, want); d > 1e-5 {
			t.Errorf("head dim %d: attention differs from the Einsum formulation by %.3g", headDim, d)
		}
	}
}

// tinyAttnConfig is a one-level UNet with c channels whose mid block has an attention layer.
func tinyAttnConfig(t *testing.T, c, headDim int) *UNet2DConfig {
	t.Helper()
	cfg := DefaultUNet2DConfig()
	cfg.SampleSize = 4
	cfg.BlockOutChannels = []int{c}
	cfg.DownBlockTypes = []string{"DownBlock2D"}
	cfg.UpBlockTypes = []string{"UpBlock2D"}
	cfg.LayersPerBlock = 1
	cfg.NormNumGroups = 8
	cfg.NormEps = 1e-6
	cfg.AttentionHeadDim = nil
	if headDim > 0 {
		cfg.AttentionHeadDim = &headDim
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// einsumAttention is diffusers' attention written directly: softmax(q·kᵀ/√d)·v per head, then to_out and the
// residual.
func einsumAttention(p params, x *Node, o blockOpts) *Node {
	d := x.Shape().Dimensions
	b, n, c := d[0], d[1]*d[2], d[3]
	heads := 1
	if o.headDim > 0 {
		heads = c / o.headDim
	}
	dh := c / heads
	h := Reshape(p.groupNorm("group_norm", x, o.attnGroups, o.eps), b, n, c)
	q := Reshape(p.linear("to_q", h, c, c), b, n, heads, dh)
	k := Reshape(p.linear("to_k", h, c, c), b, n, heads, dh)
	v := Reshape(p.linear("to_v", h, c, c), b, n, heads, dh)
	probs := Softmax(MulScalar(Einsum("bqhd,bkhd->bhqk", q, k), 1/math.Sqrt(float64(dh))), -1)
	attn := Reshape(Einsum("bhqk,bkhd->bqhd", probs, v), b, n, c)
	return Add(Reshape(p.linear("to_out.0", attn, c, c), d...), x)
}
