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
