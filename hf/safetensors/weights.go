package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrSharded is wrapped by the error [FindWeights] returns for a sharded checkpoint;
// [OpenWeights] opens such checkpoints.
var ErrSharded = errors.New("sharded checkpoint")

// Weight file names looked for in a model directory, in order of preference.
var (
	weightFiles = []string{"diffusion_pytorch_model.safetensors", "model.safetensors"}
	indexFiles  = []string{"diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json"}
	pickleFiles = []string{"diffusion_pytorch_model.bin", "pytorch_model.bin",
		"diffusion_pytorch_model.bin.index.json", "pytorch_model.bin.index.json"}
)

// FindWeights returns the single-file safetensors weights of a diffusers (or
// transformers) model directory: dir/diffusion_pytorch_model.safetensors, else
// dir/model.safetensors. For a sharded checkpoint it returns an error wrapping
// [ErrSharded] (use [OpenWeights] or [OpenSharded]); for PyTorch pickles only, or
// no weights at all, an error that says what was looked for and how to convert.
func FindWeights(dir string) (string, error) {
	path, sharded, err := findWeights(dir)
	if err != nil {
		return "", err
	}
	if sharded {
		return "", fmt.Errorf("safetensors: %s holds a %w (%s) and FindWeights only returns single files: "+
			"open it with safetensors.OpenWeights or OpenSharded, or merge the shards in Python with "+
			"diffusers: model.save_pretrained(dir, safe_serialization=True, max_shard_size=\"10GB\")",
			dir, ErrSharded, filepath.Base(path))
	}
	return path, nil
}

// OpenWeights opens the weights of a model directory as one File: the single
// file [FindWeights] finds, or the shards listed by its *.safetensors.index.json.
func OpenWeights(dir string) (*File, error) {
	path, sharded, err := findWeights(dir)
	if err != nil {
		return nil, err
	}
	if sharded {
		return OpenSharded(path)
	}
	return Open(path)
}

// findWeights returns the weights file or, with sharded set, the shard index of dir.
func findWeights(dir string) (path string, sharded bool, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", false, fmt.Errorf("safetensors: model directory: %w", err)
	}
	if !st.IsDir() {
		return "", false, fmt.Errorf("safetensors: %s is not a directory: pass the model folder (with config.json and the weights)", dir)
	}
	exists := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && st.Mode().IsRegular()
	}
	for _, name := range weightFiles {
		if exists(name) {
			return filepath.Join(dir, name), false, nil
		}
	}
	for _, name := range indexFiles {
		if exists(name) {
			return filepath.Join(dir, name), true, nil
		}
	}
	if idx, _ := filepath.Glob(filepath.Join(dir, "*.safetensors.index.json")); len(idx) > 0 {
		return idx[0], true, nil
	}
	for _, name := range pickleFiles {
		if exists(name) {
			return "", false, fmt.Errorf("safetensors: %s has only PyTorch pickle weights (%s), which are not read "+
				"(unpickling can run arbitrary code): convert them once in Python with diffusers, e.g. "+
				"UNet2DModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)", dir, name)
		}
	}
	looked := append(slices.Clone(weightFiles), indexFiles...)
	msg := fmt.Sprintf("safetensors: no weights in %s (looked for %s and *.safetensors.index.json)",
		dir, strings.Join(looked, ", "))
	if other, _ := filepath.Glob(filepath.Join(dir, "*.safetensors")); len(other) > 0 {
		for i, o := range other {
			other[i] = filepath.Base(o)
		}
		msg += fmt.Sprintf("; found %s: open it directly with safetensors.Open", strings.Join(other, ", "))
	}
	return "", false, errors.New(msg)
}

// shardIndex is the JSON of a *.safetensors.index.json file.
type shardIndex struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// OpenSharded opens a sharded checkpoint from its index file (for example
// diffusion_pytorch_model.safetensors.index.json) and merges the shards into
// one File, memory-mapped like [Open]. Every tensor of the weight map must be
// in its shard and no tensor may appear in two shards. The merged metadata
// holds the shards' metadata plus the index's (non-string values as JSON).
func OpenSharded(indexPath string) (*File, error) {
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx shardIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: reading shard index %s: %w", indexPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: shard index %s has an empty or missing weight_map", indexPath)
	}
	merged := &File{source: indexPath, entries: map[string]entry{}, metadata: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			_ = merged.Close()
		}
	}()
	dir := filepath.Dir(indexPath)
	from := map[string]string{} // Tensor name → shard it was read from.
	for _, shard := range slices.Compact(slices.Sorted(maps.Values(idx.WeightMap))) {
		if !filepath.IsLocal(shard) {
			return nil, fmt.Errorf("safetensors: shard index %s names shard %q outside its directory", indexPath, shard)
		}
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			return nil, fmt.Errorf("safetensors: shard of %s: %w", indexPath, err)
		}
		merged.closers = append(merged.closers, f.closers...)
		f.closers = nil
		for name, e := range f.entries {
			if prev, dup := from[name]; dup {
				return nil, fmt.Errorf("safetensors: tensor %q is in both shards %s and %s", name, prev, shard)
			}
			from[name] = shard
			merged.entries[name] = e
		}
		for k, v := range f.metadata {
			if _, set := merged.metadata[k]; !set {
				merged.metadata[k] = v
			}
		}
	}
	for name, shard := range idx.WeightMap {
		if from[name] != shard {
			return nil, fmt.Errorf("safetensors: shard index %s maps tensor %q to %s, which does not hold it", indexPath, name, shard)
		}
	}
	for k, v := range idx.Metadata {
		if s, isString := v.(string); isString {
			merged.metadata[k] = s
		} else if b, err := json.Marshal(v); err == nil {
			merged.metadata[k] = string(b)
		}
	}
	merged.names = slices.Sorted(maps.Keys(merged.entries))
	ok = true
	return merged, nil
}
