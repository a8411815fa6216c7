package guided

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestP2Size checks the P2-256 architecture against the published model, 93.6 M parameters (93 563 910 in
// the authors' code), and reports its forward FLOPs.
func TestP2Size(t *testing.T) {
	c := P2Config256()
	n, err := c.NumParams()
	if err != nil {
		t.Fatal(err)
	}
	if n != 93_563_910 || math.Round(float64(n)/1e5)/10 != 93.6 {
		t.Errorf("P2-256 has %d parameters, the authors' UNetModel 93 563 910 (93.6 M)", n)
	}
	flops, err := c.ForwardFLOPs()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("P2-256: %d parameters, %.1f GFLOPs per forward pass at 256²", n, float64(flops)/1e9)
}

// TestP2StateDictContract compares the weights P2-256 asks for with the state dict of the authors' UNetModel
// built with the P2 flags (testdata/p2-256-state-dict.txt): same names, same shapes, same order.
func TestP2StateDictContract(t *testing.T) {
	data, err := os.ReadFile("testdata/p2-256-state-dict.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(data)), "\n")
	specs, err := P2Config256().ParamSpecs()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]string, len(specs))
	for _, s := range specs {
		got[s.Name] = strings.Trim(strings.ReplaceAll(fmt.Sprint(s.Shape), " ", ","), "[]")
	}
	if len(specs) != len(want) {
		t.Errorf("%d weights, the authors' state dict has %d", len(specs), len(want))
	}
	for _, line := range want {
		name, shape, _ := strings.Cut(line, " ")
		if got[name] != shape {
			t.Errorf("%s: shape %q, the authors' %q", name, got[name], shape)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		json, want string
	}{
		{`{"image_size": 32}`, "in_channels must be positive"},
		{`{"_class_name": "UNet2DModel", "image_size": 32}`, "want \"GuidedDiffusionUNet\""},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 5, "num_res_blocks": 1}`, "out_channels 5"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 6, "num_res_blocks": 1, "learn_sigma": false}`, "learn_sigma false disagrees"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 48, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1]}`, "multiple of 32"},
		{`{"image_size": 256, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1, 1], "attention_resolutions": [16]}`, "not a downsample rate"},
		{`{"image_size": 30, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1, 1, 1]}`, "not divisible by 2^2"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1], "num_head_channels": 24}`, "num_head_channels 24"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1], "num_classes": 10}`, "class-conditional"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1], "noise_schedule": "sqrt"}`, "noise_schedule \"sqrt\""},
	} {
		_, err := ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.json, err, c.want)
		}
	}
	big := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(big, []byte(`{"image_size": 32`+strings.Repeat(" ", 5<<20)+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfig(big); err == nil || !strings.Contains(err.Error(), "not a config file") {
		t.Errorf("5 MB config: error %v, want one saying it is not a config file", err)
	}
	if _, err := Preset("p2-512"); err == nil || !strings.Contains(err.Error(), "p2-256") {
		t.Errorf("unknown preset: error %v, want one listing p2-256", err)
	}
}

// TestWrongWeights loads the tiny model's weights with another configuration: the error names a weight.
func TestWrongWeights(t *testing.T) {
	cfg, err := ReadConfig("testdata/tiny-p2/config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg.UseScaleShiftNorm = false
	if _, err := LoadFile(cfg, "testdata/tiny-p2-legacy.pt"); err == nil || !strings.Contains(err.Error(), "emb_layers.1.weight") {
		t.Errorf("weights of a scale-shift model read without scale-shift: error %v, want one naming emb_layers.1.weight", err)
	}
	if _, err := LoadFile(P2Config256(), "testdata/tiny-p2-legacy.pt"); err == nil || !strings.Contains(err.Error(), "config.json implies") {
		t.Errorf("tiny weights read as P2-256: error %v", err)
	}
}

// TestHostileConfigsRefused: a small config.json describing a huge model, an endless schedule or sizes that
// overflow is refused when it is parsed, before any graph or weight: each used to run for minutes, take
// gigabytes, or end in a division by zero.
func TestHostileConfigsRefused(t *testing.T) {
	tiny := `"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 6, "channel_mult": [1, 1], "attention_resolutions": [2], "num_heads": 4`
	for _, c := range []struct{ json, want string }{
		{`{` + tiny + `, "num_res_blocks": 1, "diffusion_steps": 100000000}`, "diffusion_steps = 100000000 is out of range: it must be at most 100000"},
		{`{` + tiny + `, "num_res_blocks": 100000}`, "num_res_blocks = 100000 is out of range: it must be at most 1000"},
		{`{` + tiny + `, "num_res_blocks": 600}`, "layers (resnets, attention layers and transformer blocks), above the limit of 1000: check num_res_blocks and channel_mult"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 1073741824, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1]}`, "model_channels = 1073741824 is out of range"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1, 1e300]}`, "channel_mult[1] = 1e+300 is out of range"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1, 1, 1, 1, 1, 1, 1, 1, 1]}`, "channel_mult has 9 levels"},
		{`{"image_size": 1099511627776, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1]}`, "image_size = 1099511627776 is out of range"},
		{`{"image_size": 32, "in_channels": 3, "model_channels": 2048, "out_channels": 3, "num_res_blocks": 20, "channel_mult": [1, 2, 4, 8]}`, "368.6 G parameters (1.47 TB as float32), above the limit of 4 G: check model_channels, channel_mult and num_res_blocks"},
		{`{"image_size": 8192, "in_channels": 3, "model_channels": 32, "out_channels": 3, "num_res_blocks": 1, "channel_mult": [1], "attention_resolutions": [1]}`, "whose forward pass at sample_size 8192 would hold about"},
	} {
		_, err := ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.json, err, c.want)
		}
	}
}

// TestEstimateIsExact: the parameter count estimated from the config alone is the count of the weights the
// network asks for, for every variant of the blocks.
func TestEstimateIsExact(t *testing.T) {
	configs := map[string]*Config{"p2-256": P2Config256()}
	for _, path := range []string{"testdata/tiny-p2/config.json", "testdata/tiny-newattn/config.json"} {
		cfg, err := ReadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		configs[path] = cfg
	}
	plain := P2Config256()
	plain.ImageSize, plain.ChannelMult, plain.ModelChannels, plain.NumResBlocks = 32, []float64{1, 2, 2}, 32, 2
	plain.UseScaleShiftNorm, plain.ResblockUpdown, plain.AttentionResolutions, plain.OutChannels = false, false, []int{2, 4}, 3
	configs["plain"] = plain
	pooled := *plain
	pooled.ConvResample = false
	configs["pooled"] = &pooled
	for name, cfg := range configs {
		n, err := cfg.NumParams()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		est := cfg.Estimate()
		if est.Params != int64(n) || est.Layers < 1 || est.ForwardBytes <= 0 || est.JVPBytes < est.ForwardBytes {
			t.Errorf("%s: estimate %+v, the weights hold %d parameters", name, est, n)
		}
		t.Logf("%s: %d parameters, %d layers, forward %.3g GB, JVP %.3g GB", name, est.Params, est.Layers, float64(est.ForwardBytes)/1e9, float64(est.JVPBytes)/1e9)
	}
}
