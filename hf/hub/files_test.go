package hub

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// sd21Base is the file list of a Stable Diffusion 2.1 base pipeline repository.
var sd21Base = sorted(
	".gitattributes", "README.md", "model_index.json",
	"v2-1_512-ema-pruned.ckpt", "v2-1_512-ema-pruned.safetensors", "v2-1_512-nonema-pruned.ckpt", "v2-1_512-nonema-pruned.safetensors",
	"feature_extractor/preprocessor_config.json",
	"scheduler/scheduler_config.json",
	"text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors",
	"text_encoder/pytorch_model.bin", "text_encoder/pytorch_model.fp16.bin", "text_encoder/flax_model.msgpack",
	"tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
	"unet/config.json", "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.bin",
	"unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.safetensors",
	"unet/diffusion_flax_model.msgpack",
	"vae/config.json", "vae/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.safetensors",
)

func TestDiffusersSelection(t *testing.T) {
	for _, tc := range []struct {
		name       string
		components []string
		listed     []string
		want       []string
		err        string
	}{
		{
			name:       "T-LOCO's pipeline",
			components: []string{"unet", "vae", "text_encoder", "tokenizer", "scheduler"},
			listed:     sd21Base,
			want: sorted("model_index.json", "scheduler/scheduler_config.json",
				"text_encoder/config.json", "text_encoder/model.safetensors",
				"tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
				"unet/config.json", "unet/diffusion_pytorch_model.safetensors",
				"vae/config.json", "vae/diffusion_pytorch_model.safetensors"),
		},
		{
			name:       "LOCO's UNet of a pipeline",
			components: []string{"unet", "scheduler"},
			listed:     sd21Base,
			want:       sorted("model_index.json", "scheduler/scheduler_config.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"),
		},
		{
			name:   "every component",
			listed: sorted("model_index.json", "unet/config.json", "unet/w.bin", "scheduler/scheduler_config.json", "samples/x.png"),
			want:   sorted("model_index.json", "unet/config.json", "unet/w.bin", "scheduler/scheduler_config.json"),
		},
		{
			name:       "a single model: safetensors over .bin, no README or images",
			components: []string{"unet", "scheduler"},
			listed: sorted(".gitattributes", "README.md", "config.json", "scheduler_config.json", "diffusion_pytorch_model.bin",
				"diffusion_pytorch_model.safetensors", "images/generated_image_0.png", "images/generated_image_1.png"),
			want: sorted("config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json"),
		},
		{
			name:       "a pipeline whose components live at the root",
			components: []string{"unet", "scheduler"},
			listed:     sorted("model_index.json", "config.json", "scheduler_config.json", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.safetensors"),
			want:       sorted("model_index.json", "config.json", "scheduler_config.json", "diffusion_pytorch_model.safetensors"),
		},
		{
			name:   "only PyTorch weights",
			listed: sorted("config.json", "diffusion_pytorch_model.bin", "flax_model.msgpack", "tf_model.h5"),
			want:   sorted("config.json", "diffusion_pytorch_model.bin"),
		},
		{
			name:   "only variants",
			listed: sorted("config.json", "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.fp16.bin"),
			want:   sorted("config.json", "diffusion_pytorch_model.fp16.safetensors"),
		},
		{
			name:   "sharded weights",
			listed: sorted("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "pytorch_model.bin"),
			want:   sorted("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"),
		},
		{
			name:       "no weights",
			components: []string{"unet"},
			listed:     sorted("model_index.json", "unet/config.json", "unet/flax_model.msgpack", "README.md"),
			err:        "no weights (.safetensors or PyTorch .bin) in unet/ or at its root (the model has README.md, model_index.json, unet/config.json, unet/flax_model.msgpack)",
		},
		{
			name:   "empty repository",
			listed: []string{},
			err:    "no weights (.safetensors or PyTorch .bin) at its root (the model has no files)",
		},
	} {
		got, err := Diffusers(tc.components...).Select(tc.listed)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: selected %v, %v\nwant %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := Diffusers().Select(nil); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "did not list") {
		t.Errorf("selection without a file list: err = %v", err)
	}
}

func TestPathsMatchAll(t *testing.T) {
	listed := sorted("a.json", "a/b.json", "w.safetensors")
	if got, err := (Paths{"a/b.json"}).Select(listed); err != nil || !slices.Equal(got, []string{"a/b.json"}) {
		t.Errorf("Paths = %v, %v", got, err)
	}
	if _, err := (Paths{"c.json"}).Select(listed); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "file c.json not found (the model has a.json, a/b.json, w.safetensors)") {
		t.Errorf("Paths of a missing file: err = %v", err)
	}
	if got, err := (Paths{"c.json"}).Select(nil); err != nil || !slices.Equal(got, []string{"c.json"}) {
		t.Errorf("Paths without a list = %v, %v", got, err)
	}
	if got, err := Match("*.json").Select(listed); err != nil || !slices.Equal(got, []string{"a.json"}) {
		t.Errorf("Match(*.json) = %v, %v; \"*\" must not cross \"/\"", got, err)
	}
	if _, err := Match("*.bin").Select(listed); err == nil || !strings.Contains(err.Error(), "no file matches *.bin") {
		t.Errorf("Match with no match: err = %v", err)
	}
	if err := Match("[").(interface{ validate() error }).validate(); err == nil {
		t.Error("a malformed pattern was accepted")
	}
	if got, err := AllFiles.Select(listed); err != nil || !slices.Equal(got, listed) {
		t.Errorf("AllFiles = %v, %v", got, err)
	}
}
