package diffusers

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The estimate's parameter count is exact: it matches the weight list the architecture builds, for every
// config the package ships.
func TestEstimateParamsMatchWeights(t *testing.T) {
	type model interface {
		Estimate() (Estimate, error)
		ParamSpecs() ([]ParamSpec, error)
	}
	for dir, read := range map[string]func(string) (model, error){
		"ddpm-ema-celebahq-256":   func(p string) (model, error) { return ReadUNet2DConfig(p) },
		"sd21-base-unet":          func(p string) (model, error) { return ReadUNet2DConditionConfig(p) },
		"lcm-dreamshaper-v7-unet": func(p string) (model, error) { return ReadUNet2DConditionConfig(p) },
		"tloco/tiny-sd2-unet":     func(p string) (model, error) { return ReadUNet2DConditionConfig(p) },
		"tloco/tiny-lcm-unet":     func(p string) (model, error) { return ReadUNet2DConditionConfig(p) },
		"sd-vae":                  func(p string) (model, error) { return ReadAutoencoderKLConfig(p) },
		"tloco/tiny-vae":          func(p string) (model, error) { return ReadAutoencoderKLConfig(p) },
	} {
		cfg, err := read(filepath.Join("testdata", dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		est, err := cfg.Estimate()
		if err != nil {
			t.Fatal(err)
		}
		n := specsParams(t, cfg.ParamSpecs)
		t.Logf("%s: %d parameters, %d layers; at %d: forward %s, JVP %s", dir, est.Params, est.Layers, est.SampleSize,
			bytesString(est.ForwardBytes), bytesString(est.JVPBytes))
		if est.Params != n {
			t.Errorf("%s: estimate %d parameters, the weights hold %d", dir, est.Params, n)
		}
	}
}

// specsParams is the parameter count of the weight list the architecture builds.
func specsParams(t *testing.T, list func() ([]ParamSpec, error)) int64 {
	t.Helper()
	specs, err := list()
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	for _, s := range specs {
		n += int64(s.Size())
	}
	return n
}

// The parameter count stays exact across the options that change the weights: per-block lists, attention
// head settings, optional embeddings and convolutions, block kinds and channel changes.
func TestEstimateParamsRandomConfigs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	pick := func(xs ...int) int { return xs[rng.IntN(len(xs))] }
	for i := range 12 {
		n := 1 + rng.IntN(3)
		ch := make([]int, n)
		var down, up, cdown, cup []string
		for j := range ch {
			ch[j] = 8 * pick(1, 2, 3)
			down = append(down, []string{"DownBlock2D", "AttnDownBlock2D"}[rng.IntN(2)])
			up = append(up, []string{"UpBlock2D", "AttnUpBlock2D"}[rng.IntN(2)])
			cdown = append(cdown, []string{"DownBlock2D", "CrossAttnDownBlock2D"}[rng.IntN(2)])
			cup = append(cup, []string{"UpBlock2D", "CrossAttnUpBlock2D"}[rng.IntN(2)])
		}
		u := DefaultUNet2DConfig()
		u.SampleSize, u.InChannels, u.OutChannels, u.NormNumGroups = 16, pick(1, 3), pick(1, 3), 8
		u.BlockOutChannels, u.DownBlockTypes, u.UpBlockTypes, u.LayersPerBlock = ch, down, up, pick(1, 2)
		u.AttentionHeadDim = []*int{nil, intPtr(8)}[rng.IntN(2)]
		u.AddAttention = []*bool{nil, new(bool)}[rng.IntN(2)]
		est, err := u.Estimate()
		if got := specsParams(t, u.ParamSpecs); err != nil || est.Params != got {
			t.Errorf("UNet2DModel %d (%+v): estimate %d, weights %d, %v", i, u, est.Params, got, err)
		}

		c := DefaultUNet2DConditionConfig()
		c.SampleSize, c.NormNumGroups = 8, intPtr(8)
		c.BlockOutChannels, c.DownBlockTypes, c.UpBlockTypes = ch, cdown, cup
		c.LayersPerBlock, c.TransformerLayersPerBlock = PerBlock{pick(1, 2)}, PerBlock{pick(1, 2)}
		c.AttentionHeadDim, c.CrossAttentionDim = PerBlock{pick(1, 2, 4)}, PerBlock{pick(12, 16)}
		c.UseLinearProjection = rng.IntN(2) == 0
		c.ConvInKernel, c.ConvOutKernel = pick(1, 3), pick(1, 3)
		if rng.IntN(2) == 0 {
			c.TimeCondProjDim, c.TimeEmbeddingDim = intPtr(6), intPtr(20)
		}
		est, err = c.Estimate()
		if got := specsParams(t, c.ParamSpecs); err != nil || est.Params != got {
			t.Errorf("UNet2DConditionModel %d (%+v): estimate %d, weights %d, %v", i, c, est.Params, got, err)
		}

		v := DefaultAutoencoderKLConfig()
		v.BlockOutChannels, v.NormNumGroups, v.LayersPerBlock, v.LatentChannels = ch, 8, pick(1, 2), pick(2, 4)
		v.DownBlockTypes, v.UpBlockTypes = make([]string, n), make([]string, n)
		for j := range n {
			v.DownBlockTypes[j], v.UpBlockTypes[j] = "DownEncoderBlock2D", "UpDecoderBlock2D"
		}
		v.UseQuantConv, v.UsePostQuantConv, v.MidBlockAddAttention = rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(2) == 0
		est, err = v.Estimate()
		if got := specsParams(t, v.ParamSpecs); err != nil || est.Params != got {
			t.Errorf("AutoencoderKL %d (%+v): estimate %d, weights %d, %v", i, v, est.Params, got, err)
		}
	}
}

// edit returns the config at path with old replaced by new (once).
func edit(t *testing.T, path, old, new string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if !strings.Contains(s, old) {
		t.Fatalf("%s has no %q", path, old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

// Hostile or mistyped configs fail at parse time, before anything is built: the error names the field or the
// estimated size, the limit and the fix, and parsing allocates almost nothing.
func TestHostileConfigsRefused(t *testing.T) {
	celeba := celebaConfigPath
	sd21 := filepath.Join("testdata", "sd21-base-unet", "config.json")
	vae := filepath.Join("testdata", "sd-vae", "config.json")
	unet := func(b []byte) error { _, err := ParseUNet2DConfig(b); return err }
	cond := func(b []byte) error { _, err := ParseUNet2DConditionConfig(b); return err }
	auto := func(b []byte) error { _, err := ParseAutoencoderKLConfig(b); return err }
	sched := func(b []byte) error { _, err := ParseSchedulerConfig(b); return err }
	for _, c := range []struct {
		name  string
		parse func([]byte) error
		json  []byte
		want  []string
	}{
		{"layers_per_block 100000", unet, edit(t, celeba, `"layers_per_block": 2`, `"layers_per_block": 100000`),
			[]string{"layers_per_block = 100000", "[1, 1000]"}},
		{"channels 2^30", unet, edit(t, celeba, "128,\n    128,", "1073741824,\n    1073741824,"),
			[]string{"block_out_channels[0] = 1073741824", "[1, 65536]"}},
		{"negative channels", unet, edit(t, celeba, "128,\n    128,", "-128,\n    128,"),
			[]string{"block_out_channels[0] = -128"}},
		{"too many blocks", unet, []byte(`{"block_out_channels": [32,32,32,32,32,32,32,32,32], "down_block_types": ` +
			`["DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D","DownBlock2D"], ` +
			`"up_block_types": ["UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D","UpBlock2D"], "sample_size": 256}`),
			[]string{"len(block_out_channels) = 9", "[1, 8]"}},
		{"sample_size 16384", unet, edit(t, celeba, `"sample_size": 256`, `"sample_size": 16384`),
			[]string{"sample_size 16384", "activations", "above the limit of 64 GB", "SetLimits", "MaxActivationBytes"}},
		{"wide channels", unet, edit(t, celeba, "128,\n    128,", "32768,\n    32768,"),
			[]string{"parameters", "above the limit of 4 G", "block_out_channels", "SetLimits", "MaxParams"}},
		{"600 layers per block", unet, []byte(`{"block_out_channels": [32, 32], "down_block_types": ["DownBlock2D", "DownBlock2D"], ` +
			`"up_block_types": ["UpBlock2D", "UpBlock2D"], "sample_size": 32, "layers_per_block": 600}`),
			[]string{"layers", "above the limit of 1000", "layers_per_block", "MaxLayers"}},
		{"zero eps", unet, edit(t, celeba, `"norm_eps": 1e-06`, `"norm_eps": 0`), []string{"norm_eps = 0", "positive finite"}},
		{"attn groups", unet, edit(t, celeba, `"norm_num_groups": 32`, `"norm_num_groups": 32, "attn_norm_num_groups": 7`),
			[]string{"attn_norm_num_groups = 7", "divisor"}},
		{"cond transformer layers", cond, edit(t, sd21, `"layers_per_block": 2`, `"layers_per_block": 2, "transformer_layers_per_block": 5000`),
			[]string{"transformer_layers_per_block[0] = 5000", "[1, 1000]"}},
		{"cond heads", cond, edit(t, sd21, `"attention_head_dim": [5, 10, 20, 20]`, `"attention_head_dim": [5, 10, 20, -1]`),
			[]string{"attention_head_dim[3] = -1"}},
		{"cond sample_size", cond, edit(t, sd21, `"sample_size": 64`, `"sample_size": 1024`),
			[]string{"sample_size 1024", "above the limit", "SetLimits"}},
		{"cond kernel", cond, edit(t, sd21, `"in_channels": 4`, `"in_channels": 4, "conv_in_kernel": 1001`),
			[]string{"conv_in_kernel", "[1, 31]"}},
		{"vae sample_size", auto, edit(t, vae, `"sample_size": 768`, `"sample_size": 100000`),
			[]string{"sample_size = 100000", "[1, 32768]"}},
		{"vae scaling -0", auto, edit(t, vae, `"sample_size": 768`, `"sample_size": 768, "scaling_factor": -0.0`),
			[]string{"scaling_factor", "positive finite"}},
		{"timesteps 1e8", sched, []byte(`{"num_train_timesteps": 100000000}`),
			[]string{"num_train_timesteps = 100000000", "[1, 100000]"}},
		{"beta_end 1", sched, []byte(`{"beta_end": 1.0}`), []string{"beta_end = 1", "(0, 1)"}},
		{"beta_start negative", sched, []byte(`{"beta_schedule": "scaled_linear", "beta_start": -0.1}`), []string{"beta_start = -0.1"}},
		{"unknown schedule", sched, []byte(`{"beta_schedule": "sigmoid"}`), []string{`"sigmoid"`, "linear, scaled_linear, squaredcos_cap_v2"}},
		{"steps_offset", sched, []byte(`{"steps_offset": 5000}`), []string{"steps_offset = 5000"}},
	} {
		var err error
		n := testing.AllocsPerRun(1, func() { err = c.parse(c.json) })
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
		if n > 2000 {
			t.Errorf("%s: %v allocations before refusing", c.name, n)
		}
	}
}

// SetLimits raises the limits for a model that is real; CurrentLimits reports them.
func TestSetLimits(t *testing.T) {
	big := edit(t, celebaConfigPath, `"sample_size": 256`, `"sample_size": 16384`)
	if _, err := ParseUNet2DConfig(big); err == nil {
		t.Fatal("a 16384² UNet2DModel passed the default limits")
	}
	prev := SetLimits(Limits{MaxActivationBytes: 1 << 50})
	defer SetLimits(prev)
	if prev != DefaultLimits() {
		t.Errorf("SetLimits returned %+v, want the defaults %+v", prev, DefaultLimits())
	}
	if got := CurrentLimits(); got.MaxActivationBytes != 1<<50 || got.MaxParams != DefaultLimits().MaxParams {
		t.Errorf("CurrentLimits() = %+v: zero fields should take their defaults", got)
	}
	cfg, err := ParseUNet2DConfig(big)
	if err != nil {
		t.Fatalf("raised limit: %v", err)
	}
	est, err := cfg.Estimate()
	if err != nil || est.ForwardBytes < 64_000_000_000 || est.JVPBytes <= est.ForwardBytes || est.Params != 113_673_219 {
		t.Errorf("estimate of the 16384² model: %+v, %v", est, err)
	}
}

// A config file larger than MaxConfigBytes is refused without being read whole.
func TestConfigFileBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxConfigBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadUNet2DConfig(path)
	if err == nil || !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), path) {
		t.Errorf("oversized config: %v", err)
	}
}

// ParamSpecs refuses a config built by hand that Validate would refuse, before building any graph.
func TestParamSpecsValidatesFirst(t *testing.T) {
	cfg := DefaultUNet2DConfig()
	cfg.SampleSize, cfg.LayersPerBlock = 64, 100000
	if _, err := cfg.ParamSpecs(); err == nil || !strings.Contains(err.Error(), "layers_per_block") {
		t.Errorf("ParamSpecs of a hand-built config with 100000 layers per block: %v", err)
	}
}
