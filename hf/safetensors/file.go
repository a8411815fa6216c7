package safetensors

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// File is a parsed safetensors file (or a merged set of shards). Its tensors
// share one buffer per file; see [Tensor] for the lifetime rules.
type File struct {
	source   string // Path or description, for error messages.
	entries  map[string]entry
	names    []string // Sorted.
	metadata map[string]string
	closers  []func() error
	closed   bool
}

// Parse decodes a safetensors file held in data. The returned File's tensors
// point into data, which must not be modified while they are in use.
func Parse(data []byte) (*File, error) {
	f, err := newFile("safetensors data", data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// newFile parses data and builds a File labelled source.
func newFile(source string, data []byte) (*File, error) {
	entries, meta, err := parse(data)
	if err != nil {
		return nil, err
	}
	f := &File{source: source, entries: entries, metadata: meta}
	f.names = slices.Sorted(maps.Keys(entries))
	return f, nil
}

// ReadFile reads the whole file at path into memory and parses it. Its tensors
// stay valid after Close (which is then a no-op).
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := newFile(path, data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading %s: %w", path, err)
	}
	return f, nil
}

// Open memory-maps the file at path (copy-on-write, so stray writes never reach
// the file) and parses it; where mapping is not available it reads the file
// instead. Tensors from the File must not be used after Close: Clone them or
// convert them first.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("safetensors: %w", err)
		}
		return ReadFile(path) // Mapping unsupported or failed: fall back to reading.
	}
	f, err := newFile(path, data)
	if err != nil {
		_ = unmap()
		return nil, fmt.Errorf("safetensors: reading %s: %w", path, err)
	}
	f.closers = append(f.closers, unmap)
	return f, nil
}

// Close releases the file's memory mapping, if any. Tensors obtained from f
// must not be used afterwards. Close is safe to call more than once.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.entries = nil
	var errs []error
	for _, c := range f.closers {
		errs = append(errs, c())
	}
	f.closers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("safetensors: closing %s: %w", f.source, err)
	}
	return nil
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.names) }

// Has reports whether the file holds a tensor called name.
func (f *File) Has(name string) bool {
	_, ok := slices.BinarySearch(f.names, name)
	return ok
}

// Metadata returns a copy of the header's "__metadata__" map (empty if absent).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.metadata))
	maps.Copy(m, f.metadata)
	return m
}

// Tensor returns the tensor called name. Its Data points into the file's buffer
// (no copy): do not modify it, and do not use it after Close.
func (f *File) Tensor(name string) (*Tensor, error) {
	if f.closed {
		return nil, fmt.Errorf("safetensors: %s: tensor %q requested after Close", f.source, name)
	}
	e, ok := f.entries[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s has no tensor %q (%d tensors; similar names: %s)",
			f.source, name, len(f.names), strings.Join(f.similar(name, 5), ", "))
	}
	return &Tensor{DType: e.dtype, Shape: slices.Clone(e.shape), Data: e.data}, nil
}

// similar returns up to n names sharing the longest prefixes with name, in sorted order.
func (f *File) similar(name string, n int) []string {
	if len(f.names) == 0 {
		return []string{"none"}
	}
	common := func(s string) int {
		i := 0
		for i < len(s) && i < len(name) && s[i] == name[i] {
			i++
		}
		return i
	}
	cands := slices.Clone(f.names)
	slices.SortStableFunc(cands, func(a, b string) int { return common(b) - common(a) })
	cands = cands[:min(n, len(cands))]
	slices.Sort(cands)
	for i, c := range cands {
		cands[i] = fmt.Sprintf("%q", c)
	}
	return cands
}
