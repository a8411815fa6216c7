package hub

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Files chooses which files of a model Resolve makes available: the caller knows what its model
// kind needs (config and weights, say), so that nothing else (duplicate weight formats, README
// images) is downloaded. Paths, AllFiles, Match and Diffusers build the usual choices.
type Files interface {
	// Select returns the files to make available, given the model's files ("/"-separated paths,
	// sorted), or nil when the hub did not list them. Its error says what the model lacks.
	Select(listed []string) ([]string, error)
}

// Paths are exact files ("/"-separated paths relative to the model's root), all required.
type Paths []string

// Select implements Files: every path must be listed (when the list is known).
func (p Paths) Select(listed []string) ([]string, error) {
	if listed == nil {
		return slices.Clone(p), nil
	}
	for _, f := range p {
		if _, found := slices.BinarySearch(listed, f); !found {
			return nil, newError(ErrNotFound, "file %s not found (the model has %s)", f, summarize(listed, 12))
		}
	}
	return slices.Clone(p), nil
}

// AllFiles selects every file of the model, like huggingface_hub's snapshot_download without
// patterns.
var AllFiles Files = allFiles{}

type allFiles struct{}

func (allFiles) Select(listed []string) ([]string, error) {
	if listed == nil {
		return nil, errNoList
	}
	return slices.Clone(listed), nil
}

var errNoList = newError(ErrNotFound, "the hub did not list the model's files, so they cannot be chosen: ask for them by name (hub.Paths)")

// Match selects the files whose whole path matches one of patterns (path.Match syntax, where "*"
// does not cross "/"), like snapshot_download's allow_patterns; at least one file must match.
func Match(patterns ...string) Files { return matchFiles(slices.Clone(patterns)) }

type matchFiles []string

func (m matchFiles) Select(listed []string) ([]string, error) {
	if listed == nil {
		return nil, errNoList
	}
	var out []string
	for _, f := range listed {
		if slices.ContainsFunc(m, func(p string) bool { ok, _ := path.Match(p, f); return ok }) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, newError(ErrNotFound, "no file matches %s (the model has %s)", strings.Join(m, ", "), summarize(listed, 12))
	}
	return out, nil
}

// Diffusers selects what a diffusers model needs: its configuration files (.json, and .txt and
// .model for tokenizers) and one format of its weights, in each folder that is used.
//
// A pipeline (a model with model_index.json) uses the folders named by components, such as
// Diffusers("unet", "vae", "text_encoder", "tokenizer", "scheduler"); with no components, every
// top-level folder. A single model keeps its files at the root, and so do pipelines whose
// components are not in folders: the root is used when none of the components' folders exists.
// Root configuration files are always taken.
//
// In each folder, the weights are the first non-empty group of: .safetensors files, PyTorch files
// (.bin, .pt, .pth, .ckpt), then the same two groups for variants (such as
// "diffusion_pytorch_model.fp16.safetensors"). Other formats (Flax, TensorFlow, ONNX), images and
// documents are never selected. A selection without any weights is an error.
func Diffusers(components ...string) Files { return diffusersFiles(slices.Clone(components)) }

type diffusersFiles []string

func (components diffusersFiles) Select(listed []string) ([]string, error) {
	if listed == nil {
		return nil, errNoList
	}
	byFolder := map[string][]string{} // top-level folder ("" for the root) → the paths of its direct files
	for _, f := range listed {
		if validateRelPath("file name", f) != nil || strings.Count(f, "/") > 1 {
			continue // not storable, or nested deeper than a component folder
		}
		dir, _, nested := strings.Cut(f, "/")
		if !nested {
			dir = ""
		}
		byFolder[dir] = append(byFolder[dir], f)
	}
	pipeline := slices.Contains(byFolder[""], "model_index.json")
	folders := []string(components)
	if len(folders) == 0 && pipeline {
		for dir := range byFolder {
			if dir != "" {
				folders = append(folders, dir)
			}
		}
		slices.Sort(folders)
	}
	out := configFiles(byFolder[""])
	used := false
	if pipeline {
		for _, dir := range folders {
			if files, ok := byFolder[dir]; ok && dir != "" {
				weights := weightFiles(files)
				out = append(out, configFiles(files)...)
				out = append(out, weights...)
				used = used || len(weights) > 0
			}
		}
	}
	if !used {
		out = append(out, weightFiles(byFolder[""])...)
	}
	if !slices.ContainsFunc(out, func(f string) bool { return weightGroup(f) >= 0 }) {
		where := "at its root"
		if pipeline && len(components) > 0 {
			where = "in " + strings.Join(components, "/, ") + "/ or at its root"
		}
		return nil, newError(ErrNotFound, "no weights (.safetensors or PyTorch .bin) %s (the model has %s)", where, summarize(listed, 12))
	}
	slices.Sort(out)
	return slices.Compact(out), nil // a component named twice is taken once
}

// configFiles returns the configuration and tokenizer files among names.
func configFiles(names []string) []string {
	var out []string
	for _, n := range names {
		switch path.Ext(n) {
		case ".json", ".txt", ".model":
			out = append(out, n)
		}
	}
	return out
}

// weightFiles returns the preferred group of weights among names (see Diffusers).
func weightFiles(names []string) []string {
	best, out := 4, []string(nil)
	for _, n := range names {
		switch g := weightGroup(n); {
		case g < 0 || g > best:
		case g < best:
			best, out = g, []string{n}
		default:
			out = append(out, n)
		}
	}
	return out
}

// weightGroup ranks a weight file: 0 safetensors, 1 PyTorch, 2 and 3 the same for variants (a dot
// in the name before the extension); -1 for anything else.
func weightGroup(name string) int {
	name = path.Base(name)
	ext := path.Ext(name)
	g := -1
	switch ext {
	case ".safetensors":
		g = 0
	case ".bin", ".pt", ".pth", ".ckpt":
		g = 1
	default:
		return -1
	}
	if strings.Contains(strings.TrimSuffix(name, ext), ".") {
		g += 2
	}
	return g
}

// summarize joins up to n names, saying how many more there are.
func summarize(names []string, n int) string {
	if len(names) == 0 {
		return "no files"
	}
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// validate checks the paths before anything is looked up.
func (p Paths) validate() error {
	for _, f := range p {
		if err := validateRelPath("file name", f); err != nil {
			return err
		}
	}
	return nil
}

// validate checks the patterns before anything is looked up.
func (m matchFiles) validate() error {
	for _, p := range m {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("invalid file pattern %q: %w", p, err)
		}
	}
	return nil
}
